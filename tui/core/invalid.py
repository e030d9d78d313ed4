"""Pydantic's refusal of a request body as one line a person can act on.

``where: what`` per invalid field, joined with "; ": an unknown key says so, a
validator's own message loses pydantic's "Value error, " prefix, any other problem
shows the value that was sent. The service's settings and retry policy answer with it.
Other readers keep their own shape for a reason: a settings file lists one problem a
line (tomlfile.describe), the environment names its variables (profiles.py), an ingest
item points into the item (service/ingest.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError


def field_path(loc: Sequence[object], top: str = "body") -> str:
    """``a.b.0`` for pydantic's ``loc``; ``top`` when the problem is the whole value."""
    return ".".join(str(part) for part in loc) or top


def explain(exc: ValidationError) -> str:
    """Pydantic's errors as sentences that each start with the field."""
    parts = []
    for err in exc.errors(include_url=False):
        where = field_path(err["loc"])
        if err["type"] == "extra_forbidden":
            parts.append(f"{where}: there is no such setting")
        elif err["type"] == "value_error":
            parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
        else:
            parts.append(f"{where}: {err['msg']} (got {err.get('input')!r})")
    return "; ".join(parts)
