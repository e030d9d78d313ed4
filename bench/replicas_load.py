"""Load test: several ``synchealth serve`` replicas on one PostgreSQL database (issue 14, 5).

On loopback only, bounded in time: a fresh database on the machine's PostgreSQL, one
simulated org in a process of its own (``python -m tui.simorg``: every replica calls
it, so what it received is the truth), ``--replicas`` service processes (uvicorn),
``--consoles`` clients following the change feed with their cursors, the engine
posting ``--rate`` failures/s in batches with batch_ids (some posted twice, to another
replica), ``--jobs`` resync jobs (each also posted to two replicas at once) started a
fifth of the way in, the org taking ``--org-latency`` seconds over each call. Once the
jobs send, the replica holding their lease is killed with SIGKILL, mid-job and while
the engine posts: the engine, which does not know, sends a batch refused or cut off
there to another replica with the same batch_id; the jobs move to another replica once
the dead one has missed three ``--heartbeat`` s, and the records whose answer the kill
cut off are reported ``unknown``, never sent again. Printed: throughput, p50/p99 per
endpoint, the kill and the lease's move, and the counts that prove nothing was lost or
sent twice. First, the same engine against one replica alone
(a quarter of the time, its own fresh database) is the reference the figures are
ratios of.

    python bench/replicas_load.py                 # 60 s, 2,000 failures/s, 3 replicas
    python bench/replicas_load.py --quick         # a few seconds at a small rate (CI)

Exits 1 when a count does not add up (the test of ``--quick`` relies on it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
from _measure import Meter
from _replicas import Cluster, fresh_database, lease_holder

BATCH = 200
#: The share of batches the engine posts a second time, to another replica.
RETRIED = 0.05


@dataclass
class Stats:
    latency: dict[str, list[float]] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    inflight: int = 0  # requests sent and not yet answered (sampled by the Meter)

    def add(self, endpoint: str, seconds: float) -> None:
        self.latency.setdefault(endpoint, []).append(seconds * 1000)

    def fail(self, endpoint: str) -> None:
        self.failed[endpoint] = self.failed.get(endpoint, 0) + 1

    def p(self, endpoint: str, q: float) -> float:
        values = sorted(self.latency.get(endpoint, [0.0]))
        return values[min(len(values) - 1, int(q * len(values)))]


def contact_ids(n: int) -> list[str]:
    """``n`` distinct Contacts of the simulated org the integration may write."""
    from tui.core.sobjects import KEY_PREFIX
    from tui.simorg.demo import demo_org_state
    from tui.simorg.ids import make_id

    org, prefix, out, counter = demo_org_state(7), KEY_PREFIX["Contact"], [], 1
    while len(out) < n:
        if org.usable(prefix, counter):
            out.append(make_id(prefix, counter))
        counter += 1
    return out


@dataclass
class Engine:
    """Posts failures at ``rate``/s; each item is a new error of its own record."""

    cluster: Cluster
    rate: int
    sf_ids: list[str]
    stats: Stats
    posted: int = 0  # items of distinct batches accepted
    #: batches refused by (or cut off at) the killed replica, then accepted by another
    rerouted: int = 0
    #: of those, answered as a replay: the killed replica had committed them
    replayed_after_kill: int = 0
    #: the error ids of each accepted batch, by its first item: items k and k + len(sf_ids)
    #: share a record, so a job takes the batches of the first len(sf_ids) items, whatever
    #: order their answers came in
    error_ids: dict[int, list[int]] = field(default_factory=dict)

    def first_ids(self, n: int) -> list[int] | None:
        """The error ids of items 0..n-1 (distinct records), or None until all are in."""
        batches = [self.error_ids.get(start) for start in range(0, n, BATCH)]
        if any(b is None for b in batches):
            return None
        return [i for b in batches for i in b or []]

    def batch(self, start: int) -> list[dict[str, Any]]:
        return [
            {"object_type": "contact", "record_id": f"r{k}", "occurred_at": "2026-12-02T06:00:00Z",
             "salesforce": {"object": "Contact", "id": self.sf_ids[k % len(self.sf_ids)],
                            "fields": {"Email": f"person{k}@example.com"}},
             "errors": [{"statusCode": "INVALID_EMAIL_ADDRESS", "fields": ["Email"],
                         "message": f"Email: invalid email address: person{k}@@example.com"}]}
            for k in range(start, start + BATCH)
        ]  # fmt: skip

    async def post(self, client: httpx.AsyncClient, start: int, avoid: int | None = None) -> int:
        """Post one batch until a replica accepts it; which one did. The engine does not
        know which replicas are alive: one refused or cut off gets the same batch_id
        sent to another."""
        body = {"errors": self.batch(start), "batch_id": f"b{start}"}
        last, hit_dead = "no answer", False
        for _ in range(20):
            index = self.cluster.pick(avoid, blind=True)
            began = time.perf_counter()
            self.stats.inflight += 1
            try:
                answer = await client.post(self.cluster.url(index) + "/v1/errors", json=body)
            except httpx.HTTPError:
                self.stats.fail("POST /v1/errors")
                hit_dead |= index not in self.cluster.alive
                avoid = index
                await asyncio.sleep(0.05)
                continue
            finally:
                self.stats.inflight -= 1
            self.stats.add("POST /v1/errors", time.perf_counter() - began)
            if answer.status_code == 200:
                # counted once per batch_id: a replay is the first answer again, and the
                # only one when a replica committed the batch but died before answering
                if start not in self.error_ids:
                    self.posted += BATCH
                    self.error_ids[start] = answer.json()["error_ids"]
                if hit_dead:
                    self.rerouted += 1
                    self.replayed_after_kill += bool(answer.json()["replayed"])
                return index
            self.stats.fail("POST /v1/errors")
            last = f"{answer.status_code} {answer.text[:300]}"
        raise SystemExit(f"batch b{start} was never accepted: {last}")

    async def run(self, client: httpx.AsyncClient, seconds: float) -> float:
        """Post for ``seconds``; the seconds it took (more when the replicas fell behind)."""
        began, sent, tasks = time.perf_counter(), 0, set()
        total = int(self.rate * seconds) // BATCH
        while sent < total:
            due = int((time.perf_counter() - began) * self.rate / BATCH) + 1
            while sent < min(due, total):
                start = sent * BATCH
                tasks.add(asyncio.create_task(self._one(client, start)))
                sent += 1
            tasks = {t for t in tasks if not t.done()}
            await asyncio.sleep(0.01)
        await asyncio.gather(*tasks)
        return time.perf_counter() - began

    async def _one(self, client: httpx.AsyncClient, start: int) -> None:
        index = await self.post(client, start)
        if random.random() < RETRIED:  # the engine did not see the answer: posts it again
            await self.post(client, start, avoid=index)


@dataclass
class Console:
    """Follows the change feed from cursor 0 like the console's data layer does."""

    cluster: Cluster
    stats: Stats
    cursor: int = 0
    rows: dict[int, int] = field(default_factory=dict)  # error id -> seq last seen
    seen: set[int] = field(default_factory=set)  # every seq it was given
    twice: int = 0  # seqs given to it more than once (must stay 0)

    async def page(self, client: httpx.AsyncClient) -> bool:
        """One page; whether there is more."""
        index = self.cluster.pick()
        began = time.perf_counter()
        self.stats.inflight += 1
        try:
            answer = await client.get(
                self.cluster.url(index) + "/v1/errors",
                params={"cursor": self.cursor, "limit": 1000},
            )
        except httpx.HTTPError:
            self.stats.fail("GET /v1/errors")
            return False
        finally:
            self.stats.inflight -= 1
        self.stats.add("GET /v1/errors", time.perf_counter() - began)
        if answer.status_code != 200:
            self.stats.fail("GET /v1/errors")
            return False
        body = orjson.loads(answer.content)  # the 20 consoles decode every row: not stdlib json
        seqs = [row[1] for row in body["rows"]]
        self.twice += len(seqs) - len(set(seqs) - self.seen)
        self.seen.update(seqs)
        self.rows.update((row[0], row[1]) for row in body["rows"])
        self.cursor = body["next_cursor"]
        return bool(body["has_more"])

    async def follow(self, stop: asyncio.Event) -> None:
        """Until ``stop``, then the last changes. A client of its own, as each console is a
        process of its own: one pool shared by 20 consoles and the engine spent a fifth of
        the driver's CPU choosing a connection (httpcore scans its pool each request)."""
        async with httpx.AsyncClient(timeout=60) as client:
            while not stop.is_set():
                if not await self.page(client):
                    await asyncio.sleep(0.2)
            while await self.page(client):
                pass


async def resync_jobs(
    client: httpx.AsyncClient, cluster: Cluster, stats: Stats, ids: list[int], jobs: int
) -> list[str]:
    """Start ``jobs`` jobs over ``ids`` (split evenly), each posted to two replicas at
    once with one request_id; the job ids."""
    size = len(ids) // jobs
    made: list[str] = []
    for n in range(jobs):
        body = {"error_ids": ids[n * size : (n + 1) * size], "request_id": f"bench-job-{n}"}
        first = cluster.pick()
        targets = [first, cluster.pick(avoid=first)]
        began = time.perf_counter()
        answers = await asyncio.gather(
            *(client.post(cluster.url(i) + "/v1/resync/jobs", json=body) for i in targets)
        )
        stats.add("POST /v1/resync/jobs", time.perf_counter() - began)
        codes = sorted(a.status_code for a in answers)
        job_ids = {a.json()["job_id"] for a in answers if a.status_code in (200, 202)}
        if codes != [200, 202] or len(job_ids) != 1:
            raise SystemExit(f"job {n}: answers {codes} {[a.text[:200] for a in answers]}")
        made += job_ids
    return made


async def job_states(client: httpx.AsyncClient, cluster: Cluster, stats: Stats,
                     job_ids: list[str]) -> list[dict[str, Any]]:  # fmt: skip
    out = []
    for job_id in job_ids:
        for _ in range(20):
            began = time.perf_counter()
            try:
                answer = await client.get(
                    cluster.url(cluster.pick()) + f"/v1/resync/jobs/{job_id}", params={"limit": 0}
                )
            except httpx.HTTPError:
                stats.fail("GET /v1/resync/jobs/{id}")
                continue
            stats.add("GET /v1/resync/jobs/{id}", time.perf_counter() - began)
            out.append(answer.json())
            break
    return out


@dataclass
class Run:
    """One phase's figures."""

    stats: Stats
    seconds: float
    posted: int
    problems: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


async def phase(args: argparse.Namespace, replicas: int, seconds: float, full: bool) -> Run:
    """The load on ``replicas`` replicas of a fresh database; with ``full`` the consoles,
    the jobs and the kill too (less what ``--no-jobs`` / ``--no-kill`` take away)."""
    stats = Stats()
    with fresh_database() as db_url, tempfile.TemporaryDirectory() as tmp:
        cluster = Cluster(db_url, replicas, Path(tmp), args.org_latency, args.heartbeat)
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
        meter = Meter(db_url, lambda: cluster.pids() | {"driver (engine, consoles)": [os.getpid()]},
                      lambda: stats.inflight)  # fmt: skip
        try:
            async with httpx.AsyncClient(timeout=60, limits=limits) as client:
                await cluster.ready(client)
                ids = contact_ids(max(args.jobs * args.job_size, BATCH))
                engine = Engine(cluster, args.rate, ids, stats)
                run = Run(stats, 0.0, 0)
                meter.start()
                if not full:
                    run.seconds = await engine.run(client, seconds)
                    run.posted = engine.posted
                else:
                    await full_load(args, client, cluster, db_url, engine, seconds, run)
                meter.stop()
                run.lines += meter.lines(run.posted)
                return run
        finally:
            cluster.stop()


async def full_load(args: argparse.Namespace, client: httpx.AsyncClient, cluster: Cluster,
                    db_url: str, engine: Engine, seconds: float, run: Run) -> None:  # fmt: skip
    began, stop = time.perf_counter(), asyncio.Event()
    consoles = [Console(cluster, run.stats) for _ in range(args.consoles)]
    following = [asyncio.create_task(c.follow(stop)) for c in consoles]
    posting = asyncio.create_task(engine.run(client, seconds))
    states: list[dict[str, Any]] = []
    if not args.no_jobs:
        states = await jobs_and_kill(args, client, cluster, db_url, engine, posting, began, run)
    run.seconds = await posting
    run.posted = engine.posted
    run.lines.append(
        f"engine batches refused by or cut off at the killed replica, then accepted by "
        f"another: {engine.rerouted} ({engine.replayed_after_kill} of them answered as a "
        "replay: committed before the kill)"
    )
    stop.set()
    await asyncio.gather(*following)
    org = (await client.get(f"http://127.0.0.1:{cluster.org_port}/_simorg/received")).json()
    check(run, db_url, engine, consoles, states, org)


async def jobs_and_kill(args: argparse.Namespace, client: httpx.AsyncClient, cluster: Cluster,
                        db_url: str, engine: Engine, posting: asyncio.Task[float], began: float,
                        run: Run) -> list[dict[str, Any]]:  # fmt: skip
    """The jobs, 20% in, on the first errors posted; the kill (unless ``--no-kill``)
    once they send; the jobs' last states."""
    wanted = args.jobs * args.job_size
    await asyncio.sleep(args.seconds * 0.2)
    while (ids := engine.first_ids(wanted)) is None and not posting.done():
        await asyncio.sleep(0.05)
    if ids is None:
        raise SystemExit(f"the first {wanted} items were never accepted")
    job_ids = await resync_jobs(client, cluster, run.stats, ids, args.jobs)
    while not any(s["counts"]["synced"] for s in await job_states(client, cluster, run.stats,
                                                                     job_ids)):  # fmt: skip
        await asyncio.sleep(0.05)
    run.lines.append(f"jobs started {time.perf_counter() - began:.1f} s in")
    killed_at = time.perf_counter()
    if not args.no_kill:
        await kill_lease_holder(client, cluster, db_url, job_ids, wanted, posting, began, run)
    for _ in range(1200):  # the jobs finish (on the replicas left)
        states = await job_states(client, cluster, run.stats, job_ids)
        if all(s["state"] != "running" for s in states):
            break
        await asyncio.sleep(0.2)
    run.lines.append(f"jobs finished {time.perf_counter() - killed_at:.1f} s after "
                     + ("they started" if args.no_kill else "the kill"))  # fmt: skip
    return states


async def kill_lease_holder(client: httpx.AsyncClient, cluster: Cluster, db_url: str,
                            job_ids: list[str], wanted: int, posting: asyncio.Task[float],
                            began: float, run: Run) -> None:  # fmt: skip
    """SIGKILL the replica holding the jobs' lease, then wait for the lease to move."""
    holder = lease_holder(db_url, "jobs")
    if holder is None:
        raise SystemExit("no replica holds the resync jobs' lease")
    killed_at = time.perf_counter()
    killed = cluster.kill(holder)
    at_kill = await job_states(client, cluster, run.stats, job_ids)  # what the dead one left
    done_at_kill = sum(s["counts"]["synced"] + s["counts"]["failed"] for s in at_kill)
    running = sum(s["state"] == "running" for s in at_kill)
    run.lines.append(
        f"killed replica {killed} (pid {holder}, the resync jobs' lease holder) with SIGKILL "
        f"{killed_at - began:.1f} s in, the engine still posting: {running} jobs running, "
        f"{done_at_kill:,} of {wanted:,} errors answered"
    )
    if posting.done() or not running or done_at_kill >= wanted:
        run.problems.append("the kill did not land mid-run (posting over, or no job in flight)")
    new_holder = None
    while new_holder is None or new_holder == holder:
        await asyncio.sleep(0.1)
        new_holder = lease_holder(db_url, "jobs")
        if time.perf_counter() - killed_at > 120:
            run.problems.append("the jobs' lease never moved to another replica")
            break
    run.lines.append(f"the jobs' lease moved to pid {new_holder} in "
                     f"{time.perf_counter() - killed_at:.1f} s")  # fmt: skip


def check(run: Run, db_url: str, engine: Engine, consoles: list[Console],
          states: list[dict[str, Any]], org: dict[str, Any]) -> None:  # fmt: skip
    """The counts that prove nothing was lost or sent twice."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        rows, attempts = conn.execute("SELECT count(*), sum(attempts) FROM errors").fetchone()  # type: ignore[misc]
        ledger = dict(conn.execute("SELECT id, seq FROM errors").fetchall())
        interrupted = conn.execute(
            "SELECT count(*) FROM resync_requests WHERE state = 'interrupted'"
        ).fetchone()[0]  # type: ignore[index]
        used = conn.execute("SELECT COALESCE(sum(calls), 0) FROM usage_hourly").fetchone()[0]  # type: ignore[index]
    synced = sum(s["counts"]["synced"] for s in states)
    unknown = sum(s["counts"]["unknown"] for s in states)
    failed = sum(s["counts"]["failed"] for s in states)
    skipped = sum(s["counts"]["skipped"] for s in states)
    received = org["records"]
    twice = sum(1 for n in received.values() if n > 1)
    run.lines += [
        f"ledger rows {rows:,} = items posted {engine.posted:,} "
        f"(attempts {attempts:,} = rows + resynced: no retried batch counted twice)",
        f"jobs: {len(states)} ({sorted({s['state'] for s in states})}), errors synced "
        f"{synced:,}, failed {failed:,}, skipped {skipped:,}, unknown {unknown:,} (cut off "
        "by the kill); "
        f"resync requests interrupted: {interrupted}",
        f"records the org received {len(received):,} = synced + failed "
        f"{synced + failed:,} + {len(received) - synced - failed:,} whose answer the kill cut "
        f"off (of the {unknown:,} unknown), received twice {twice}; "
        f"collections calls {org['calls']:,}; calls in the usage ledger {used:,}",
    ]
    same = sum(1 for c in consoles if c.rows == ledger and c.twice == 0)
    run.lines.append(f"consoles whose copy equals the ledger, no change given twice: "
                     f"{same}/{len(consoles)}")  # fmt: skip
    if rows != engine.posted or attempts != rows + synced + failed:
        run.problems.append("ledger rows do not match the items posted")
    if twice:
        run.problems.append(f"{twice} records were sent to the org twice")
    if not synced + failed <= len(received) <= synced + failed + unknown:
        run.problems.append("records received do not match the errors resynced")
    if same != len(consoles):
        run.problems.append("a console's copy differs from the ledger")
    if any(s["state"] == "running" for s in states):
        run.problems.append("a job never finished")
    if org["calls"] != used:
        run.problems.append(f"the org answered {org['calls']:,} Salesforce calls, the usage "
                            f"ledger counts {used:,}")  # fmt: skip


def report(name: str, run: Run, reference: Run | None) -> None:
    rate = run.posted / run.seconds if run.seconds else 0.0
    print(f"\n== {name}: {run.posted:,} failures in {run.seconds:.1f} s = {rate:,.0f}/s")
    if reference is not None and reference.seconds:
        ref_rate = reference.posted / reference.seconds
        print(f"   throughput {rate / ref_rate:.2f}x one replica's ({ref_rate:,.0f}/s)")
    for endpoint in sorted(run.stats.latency):
        p50, p99 = run.stats.p(endpoint, 0.5), run.stats.p(endpoint, 0.99)
        n = len(run.stats.latency[endpoint])
        line = f"   {endpoint:28} n={n:6}  p50 {p50:7.1f} ms  p99 {p99:8.1f} ms"
        if reference is not None and endpoint in reference.stats.latency:
            line += (f"  ({p50 / reference.stats.p(endpoint, 0.5):.2f}x / "
                     f"{p99 / reference.stats.p(endpoint, 0.99):.2f}x one replica's)")  # fmt: skip
        failed = run.stats.failed.get(endpoint, 0)
        print(line + (f"  failed/retried {failed}" if failed else ""))
    for line in run.lines:
        print(f"   {line}")
    for problem in run.problems:
        print(f"   PROBLEM: {problem}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=2000, help="failures posted per second")
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--consoles", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--job-size", type=int, default=400, help="errors per resync job")
    parser.add_argument("--org-latency", type=float, default=1.0, metavar="S",
                        help="seconds the org takes over each collections call (1.0)")  # fmt: skip
    parser.add_argument("--heartbeat", type=float, default=5.0, metavar="S",
                        help="the replicas' heartbeat: a dead one's resync is cut off after "
                             "three (5, the default of serve)")  # fmt: skip
    parser.add_argument("--no-jobs", action="store_true", help="no resync jobs (and no kill)")
    parser.add_argument("--no-kill", action="store_true", help="the jobs, but no replica killed")
    parser.add_argument(
        "--reference-seconds",
        type=float,
        metavar="S",
        help="the one-replica reference's load (a quarter of --seconds)",
    )
    parser.add_argument("--quick", action="store_true", help="a few seconds at a small rate")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rate, args.consoles, args.jobs, args.job_size = 6.0, 400, 3, 2, 400
        args.org_latency, args.heartbeat = 0.5, 1.0
    reference = asyncio.run(phase(args, 1, args.reference_seconds or args.seconds / 4, full=False))
    report("reference: one replica, the engine alone", reference, None)
    run = asyncio.run(phase(args, args.replicas, args.seconds, full=True))
    report(f"{args.replicas} replicas, {args.consoles} consoles, {args.jobs} jobs, one killed",
           run, reference)  # fmt: skip
    return 1 if run.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
