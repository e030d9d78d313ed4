"""``synchealth ingest FILE|-``: report failed (and, in JSON Lines, synced) records from a file.

The file is JSON Lines (one ``POST /v1/errors`` item per line, docs/api.md), a Bulk
API 2.0 ``failedResults`` CSV or a Data Loader error CSV, told apart by its first
line; :mod:`tui.data.failure_files` reads it, one record at a time. Items go in
batches of at most 500 (and 4 MB), each with a batch_id made from the content and the
line range of its records, so running the same file again (after a crash, or to be
sure) counts no failure twice. Refused records, progress and the summary go to
stderr. Exit status: 0 when every record was accepted, 1 when some were refused, 2 on
a usage error, a file that cannot be read as failures, or a service that cannot be
reached.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from tui.commands.say import say
from tui.commands.target import service_target
from tui.core.lang import counted
from tui.data.failure_columns import (
    FileRefused,
    fields_from_describe,
    read_sdl,
    simulated_org_fields,
)
from tui.data.failure_entries import (
    EMPTY,
    JSON_LINES,
    MAX_ITEM_BYTES,
    CsvOptions,
    Entry,
    FailureFile,
)
from tui.data.failure_files import read_failures
from tui.profiles import ServiceTarget, add_service_arguments

BATCH_ITEMS = 500
#: Bytes of items per batch: under the service's 5 MB body limit with room to spare.
BATCH_BYTES = MAX_ITEM_BYTES
#: A progress line on stderr every this many records.
PROGRESS_EVERY = 50_000
#: Lines named of the rows a resync cannot send; past this many, only counted.
SHOWN_NOT_RESYNCABLE = 5


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ingest",
        help="report failed records to the service from a JSON Lines, Bulk API or Data Loader file",
        description="Send the failed records of a file to the Sync Health service, in "
        "batches: JSON Lines (one POST /v1/errors item per line, see docs/api.md), a Bulk "
        "API 2.0 failedResults CSV or a Data Loader error CSV (see docs/integrating.md). "
        "Running the same file again counts nothing twice. Prints a summary, with the line "
        "number and reason of every refused record, on stderr.",
    )
    parser.add_argument("file", metavar="FILE", help="the file, or - for stdin")
    parser.add_argument(
        "--object",
        metavar="SOBJECT",
        help="the Salesforce object of a CSV file's rows (neither CSV names it), e.g. Contact",
    )
    parser.add_argument(
        "--external-id",
        metavar="FIELD",
        help="the CSV column holding the record's external id: rows without an Id are "
        "upserted on it when resynced",
    )
    parser.add_argument(
        "--encoding",
        default="utf-8",
        help="the CSV file's text encoding (default utf-8, with or without BOM); cp932 for "
        "Shift_JIS files from Japanese Windows",
    )
    parser.add_argument(
        "--describe",
        metavar="JSON",
        help="the object's describe (GET .../sobjects/SOBJECT/describe, or sf sobject "
        "describe --json), to check the CSV's columns against its fields",
    )
    parser.add_argument(
        "--map",
        metavar="SDL",
        help="the Data Loader mapping (.sdl) the file was loaded with: which field each "
        "column went to (unmapped columns are left out, constants sent)",
    )
    add_service_arguments(parser)


def _say(message: str) -> None:
    say("ingest", message)


@dataclass
class Batch:
    """Items of consecutive records, and the id that makes re-sending them harmless."""

    prefix: str
    entries: list[Entry] = field(default_factory=list)
    size: int = 0

    @property
    def batch_id(self) -> str:
        digest = hashlib.sha256(b"\n".join(e.raw for e in self.entries)).hexdigest()[:32]
        return f"{self.prefix}-{digest}-L{self.first_line}-{self.entries[-1].last_line}"

    @property
    def first_line(self) -> int:
        return self.entries[0].first_line

    @property
    def items(self) -> list[Any]:
        return [e.item for e in self.entries]

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        self.size += len(entry.raw)


@dataclass
class Summary:
    unit: str = "item"
    items: int = 0
    accepted: int = 0
    created: int = 0
    repeated: int = 0
    resolved: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    unchanged: list[tuple[int, str]] = field(default_factory=list)
    #: Line spans of batches the service had applied before, consecutive ones as one.
    replayed: list[list[int]] = field(default_factory=list)
    replayed_last: bool = False  # the last batch sent was one of them
    not_resyncable: list[int] = field(default_factory=list)

    def _resolved_part(self) -> str:
        if not (self.resolved or self.unchanged):
            return ""
        return f"; {counted(self.resolved, 'error')} resolved by reported successes"

    def lines(self, source: str) -> Iterator[str]:
        yield (
            f"{source}: {counted(self.items, self.unit)}: {self.accepted:,} accepted "
            f"({counted(self.created, 'new error')}, {counted(self.repeated, 'repeat')} of known "
            f"errors{self._resolved_part()}), {len(self.rejected):,} rejected"
        )
        for line, reason in sorted(self.unchanged):
            yield f"line {line}: a success that changed nothing: {reason}"
        for first, last in self.replayed:
            yield f"lines {first}-{last} had been ingested before; they were not counted again"
        if self.not_resyncable:
            n = len(self.not_resyncable)
            shown = ", ".join(map(str, self.not_resyncable[:SHOWN_NOT_RESYNCABLE]))
            more = ", ..." if n > SHOWN_NOT_RESYNCABLE else ""
            yield (
                f"{counted(n, self.unit)} with neither an Id nor an external id value "
                f"({'line' if n == 1 else 'lines'} {shown}{more}) "
                f"{'was' if n == 1 else 'were'} recorded, but a resync cannot send "
                f"{'it' if n == 1 else 'them'}; give --external-id FIELD if the file has a "
                "column that identifies the record"
            )
        for line, reason in sorted(self.rejected):
            yield f"line {line}: {reason}"


def batches(file: FailureFile, summary: Summary) -> Iterator[Batch]:
    """The file's items in batches; refused records go to ``summary.rejected``."""
    prefix = "jsonl" if file.kind == JSON_LINES else "csv"
    batch = Batch(prefix)
    try:
        for entry in file.entries:
            summary.items += 1
            if summary.items % PROGRESS_EVERY == 0:
                _say(f"{summary.items:,} {summary.unit}s read (line {entry.last_line:,})...")
            if entry.item is None:
                summary.rejected.append((entry.first_line, entry.reason))
                continue
            if batch.entries and (
                len(batch.entries) >= BATCH_ITEMS or batch.size + len(entry.raw) > BATCH_BYTES
            ):
                yield batch
                batch = Batch(prefix)
            batch.add(entry)
    except FileRefused:  # the rows read before the file broke off are sent all the same
        if batch.entries:
            yield batch
        raise
    if batch.entries:
        yield batch


async def _send_all(
    file: FailureFile, target: ServiceTarget, demo_size: int, summary: Summary
) -> str:
    """Send every batch; "" when all went, else why the rest could not be sent (the
    service did not answer, or the file broke off: :class:`FileRefused`)."""
    from tui.data.client import ServiceClient
    from tui.data.client_errors import ServiceError, ServiceRejected

    embedded = None
    if target.url is None:
        from tui.embedded import start_embedded

        embedded = await start_embedded(demo_size)
        client = ServiceClient(embedded.base_url, transport=embedded.transport)
    else:
        client = ServiceClient(target.url, target.token_value)
    try:
        for batch in batches(file, summary):
            lines = [e.first_line for e in batch.entries]
            try:
                result = await client.ingest(batch.items, batch_id=batch.batch_id)
            except ServiceRejected as exc:
                why = f"the service refused the batch of this line: {exc.message}"
                summary.rejected += [(line, why) for line in lines]
                summary.replayed_last = False
                continue
            except ServiceError as exc:
                return (
                    f"{exc.message} Lines from {batch.first_line} on were not sent; run the "
                    "same command again when the service answers (nothing is counted twice)."
                )
            summary.accepted += result.accepted
            refused = {r.index for r in result.rejected}
            summary.rejected += [(lines[r.index], r.reason) for r in result.rejected]
            summary.not_resyncable += [
                e.first_line
                for i, e in enumerate(batch.entries)
                if not e.resyncable and i not in refused
            ]
            summary.replayed_last, was_replayed = result.replayed, summary.replayed_last
            if result.replayed:  # what it created was counted by the run that sent it
                if was_replayed:
                    summary.replayed[-1][1] = batch.entries[-1].last_line
                else:
                    summary.replayed.append([batch.first_line, batch.entries[-1].last_line])
            else:
                summary.created += result.created
                summary.repeated += result.repeated
                summary.resolved += result.resolved
                summary.unchanged += [(lines[u.index], u.reason) for u in result.unchanged]
        return ""
    except FileRefused as exc:
        return exc.message
    finally:
        await client.aclose()
        if embedded is not None:
            await embedded.aclose()


def _csv_options(args: argparse.Namespace, embedded: bool) -> CsvOptions:
    known = None
    if args.describe is not None:
        known = fields_from_describe(_read_option_file(args.describe), args.describe)
        if args.object is not None and known.sobject.lower() != args.object.lower():
            raise FileRefused(
                f"{args.describe} describes {known.sobject}, not --object {args.object}"
            )
    elif embedded:
        known = simulated_org_fields(args.object)
    return CsvOptions(
        sobject=args.object,
        external_id=args.external_id,
        encoding=args.encoding,
        fields=known,
        column_map=read_sdl(_read_option_file(args.map), args.map) if args.map else None,
    )


def _read_option_file(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise FileRefused(f"cannot read {path}: {exc.strerror or exc}") from exc


def _csv_only_options(args: argparse.Namespace) -> list[str]:
    given = {"--object": args.object, "--external-id": args.external_id,
             "--describe": args.describe, "--map": args.map}  # fmt: skip
    return [name for name, value in given.items() if value is not None]


def _open(path: str, stack: ExitStack) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    return stack.enter_context(open(path, "rb"))


def run(args: argparse.Namespace) -> int:
    target = service_target("ingest", args)
    if target is None:
        return 2
    source = "stdin" if args.file == "-" else args.file
    with ExitStack() as stack:
        try:
            handle = _open(args.file, stack)
            file = read_failures(handle, _csv_options(args, target.url is None))
            if file.kind == EMPTY:
                _say(f"{source} is empty (or blank lines only): there is nothing to ingest")
                return 0
            unused = _csv_only_options(args) if file.kind == JSON_LINES else []
            if unused:
                _say(
                    f"{source} is JSON Lines: its items name their object and ids themselves, "
                    f"so {', '.join(unused)} {'is' if len(unused) == 1 else 'are'} not used"
                )
            summary = Summary(unit=file.unit)
            stopped = asyncio.run(_send_all(file, target, args.demo_size, summary))
        except OSError as exc:
            _say(f"cannot read {source}: {exc.strerror or exc}")
            return 2
        except FileRefused as exc:
            _say(f"{source}: {exc.message}")
            return 2
    for line in summary.lines(source):
        _say(line)
    if stopped:
        _say(stopped)
        return 2
    return 1 if summary.rejected else 0
