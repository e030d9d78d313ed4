"""A background loop of the service ends on stop even when the cancel reaches its round
as another exception (psycopg ending a statement that waited for the ledger's lock), or
does not reach it at all (a wait in the round swallowed it)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from pg_harness import service_target

from tui.service.app import SyncHealthService
from tui.service.config import ServiceConfig
from tui.service.db import DatabaseError, PostgresTarget
from tui.service.lease import LEASE_NAMES, LeaseName
from tui.service.rounds import leave_if_stopping
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state


async def _loop(rounds: list[str]) -> None:
    """The loops' shape (jobs, retries, notifier, heartbeat): a failed round is noted and
    the next one runs."""
    while True:
        try:
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                raise DatabaseError("canceling statement due to lock timeout") from None
            rounds.append("done")
        except Exception:
            leave_if_stopping()
            rounds.append("failed")


async def test_a_loop_whose_round_turns_the_cancel_into_an_error_still_stops() -> None:
    rounds: list[str] = []
    task = asyncio.create_task(_loop(rounds))
    await asyncio.sleep(0.12)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=2)  # without leave_if_stopping: never
    assert task in done and task.cancelled()
    assert "done" in rounds and "failed" not in rounds


async def test_a_round_that_fails_on_its_own_does_not_end_the_loop() -> None:
    failures = 0

    async def failing() -> None:
        nonlocal failures
        while failures < 3:
            try:
                raise DatabaseError("the ledger is away")
            except Exception:
                leave_if_stopping()
                failures += 1
            await asyncio.sleep(0)

    await asyncio.wait_for(failing(), 2)
    assert failures == 3


# -- a cancel that a round swallows ------------------------------------------------------


class GatedLeases:
    """Leases whose ``held()`` waits for ``gate`` by ``asyncio.wait_for``, the way
    psycopg_pool's ``getconn`` waits for a connection of a full pool (its
    ``WaitingClient.wait``). On Python 3.11 that wait swallows a cancel that lands after
    the wait has finished but before its task resumed: the round goes on as if nothing
    happened, and the loop's task stays marked as cancelling (seen in a hung CI run:
    the retries loop 'cancelling' in its sleep, ``stop()`` waiting on it)."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.asking: set[LeaseName] = set()

    async def held(self, name: LeaseName) -> bool:
        self.asking.add(name)
        await asyncio.wait_for(self.gate.wait(), 30)
        return True

    def holding(self) -> list[LeaseName]:
        return list(LEASE_NAMES)

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("loop", ["retries", "jobs"])
async def test_a_loop_whose_round_swallowed_the_cancel_still_stops(
    ledger_target: Path | PostgresTarget, loop: LeaseName
) -> None:
    leases = GatedLeases()
    transport = httpx.ASGITransport(app=create_simorg(demo_org_state(7), access_token="t0k"))
    config = ServiceConfig(**service_target(ledger_target), org_token="t0k",
                           org_transport=transport, mode="simulated")  # fmt: skip
    service = SyncHealthService(config, leases=leases)
    await service.start()
    try:
        while loop not in leases.asking:  # the loop's round waits in held()
            await asyncio.sleep(0.01)
        leases.gate.set()
        await asyncio.sleep(0)  # the waits end; their tasks have not resumed yet
        worker = service.retries if loop == "retries" else service.jobs
        stopping = asyncio.create_task(worker.stop())  # cancels the loop's task in that window
        done, _ = await asyncio.wait({stopping}, timeout=20)  # its next pause: 30 s or more
        assert stopping in done, f"the {loop} loop went on after stop() cancelled it"
    finally:
        await service.stop()


async def test_a_round_that_lost_the_database_is_one_line_and_any_other_failure_its_traceback(
    caplog,
) -> None:
    import logging

    from tui.service.db import DatabaseUnavailable
    from tui.service.rounds import failed_round

    log = logging.getLogger("tui.service.test-rounds")
    with caplog.at_level(logging.WARNING, logger=log.name):
        try:
            raise DatabaseUnavailable("the PostgreSQL database x on h:5432 does not answer")
        except Exception:
            failed_round(log, "heartbeat failed")
        try:
            raise KeyError("a bug")
        except Exception:
            failed_round(log, "resync job round failed")
    away, bug = caplog.records
    assert (
        away.getMessage() == "heartbeat failed: the PostgreSQL database x on h:5432 does not answer"
    )
    assert away.levelno == logging.WARNING and away.exc_info is None
    assert bug.getMessage() == "resync job round failed" and bug.exc_info is not None
