"""What is known of a CSV's columns: an object's fields from a saved describe or from
the simulated org of the embedded demo, and the fields a Data Loader mapping (``.sdl``)
loaded each column into.

Both are read before any row (:mod:`tui.data.failure_files` checks the header against
them) and raise :class:`FileRefused` with a message that names the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from tui.core.sobjects import FIELDS

#: A field, or a lookup by a parent's field (``Account.CRM_Id__c``), as a CSV column names it.
COLUMN = re.compile(r"(?P<rel>[A-Za-z][A-Za-z0-9_]{0,79}\.)?(?P<field>[A-Za-z][A-Za-z0-9_]{0,79})")
_LEGACY_LOOKUP = re.compile(r"\A([A-Za-z][A-Za-z0-9_]*):([A-Za-z][A-Za-z0-9_]*)\Z")


class FileRefused(Exception):
    """The file as a whole cannot be read as failures: nothing of it is sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class ObjectFields:
    """What is known of an object's fields: API names (by lowercase name) and their types."""

    sobject: str
    names: Mapping[str, str]
    kinds: Mapping[str, str]
    source: str  # where it was learnt, for messages: "the simulated org", "describe.json"


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """A Data Loader mapping (``.sdl``): the fields each CSV column was loaded into, and
    the constants sent with every row. Columns are matched without regard to case."""

    columns: Mapping[str, tuple[str, ...]]  # lowercase column -> fields (none: not loaded)
    constants: Mapping[str, str]  # field -> value
    source: str


def fields_from_describe(data: bytes, source: str) -> ObjectFields:
    """An object's fields from a saved describe: the REST ``sobjects/X/describe`` answer,
    or ``sf sobject describe --json`` output (the same inside ``result``)."""
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FileRefused(f"{source} is not JSON ({exc.msg})") from exc
    if isinstance(body, dict) and isinstance(body.get("result"), dict):
        body = body["result"]
    fields = body.get("fields") if isinstance(body, dict) else None
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not isinstance(fields, list):
        raise FileRefused(
            f"{source} is not an object's describe: it needs the name and fields of "
            "GET /services/data/vXX.X/sobjects/OBJECT/describe (or sf sobject describe --json)"
        )
    names: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for f in fields:
        if isinstance(f, dict) and isinstance(f.get("name"), str):
            names[f["name"].lower()] = f["name"]
            kinds[f["name"]] = str(f.get("type", ""))
    return ObjectFields(name, names, kinds, source)


def simulated_org_fields(sobject: str | None) -> ObjectFields | None:
    """The fields of ``sobject`` in the embedded demo's simulated org, when it has it."""
    by_lower = {name.lower(): name for name in FIELDS}
    name = by_lower.get((sobject or "").lower())
    if name is None:
        return None
    fields = FIELDS[name]
    return ObjectFields(
        sobject=name,
        names={f.lower(): f for f in fields},
        kinds={f.name: f.kind for f in fields.values()},
        source="the simulated org",
    )


def read_sdl(data: bytes, source: str) -> ColumnMap:
    """A Data Loader mapping file: Java properties, ``CSV column=Field1, Field2``; an empty
    value leaves the column out, a quoted key (``"Web"=LeadSource``) is a constant."""
    columns: dict[str, tuple[str, ...]] = {}
    constants: dict[str, str] = {}
    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        key, value = _property(line)
        # Data Loader's lookup by a parent's field, "Owner:Username", is Bulk's Owner.Username
        targets = tuple(
            _LEGACY_LOOKUP.sub(r"\1.\2", f.strip()) for f in value.split(",") if f.strip()
        )
        for target in targets:
            if not COLUMN.fullmatch(target):
                raise FileRefused(
                    f"{source}, line {number}: {target!r} is not a Salesforce field name"
                )
        if len(key) >= 2 and key[0] == key[-1] == '"':
            constants.update(dict.fromkeys(targets, key[1:-1]))
        else:
            columns[key.lower()] = targets
    return ColumnMap(columns, constants, source)


def _property(line: str) -> tuple[str, str]:
    """A Java properties line as key and value: the first unescaped ``=`` or ``:`` splits
    them, ``\\x`` stands for ``x`` (``First\\ Name=FirstName``)."""
    key: list[str] = []
    chars = iter(line)
    for char in chars:
        if char == "\\":
            key.append(next(chars, ""))
        elif char in "=:":
            return "".join(key).strip(), "".join(chars).replace("\\", "").strip()
        else:
            key.append(char)
    return "".join(key).strip(), ""
