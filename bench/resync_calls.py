"""Salesforce calls spent per resync, through the real service and simulated org.

For 100, 250, 1,000 and 10,000 errors (one open error per Contact, each with a
Salesforce id) it resyncs the errors twice over, on separate sets of errors:

- as one resync job (``POST /v1/resync/jobs``): 200 errors per sObject Collections
  call, so ``ceil(n/200)`` calls;
- as successive ``POST /v1/resync`` requests of 100 (the article's limit), the
  reference measured in the same run: one call per request, ``ceil(n/100)``.

It prints the calls the service reported, the calls the simulated org counted, the
``ceil(n/200)`` bound, and the job's calls as a ratio of the reference's.

``--before DIR`` (an export of an earlier commit, e.g. ``git archive main | tar -x -C
DIR``) measures instead what a usage ledger that commits each call before it is sent
costs: a job of 10,000 errors run in a fresh process with the ``tui`` package of DIR,
then with this tree's, ``--runs`` times in turns, each on a ledger of its own (a SQLite
file, or with ``--postgres`` a fresh database each on the server of
``SYNCHEALTH_BENCH_PG``, bench/_replicas.py); it prints the job's
calls, the org's count, the usage ledger's, and the job's time as a ratio of the
earlier tree's, same run.

    python bench/resync_calls.py [--before DIR [--runs 3] [--postgres]]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tui.core.sobjects import KEY_PREFIX
from tui.service.app import SyncHealthService
from tui.service.config import ServiceConfig
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state
from tui.simorg.ids import make_id
from tui.simorg.state import OrgState

TOKEN = "00Dbench!token"
SIZES = (100, 250, 1000, 10_000)


def _items(org: OrgState, start: int, n: int) -> list[dict]:
    """``n`` failed Contacts whose newest report carries a valid address."""
    prefix, out, counter = KEY_PREFIX["Contact"], [], start
    while len(out) < n:
        counter += 1
        if org.usable(prefix, counter):
            out.append(
                {"object_type": "contact", "record_id": f"b{counter}",
                 "salesforce": {"object": "Contact", "id": make_id(prefix, counter),
                                "fields": {"Email": f"p{counter}@example.com"}},
                 "errors": [{"statusCode": "INVALID_EMAIL_ADDRESS",
                             "message": f"Email: invalid email address: p{counter}@@example.com",
                             "fields": ["Email"]}]}
            )  # fmt: skip
    return out


async def _report(client: httpx.AsyncClient, items: list[dict]) -> list[int]:
    ids: list[int] = []
    for i in range(0, len(items), 1000):
        answer = await client.post("/v1/errors", json={"errors": items[i : i + 1000]})
        answer.raise_for_status()
        ids += answer.json()["error_ids"]
    return ids


async def _as_job(client: httpx.AsyncClient, ids: list[int]) -> int:
    answer = await client.post(
        "/v1/resync/jobs", json={"error_ids": ids, "request_id": str(uuid.uuid4())}
    )
    answer.raise_for_status()
    job_id = answer.json()["job_id"]
    while True:
        job = (await client.get(f"/v1/resync/jobs/{job_id}", params={"limit": 0})).json()
        if job["state"] != "running":
            assert job["counts"]["synced"] == len(ids), job
            return job["salesforce_calls"]
        await asyncio.sleep(0.01)


async def _as_requests(client: httpx.AsyncClient, ids: list[int]) -> int:
    calls = 0
    for i in range(0, len(ids), 100):
        answer = await client.post(
            "/v1/resync", json={"error_ids": ids[i : i + 100], "request_id": str(uuid.uuid4())}
        )
        answer.raise_for_status()
        calls += answer.json()["salesforce_calls"]
    return calls


@asynccontextmanager
async def _service(
    org: OrgState, db: str | None = None
) -> AsyncIterator[tuple[SyncHealthService, httpx.AsyncClient]]:
    """The service on a fresh ledger (a SQLite file, or the PostgreSQL database ``db``)
    calling ``org`` in process, and a client of its API."""
    with tempfile.TemporaryDirectory() as tmp:
        target: dict[str, object] = {"db_path": Path(tmp) / "ledger.sqlite3"}
        if db is not None:
            from tui.service.db import PostgresTarget

            target["database"] = PostgresTarget(db)
        config = ServiceConfig(
            **target,  # type: ignore[arg-type]
            org_token=TOKEN,
            org_transport=httpx.ASGITransport(app=create_simorg(org, access_token=TOKEN)),
            mode="simulated",
            notify_interval=None,
            job_recheck=0.01,
        )
        service = SyncHealthService(config)
        await service.start()
        await service.usage.set_allocated(15_000)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.asgi), base_url="http://bench"
        )
        try:
            yield service, client
        finally:
            await client.aclose()
            await service.stop()


async def _one_job(n: int, db: str | None) -> dict[str, object]:
    """One job of ``n`` errors on a fresh ledger: its calls, the org's and the usage
    ledger's counts, and its time from POST to done."""
    import tui

    org = demo_org_state(7)
    async with _service(org, db) as (service, client):
        ids = await _report(client, _items(org, 0, n))
        before = org.api_used
        started = time.perf_counter()
        calls = await _as_job(client, ids)
        seconds = time.perf_counter() - started
        used = (await client.get("/v1/usage/breakdown")).json()["total"]
        record = getattr(service.usage, "record_call", None)  # this tree's, not before's
        record_ms, select_ms = [], []
        for _ in range(calls if record is not None else 0):
            record_ms.append(await _ms(record))  # type: ignore[arg-type]
            select_ms.append(await _ms(lambda: service.ledger.reader.fetchval("SELECT 1")))
    return {"calls": calls, "org": org.api_used - before, "ledger": used, "seconds": seconds,
            "record_ms": statistics.median(record_ms) if record_ms else None,
            "select_ms": statistics.median(select_ms) if select_ms else None,
            "tui": str(Path(tui.__file__).parent.parent)}  # fmt: skip


async def _ms(job: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await job()
    return (time.perf_counter() - started) * 1000


def _job_in(tree: Path | None, n: int, db: str | None) -> dict[str, object]:
    """:func:`_one_job` in a fresh interpreter, with the ``tui`` package of ``tree``."""
    env = dict(os.environ) | ({} if tree is None else {"PYTHONPATH": str(tree)})
    command = [sys.executable, "-P", __file__, "--one", str(n), *(["--db", db] if db else [])]
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return dict(json.loads(done.stdout.splitlines()[-1]))


def before_after(before: Path, runs: int, postgres: bool, n: int = 10_000) -> None:
    """The job of ``n`` errors with the tree ``before`` and with this one, in turns."""
    from _replicas import fresh_database

    trees = {"before": before.resolve(), "now": None}
    got: dict[str, list[dict[str, object]]] = {name: [] for name in trees}
    for _ in range(runs):
        for name, tree in trees.items():
            if not postgres:
                got[name].append(_job_in(tree, n, None))
                continue
            with fresh_database() as url:
                got[name].append(_job_in(tree, n, url))
    print(f"a job of {n:,} errors, {runs} runs in turns, {'PostgreSQL' if postgres else 'SQLite'}")
    print(f"{'tree':<7} {'job calls':>9} {'org':>5} {'usage ledger':>12} {'median s':>9} runs")
    medians = {}
    for name, results in got.items():
        medians[name] = statistics.median(float(r["seconds"]) for r in results)  # type: ignore[arg-type]
        last = results[-1]
        times = ", ".join(f"{float(r['seconds']):.2f}" for r in results)  # type: ignore[arg-type]
        print(f"{name:<7} {last['calls']:>9} {last['org']:>5} {last['ledger']:>12} "
              f"{medians[name]:>9.2f} {times}  ({last['tui']})")  # fmt: skip
    print(f"now / before: {medians['now'] / medians['before']:.2f}x")
    record = statistics.median(float(r["record_ms"]) for r in got["now"])  # type: ignore[arg-type]
    per_call = medians["now"] * 1000 / float(got["now"][-1]["calls"])  # type: ignore[arg-type]
    select = statistics.median(float(r["select_ms"]) for r in got["now"])  # type: ignore[arg-type]
    print(f"recording one call (now, median of the runs' medians): {record:.2f} ms = "
          f"{record / per_call:.3f}x the job's time per call ({per_call:.1f} ms) = "
          f"{record / select:.1f}x a SELECT 1 on the ledger ({select:.2f} ms)")  # fmt: skip


async def main() -> None:
    org = demo_org_state(7)
    async with _service(org) as (_, client):
        print(
            f"{'errors':>7} {'job calls':>9} {'org counted':>11} {'ceil(n/200)':>11} "
            f"{'100/request calls':>17} {'job / reference':>15}"
        )
        start = 0
        for n in SIZES:
            job_items, ref_items = _items(org, start, n), _items(org, start + 3 * n, n)
            start += 6 * n
            job_ids, ref_ids = await _report(client, job_items), await _report(client, ref_items)
            before = org.api_used
            job_calls = await _as_job(client, job_ids)
            counted = org.api_used - before
            reference = await _as_requests(client, ref_ids)
            print(
                f"{n:>7,} {job_calls:>9,} {counted:>11,} {math.ceil(n / 200):>11,} "
                f"{reference:>17,} {job_calls / reference:>15.2f}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--before", type=Path, help="an earlier tree: the before/after run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="ledgers on PostgreSQL")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child of --before
    parser.add_argument("--db", help=argparse.SUPPRESS)  # the child's PostgreSQL database
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(asyncio.run(_one_job(args.one, args.db))))
    elif args.before is not None:
        before_after(args.before, args.runs, args.postgres)
    else:
        asyncio.run(main())
