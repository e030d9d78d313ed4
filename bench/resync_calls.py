"""Salesforce calls spent per resync, through the real service and simulated org.

Prints, for several batch sizes, the calls the service reported, the calls the
simulated org counted, and the ceil(n/200) bound of DESIGN.md section 7. The
service takes at most 100 errors per request (the article's limit), so a resync of
n errors is ceil(n/100) requests; each request is one sObject Collections call.
The connector alone is also measured on 1,000 records (ceil(1000/200) = 5).

    python bench/resync_calls.py
"""

from __future__ import annotations

import asyncio
import math
import sqlite3
import tempfile
import uuid
from pathlib import Path

import httpx

from tui.service.app import SyncHealthService
from tui.service.config import ServiceConfig
from tui.service.salesforce import SalesforceConnector, StaticToken
from tui.simorg.app import create_simorg
from tui.simorg.demo import build_demo_ledger, demo_org_state

TOKEN = "00Dbench!token"


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "ledger.sqlite3"
        build_demo_ledger(db, 20_000)
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE settings SET value = '15000' WHERE key = 'allocated'")
            ids = [r[0] for r in conn.execute("SELECT id FROM errors WHERE status = 'open'")]
        org = demo_org_state(7)
        config = ServiceConfig(
            db_path=db,
            org_token=TOKEN,
            org_transport=httpx.ASGITransport(app=create_simorg(org, access_token=TOKEN)),
            mode="simulated",
        )
        service = SyncHealthService(config)
        await service.start()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.asgi), base_url="http://bench"
        )
        await client.get("/v1/usage")  # the /limits read, so it is not counted below
        print(
            f"{'errors':>7} {'requests':>8} {'reported calls':>14} {'org counted':>11} "
            f"{'ceil(n/200)':>11} {'calls per 100':>13}"
        )
        offset = 0
        for n in (1, 100, 250, 1000):
            chunk, offset = ids[offset : offset + n], offset + n
            before, reported, requests = org.api_used, 0, 0
            for i in range(0, n, 100):
                answer = await client.post(
                    "/v1/resync",
                    json={"error_ids": chunk[i : i + 100], "request_id": str(uuid.uuid4())},
                )
                answer.raise_for_status()
                reported += answer.json()["salesforce_calls"]
                requests += 1
            counted = org.api_used - before
            print(
                f"{n:>7} {requests:>8} {reported:>14} {counted:>11} "
                f"{math.ceil(n / 200):>11} {100 * counted / n:>13.2f}"
            )
        await client.aclose()
        await service.stop()

        direct = demo_org_state(7)
        calls = 0

        def count() -> None:
            nonlocal calls
            calls += 1

        connector = SalesforceConnector(
            "https://simorg.test",
            StaticToken(TOKEN),
            transport=httpx.ASGITransport(app=create_simorg(direct, access_token=TOKEN)),
            on_call=count,
        )
        records = [{"attributes": {"type": "Lead"}, "Id": "00Q000000000001AAA", "Title": "x"}]
        await connector.update(records * 1000)
        await connector.aclose()
        print(f"connector alone: 1000 records -> {calls} calls (ceil(1000/200) = 5)")


if __name__ == "__main__":
    asyncio.run(main())
