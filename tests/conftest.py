"""Shared fixtures: temporary data/cache dirs, one demo ledger per test session, console apps.

The embedded demo ledger (the simulated org's errors) is generated once per test
session; every test gets its own copy of it and its own cache file, so the console's
mirror starts empty and fills from the embedded service like on a first run. The
embedded demo keeps its ledger in SQLite by design (README), so the console tests on it
run on SQLite; the ledger tests run on both engines (``ledger_target``, ``engine``).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pg_harness import (
    ENGINES,
    PasswordCluster,
    create_schema,
    drop_schema,
    password_cluster_problem,
    pg_problem,
    require_postgres,
    schema_url,
    start_password_cluster,
    stop_password_cluster,
)

from tui.service.db import PostgresTarget

#: The clock the console sees in tests ("last refresh", relative times).
FIXED_NOW = datetime(2025, 6, 16, 9, 30, tzinfo=UTC)
DEMO_SIZE = 2000


@pytest.fixture(scope="session")
def postgres_problem() -> str | None:
    """Checked once per worker: why no PostgreSQL can be used (None: it can)."""
    return pg_problem()


@pytest.fixture
def pg_target(postgres_problem: str | None):
    """A PostgreSQL ledger target in a schema of this test's own, dropped after it."""
    require_postgres(postgres_problem)
    schema = create_schema()
    yield PostgresTarget(schema_url(schema))
    drop_schema(schema)


@pytest.fixture(scope="session")
def password_cluster():
    """A PostgreSQL of this worker's own that checks passwords (pg_harness.PasswordCluster).

    Skipped with a message where no server binaries (or, as root, no runuser) exist;
    binaries that exist but fail to start a cluster fail the test under
    SYNCHEALTH_REQUIRE_POSTGRES=1, and skip it otherwise."""
    problem = password_cluster_problem()
    if problem is not None:
        pytest.skip(problem)
    try:
        cluster: PasswordCluster = start_password_cluster()
    except (RuntimeError, OSError) as exc:
        require_postgres(f"a private PostgreSQL cluster could not be started: {exc}")
        raise
    yield cluster
    stop_password_cluster(cluster)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Each engine's name in turn, for what is handed an engine rather than a ledger
    (pg_harness.demo_serve_args: a real ``synchealth serve`` on a demo ledger)."""
    return str(request.param)


@pytest.fixture(params=ENGINES)
def ledger_target(request: pytest.FixtureRequest, tmp_path: Path) -> Path | PostgresTarget:
    """The ledger on each engine in turn: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        return tmp_path / "ledger.sqlite3"
    target: PostgresTarget = request.getfixturevalue("pg_target")
    return target


@pytest.fixture(scope="session")
def pristine_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo ledger, built once per test session as of ``FIXED_NOW``.

    Built at the fixed time, the times the console shows ("3h ago") match the fixed
    clock, so snapshots never drift. Tests get copies: resyncs never leak between them.
    """
    from tui.embedded import LEDGER_NAME, build_demo_ledger

    path = tmp_path_factory.mktemp("synchealth-pristine") / LEDGER_NAME
    build_demo_ledger(path, DEMO_SIZE, now=FIXED_NOW)
    return path


@pytest.fixture
def synchealth_env(
    pristine_ledger: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Path]:
    """Fresh SYNCHEALTH_DATA_DIR (a copy of the demo ledger) and SYNCHEALTH_CACHE_DIR."""
    data_dir, cache_dir = tmp_path / "data", tmp_path / "cache"
    data_dir.mkdir()
    cache_dir.mkdir()
    shutil.copyfile(pristine_ledger, data_dir / pristine_ledger.name)
    monkeypatch.setenv("SYNCHEALTH_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SYNCHEALTH_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("SYNCHEALTH_STATE_DIR", str(tmp_path / "state"))
    return {"data": data_dir, "cache": cache_dir, "cache_file": cache_dir / "console.sqlite3"}


@pytest.fixture
async def demo_session(synchealth_env: dict[str, Path]):
    """A DataSession on the embedded simulated org, refreshed once, closed afterwards."""
    from tui.embedded import open_data_session

    session = await open_data_session(cache_path=synchealth_env["cache_file"], demo_size=DEMO_SIZE)
    await session.refresh()
    try:
        yield session
    finally:
        await session.close()


@pytest.fixture
def make_app(synchealth_env: dict[str, Path]) -> Callable[..., object]:
    """Build a console app on the embedded demo (or ``url=``) with the fixed clock."""
    from tui.app import SyncHealthApp

    def build(**kwargs: object) -> SyncHealthApp:
        kwargs.setdefault("cache_path", synchealth_env["cache_file"])
        kwargs.setdefault("demo_size", DEMO_SIZE)
        kwargs.setdefault("clock", lambda: FIXED_NOW)
        return SyncHealthApp(**kwargs)  # type: ignore[arg-type]

    return build


async def settle(pilot, condition: Callable[[], bool] | None = None, timeout: float = 20.0) -> None:
    """Wait until the console has loaded its data (and ``condition`` holds) and is idle.

    An exclusive worker that a newer one of its group replaced while we waited ends
    cancelled; that is the console working as meant (a slow machine only makes it more
    likely), so it is waited past, never reported. A worker that failed still raises.
    """
    import asyncio

    from textual.worker import WorkerCancelled

    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        with contextlib.suppress(WorkerCancelled, TimeoutError):
            await asyncio.wait_for(app.workers.wait_for_complete(), deadline - loop.time())
        await pilot.pause()
        if app.ready and (condition is None or condition()) and not _busy(app):
            await pilot.pause()
            return
        await asyncio.sleep(0.02)
    busy = [w.name or w.group for w in app.workers if _busy_state(w)]
    raise AssertionError(f"the console did not settle in {timeout} s; busy workers: {busy}")


def _busy_state(worker) -> bool:
    from textual.worker import WorkerState

    return worker.state in (WorkerState.PENDING, WorkerState.RUNNING)


def _busy(app) -> bool:
    return any(_busy_state(w) for w in app.workers)


@pytest.fixture
def wait_ready() -> Callable[..., Awaitable[None]]:
    """``await wait_ready(pilot, condition)``: the app loaded and idle."""
    return settle


@pytest.fixture
async def two_on_postgres(pg_target: PostgresTarget):
    """Two service replicas on one PostgreSQL ledger, the demo's org behind both."""
    from test_replicas import two_replicas

    async with two_replicas(pg_target) as pair:
        yield pair
