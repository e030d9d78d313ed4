"""When API usage crosses a threshold of the allocation: a pure state machine.

The state is the highest threshold currently crossed (0 for none). Going up, usage
at or above a higher threshold raises the level at once: one alert, naming the
highest threshold crossed since the last check. Going down, a threshold only counts
as left once usage is :data:`HYSTERESIS` points below it, so usage hovering around a
threshold (the rolling 24 h window moves every hour) does not flap between alert and
recovery. With thresholds closer together than that, a drop may skip the lower one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: Percentage points usage must fall below a threshold before it counts as recovered.
HYSTERESIS = 5.0


@dataclass(frozen=True, slots=True)
class UsageFigures:
    """The integration's calls in the rolling 24 h against its allocation."""

    used: int
    allocated: int

    @property
    def percent(self) -> float | None:
        """Share of the allocation used; None without an allocation (nothing to compare)."""
        return None if self.allocated <= 0 else 100.0 * self.used / self.allocated

    @property
    def shown_percent(self) -> int:
        """The percent rounded down, so a message never claims a threshold not yet reached."""
        return int(self.percent or 0)


@dataclass(frozen=True, slots=True)
class Crossing:
    direction: Literal["up", "down"]
    threshold: int  # up: the threshold crossed; down: the one usage fell back under
    level: int  # the new level


def crossing(percent: float | None, level: int, thresholds: list[int]) -> Crossing | None:
    """What changed since the last check at ``level``; None when nothing did."""
    if percent is None:
        return None
    up = max((t for t in thresholds if percent >= t), default=0)
    if up > level:
        return Crossing("up", up, up)
    down = max((t for t in thresholds if percent >= t - HYSTERESIS), default=0)
    down = min(down, level)
    if down < level:
        fell_under = min([t for t in thresholds if t > down] + [level])
        return Crossing("down", fell_under, down)
    return None
