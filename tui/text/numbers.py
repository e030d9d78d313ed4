"""Numbers as people read them on screen."""

from __future__ import annotations


def percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a whole percent, never rounded to a wrong extreme: a share
    that is not nothing shows as "<1%", one short of all as ">99%"."""
    share = part / whole
    if 0 < share < 0.005:
        return "<1%"
    if 0.995 <= share < 1:
        return ">99%"
    return f"{share:.0%}"
