"""Salesforce calls spent per resync, through the real service and simulated org.

For 100, 250, 1,000 and 10,000 errors (one open error per Contact, each with a
Salesforce id) it resyncs the errors twice over, on separate sets of errors:

- as one resync job (``POST /v1/resync/jobs``): 200 errors per sObject Collections
  call, so ``ceil(n/200)`` calls;
- as successive ``POST /v1/resync`` requests of 100 (the article's limit), the
  reference measured in the same run: one call per request, ``ceil(n/100)``.

It prints the calls the service reported, the calls the simulated org counted, the
``ceil(n/200)`` bound, and the job's calls as a ratio of the reference's.

    python bench/resync_calls.py
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import uuid
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


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        org = demo_org_state(7)
        config = ServiceConfig(
            db_path=Path(tmp) / "ledger.sqlite3",
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
        await client.aclose()
        await service.stop()


if __name__ == "__main__":
    asyncio.run(main())
