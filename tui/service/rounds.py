"""The rule of the service's background loops (resync jobs, automatic retries, the
notifier, the replica heartbeat): a round that failed is logged and the next round tries
again, but a stop is never mistaken for a failed round.

A stop cancels the loop's task, and the cancel does not always reach the loop as
``CancelledError``:

- psycopg, cancelled while a statement waits for the ledger's lock, may end the
  statement with the lock timeout's error instead;
- a wait inside the round may swallow it: on Python 3.11 ``asyncio.wait_for`` returns
  the result of a wait that had just finished when the cancel landed, and psycopg_pool
  waits for a connection of a busy pool that way. The round then goes on as if nothing
  happened; only the task's ``cancelling()`` count remembers the stop.

A loop that went on in either case would never end, and the ``stop()`` awaiting it would
wait forever (a hung CI run: the retries loop asleep until its next round, 'cancelling').
So each round runs in :func:`one_round`, which ends the loop after the round whenever
its task is being cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager


def leave_if_stopping() -> None:
    """End the loop (raise ``CancelledError``) when its task is being cancelled."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


@contextmanager
def one_round(log: logging.Logger, failed: str, *args: object) -> Iterator[None]:
    """One round of a loop: an error is logged (``failed`` % ``args``) and the loop goes
    on; a stop ends the loop, whether the round raised it, changed it or swallowed it."""
    try:
        yield
    except Exception:
        leave_if_stopping()
        log.exception(failed, *args)
    leave_if_stopping()
