"""``synchealth serve`` as a real process on a real loopback port (on each engine where it
opens a ledger)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from pg_harness import demo_serve_args

from tui.service.auth import is_loopback


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tui", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SYNCHEALTH_API_TOKEN": "", **(env or {})},
    )


def wait_for(url: str, proc: subprocess.Popen[str], seconds: float = 30.0) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"serve exited with {proc.returncode}: {proc.stderr.read()}")  # type: ignore[union-attr]
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"serve did not answer {url} within {seconds} s")


def test_serve_demo_answers_over_real_http(tmp_path: Path, engine: str) -> None:
    """On each engine: SQLite with ``--demo``, PostgreSQL with the demo's ledger copied
    into a schema and the simulated org on a loopback port (pg_harness.demo_serve_args)."""
    port = free_port()
    with ExitStack() as stack:
        args, env = demo_serve_args(stack, engine, tmp_path, size=300)
        proc = serve(*args, "--port", str(port), env=env)
        # --org-url (the stand-in on loopback) is a Salesforce reached over HTTP: live
        mode = "simulated" if engine == "sqlite" else "live"
        out, err = _answers_then_stops(proc, port, mode)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status shows it
    assert proc.returncode in (0, -signal.SIGTERM), err
    assert "Traceback" not in err
    assert f"http://127.0.0.1:{port}" in out and f"mode: {mode}" in out
    assert (tmp_path / "served.sqlite3").exists() is (engine == "sqlite")


def _answers_then_stops(proc: subprocess.Popen[str], port: int, mode: str) -> tuple[str, str]:
    """Health (in ``mode``), usage and the whole feed of the demo's 300 errors, then
    SIGTERM: the process's stdout and stderr."""
    try:
        health = wait_for(f"http://127.0.0.1:{port}/v1/health", proc)
        assert health.status_code == 200
        assert health.json()["mode"] == mode
        usage = httpx.get(f"http://127.0.0.1:{port}/v1/usage", timeout=5).json()
        assert usage["salesforce_limit"] == 15000 and len(usage["hourly"]) == 24
        page = httpx.get(f"http://127.0.0.1:{port}/v1/errors?limit=1000", timeout=5).json()
        assert len(page["rows"]) == 300 and not page["has_more"]
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=15)
    return out, err


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::"])
def test_serve_refuses_to_listen_beyond_loopback_without_a_token(tmp_path: Path, host: str) -> None:
    proc = serve("--demo", "--host", host, "--db", str(tmp_path / "x.sqlite3"))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "without an API token" in err and "--token" in err
    assert not (tmp_path / "x.sqlite3").exists()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("0.0.0.0", False), ("::", False), ("10.0.0.1", False),
     ("example.com", False)],
)  # fmt: skip
def test_what_counts_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
