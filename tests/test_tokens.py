"""Named API tokens: the real CLI (a subprocess), the real service over ASGI and a real
``synchealth serve`` on a loopback port, each on a ledger of each engine (a SQLite file,
then a schema of the real PostgreSQL)."""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from pg_harness import db_arg, demo_serve_args, ledger_rows, ledger_write, stored_bytes
from test_ingest import Env, close_env, open_env, open_ids, start_env
from test_ingest import env as env  # a fixture: the service on each engine
from test_serve_loopback import free_port, serve, wait_for

from tui.core.audit_models import AuditPage
from tui.service.db import PostgresTarget
from tui.service.migrations import SCHEMA_VERSION
from tui.service.tokens import TOKEN_PREFIX, Tokens

ME = f"cli:{getpass.getuser()}"


def tokens(db: Path | PostgresTarget | str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", "serve", "tokens", args[0], "--db", db_arg(db), *args[1:]],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SYNCHEALTH_API_TOKEN": ""},
    )


def added(db: Path | PostgresTarget | str, name: str) -> str:
    done = tokens(db, "add", name)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_add_prints_a_token_once_and_the_ledger_keeps_only_its_hash(
    ledger_target: Path | PostgresTarget,
) -> None:
    db = ledger_target
    token = added(db, "alice")
    assert token.startswith(TOKEN_PREFIX) and len(token) == len(TOKEN_PREFIX) + 43
    assert added(db, "bob") != token
    assert token.encode() not in asyncio.run(stored_bytes(db))
    sql = "SELECT digest FROM api_tokens WHERE name = 'alice'"
    ((digest,),) = asyncio.run(ledger_rows(db, sql))
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
    ledger_target: Path | PostgresTarget, args: tuple[str, ...], says: str
) -> None:
    db = ledger_target
    done = tokens(db, *args) if args[1] != "-x" else tokens(db, "add", "--", "-x")
    assert done.returncode == 1 and says in done.stderr, done.stderr
    assert done.stdout == ""


def test_a_name_is_given_once_and_revoked_once(ledger_target: Path | PostgresTarget) -> None:
    db = ledger_target
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
    tmp_path: Path, ledger_target: Path | PostgresTarget
) -> None:
    first = await start_env(tmp_path, api_token="s3cret-config-token", target=ledger_target)
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
def serving(engine: str, folder: Path) -> Iterator[tuple[str, str, subprocess.Popen[str]]]:
    """``synchealth serve`` on a demo ledger of 200 errors on ``engine``
    (pg_harness.demo_serve_args) and a free loopback port, answering: its URL, its
    ``--db`` and its process."""
    with ExitStack() as stack:
        args, env = demo_serve_args(stack, engine, folder, size=200)
        port = free_port()
        proc = serve(*args, "--port", str(port), env=env)
        try:
            wait_for(f"http://127.0.0.1:{port}/v1/health", proc)
            yield f"http://127.0.0.1:{port}", args[args.index("--db") + 1], proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.communicate(timeout=15)


def test_a_running_service_takes_a_new_token_and_refuses_a_revoked_one(
    tmp_path: Path, engine: str
) -> None:
    with serving(engine, tmp_path) as (url, db, proc):
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


async def test_a_version_5_ledger_upgrades_keeping_its_history(
    tmp_path: Path, ledger_target: Path | PostgresTarget
) -> None:
    first = await start_env(tmp_path, target=ledger_target)
    await first.resync(await open_ids(first.db, limit=2), "before-6")
    await close_env(first)
    await ledger_write(first.db, "DROP TABLE api_tokens")  # as version 5 left it
    await ledger_write(first.db, "UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    second = await open_env(first.db, first.org, first.clock)
    try:
        token = await Tokens(second.service.ledger).add("alice", "cli:test", second.clock())
        mine = {"Authorization": f"Bearer {token}"}
        page = (await second.client.get("/v1/audit", headers=mine)).json()["entries"]
        assert [(e["kind"], e["ref"]) for e in page] == [("resync", "before-6"), ("token", "alice")]
    finally:
        await close_env(second)
    version = await ledger_rows(first.db, "SELECT value FROM meta WHERE key = 'schema_version'")
    assert version == [(str(SCHEMA_VERSION),)]


def test_tokens_use_the_profiles_ledger_and_let_serve_listen_widely(tmp_path: Path) -> None:
    """SQLite only: about a profile's relative ledger path, found beside the config file."""
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
