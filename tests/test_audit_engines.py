"""Tokens and the audit trail on each engine: the real service over ASGI on a SQLite
file, then on a schema of the real PostgreSQL (tests/pg_harness.py)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pg_harness import ledger_rows
from test_ingest import ORG_TOKEN, T0, Clock

from tui.service.app import SyncHealthService
from tui.service.config import ServiceConfig
from tui.service.db import PostgresTarget
from tui.service.tokens import TokenRefused, Tokens
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state


@pytest.fixture
async def service(ledger_target: Path | PostgresTarget) -> AsyncIterator[SyncHealthService]:
    org = httpx.ASGITransport(app=create_simorg(demo_org_state(7), access_token=ORG_TOKEN))
    pg = isinstance(ledger_target, PostgresTarget)
    config = ServiceConfig(
        db_path=Path("unused.sqlite3") if pg else ledger_target,
        database=ledger_target if pg else None,
        org_token=ORG_TOKEN, org_transport=org, clock=Clock(T0), mode="simulated",
        retry_interval=None, notify_interval=None,
    )  # fmt: skip
    svc = SyncHealthService(config)
    await svc.start()
    yield svc
    await svc.stop()


def client(svc: SyncHealthService, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=svc.asgi), base_url="http://t", headers=headers
    )


async def test_tokens_and_the_trail_on_each_engine(
    service: SyncHealthService, ledger_target: Path | PostgresTarget
) -> None:
    tokens = Tokens(service.ledger)
    alice = await tokens.add("alice", "cli:ops", T0)
    with pytest.raises(TokenRefused, match="exists already"):
        await tokens.add("alice", "cli:ops", T0)
    stored = await ledger_rows(ledger_target, "SELECT name, digest FROM api_tokens")
    assert stored == [("alice", hashlib.sha256(alice.encode()).hexdigest())]
    async with client(service, alice) as mine:
        for calls in (100, 200, 300):
            answer = await mine.put("/v1/usage/allocation", json={"allocated": calls})
            assert answer.status_code == 200, answer.text
        first = (await mine.get("/v1/audit", params={"limit": 2})).json()
        rest = (await mine.get("/v1/audit", params={"cursor": first["next_cursor"]})).json()
    entries = first["entries"] + rest["entries"]
    assert first["has_more"] and not rest["has_more"]
    assert [(e["kind"], e["actor"]) for e in entries] == [
        ("token", "cli:ops"),
        *[("allocation", "alice")] * 3,
    ]
    assert [e["changes"][0]["new"] for e in entries[1:]] == [100, 200, 300]
    await tokens.revoke("alice", "cli:ops", T0)
    async with client(service, alice) as mine:
        refused = await mine.get("/v1/usage")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "token_revoked"
    async with client(service) as anonymous:
        assert (await anonymous.get("/v1/usage")).status_code == 401  # all revoked: still closed
    (listed,) = await tokens.listed()
    assert listed.revoked is not None and listed.last_used is not None
    assert listed.last_refused is not None
