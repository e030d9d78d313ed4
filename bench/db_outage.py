"""The console while the service's PostgreSQL database goes away and comes back (issue 14).

One ``synchealth serve`` on a database of its own (``bench/_replicas.py``); the console
headless (``SyncHealthApp.run_test`` at 160x50) on it over loopback. For each of
``--outages`` rounds: the database closed (``ALLOW_CONNECTIONS false``, its sessions
ended), seconds until the header says *degraded*; then opened, seconds until it says
*online*. No key is pressed. The same rounds with ``health_interval = 0`` (the console
waits for its 30 s refresh) are the reference, in the same run, and so is a healthy
refresh (ctrl+r until refreshed, mean of 5) with and without the look at health
running: the look must not make a healthy refresh costlier. Then the service alone:
``GET /v1/health`` and ``GET /v1/usage`` while the database is away, median of 20,
against ``CONNECT_TIMEOUT``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent / "tests"))
from _replicas import Cluster, fresh_database
from pg_db import allow_connections as allow  # the tests' way to close a database

from tui.app import SyncHealthApp
from tui.config import Config
from tui.service.db.postgres import CONNECT_TIMEOUT
from tui.widgets.header import StatusHeader


async def until(pilot: object, app: SyncHealthApp, word: str, limit: float) -> float:
    started = time.monotonic()
    while word not in str(app.screen.query_one(StatusHeader).render()):
        if time.monotonic() - started > limit:
            return float("inf")
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    return time.monotonic() - started


async def console_rounds(
    base: str, db_url: str, folder: Path, interval: float, outages: int
) -> tuple[list[float], list[float], float]:
    """(seconds to degraded, to online, per round; a healthy refresh's mean seconds)."""
    config = Config(health_interval=interval)
    app = SyncHealthApp(url=base, cache_path=folder / f"cache-{interval}.sqlite3", config=config)
    away, back = [], []
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, app, "online", 60)
        refreshes = []
        for _ in range(5):
            stamp = app.last_refresh
            started = time.monotonic()
            await pilot.press("ctrl+r")
            while app.last_refresh == stamp or app.refreshing:
                await pilot.pause(0.01)
            refreshes.append(time.monotonic() - started)
        for _ in range(outages):
            allow(db_url, False)
            away.append(await until(pilot, app, "degraded", 90))
            allow(db_url, True)
            back.append(await until(pilot, app, "online", 90))
    return away, back, statistics.mean(refreshes)


def service_alone(base: str, db_url: str) -> tuple[float, float, float]:
    """Median ms of health (healthy), health and usage (database away)."""

    def median_ms(client: httpx.Client, path: str) -> float:
        times = []
        for _ in range(20):
            started = time.monotonic()
            client.get(path)
            times.append((time.monotonic() - started) * 1000)
        return statistics.median(times)

    with httpx.Client(base_url=base, timeout=30) as client:
        healthy = median_ms(client, "/v1/health")
        allow(db_url, False)
        while client.get("/v1/health").json()["database"] != "unavailable":
            time.sleep(0.1)
        health, usage = median_ms(client, "/v1/health"), median_ms(client, "/v1/usage")
        allow(db_url, True)
        while client.get("/v1/health").json()["database"] != "ok":  # then stop cleanly
            time.sleep(0.1)
    return healthy, health, usage


def show(name: str, values: list[float]) -> str:
    return f"{name} " + ", ".join(f"{v:.1f}" for v in values) + f" s (max {max(values):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--outages", type=int, default=3)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp, fresh_database() as db_url:
        folder = Path(tmp)
        os.environ["SYNCHEALTH_STATE_DIR"] = str(folder / "state")
        cluster = Cluster(db_url, 1, folder, org_latency=0.0, heartbeat=5.0)
        try:
            with httpx.Client() as client:
                for _ in range(600):
                    try:
                        if client.get(cluster.url(0) + "/v1/health").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.05)
            figures = {}
            for interval in (3.0, 0.0):
                figures[interval] = asyncio.run(
                    console_rounds(cluster.url(0), db_url, folder, interval, args.outages)
                )
            healthy, health, usage = service_alone(cluster.url(0), db_url)
        finally:
            cluster.stop()
    (away, back, refresh), (ref_away, ref_back, ref_refresh) = figures[3.0], figures[0.0]
    print("console, health looked at every 3 s (the default):")
    print("  " + show("closed -> degraded", away))
    print("  " + show("opened -> online  ", back))
    print("reference, same run: no look at health (health_interval = 0, refresh every 30 s):")
    print("  " + show("closed -> degraded", ref_away))
    print("  " + show("opened -> online  ", ref_back))
    print(
        f"ratio of the means: degraded {statistics.mean(away) / statistics.mean(ref_away):.2f}x,"
        f" online {statistics.mean(back) / statistics.mean(ref_back):.2f}x of the reference"
    )
    print(
        f"healthy refresh (ctrl+r, mean of 5): {refresh * 1000:.0f} ms with the look, "
        f"{ref_refresh * 1000:.0f} ms without ({refresh / ref_refresh:.2f}x)"
    )
    print(
        f"service: health {healthy:.1f} ms healthy; with the database away health "
        f"{health:.1f} ms, usage (503) {usage:.1f} ms = {usage / 1000 / CONNECT_TIMEOUT:.3f}x "
        f"the {CONNECT_TIMEOUT} s connect timeout (median of 20)"
    )


if __name__ == "__main__":
    main()
