"""Errors coming in: ``POST /v1/errors`` throughput on a large ledger.

Posts batches of 1,000 items through the real service app (httpx over ASGI, so the
JSON, validation, classification and the one-transaction ledger write are all timed)
into a copy of the benchmark ledger: first failures of new records, then the same
failures again (each a repeat: one more attempt on an existing row, no new row).

    python bench/ingest.py [--size N]
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import time
import uuid
from pathlib import Path

import httpx
from _common import ledger, parse_size, workdir

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


if __name__ == "__main__":
    asyncio.run(main(parse_size(__doc__)))
