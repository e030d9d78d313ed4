"""When this user last looked at a service: the service's running totals at that moment.

"Since you last looked" is the difference between the totals the service counts now
(``GET /v1/trends``: new, resolved, recurring since its figures began) and those kept
from the last start, in a small JSON file of the state directory, one per cache file
(so one per service). Totals that went down (another ledger, figures counted anew) give
no difference rather than a wrong one.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import orjson

from tui.core.models import TrendTotals
from tui.data import paths


@dataclass(frozen=True, slots=True)
class SinceLooked:
    new: int
    resolved: int
    recurring: int

    def any(self) -> bool:
        return bool(self.new or self.resolved or self.recurring)


def state_file(cache_path: Path) -> Path:
    digest = hashlib.sha256(str(cache_path.resolve()).encode("utf-8")).hexdigest()[:16]
    return paths.state_dir() / f"last-looked-{digest}.json"


def read_totals(path: Path) -> TrendTotals | None:
    """The totals kept at the last look; None when there are none or they cannot be read."""
    try:
        return TrendTotals.model_validate_json(path.read_bytes())
    except (OSError, ValueError):
        return None


def write_totals(path: Path, totals: TrendTotals) -> None:
    """Keep ``totals`` (a temporary file renamed over the old one: never half written)."""
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(orjson.dumps(totals.model_dump()))
    os.replace(temporary, path)


def since(before: TrendTotals, now: TrendTotals) -> SinceLooked | None:
    moved = SinceLooked(
        now.new - before.new, now.resolved - before.resolved, now.recurring - before.recurring
    )
    if min(moved.new, moved.resolved, moved.recurring) < 0:
        return None
    return moved
