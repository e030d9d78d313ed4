"""The rule of the service's background loops (resync jobs, automatic retries, the
notifier, the replica heartbeat): a round that failed is logged and the next round tries
again, but a stop is never mistaken for a failed round.

A cancel can reach a round as another exception: psycopg, cancelled while a statement
waits for the ledger's lock, may end the statement with the lock timeout's error instead
of ``CancelledError``. A loop that logged it and went on would never end, and the
``stop()`` awaiting it would wait forever (a replica that cannot stop).

A cancel can also be swallowed whole: on Python 3.11 ``asyncio.wait_for`` returns the
result when the awaited thing finished as the cancel came, and psycopg_pool waits for a
free connection with ``wait_for``. The round then ends normally with the task still
marked as cancelling, so every loop also asks after each round, failed or not.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from tui.service.db import DatabaseAway, DatabaseUnavailable


def leave_if_stopping() -> None:
    """After a round (and inside a loop's ``except Exception``): end the loop when its
    task is being cancelled, whatever the round raised or returned."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def failed_round(log: logging.Logger, what: str) -> None:
    """Inside a loop's ``except Exception``: end the loop when it is being stopped, else
    log the round that failed. The database away is one line (its message says which
    and why, and the next round tries again): a traceback per round would bury it. An
    outage the database layer logged already is not logged again at every round."""
    leave_if_stopping()
    failure = sys.exc_info()[1]
    if isinstance(failure, DatabaseAway):
        log.debug("%s: %s", what, failure)
    elif isinstance(failure, DatabaseUnavailable):
        log.warning("%s: %s", what, failure)
    else:
        log.exception("%s", what)
