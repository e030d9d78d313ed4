"""The notifier's persisted state (table ``notify_state``), read and written inside the
transaction that queues a message, so watermarks and the outbox never disagree.

- ``announced_id``: errors with an id up to this were announced (or predate the
  notifications being on); ids only grow, so "new" means ``id > announced_id``.
- ``digest``: the schedule it was made under, the last slot handled and the start
  of the period the next digest covers.
- ``usage_level``: the highest usage threshold (percent) currently crossed, 0 if none.
- ``alerts``: whether alert mode has recorded the causes (``notify_causes``) it
  compares with; false while it is off.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import orjson

from tui.service.db import Connection, upsert
from tui.service.ledger import iso


@dataclass(frozen=True, slots=True)
class DigestState:
    key: str
    slot: datetime
    since: datetime


@dataclass(frozen=True, slots=True)
class NotifyState:
    announced_id: int | None = None
    digest: DigestState | None = None
    usage_level: int = 0
    alerts: bool = False

    def but(self, **changes: object) -> NotifyState:
        return replace(self, **changes)  # type: ignore[arg-type]


async def load_state(conn: Connection) -> NotifyState:
    async with conn.execute("SELECT key, value FROM notify_state") as cur:
        raw = {key: orjson.loads(value) for key, value in await cur.fetchall()}
    digest = raw.get("digest")
    return NotifyState(
        announced_id=raw.get("announced_id"),
        digest=None
        if digest is None
        else DigestState(
            digest["key"],
            datetime.fromisoformat(digest["slot"]),
            datetime.fromisoformat(digest["since"]),
        ),
        usage_level=raw.get("usage_level", 0),
        alerts=raw.get("alerts", False),
    )


async def save_state(conn: Connection, old: NotifyState, new: NotifyState) -> None:
    """Write the keys that changed (nothing at all when nothing did)."""
    values = {
        "announced_id": (old.announced_id, new.announced_id),
        "digest": (_digest(old.digest), _digest(new.digest)),
        "usage_level": (old.usage_level, new.usage_level),
        "alerts": (old.alerts, new.alerts),
    }
    changed = [(key, orjson.dumps(n).decode()) for key, (o, n) in values.items() if o != n]
    if changed:
        await conn.executemany(upsert("notify_state", ("key", "value"), ("key",)), changed)


def _digest(state: DigestState | None) -> dict[str, str] | None:
    if state is None:
        return None
    return {"key": state.key, "slot": iso(state.slot), "since": iso(state.since)}
