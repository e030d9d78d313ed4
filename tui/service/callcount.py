"""Salesforce calls counted per task: how many one piece of work (a resync, a doctor
run) sent.

The service's ``on_call`` hook calls :func:`note_call` for every request the connector
sends (with -1 for one withdrawn: it never left); inside ``with counting() as calls:``
those of the current task add up in ``calls[0]``. Other tasks' calls (a resync running
at the same time) are not counted.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

_counter: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "salesforce_calls", default=None
)


def note_call(calls: int = 1) -> None:
    counter = _counter.get()
    if counter is not None:
        counter[0] += calls


@contextmanager
def counting() -> Iterator[list[int]]:
    counter = [0]
    token = _counter.set(counter)
    try:
        yield counter
    finally:
        _counter.reset(token)
