"""A resync job of 1,000 errors survives ``synchealth serve`` killed with SIGKILL half way
(issue 10, point 5): a real serve process, the simulated org on loopback in this
process counting every record it receives, a restart on the same ledger (of each engine:
a SQLite file, then a schema of the real PostgreSQL), and every error sent to Salesforce
exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pg_harness import db_arg
from sfstandin import serve_in_thread
from test_serve_loopback import free_port, wait_for

from tui.core.sobjects import KEY_PREFIX
from tui.service.db import PostgresTarget
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state
from tui.simorg.ids import make_id

ORG_TOKEN = "00Dkill!org-token"
CHUNK = 200


class CountingOrg:
    """The simulated org's ASGI app, counting each record id of every collections call;
    the call that brings the ``hold_at``-th record is held a while before it is answered
    (the moment the test kills the service)."""

    def __init__(self, app: Any, hold_at: int) -> None:
        self.app, self.hold_at = app, hold_at
        self.received: dict[str, int] = {}
        self.calls = 0
        self.holding = threading.Event()
        self.lock = threading.Lock()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "PATCH":
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        with self.lock:
            self.calls += 1
            for record in orjson.loads(body)["records"]:
                self.received[record["Id"]] = self.received.get(record["Id"], 0) + 1
            total = sum(self.received.values())
        if total >= self.hold_at and not self.holding.is_set():
            self.holding.set()
            time.sleep(3)  # the service is killed while it waits for this answer

        sent = False

        async def replay() -> dict:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def serve(db: Path | PostgresTarget, org_url: str, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "SYNCHEALTH_API_TOKEN": "", "SALESFORCE_ACCESS_TOKEN": ORG_TOKEN}
    return subprocess.Popen(
        [sys.executable, "-m", "tui", "serve", "--org-url", org_url, "--db", db_arg(db),
         "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


@pytest.fixture
def org() -> Iterator[tuple[str, CountingOrg]]:
    state = demo_org_state(7)
    counting = CountingOrg(create_simorg(state, access_token=ORG_TOKEN), hold_at=3 * CHUNK)
    counting.state = state  # type: ignore[attr-defined]
    with serve_in_thread(counting) as url:
        yield url, counting


def failures(state: Any, n: int) -> list[dict[str, Any]]:
    prefix, out, counter = KEY_PREFIX["Contact"], [], 0
    while len(out) < n:
        counter += 1
        if state.usable(prefix, counter):
            out.append(
                {"object_type": "contact", "record_id": f"k{counter}",
                 "salesforce": {"object": "Contact", "id": make_id(prefix, counter),
                                "fields": {"Email": f"k{counter}@example.com"}},
                 "errors": [{"statusCode": "INVALID_EMAIL_ADDRESS",
                             "message": f"Email: invalid email address: k{counter}@@x",
                             "fields": ["Email"]}]}
            )  # fmt: skip
    return out


def test_a_job_killed_half_way_sends_every_error_exactly_once(
    ledger_target: Path | PostgresTarget, org
) -> None:
    org_url, counting = org
    db, port = ledger_target, free_port()
    base = f"http://127.0.0.1:{port}"
    proc = serve(db, org_url, port)
    try:
        wait_for(f"{base}/v1/health", proc)
        items = failures(counting.state, 1000)
        ids = httpx.post(f"{base}/v1/errors", json={"errors": items}, timeout=30).json()
        error_ids = ids["error_ids"]
        assert len(error_ids) == 1000
        started = httpx.post(
            f"{base}/v1/resync/jobs",
            json={"error_ids": error_ids, "request_id": "kill-1"},
            timeout=30,
        )
        assert started.status_code == 202, started.text
        job_id = started.json()["job_id"]
        assert counting.holding.wait(60), "the job never reached its third batch"
        proc.send_signal(signal.SIGKILL)  # half way: the third call is at the org
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    received_at_kill = dict(counting.received)
    assert sum(received_at_kill.values()) == 3 * CHUNK

    proc = serve(db, org_url, port)  # the restart, on the same ledger
    try:
        wait_for(f"{base}/v1/health", proc)
        deadline = time.monotonic() + 60
        while True:
            job = httpx.get(f"{base}/v1/resync/jobs/{job_id}", params={"limit": 1000}).json()
            if job["state"] == "done":
                break
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)

    sent = {item["salesforce"]["id"] for item in items}
    assert set(counting.received) == sent  # every error's record reached the org...
    assert set(counting.received.values()) == {1}  # ...exactly once
    assert counting.calls == 5
    # the batch the service was killed waiting for is not sent again: its outcome is
    # unknown to the service (the org did apply it), the other 800 synced
    assert job["counts"]["synced"] == 800 and job["counts"]["unknown"] == 200
    assert job["salesforce_calls"] == 4  # the cut-off call was never counted as answered
    unknown = [o for o in job["outcomes"] if o["status"] == "unknown"]
    assert [o["error_id"] for o in unknown] == sorted(error_ids[400:600])
