"""Failure files read: a Bulk API 2.0 failedResults CSV of N rows, turned into items.

Writes the file once under ``bench/out/`` (about 130 MB at 1,000,000 rows), then times
``tui.data.failure_files.read_failures`` over it (CSV parse, line numbers, error text,
item and batch-id bytes for each row) against the reference of the same run: Python's
``csv.reader`` alone over the same file. A second pass under ``tracemalloc`` gives the
peak memory of reading it, against the file's size. Sending to the service is
``bench/ingest.py``'s.

    python bench/failure_files.py [--rows N]
"""

from __future__ import annotations

import argparse
import csv
import time
import tracemalloc
from pathlib import Path

from _common import OUT

from tui.data.failure_entries import CsvOptions
from tui.data.failure_files import read_failures

HEADER = '"sf__Id","sf__Error",Id,FirstName,LastName,Email,Description,CRM_Id__c\n'
ERRORS = (
    "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --",
    "INVALID_EMAIL_ADDRESS:Email: invalid email address: {n}@@example.co.jp:Email --",
    "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--",
)


def write_file(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        for n in range(rows):
            error = ERRORS[n % len(ERRORS)].format(n=n)
            sf_id = f"003{n:012d}AAA" if n % 2 else ""
            note = "Met at the trade show,\nfollow up in June" if n % 10 == 0 else ""
            out.write(
                f'"{sf_id}","{error}","{sf_id}","First {n}","Last {n}",'
                f'"c{n}@example.co.jp","{note}","{61_000_000_000 + n}"\n'
            )


def time_plain_csv(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as handle:
        rows = sum(1 for _ in csv.reader(handle)) - 1
    return time.perf_counter() - started, rows


def read_all(path: Path) -> int:
    options = CsvOptions(sobject="Contact", external_id="CRM_Id__c")
    with path.open("rb") as handle:
        return sum(1 for e in read_failures(handle, options).entries if e.item is not None)


def main(rows: int) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"failedResults-{rows}.csv"
    if not path.exists():
        started = time.perf_counter()
        write_file(path, rows)
        print(f"wrote {path.name} in {time.perf_counter() - started:.1f} s")
    size = path.stat().st_size

    reference, counted = time_plain_csv(path)
    started = time.perf_counter()
    items = read_all(path)
    ours = time.perf_counter() - started
    assert counted == items == rows, (counted, items, rows)

    tracemalloc.start()
    read_all(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"{rows:,} rows, {size / 2**20:,.0f} MB")
    print(f"csv.reader alone (reference)  {reference:6.1f} s  {rows / reference:>9,.0f} rows/s")
    print(
        f"read_failures -> items        {ours:6.1f} s  {rows / ours:>9,.0f} rows/s  "
        f"{ours / reference:.1f}x the reference"
    )
    print(
        f"peak memory while reading     {peak / 2**10:6.0f} kB  {peak / size:.5f}x the file's size"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the file")
    main(parser.parse_args().rows)
