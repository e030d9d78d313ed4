"""Salesforce error -> (type, subtype), driven by the rules in ``tui/data/rules/*.toml``.

``salesforce.toml`` holds the ordered rules (its header explains them and the
choice made for wrapped trigger/flow errors); ``integration.toml`` holds our own
codes for the errors Salesforce has no code for (:data:`INTEGRATION_CODES`).
Files are read in name order. Rules are compiled once into a table keyed by
code, so classifying an error is a dict lookup and at most a few regex searches.

:func:`iter_errors` turns every input shape Salesforce produces (a single error,
the REST error array, sObject Collections results) into a stream of error
mappings; :func:`classify` maps one of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tui.data.catalog import UNKNOWN, load_catalog
from tui.data.tomlfile import read_toml

#: How deep wrapped errors are unwrapped (a trigger's DML failing in another trigger...).
MAX_UNWRAP = 3

_SYNC_CODE = re.compile(r"^SYNC_[A-Z_]+$")


class RulesError(Exception):
    """A rules file is unreadable or invalid; ``str(err)`` names the file and the rule."""


class ClassifyInputError(ValueError):
    """The input is not a Salesforce error, error array or record result."""


@dataclass(frozen=True, slots=True)
class Classification:
    """Where one error belongs, with the Salesforce facts it was judged on.

    ``sf_code`` and ``message`` are the error's own; ``cause`` is the code of the
    inner error when the message wraps one (trigger and flow failures), and
    ``fields`` falls back to the inner error's fields when the outer lists none.
    """

    type: str
    subtype: str
    sf_code: str
    message: str
    fields: tuple[str, ...]
    cause: str | None = None


class _RuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    codes: list[str] | None = Field(None, min_length=1)
    message: str | None = None
    fields: str | None = None
    subtype: str | None = None
    unwrap: bool = False
    wrapper: bool = False

    @model_validator(mode="after")
    def _coherent(self) -> _RuleSpec:
        if (self.subtype is None) == (not self.unwrap):
            raise ValueError("a rule needs exactly one of 'subtype' or 'unwrap = true'")
        if self.codes is None and self.message is None and self.fields is None:
            raise ValueError("a rule without codes, message or fields would match everything")
        if self.unwrap and self.codes is None:
            raise ValueError("an unwrap rule must name its codes")
        return self

    @property
    def unconditional(self) -> bool:
        return self.message is None and self.fields is None and not self.unwrap


class _CauseSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: str


class _RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    codes: dict[str, str] = Field(default_factory=dict)
    rule: list[_RuleSpec] = Field(default_factory=list)
    cause: list[_CauseSpec] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Rule:
    subtype: str  # "" for an unwrap rule
    type: str
    message: re.Pattern[str] | None
    fields: re.Pattern[str] | None
    unwrap: bool
    wrapper: bool


@dataclass(frozen=True, slots=True)
class _Inner:
    code: str
    message: str
    fields: tuple[str, ...]


def _compile(pattern: str | None, flags: int, where: str) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise RulesError(f"{where}: bad regular expression {pattern!r}: {exc}") from exc


class Rules:
    """Compiled rules: ``classify(error)`` maps one Salesforce error mapping."""

    def __init__(
        self,
        rules: Iterable[tuple[_RuleSpec, str]],
        causes: Iterable[tuple[_CauseSpec, str]],
        integration_codes: Mapping[str, str],
    ) -> None:
        subtype_codes = set(load_catalog().subtype_codes)
        self.integration_codes: Mapping[str, str] = MappingProxyType(dict(integration_codes))
        compiled: list[tuple[_Rule, frozenset[str] | None]] = []
        for subtype, code in self.integration_codes.items():
            rule = _Rule(subtype, subtype.partition(".")[0], None, None, False, False)
            compiled.append((rule, frozenset({code})))
        closed: dict[str, str] = {}  # code -> the rule that already matches all its errors
        for spec, where in rules:
            if spec.subtype is not None and spec.subtype not in subtype_codes:
                raise RulesError(f"{where}: unknown subtype {spec.subtype!r}")
            codes = frozenset(spec.codes) if spec.codes is not None else None
            if codes is not None and all(code in closed for code in codes):
                raise RulesError(
                    f"{where} can never match: {closed[next(iter(codes))]} "
                    "already takes every error of its codes"
                )
            subtype = spec.subtype or ""
            compiled.append((
                _Rule(
                    subtype=subtype,
                    type=subtype.partition(".")[0],
                    message=_compile(spec.message, re.IGNORECASE, where),
                    fields=_compile(spec.fields, re.IGNORECASE, where),
                    unwrap=spec.unwrap,
                    wrapper=spec.wrapper,
                ),
                codes,
            ))  # fmt: skip
            if spec.unconditional and codes is not None:
                closed.update(dict.fromkeys(codes - closed.keys(), where))
        self._causes = tuple(
            pattern
            for spec, where in causes
            if (pattern := _compile(spec.pattern, 0, where)) is not None
        )
        for pattern in self._causes:
            if not {"code", "message"} <= pattern.groupindex.keys():
                raise RulesError(
                    f"cause pattern {pattern.pattern!r} lacks (?P<code>) or (?P<message>)"
                )
        every_code = {code for _, codes in compiled if codes is not None for code in codes}
        self._generic = tuple(rule for rule, codes in compiled if codes is None)
        self._by_code: dict[str, tuple[_Rule, ...]] = {
            code: tuple(rule for rule, codes in compiled if codes is None or code in codes)
            for code in every_code
        }

    def _inner(self, message: str) -> _Inner | None:
        for pattern in self._causes:
            found = pattern.search(message)
            if found is not None:
                fields = found.groupdict().get("fields") or ""
                return _Inner(
                    code=found["code"],
                    message=found["message"].strip(),
                    fields=tuple(f for f in (p.strip() for p in fields.split(",")) if f),
                )
        return None

    def _match(
        self, code: str, message: str, fields: tuple[str, ...], depth: int
    ) -> tuple[_Rule | None, _Inner | None]:
        for rule in self._by_code.get(code, self._generic):
            if rule.message is not None and rule.message.search(message) is None:
                continue
            if rule.fields is not None and not any(rule.fields.fullmatch(f) for f in fields):
                continue
            if rule.unwrap:
                inner = self._inner(message) if depth < MAX_UNWRAP else None
                if inner is None:
                    continue
                found, _ = self._match(inner.code, inner.message, inner.fields, depth + 1)
                if found is None:
                    continue
                return found, inner
            return rule, self._inner(message) if rule.wrapper else None
        return None, None

    def classify(self, error: Mapping[str, Any]) -> Classification:
        """The type and subtype of one error (``other.unknown`` when no rule matches).

        ``error`` has ``errorCode`` (REST) or ``statusCode`` (sObject Collections),
        ``message`` and ``fields``; missing or odd values count as empty.
        """
        raw_code = error.get("errorCode") or error.get("statusCode") or ""
        code = raw_code if isinstance(raw_code, str) else str(raw_code)
        raw_message = error.get("message") or ""
        message = raw_message if isinstance(raw_message, str) else str(raw_message)
        raw_fields = error.get("fields") or ()
        if isinstance(raw_fields, str):
            raw_fields = (raw_fields,)
        fields = tuple(str(f) for f in raw_fields) if raw_fields else ()
        rule, inner = self._match(code, message, fields, 0)
        if inner is not None and not fields:
            fields = inner.fields
        cause = inner.code if inner is not None else None
        if rule is None:
            return Classification("other", UNKNOWN, code, message, fields, cause)
        return Classification(rule.type, rule.subtype, code, message, fields, cause)


def _read_file(source: Traversable) -> _RulesFile:
    return read_toml(source, _RulesFile, RulesError, "rules file")


def read_rules(directory: Path | Traversable) -> Rules:
    """Read, check and compile every ``*.toml`` of ``directory`` (in name order)."""
    files = sorted(
        (f for f in directory.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name
    )
    rules: list[tuple[_RuleSpec, str]] = []
    causes: list[tuple[_CauseSpec, str]] = []
    codes: dict[str, str] = {}
    catalog = load_catalog()
    for source in files:
        parsed = _read_file(source)
        for subtype, code in parsed.codes.items():
            if catalog.subtype(subtype).code != subtype:
                raise RulesError(f"rules file {source}: unknown subtype {subtype!r} in [codes]")
            if not _SYNC_CODE.match(code):
                raise RulesError(f"rules file {source}: code {code!r} must look like SYNC_NAME")
            if subtype in codes or code in codes.values():
                raise RulesError(f"rules file {source}: {subtype!r} = {code!r} is listed twice")
            codes[subtype] = code
        rules += [(spec, f"{source.name} rule {n}") for n, spec in enumerate(parsed.rule, 1)]
        causes += [(spec, f"{source.name} cause {n}") for n, spec in enumerate(parsed.cause, 1)]
    clash = {c for spec, _ in rules for c in spec.codes or ()} & set(codes.values())
    if clash:
        raise RulesError(f"integration codes also used by rules: {', '.join(sorted(clash))}")
    return Rules(rules, causes, codes)


@cache
def load_rules() -> Rules:
    """The rules shipped with synchealth (read and compiled once)."""
    return read_rules(resources.files("tui.data").joinpath("rules"))


def classify(error: Mapping[str, Any]) -> Classification:
    """Classify one Salesforce (or integration) error with the shipped rules."""
    return load_rules().classify(error)


#: Subtype -> our own error code, for the subtypes Salesforce has no code for.
#: The service and the simulated org raise these; :func:`classify` maps them back.
INTEGRATION_CODES: Mapping[str, str] = load_rules().integration_codes


def _kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a value")


def _is_error(item: Mapping[str, Any]) -> bool:
    return "errorCode" in item or "statusCode" in item


def _errors_of(item: Mapping[str, Any], where: str) -> Iterator[Mapping[str, Any]]:
    if "success" in item:
        if not isinstance(item["success"], bool):
            raise ClassifyInputError(f"{where}: 'success' must be true or false")
        if item["success"]:
            return
        errors = item.get("errors")
        if not isinstance(errors, list) or not errors:
            raise ClassifyInputError(
                f"{where}: a failed record result needs a non-empty 'errors' array"
            )
        for n, error in enumerate(errors):
            if not isinstance(error, Mapping) or not _is_error(error):
                raise ClassifyInputError(
                    f"{where}: errors[{n}] is not an error with a statusCode or errorCode"
                )
        yield from errors
    elif _is_error(item):
        yield item
    else:
        raise ClassifyInputError(
            f"{where} is neither a Salesforce error (errorCode or statusCode) "
            "nor a record result (success, errors)"
        )


def iter_errors(doc: object) -> Iterator[Mapping[str, Any]]:
    """Every error in ``doc``, in order.

    Accepted shapes: one error object; the REST error array
    ``[{"message", "errorCode", "fields"}]``; one sObject Collections result
    ``{"id", "success", "errors": [{"statusCode", ...}]}`` or an array of them
    (successes yield nothing). Anything else raises :class:`ClassifyInputError`.
    """
    if isinstance(doc, Mapping):
        yield from _errors_of(doc, "the object")
    elif isinstance(doc, list):
        for n, item in enumerate(doc):
            if not isinstance(item, Mapping):
                raise ClassifyInputError(
                    f"array item {n} is {_kind(item)}, expected an error or a record result"
                )
            yield from _errors_of(item, f"array item {n}")
    else:
        raise ClassifyInputError(
            f"expected a JSON object or array of Salesforce errors, got {_kind(doc)}"
        )
