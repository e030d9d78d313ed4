"""What a request pays for API tokens, through the real service over ASGI.

The same 2,000 ``GET /v1/health`` requests on a small demo ledger, four ways, in one
run: no token (the reference), the configuration's ``api_token`` (constant-time compare),
a named token among 1 and among 1,000 (SHA-256 and one indexed lookup on the ledger's
reader). It prints the best requests/s of 3 interleaved rounds and each as a ratio of the
reference.

    python bench/auth_tokens.py
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tui.embedded import build_demo_ledger
from tui.service.app import SyncHealthService
from tui.service.config import ServiceConfig
from tui.service.tokens import Tokens
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state

ORG_TOKEN = "00Dbench!token"
REQUESTS = 2000
ROUNDS = 3
#: ledger -> the last named token added to it (a token is known only when it is added)
_BEARERS: dict[Path, str] = {}
CONFIG_TOKEN = "bench-config-token-0123456789"


async def _rate(db: Path, api_token: str | None, tokens: int) -> float:
    """Requests/s of REQUESTS health requests; with ``tokens`` named tokens, the last used."""
    org = create_simorg(demo_org_state(7), access_token=ORG_TOKEN)
    config = ServiceConfig(db_path=db, org_token=ORG_TOKEN, api_token=api_token,
                           org_transport=httpx.ASGITransport(app=org), mode="simulated",
                           retry_interval=None, notify_interval=None)  # fmt: skip
    service = SyncHealthService(config)
    await service.start()
    try:
        store = Tokens(service.ledger)
        for n in range(len(await store.listed()), tokens):  # the first round adds them
            _BEARERS[db] = await store.add(f"bench-{n}", "bench", datetime.now(UTC))
        bearer = api_token or _BEARERS.get(db)
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        transport = httpx.ASGITransport(app=service.asgi)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers=headers
        ) as client:
            assert (await client.get("/v1/health")).status_code == 200
            started = time.perf_counter()
            for _ in range(REQUESTS):
                await client.get("/v1/health")
            return REQUESTS / (time.perf_counter() - started)
    finally:
        await service.stop()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plain, named1, named1000 = (Path(tmp) / f"{n}.sqlite3" for n in ("a", "b", "c"))
        for db in (plain, named1, named1000):
            build_demo_ledger(db, 200)
        ways = [
            ("no token (reference)", plain, None, 0),
            ("configuration's api_token", plain, CONFIG_TOKEN, 0),
            ("named token, 1 in the ledger", named1, None, 1),
            ("named token, 1,000 in the ledger", named1000, None, 1000),
        ]
        best = {what: 0.0 for what, *_ in ways}
        for _ in range(ROUNDS):  # interleaved, so a slow moment of the machine hits all
            for what, db, api_token, tokens in ways:
                best[what] = max(best[what], await _rate(db, api_token, tokens))
        rows = list(best.items())
    reference = rows[0][1]
    print(f"{REQUESTS:,} GET /v1/health over ASGI each, best of {ROUNDS} rounds")
    for what, rate in rows:
        print(f"  {what:34} {rate:8,.0f} requests/s  {rate / reference:5.2f}x the reference")


if __name__ == "__main__":
    asyncio.run(main())
