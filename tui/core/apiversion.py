"""Which Salesforce API versions synchealth can work with, checked where settings are read.

sObject Collections update came with API 42.0 and its upsert with 46.0; an org
answers 404 for them at older versions, so an older ``api_version`` is refused at
start with the minimum named, rather than at the first resync.
"""

from __future__ import annotations

import re

#: The first API version each call synchealth makes exists in.
MIN_API_VERSION = {"sObject Collections update": 42, "sObject Collections upsert": 46}
_API_VERSION = re.compile(r"v?(\d{2,3})\.0")


def check_api_version(value: str) -> str:
    """``62.0`` or ``v62.0`` -> ``v62.0``; ValueError naming the minimum if a call needs more."""
    match = _API_VERSION.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"must look like v62.0; got {value!r}")
    number = int(match[1])
    needs = [f"{call} needs v{n}.0" for call, n in MIN_API_VERSION.items() if number < n]
    if needs:
        raise ValueError(
            f"v{number}.0 is too old for synchealth ({'; '.join(needs)}): use "
            f"v{max(MIN_API_VERSION.values())}.0 or later (the newest your org offers is best)"
        )
    return f"v{number}.0"
