"""The messages the console's workers send the app: the session opened or failed, a
refresh done, the cache loaded, rebuilt or filling, batches to offer again."""

from __future__ import annotations

from pathlib import Path

from textual.message import Message

from tui.core.models import Usage
from tui.data.problem import Problem
from tui.data.session import DataSession, RefreshResult


class SessionOpened(Message):
    def __init__(self, session: DataSession) -> None:
        super().__init__()
        self.session = session


class SessionFailed(Message):
    def __init__(self, failure: Problem) -> None:
        super().__init__()
        self.failure = failure


class CacheRebuilt(Message):
    """The cache file was found damaged and moved aside; a fresh one is being filled."""

    def __init__(self, moved_to: Path | None) -> None:
        super().__init__()
        self.moved_to = moved_to


class Refreshed(Message):
    def __init__(self, result: RefreshResult | None, usage: Usage | None) -> None:
        super().__init__()
        self.result, self.usage = result, usage


class ReplayOffered(Message):
    """Resync batches of an earlier run got no answer: ask before sending them again."""

    def __init__(self, errors: int) -> None:
        super().__init__()
        self.errors = errors


class CacheLoaded(Message):
    """The cache as it was at start, shown before the first refresh ends."""

    def __init__(self, usage: Usage | None) -> None:
        super().__init__()
        self.usage = usage


class FillProgressed(Message):
    """Another page of a first fill is stored: the header shows how far it has come."""
