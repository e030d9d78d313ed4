"""A background loop of the service ends on stop even when the cancel reaches its round
as another exception (psycopg ending a statement that waited for the ledger's lock)."""

from __future__ import annotations

import asyncio

from tui.service.db import DatabaseError
from tui.service.rounds import leave_if_stopping


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
