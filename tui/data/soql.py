"""The affected records' Salesforce ids, as a list or as SOQL, for use outside the console.

SOQL statements are at most 100,000 characters by default (Salesforce, "SOQL and SOSL
Limits for Search Queries",
https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_soslsoql.htm),
so a long id list is split into several statements under :data:`MAX_STATEMENT`.
Only well-formed ids (15 or 18 letters and digits) and object API names go into a
statement: the values come from the CRM and the sync engine, and SOQL is code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_STATEMENT = 90_000
_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
_OBJECT = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")


@dataclass(frozen=True, slots=True)
class IdExport:
    """What to copy: ``ids`` one per line, ``soql`` statements; ``left_out`` records had no
    usable Salesforce id."""

    ids: str
    soql: str
    count: int
    left_out: int


def id_export(records: Iterable[tuple[str, str | None]]) -> IdExport:
    """``records`` are (Salesforce object, Salesforce id); ids in first-seen order, once."""
    by_object: dict[str, list[str]] = {}
    seen: set[str] = set()
    left_out = 0
    for sobject, sf_id in records:
        if not sf_id or not _ID.fullmatch(sf_id) or not _OBJECT.fullmatch(sobject or ""):
            left_out += 1
            continue
        if sf_id not in seen:
            seen.add(sf_id)
            by_object.setdefault(sobject, []).append(sf_id)
    ids = [sf_id for group in by_object.values() for sf_id in group]
    statements = [
        statement for sobject, group in by_object.items() for statement in _soql(sobject, group)
    ]
    return IdExport(
        ids="\n".join(ids) + ("\n" if ids else ""),
        soql=";\n".join(statements) + (";\n" if statements else ""),
        count=len(ids),
        left_out=left_out,
    )


def _soql(sobject: str, ids: list[str]) -> list[str]:
    head = f"SELECT Id FROM {sobject} WHERE Id IN ("
    statements: list[str] = []
    chunk: list[str] = []
    size = len(head) + 1
    for sf_id in ids:
        quoted = f"'{sf_id}'"
        if chunk and size + len(quoted) + 2 > MAX_STATEMENT:
            statements.append(head + ", ".join(chunk) + ")")
            chunk, size = [], len(head) + 1
        chunk.append(quoted)
        size += len(quoted) + 2
    if chunk:
        statements.append(head + ", ".join(chunk) + ")")
    return statements
