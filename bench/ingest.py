"""Errors coming in: ``POST /v1/errors`` throughput on a large ledger.

Posts batches of 1,000 items through the real service app (httpx over ASGI, so the
JSON, validation, classification and the one-transaction ledger write are all timed)
into a copy of the benchmark ledger: first failures of new records, then the same
failures again (each a repeat: one more attempt on an existing row, no new row).

``--before DIR`` (an export of an earlier commit, e.g. ``git archive main | tar -x -C
DIR``) measures instead what ingest costs per item with the ``tui`` package of DIR and
with this tree's, ``--runs`` times in turns, each run in a fresh process on an empty
ledger of its own (a SQLite file, or with ``--postgres`` a fresh database on the server
of ``SYNCHEALTH_BENCH_PG``, bench/_replicas.py). A run posts ``replicas_load.py``'s
batches (200 items, a batch_id each), one at a time: new failures (each message its
own), the same records again (repeats), the first batches again (replays), and new
records failing with one message (what a validation rule says to every record it
refuses). It prints per phase the CPU per 1,000 items of the service's process (the
client's part included: bodies are encoded before the clock starts) and of the
PostgreSQL backends, and the items/s, each as a ratio of the earlier tree's.

    python bench/ingest.py [--size N]
    python bench/ingest.py --before DIR [--runs 3] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson
import psutil
import psycopg
from _common import DEFAULT_SIZE, ledger, workdir

from tui.service.app import SyncHealthService
from tui.service.config import ServiceConfig
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state

BATCH = 1000
BATCHES = 10
TOKEN = "00Dbench!token"


def item(n: int) -> dict:
    """A contact the org refused for its email address."""
    return {
        "object_type": "contact",
        "record_id": f"bench-{n}",
        "record_name": f"Bench Contact {n}",
        "salesforce": {
            "object": "Contact",
            "external_id": {"field": "CRM_Id__c", "value": f"bench-{n}"},
            "fields": {"LastName": f"Contact {n}", "Email": f"c{n}@example"},
        },
        "errors": [
            {
                "statusCode": "INVALID_EMAIL_ADDRESS",
                "message": f"Email: invalid email address: c{n}@example",
                "fields": ["Email"],
            }
        ],
    }


async def post_all(client: httpx.AsyncClient, label: str) -> None:
    times = []
    totals = {"created": 0, "repeated": 0}
    for b in range(BATCHES):
        body = {
            "batch_id": str(uuid.uuid4()),
            "errors": [item(b * BATCH + i) for i in range(BATCH)],
        }
        started = time.perf_counter()
        answer = await client.post("/v1/errors", json=body)
        times.append(time.perf_counter() - started)
        answer.raise_for_status()
        result = answer.json()
        totals["created"] += result["created"]
        totals["repeated"] += result["repeated"]
    total = BATCH * BATCHES
    print(
        f"{label:<10} {total:>7,} items  {total / sum(times):>8,.0f} items/s  "
        f"median {statistics.median(times) * 1000:>6.0f} ms per {BATCH:,}  "
        f"created {totals['created']:,}  repeated {totals['repeated']:,}"
    )


async def main(size: int) -> None:
    source = ledger(size)
    copy = workdir(size) / "ingest-ledger.sqlite3"
    shutil.copyfile(source, copy)
    for suffix in ("-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    org = create_simorg(demo_org_state(7), access_token=TOKEN)
    service = SyncHealthService(
        ServiceConfig(
            db_path=copy,
            org_token=TOKEN,
            org_transport=httpx.ASGITransport(app=org),
            mode="simulated",
            notify_interval=None,
        )
    )
    started = time.perf_counter()
    await service.start()
    print(f"ledger of {size:,} errors opened in {(time.perf_counter() - started) * 1000:.0f} ms")
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.asgi), base_url="http://bench", timeout=120
        ) as client:
            await post_all(client, "new")
            await post_all(client, "repeats")
    finally:
        await service.stop()
        for path in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm")):
            path.unlink(missing_ok=True)


# -- --before DIR: this tree against an earlier one ------------------------------------------

#: Batches of each phase of a before/after run, of replicas_load.py's size.
RUN_BATCHES = 25
RUN_BATCH = 200
PHASES = ("new", "repeats", "replays", "one message")


def _batch(phase: str, b: int) -> bytes:
    """The body of batch ``b`` of ``phase``: the shape of replicas_load.py's engine."""
    first = (RUN_BATCHES if phase == "one message" else 0) * RUN_BATCH + b * RUN_BATCH
    items = [
        {"object_type": "contact", "record_id": f"r{k}", "occurred_at": "2026-12-02T06:00:00Z",
         "salesforce": {"object": "Contact", "id": f"003{k:015d}",
                        "fields": {"Email": f"person{k}@example.com"}},
         "errors": [{"statusCode": "INVALID_EMAIL_ADDRESS", "fields": ["Email"],
                     "message": "Email: invalid email address" if phase == "one message"
                     else f"Email: invalid email address: person{k}@@example.com"}]}
        for k in range(first, first + RUN_BATCH)
    ]  # fmt: skip
    batch_id = f"{'b' if phase in ('new', 'replays') else phase}-{b}"
    return orjson.dumps({"errors": items, "batch_id": batch_id})


def _backends_cpu(admin: psycopg.Connection | None) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend of the bench's database (none on SQLite)."""
    if admin is None:
        return {}
    out = {}
    for (pid,) in admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()"
    ).fetchall():
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        out[pid] = t.user + t.system
    return out


async def _one_run(db: str | None) -> dict[str, object]:
    """Every phase on a fresh ledger: per phase, seconds, this process's CPU seconds and
    the PostgreSQL backends' (a backend that came during the phase counts whole)."""
    import tui

    with tempfile.TemporaryDirectory() as tmp:
        target: dict[str, object] = {"db_path": Path(tmp) / "ledger.sqlite3"}
        if db is not None:
            from tui.service.db import PostgresTarget

            target["database"] = PostgresTarget(db)
        org = create_simorg(demo_org_state(7), access_token=TOKEN)
        service = SyncHealthService(
            ServiceConfig(
                **target,  # type: ignore[arg-type]
                org_token=TOKEN,
                org_transport=httpx.ASGITransport(app=org),
                mode="simulated",
                notify_interval=None,
            )
        )
        await service.start()
        admin = psycopg.connect(db, autocommit=True) if db is not None else None
        out: dict[str, object] = {"tui": str(Path(tui.__file__).parent.parent)}
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=service.asgi), base_url="http://bench",
                timeout=120, headers={"Content-Type": "application/json"},
            ) as client:  # fmt: skip
                for phase in PHASES:
                    bodies = [_batch(phase, b) for b in range(RUN_BATCHES)]
                    pg0, cpu0 = _backends_cpu(admin), time.process_time()
                    began = time.perf_counter()
                    for body in bodies:
                        answer = await client.post("/v1/errors", content=body)
                        answer.raise_for_status()
                        if answer.json()["replayed"] != (phase == "replays"):
                            raise SystemExit(f"{phase}: {answer.text[:300]}")
                    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu0
                    pg1 = _backends_cpu(admin)
                    pg = sum(v - pg0.get(pid, 0.0) for pid, v in pg1.items())
                    out[phase] = {"seconds": seconds, "cpu": cpu, "pg": pg}
        finally:
            if admin is not None:
                admin.close()
            await service.stop()
    return out


def _run_in(tree: Path | None, db: str | None) -> dict[str, object]:
    """:func:`_one_run` in a fresh interpreter, with the ``tui`` package of ``tree``."""
    here = str(Path(__file__).resolve().parent)
    path = here if tree is None else f"{tree}{os.pathsep}{here}"
    env = dict(os.environ) | {"PYTHONPATH": path}
    command = [sys.executable, "-P", __file__, "--one", *(["--db", db] if db else [])]
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return dict(json.loads(done.stdout.splitlines()[-1]))


def before_after(before: Path, runs: int, postgres: bool) -> None:
    """Every phase with the tree ``before`` and with this one, in turns."""
    from _replicas import fresh_database

    trees = {"before": before.resolve(), "now": None}
    got: dict[str, list[dict[str, object]]] = {name: [] for name in trees}
    for _ in range(runs):
        for name, tree in trees.items():
            if not postgres:
                got[name].append(_run_in(tree, None))
                continue
            with fresh_database() as url:
                got[name].append(_run_in(tree, url))
    n = RUN_BATCHES * RUN_BATCH
    print(f"ingest, {runs} runs in turns, {'PostgreSQL' if postgres else 'SQLite'}: "
          f"{RUN_BATCHES} batches of {RUN_BATCH} per phase, posted one at a time; "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    for name in trees:
        print(f"  {name}: {got[name][-1]['tui']}")
    print(f"{'phase':<12} {'tree':<7} {'service CPU':>12} {'PostgreSQL CPU':>15} {'items/s':>8}"
          "   (medians; CPU in ms per 1,000 items)")  # fmt: skip
    for phase in PHASES:
        med: dict[str, dict[str, float]] = {}
        for name in trees:
            figures = [r[phase] for r in got[name]]
            med[name] = {key: statistics.median(float(f[key]) for f in figures)  # type: ignore[index]
                         for key in ("seconds", "cpu", "pg")}  # fmt: skip
        for name in trees:
            m = med[name]
            print(f"{phase:<12} {name:<7} {m['cpu'] * 1e6 / n:>12.1f} {m['pg'] * 1e6 / n:>15.1f} "
                  f"{n / m['seconds']:>8,.0f}")  # fmt: skip
        b, a = med["before"], med["now"]
        pg = f"{a['pg'] / b['pg']:.2f}x" if b["pg"] else "-"
        print(f"{phase:<12} {'now/bef':<7} {a['cpu'] / b['cpu']:>11.2f}x {pg:>15} "
              f"{b['seconds'] / a['seconds']:>7.2f}x")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="errors in the ledger")
    parser.add_argument("--before", type=Path, help="an earlier tree: the before/after run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="ledgers on PostgreSQL")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child
    parser.add_argument("--db", help=argparse.SUPPRESS)  # the child's PostgreSQL database
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(_one_run(args.db))))
    elif args.before is not None:
        before_after(args.before, args.runs, args.postgres)
    else:
        asyncio.run(main(args.size))
