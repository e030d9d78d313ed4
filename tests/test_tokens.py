"""Named API tokens: the real CLI (a subprocess) on a real SQLite ledger, the real
service over ASGI and over a real loopback port."""

from __future__ import annotations

import getpass
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from test_ingest import Env, close_env, open_env, start_env
from test_serve_loopback import free_port

from tui.core.audit_models import AuditPage
from tui.service.migrations import SCHEMA_VERSION
from tui.service.tokens import TOKEN_PREFIX, Tokens

ME = f"cli:{getpass.getuser()}"


def tokens(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", "serve", "tokens", args[0], "--db", str(db), *args[1:]],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SYNCHEALTH_API_TOKEN": ""},
    )


def added(db: Path, name: str) -> str:
    done = tokens(db, "add", name)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    started = await start_env(tmp_path)
    yield started
    await close_env(started)


def test_add_prints_a_token_once_and_the_ledger_keeps_only_its_hash(tmp_path: Path) -> None:
    db = tmp_path / "team.sqlite3"
    token = added(db, "alice")
    assert token.startswith(TOKEN_PREFIX) and len(token) == len(TOKEN_PREFIX) + 43
    assert added(db, "bob") != token
    assert token.encode() not in db.read_bytes()
    wal = db.with_name(db.name + "-wal")
    assert not wal.exists() or token.encode() not in wal.read_bytes()
    import sqlite3

    with sqlite3.connect(db) as conn:
        (digest,) = conn.execute("SELECT digest FROM api_tokens WHERE name = 'alice'").fetchone()
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    listed = tokens(db, "list")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["alice", "bob"]
    assert f"by {ME}" in lines[0] and "last used never" in lines[0] and "valid" in lines[0]
    assert token not in listed.stdout + listed.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("add", ""), "a token needs a name"),
        (("add", "a b"), "cannot name a token"),
        (("add", "-x"), "cannot name a token"),
        (("add", "x" * 41), "cannot name a token"),
        (("add", "api_token"), "name of the configuration's api_token"),
        (("revoke", "nobody"), "no token is named 'nobody'"),
    ],
)
def test_odd_names_and_unknown_tokens_are_refused_with_a_reason(
    tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    db = tmp_path / "team.sqlite3"
    done = tokens(db, *args) if args[1] != "-x" else tokens(db, "add", "--", "-x")
    assert done.returncode == 1 and says in done.stderr, done.stderr
    assert done.stdout == ""


def test_a_name_is_given_once_and_revoked_once(tmp_path: Path) -> None:
    db = tmp_path / "team.sqlite3"
    added(db, "alice")
    again = tokens(db, "add", "alice")
    assert again.returncode == 1 and "exists already" in again.stderr and again.stdout == ""
    assert tokens(db, "revoke", "alice").returncode == 0
    twice = tokens(db, "revoke", "alice")
    assert twice.returncode == 1 and "revoked already" in twice.stderr
    reused = tokens(db, "add", "alice")
    assert reused.returncode == 1 and "revoked ones keep their name" in reused.stderr
    assert "revoked 20" in tokens(db, "list").stdout


async def test_each_request_is_recorded_under_its_tokens_name(env: Env) -> None:
    ledger_tokens = Tokens(env.service.ledger)
    assert (await env.client.get("/v1/usage")).status_code == 200  # no token yet
    alice = await ledger_tokens.add("alice", "cli:test", env.clock())
    open_now = await env.client.get("/v1/usage")
    assert open_now.status_code == 200  # until the service looks again, a second later
    env.clock.advance(seconds=2)
    refused = await env.client.get("/v1/usage")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    mine = {"Authorization": f"Bearer {alice}", "X-Synchealth-Actor": "mallory@elsewhere"}
    answer = await env.client.put("/v1/usage/allocation", json={"allocated": 99}, headers=mine)
    assert answer.status_code == 200, answer.text
    page = AuditPage.model_validate((await env.client.get("/v1/audit", headers=mine)).json())
    assert [(e.kind, e.ref, e.actor) for e in page.entries] == [
        ("token", "alice", "cli:test"),
        ("allocation", None, "alice"),  # the token's name, not what the client says it is
    ]
    listed = {info.name: info for info in await ledger_tokens.listed()}
    assert listed["alice"].last_used is not None


@pytest.mark.parametrize(
    "header",
    ["Bearer shk_unknown", "Bearer ", "Basic abc", "Bearer \xe9t\xe9"],
)
async def test_an_unknown_or_malformed_token_is_refused_with_401(env: Env, header: str) -> None:
    await Tokens(env.service.ledger).add("alice", "cli:test", env.clock())
    env.clock.advance(seconds=2)
    answer = await env.client.get(
        "/v1/usage",
        headers={"Authorization": header.encode("latin-1")},  # type: ignore[dict-item]
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == {
        "code": "unauthorized",
        "message": "The API token is not valid for this Sync Health service.",
    }


async def test_a_revoked_token_used_again_is_refused_saying_so(env: Env) -> None:
    ledger_tokens = Tokens(env.service.ledger)
    alice = await ledger_tokens.add("alice", "cli:test", env.clock())
    bob = await ledger_tokens.add("bob", "cli:test", env.clock())
    await ledger_tokens.revoke("alice", "cli:test", env.clock())
    answer = await env.client.get("/v1/usage", headers={"Authorization": f"Bearer {alice}"})
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert error["code"] == "token_revoked"
    assert "'alice' was revoked at" in error["message"] and "tokens add" in error["message"]
    assert alice not in answer.text
    listed = {info.name: info for info in await ledger_tokens.listed()}
    assert listed["alice"].last_refused is not None and listed["alice"].last_used is None
    page = await env.client.get("/v1/audit", headers={"Authorization": f"Bearer {bob}"})
    assert [(e["kind"], e["action"], e["ref"]) for e in page.json()["entries"]] == [
        ("token", "added", "alice"),
        ("token", "added", "bob"),
        ("token", "revoked", "alice"),
    ]  # a refused request changes nothing: it is counted on the token, not in the trail


async def test_the_configurations_token_keeps_working_under_a_fixed_name(
    tmp_path: Path,
) -> None:
    first = await start_env(tmp_path, api_token="s3cret-config-token")
    try:
        await Tokens(first.service.ledger).add("alice", "cli:test", first.clock())
        first.clock.advance(seconds=2)
        answer = await first.client.put("/v1/usage/allocation", json={"allocated": 42})
        assert answer.status_code == 200, answer.text
        entries = (await first.client.get("/v1/audit")).json()["entries"]
        assert entries[-1]["actor"] == "api_token"
    finally:
        await close_env(first)
    second = await open_env(first.db, first.org, first.clock, api_token=None)
    try:  # the config token gone, the named token still guards the ledger
        assert (await second.client.get("/v1/usage")).status_code == 401
    finally:
        await close_env(second)


@contextmanager
def serving(db: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``synchealth serve --demo`` on ``db`` and a free loopback port, answering; its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "serve", "--demo", "--demo-size", "200", "--db", str(db),
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "SYNCHEALTH_API_TOKEN": ""},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.1)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=15)


def test_a_running_service_takes_a_new_token_and_refuses_a_revoked_one(tmp_path: Path) -> None:
    db = tmp_path / "served.sqlite3"
    with serving(db) as (url, proc):
        assert httpx.get(f"{url}/v1/health", timeout=5).status_code == 200
        token = added(db, "engine-1")
        time.sleep(1.2)  # the service looks for tokens once a second while it has none
        assert httpx.get(f"{url}/v1/usage", timeout=5).status_code == 401
        mine = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{url}/v1/usage", headers=mine, timeout=5).status_code == 200
        assert tokens(db, "revoke", "engine-1").returncode == 0
        refused = httpx.get(f"{url}/v1/usage", headers=mine, timeout=5)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "token_revoked"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert "Traceback" not in err and token not in err
    assert "refused the revoked API token 'engine-1'" in err


async def test_a_version_5_ledger_upgrades_keeping_its_history(tmp_path: Path) -> None:
    import sqlite3

    first = await start_env(tmp_path)
    ids = [r[0] for r in sqlite3.connect(first.db).execute(
        "SELECT id FROM errors WHERE status = 'open' ORDER BY id LIMIT 2")]  # fmt: skip
    await first.resync(ids, "before-6")
    await close_env(first)
    with sqlite3.connect(first.db) as conn:  # as version 5 left it: no tokens table
        conn.execute("DROP TABLE api_tokens")
        conn.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    second = await open_env(first.db, first.org, first.clock)
    try:
        token = await Tokens(second.service.ledger).add("alice", "cli:test", second.clock())
        mine = {"Authorization": f"Bearer {token}"}
        page = (await second.client.get("/v1/audit", headers=mine)).json()["entries"]
        assert [(e["kind"], e["ref"]) for e in page] == [("resync", "before-6"), ("token", "alice")]
    finally:
        await close_env(second)
    with sqlite3.connect(first.db) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),
        )


def test_tokens_use_the_profiles_ledger_and_let_serve_listen_widely(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[profiles.team.serve]\nhost = "0.0.0.0"\ndb = "team.sqlite3"\n', "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCHEALTH_")}
    env["SYNCHEALTH_DATA_DIR"] = str(tmp_path / "data")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "tui", "serve", "--config", str(config), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)

    made = cli("tokens", "add", "alice", "--profile", "team")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "team.sqlite3").exists() and not (tmp_path / "data").exists()
    assert cli("--profile", "team", "tokens", "list").stdout.startswith("alice\t")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "serve", "--config", str(config), "--profile", "team",
         "--demo", "--db", str(tmp_path / "team.sqlite3"), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:  # beyond loopback without api_token: the named token is enough
                answer = httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
                time.sleep(0.1)
        assert answer.status_code == 200 and answer.json()["org_name"] == ""  # health: anyone
        assert httpx.get(f"http://127.0.0.1:{port}/v1/usage", timeout=5).status_code == 401
        bearer = {"Authorization": f"Bearer {made.stdout.strip()}"}
        answer = httpx.get(f"http://127.0.0.1:{port}/v1/health", headers=bearer, timeout=5)
        assert answer.status_code == 200 and answer.json()["org_name"]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    assert "auth: bearer token" in out
