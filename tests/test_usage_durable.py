"""The usage ledger counts every Salesforce call once, whichever process made it and
whenever it died (issue 14, item 2): real ``synchealth serve`` processes on either
engine, the simulated org in a process of its own (``python -m tui.simorg``) counting
the calls it receives, and ``kill -9`` while the org holds a call."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_job_kill_restart import ORG_TOKEN, failures
from test_serve_loopback import free_port, wait_for

from tui.service.db import PostgresTarget
from tui.simorg.__main__ import RECEIVED_PATH
from tui.simorg.demo import demo_org_state


@contextmanager
def org_process(latency: float) -> Iterator[str]:
    """The demo org (seed 7) alone on a loopback port, holding each collections answer
    ``latency`` seconds after it counted the call; its URL."""
    port = free_port()
    env = {**os.environ, "SALESFORCE_ACCESS_TOKEN": ORG_TOKEN}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.simorg", "--port", str(port), "--latency", str(latency)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/services/data/", proc)
        yield url
    finally:
        proc.kill()
        proc.wait(10)


def org_calls(org_url: str) -> int:
    """Collections calls the org received, answered or not."""
    return int(httpx.get(org_url + RECEIVED_PATH, timeout=10).json()["calls"])


def serve(
    db: Path | PostgresTarget, org_url: str, folder: Path
) -> tuple[subprocess.Popen[str], str]:
    """A serve process on the ledger ``db`` calling the org at ``org_url``, answering."""
    port = free_port()
    (folder / "none.toml").write_text("")
    env = {**os.environ, "SYNCHEALTH_API_TOKEN": "", "SALESFORCE_ACCESS_TOKEN": ORG_TOKEN,
           "SYNCHEALTH_CONFIG": str(folder / "none.toml"),
           "SYNCHEALTH_DATA_DIR": str(folder)}  # fmt: skip
    where = db.url if isinstance(db, PostgresTarget) else str(db)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "serve", "--org-url", org_url, "--db", where,
         "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/v1/health", proc)
    return proc, base


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


def report(base: str, n: int, first: int = 0) -> list[int]:
    """Error ids of ``n`` new failed Contacts the org will accept (after the ``first``)."""
    items = failures(demo_org_state(7), first + n)[first:]
    answer = httpx.post(f"{base}/v1/errors", json={"errors": items}, timeout=30)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["error_ids"])


def resync(base: str, ids: list[int], answers: list[Any]) -> None:
    """POST /v1/resync; the answer (or the transport error) goes to ``answers``."""
    body = {"error_ids": ids, "request_id": str(uuid.uuid4())}
    try:
        answers.append(httpx.post(f"{base}/v1/resync", json=body, timeout=60))
    except httpx.TransportError as exc:
        answers.append(exc)


def breakdown(base: str) -> dict[str, Any]:
    answer = httpx.get(f"{base}/v1/usage/breakdown", timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_call_the_org_holds_when_serve_is_killed_is_in_the_usage_ledger_after_a_restart(
    ledger_target: Path | PostgresTarget, tmp_path: Path
) -> None:
    with org_process(latency=60) as org_url:
        proc, base = serve(ledger_target, org_url, tmp_path)
        try:
            ids = report(base, 100)
            answers: list[Any] = []
            sending = threading.Thread(target=resync, args=(base, ids, answers), daemon=True)
            sending.start()
            deadline = time.monotonic() + 30
            while org_calls(org_url) == 0:
                assert time.monotonic() < deadline, "the resync never reached the org"
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)  # the org holds the call: no answer came back
            proc.wait(10)
            sending.join(30)
        finally:
            stop(proc)
        assert proc.returncode == -signal.SIGKILL
        assert isinstance(answers[0], httpx.TransportError)  # the kill cut the answer off

        proc, base = serve(ledger_target, org_url, tmp_path)  # the restart, same ledger
        try:
            seen = breakdown(base)
        finally:
            stop(proc)
        assert org_calls(org_url) == 1
        assert seen["total"] == 1, seen
        assert seen["rows"] == [{"kind": "update", "object": "Contact", "calls": 1}], seen


@pytest.mark.parametrize("ledger_target", ["postgresql"], indirect=True)
def test_calls_two_replicas_make_at_once_add_up_exactly(
    ledger_target: PostgresTarget, tmp_path: Path
) -> None:
    with org_process(latency=0.3) as org_url:
        a, a_url = serve(ledger_target, org_url, tmp_path)
        b, b_url = serve(ledger_target, org_url, tmp_path)
        try:
            ids = report(a_url, 800)
            answers: list[Any] = []
            threads = [
                threading.Thread(target=resync, args=(url, ids[i : i + 100], answers))
                for i, url in zip(range(0, 800, 100), [a_url, b_url] * 4, strict=True)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            received = org_calls(org_url)
            from_a, from_b = breakdown(a_url), breakdown(b_url)
        finally:
            stop(a)
            stop(b)
    spent = [answer.json()["salesforce_calls"] for answer in answers]
    assert spent == [1] * 8 and received == 8, answers
    assert from_a == {**from_b, "as_of": from_a["as_of"]}  # one ledger, whoever is asked
    assert from_a["total"] == received
    assert from_a["rows"] == [{"kind": "update", "object": "Contact", "calls": received}]
