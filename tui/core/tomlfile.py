"""Reading a TOML file into a pydantic model, with errors a person can act on.

The catalog, the classifier's rules and the console's config file all load this
way; each passes its own exception class and a word for what the file is.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def flatten_strings(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """A TOML table of strings as one level keyed by dotted name: ``{"grid.empty": "..."}``."""
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_strings(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


def describe(error: ValidationError) -> str:
    """One indented line per invalid setting: ``  where.in.file: what is wrong``."""
    return "\n".join(
        f"  {'.'.join(str(p) for p in item['loc']) or '(top level)'}: {item['msg']}"
        for item in error.errors()
    )


def parse_toml(text: str, model: type[M], error: type[Exception], what: str) -> M:
    """Validate TOML ``text`` as ``model``; ``what`` names the file in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} is not valid TOML: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{what} is invalid:\n{describe(exc)}") from exc


def read_utf8(source: Path | Traversable, error: type[Exception], label: str) -> str:
    """The text of ``source``; a file that is not UTF-8 (binary, or another encoding) is
    ``error`` naming the first bad byte, not a UnicodeDecodeError traceback."""
    try:
        return source.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start]
        raise error(
            f"{label} is not UTF-8 text (byte 0x{byte:02x} at offset {exc.start}); "
            "it must be a TOML file saved as UTF-8"
        ) from None


def read_toml(source: Path | Traversable, model: type[M], error: type[Exception], what: str) -> M:
    """Read and validate the file ``source``; ``what`` is e.g. ``"catalog file"``."""
    label = f"{what} {source}"
    try:
        text = read_utf8(source, error, label)
    except OSError as exc:
        raise error(f"cannot read {label}: {exc.strerror or exc}") from exc
    return parse_toml(text, model, error, label)
