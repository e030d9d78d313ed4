"""``synchealth serve`` on PostgreSQL as a real process: the ledger named by the profile,
``$SYNCHEALTH_DB`` or ``--db``, the password from a file, the URL or the environment,
and what a bad URL, a wrong password or a server that is not there says at start.

A wrong password can only be tried on a server that checks passwords: the machine's
trusts everyone, so those tests run on a private cluster of the session
(conftest ``password_cluster``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_harness import PasswordCluster, ledger_rows
from test_serve_loopback import free_port, wait_for

from tui.profiles import ENV_SECRETS, ENV_SETTINGS
from tui.service.db import PostgresTarget
from tui.service.ledger import SCHEMA_VERSION
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state

ORG_TOKEN = "org-token-for-the-standin"
SECRET = "s3cret-Never-Shown"


@pytest.fixture
def org() -> Iterator[str]:
    """A simulated org on a loopback port, as the service's Salesforce."""
    from sfstandin import serve_in_thread

    with serve_in_thread(create_simorg(demo_org_state(7), access_token=ORG_TOKEN)) as url:
        yield url


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``synchealth serve ARGS`` with no setting or secret of ours from this environment."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ENV_SETTINGS and k not in ENV_SECRETS and not k.startswith("PG")
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tui", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**clean, "SALESFORCE_ACCESS_TOKEN": ORG_TOKEN, **(env or {})},
    )


def refused(proc: subprocess.Popen[str]) -> str:
    """The one line ``serve`` printed on stderr before it exited with 2."""
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err.strip()


def stopped(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, -signal.SIGTERM), err
    assert "Traceback" not in err, err
    return out + err


def config_file(tmp_path: Path, serve_table: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"[profiles.team.serve]\n{serve_table}", encoding="utf-8")
    return path


def owner_only(path: Path, text: str) -> Path:
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


# --- the ledger named by the profile or the environment ----------------------------------


@pytest.mark.parametrize("source", ["profile", "environment"])
async def test_a_postgresql_url_in_the_profile_or_environment_serves_on_postgresql(
    tmp_path: Path, pg_target: PostgresTarget, org: str, source: str
) -> None:
    port = free_port()
    if source == "profile":
        config = config_file(tmp_path, f'db = "{pg_target.url}"\nport = {port}\n')
        env = {}
    else:
        config = config_file(tmp_path, f"port = {port}\n")
        env = {"SYNCHEALTH_DB": pg_target.url}
    proc = serve("--config", str(config), "--profile", "team", "--org-url", org, env=env)
    try:
        answer = wait_for(f"http://127.0.0.1:{port}/v1/errors", proc)
        assert answer.status_code == 200, answer.text
    finally:
        said = stopped(proc)
    assert f"ledger: {pg_target.url}" in said
    # the service made its ledger in the test's schema of the PostgreSQL database
    rows = await ledger_rows(pg_target, "SELECT value FROM meta WHERE key = 'schema_version'")
    assert rows == [(str(SCHEMA_VERSION),)]
    assert not list((tmp_path).glob("*.sqlite3"))


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"postgresql://app:{SECRET}@db.internal:port/ledger", "port that is not a number"),
        (f"postgresql://app:{SECRET}@[::1/ledger", "does not parse"),
        (f"mysql://app:{SECRET}@db.internal/ledger", "has the scheme 'mysql'"),
        (f"postgresql://app:pa/{SECRET}@db.internal/ledger", "port that is not a number"),
    ],
    ids=["port", "bracket", "scheme", "unencoded-slash"],
)
@pytest.mark.parametrize(
    "command",
    [("--org-url", "https://acme.my.salesforce.com"), ("tokens", "list")],
    ids=["serve", "tokens"],
)
def test_a_bad_url_in_the_profile_is_one_line_naming_the_file(
    tmp_path: Path, url: str, says: str, command: tuple[str, ...]
) -> None:
    config = config_file(tmp_path, f'db = "{url}"\n')
    line = refused(serve(*command, "--config", str(config), "--profile", "team"))
    assert says in line and f"(db in [profiles.team.serve] of {config})" in line, line
    assert SECRET not in line and "app:***@" in line


def test_a_bad_url_in_the_environment_names_the_variable(tmp_path: Path) -> None:
    url = f"postgresql://app:{SECRET}@db.internal:port/ledger"
    proc = serve("--org-url", "https://acme.my.salesforce.com", env={"SYNCHEALTH_DB": url})
    line = refused(proc)
    assert line.endswith("($SYNCHEALTH_DB)") and SECRET not in line, line


def test_a_password_file_others_can_read_is_refused(tmp_path: Path, pg_target) -> None:
    file = owner_only(tmp_path / "db.password", SECRET)
    file.chmod(0o644)
    config = config_file(tmp_path, f'db = "{pg_target.url}"\ndb_password_file = "db.password"\n')
    proc = serve("--config", str(config), "--profile", "team", "--org-url",
                 "https://acme.my.salesforce.com")  # fmt: skip
    line = refused(proc)
    assert f"refusing to read the database password from {file}" in line
    assert "chmod 600" in line and SECRET not in line


# --- the server at start: not there, a wrong password, the right one --------------------


def test_nothing_listening_at_start_is_one_line_and_exit_2() -> None:
    url = f"postgresql://postgres:{SECRET}@127.0.0.1:{free_port()}/test"
    line = refused(serve("--db", url, "--org-url", "https://acme.my.salesforce.com"))
    assert "cannot connect to the PostgreSQL database test on 127.0.0.1:" in line
    assert "refused" in line and SECRET not in line


@pytest.mark.parametrize("source", ["flag-file", "profile-file", "url", "PGPASSWORD"])
def test_a_wrong_password_is_one_line_and_exit_2(
    tmp_path: Path, password_cluster: PasswordCluster, source: str
) -> None:
    wrong = "wrong-" + SECRET
    line = refused(_with_password(tmp_path, password_cluster, source, wrong))
    where = f"the PostgreSQL database postgres on 127.0.0.1:{password_cluster.port}"
    assert f"cannot connect to {where}" in line, line
    assert 'password authentication failed for user "postgres"' in line, line
    assert wrong not in line and password_cluster.password not in line


@pytest.mark.parametrize("source", ["flag-file", "profile-file", "url", "PGPASSWORD"])
async def test_the_right_password_from_each_source_starts_the_service(
    tmp_path: Path, password_cluster: PasswordCluster, org: str, source: str
) -> None:
    import psycopg

    schema = f"s_{source.replace('-', '_').lower()}_{os.getpid()}_{free_port()}"
    admin = password_cluster.url.replace("postgres@", f"postgres:{password_cluster.password}@")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{password_cluster.url}?options=-csearch_path%3D{schema}"
    port = free_port()
    proc = _with_password(tmp_path, password_cluster, source, password_cluster.password,
                          url=url, args=("--port", str(port), "--org-url", org))  # fmt: skip
    try:
        answer = wait_for(f"http://127.0.0.1:{port}/v1/errors", proc)
        assert answer.status_code == 200, answer.text
    finally:
        said = stopped(proc)
    assert password_cluster.password not in said
    target = PostgresTarget(url, password_cluster.password)
    rows = await ledger_rows(target, "SELECT value FROM meta WHERE key = 'schema_version'")
    assert rows == [(str(SCHEMA_VERSION),)]


def _with_password(
    tmp_path: Path,
    cluster: PasswordCluster,
    source: str,
    password: str,
    *,
    url: str | None = None,
    args: tuple[str, ...] = ("--org-url", "https://acme.my.salesforce.com"),
) -> subprocess.Popen[str]:
    """``serve`` on ``url`` (the cluster's) with ``password`` given as ``source`` says."""
    url = url or cluster.url
    file = owner_only(tmp_path / "db.password", password)
    if source == "flag-file":
        return serve("--db", url, "--db-password-file", str(file), *args)
    if source == "profile-file":
        config = config_file(tmp_path, f'db = "{url}"\ndb_password_file = "db.password"\n')
        return serve("--config", str(config), "--profile", "team", *args)
    if source == "url":
        return serve("--db", url.replace("postgres@", f"postgres:{password}@"), *args)
    return serve("--db", url, *args, env={"PGPASSWORD": password})
