"""Salesforce error -> (type, subtype), driven by the rules in ``tui/core/rules/*.toml``.

``salesforce.toml`` holds the ordered message rules (its header explains them and
the choice made for wrapped trigger/flow errors); ``statuscodes.toml`` maps every
Salesforce status code to the subtype it means when no message rule speaks, or to
``other.unknown`` with a reason; ``integration.toml`` holds our own codes for the
errors Salesforce has no code for (:data:`INTEGRATION_CODES`). Files are read in
name order. Rules are compiled once into a table keyed by code, so classifying an
error is a dict lookup and at most a few regex searches. docs/classification.md
tells how to add a rule.

:func:`tui.core.error_shapes.iter_errors` turns every input shape Salesforce produces
(a single error, the REST error array, sObject Collections results) into a stream of
error mappings; :func:`classify` maps one of them. The rules files' shape is in
``tui/core/rules_files.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tui.core.catalog import UNKNOWN, load_catalog
from tui.core.rules_files import (
    CauseSpec,
    RulesError,
    RuleSpec,
    StatusSpec,
    read_rules_file,
)

#: How many wrapped errors deep the classifier looks. Each level is a strict
#: suffix of the message above it, so real messages never come near it; it only
#: bounds the work on hostile input.
MAX_UNWRAP = 16

#: How much of a message the rules read. Real Salesforce messages, stack traces
#: included, stay well under it; a 100 kB message is judged on its start and
#: kept whole in the result.
MAX_SCAN = 16_384

_SYNC_CODE = re.compile(r"^SYNC_[A-Z_]+$")
_TRAILING_FIELDS = re.compile(r": \[([^\[\]\n]*)\]$")


@dataclass(frozen=True, slots=True)
class Classification:
    """Where one error belongs, with the Salesforce facts it was judged on.

    ``sf_code`` and ``message`` are the error's own; ``cause`` is the code of the
    inner error that decided (or, when none did, the first one the message wraps),
    and ``fields`` falls back to the inner error's fields when the outer lists
    none. ``rule`` says which rule decided (``"apex-trigger > code STRING_TOO_LONG"``
    for a wrapped error); ``reason`` is set for ``other.unknown`` and says why.
    """

    type: str
    subtype: str
    sf_code: str
    message: str
    fields: tuple[str, ...]
    cause: str | None = None
    rule: str = ""
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class _Rule:
    id: str
    subtype: str
    message: re.Pattern[str] | None = None
    fields: re.Pattern[str] | None = None
    unwrap: bool = False
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class _Cause:
    pattern: re.Pattern[str]
    ends: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Inner:
    code: str
    message: str
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Verdict:
    """What decided one (possibly wrapped) error: the rule, and the inner code it used."""

    rule: _Rule
    path: str
    cause: str | None
    fields: tuple[str, ...]


def _compile(pattern: str | None, flags: int, where: str) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise RulesError(f"{where}: bad regular expression {pattern!r}: {exc}") from exc


def _as_text(value: object) -> str:
    """A code or message as text: None and other non-strings never crash the classifier."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _as_fields(value: object) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return tuple(_as_text(f) for f in value if f is not None)
    return (_as_text(value),)


class Rules:
    """Compiled rules: ``classify(error)`` maps one Salesforce error mapping."""

    def __init__(
        self,
        rules: Iterable[tuple[RuleSpec, str]],
        causes: Iterable[tuple[CauseSpec, str]],
        integration_codes: Mapping[str, str],
        statuses: Iterable[tuple[StatusSpec, str]] = (),
    ) -> None:
        subtype_codes = set(load_catalog().subtype_codes)
        self.integration_codes: Mapping[str, str] = MappingProxyType(dict(integration_codes))
        self._table: dict[str, _Rule] = {
            code: _Rule(f"integration {code}", subtype)
            for subtype, code in self.integration_codes.items()
        }
        for status, where in statuses:
            if status.subtype is not None and status.subtype not in subtype_codes:
                raise RulesError(f"{where}: unknown subtype {status.subtype!r}")
            for code in status.codes:
                if code in self._table:
                    raise RulesError(f"{where}: code {code} is mapped twice")
                self._table[code] = _Rule(
                    f"code {code}",
                    status.subtype or UNKNOWN,
                    unwrap=status.unwrap,
                    reason=status.reason,
                )
        compiled: list[tuple[_Rule, frozenset[str] | None]] = []
        lost: set[str] = set()  # ids of the lost_code rules
        closed: dict[str, str] = {}  # code -> the rule that already matches all its errors
        ids: set[str] = set()
        for rule_spec, where in rules:
            if rule_spec.subtype not in subtype_codes:
                raise RulesError(f"{where}: unknown subtype {rule_spec.subtype!r}")
            if rule_spec.id in ids:
                raise RulesError(f"{where}: rule id {rule_spec.id!r} is used twice")
            ids.add(rule_spec.id)
            codes = frozenset(rule_spec.codes) if rule_spec.codes is not None else None
            if rule_spec.lost_code:
                lost.add(rule_spec.id)
            elif codes is not None and all(code in closed for code in codes):
                raise RulesError(
                    f"{where} can never match: {closed[next(iter(codes))]} "
                    "already takes every error of its codes"
                )
            rule = _Rule(
                id=rule_spec.id,
                subtype=rule_spec.subtype,
                message=_compile(rule_spec.message, re.IGNORECASE, where),
                fields=_compile(rule_spec.fields, re.IGNORECASE, where),
                unwrap=rule_spec.unwrap,
            )
            compiled.append((rule, codes))
            if rule_spec.unconditional and codes is not None and not rule_spec.lost_code:
                closed.update(dict.fromkeys(codes - closed.keys(), where))
        causes = list(causes)
        self._causes = tuple(
            _Cause(pattern, tuple(spec.ends))
            for spec, where in causes
            if (pattern := _compile(spec.pattern, 0, where)) is not None
        )
        for cause in self._causes:
            if not {"code", "message"} <= cause.pattern.groupindex.keys():
                raise RulesError(
                    f"cause pattern {cause.pattern.pattern!r} lacks (?P<code>) or (?P<message>)"
                )
        coded = [(rule, codes) for rule, codes in compiled if rule.id not in lost]
        every_code = {code for _, codes in coded if codes is not None for code in codes}
        self._generic = tuple(rule for rule, codes in coded if codes is None)
        self._by_code: dict[str, tuple[_Rule, ...]] = {
            code: tuple(rule for rule, codes in coded if codes is None or code in codes)
            for code in every_code
        }
        # With no code at all, every rule may speak: only the message is left to judge.
        self._by_code[""] = tuple(rule for rule, _ in compiled)

    @property
    def status_codes(self) -> frozenset[str]:
        """Every Salesforce code the status table maps (integration codes left out)."""
        ours = set(self.integration_codes.values())
        return frozenset(code for code in self._table if code not in ours)

    def _inner(self, message: str) -> _Inner | None:
        """The first error ``message`` wraps, by the first [[cause]] pattern that finds one."""
        for cause in self._causes:
            found = cause.pattern.search(message)
            if found is None:
                continue
            text = found["message"]
            for end in cause.ends:
                cut = text.find(end)
                if cut >= 0:
                    text = text[:cut]
            text = text.strip()
            first_line, newline, rest = text.partition("\n")
            fields = found.groupdict().get("fields") or ""
            trailing = _TRAILING_FIELDS.search(first_line)
            if trailing is not None:
                fields = fields or trailing[1]
                text = first_line[: trailing.start()].rstrip() + newline + rest
            return _Inner(
                code=found["code"],
                message=text,
                fields=tuple(f for f in (p.strip() for p in fields.split(",")) if f),
            )
        return None

    def _first_rule(self, code: str, message: str, fields: tuple[str, ...]) -> _Rule | None:
        rules = self._by_code.get(code)
        if rules is None:
            # A code no rule and no status names says nothing: every rule may speak,
            # as for an error without a code.
            rules = self._generic if code in self._table else self._by_code[""]
        for rule in rules:
            if rule.message is not None and rule.message.search(message) is None:
                continue
            if rule.fields is not None and not any(rule.fields.fullmatch(f) for f in fields):
                continue
            return rule
        return self._table.get(code)

    def _decide(
        self, code: str, message: str, fields: tuple[str, ...], depth: int
    ) -> _Verdict | None:
        rule = self._first_rule(code, message, fields)
        if rule is None:
            return self._decide_wrapped(message, depth) if not code else None
        if not rule.unwrap or depth >= MAX_UNWRAP:
            return _Verdict(rule, rule.id, None, ())
        inner = self._inner(message)
        if inner is None:
            return _Verdict(rule, rule.id, None, ())
        found = self._decide(inner.code, inner.message, inner.fields, depth + 1)
        if found is not None and found.rule.subtype != UNKNOWN:
            return _Verdict(
                found.rule,
                f"{rule.id} > {found.path}",
                found.cause or inner.code,
                found.fields or inner.fields,
            )
        return _Verdict(rule, rule.id, inner.code, inner.fields)

    def _decide_wrapped(self, message: str, depth: int) -> _Verdict | None:
        """An error that lost its code (an Apex exception text, a flow's fault email)
        is judged by the error its message wraps, when it wraps one."""
        inner = self._inner(message) if depth < MAX_UNWRAP else None
        if inner is None:
            return None
        found = self._decide(inner.code, inner.message, inner.fields, depth + 1)
        if found is None:
            return None
        return _Verdict(
            found.rule, f"no-code > {found.path}", found.cause or inner.code,
            found.fields or inner.fields,
        )  # fmt: skip

    def classify(self, error: Mapping[str, Any]) -> Classification:
        """The type and subtype of one error (``other.unknown`` when no rule matches).

        ``error`` has ``errorCode`` (REST) or ``statusCode`` (sObject Collections),
        ``message`` and ``fields``; missing or odd values count as empty or as text.
        """
        code = _as_text(error.get("errorCode") or error.get("statusCode")).strip()
        message = _as_text(error.get("message"))
        fields = _as_fields(error.get("fields"))
        verdict = self._decide(code, message[:MAX_SCAN], fields, 0)
        if verdict is None:
            why = (
                "The error has no errorCode or statusCode."
                if not code
                else f"{code} is no Salesforce status code the rules know."
            )
            rule_id = "no-code" if not code else "unknown-code"
            return Classification("other", UNKNOWN, code, message, fields, None, rule_id, why)
        rule = verdict.rule
        reason = rule.reason
        if rule.subtype == UNKNOWN and reason is None:
            reason = f"Rule {rule.id} knows this error and that no subtype of the catalog fits it."
        return Classification(
            type=rule.subtype.partition(".")[0],
            subtype=rule.subtype,
            sf_code=code,
            message=message,
            fields=fields or verdict.fields,
            cause=verdict.cause,
            rule=verdict.path,
            reason=reason,
        )


def read_rules(directory: Path | Traversable) -> Rules:
    """Read, check and compile every ``*.toml`` of ``directory`` (in name order)."""
    files = sorted(
        (f for f in directory.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name
    )
    rules: list[tuple[RuleSpec, str]] = []
    causes: list[tuple[CauseSpec, str]] = []
    statuses: list[tuple[StatusSpec, str]] = []
    codes: dict[str, str] = {}
    catalog = load_catalog()
    for source in files:
        parsed = read_rules_file(source)
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
        statuses += [(s, f"{source.name} status {n}") for n, s in enumerate(parsed.status, 1)]
    clash = {c for spec, _ in rules for c in spec.codes or ()} | {
        c for spec, _ in statuses for c in spec.codes
    }
    clash &= set(codes.values())
    if clash:
        raise RulesError(f"integration codes also used by rules: {', '.join(sorted(clash))}")
    return Rules(rules, causes, codes, statuses)


@cache
def load_rules() -> Rules:
    """The rules shipped with synchealth (read and compiled once)."""
    return read_rules(resources.files("tui.core").joinpath("rules"))


def classify(error: Mapping[str, Any]) -> Classification:
    """Classify one Salesforce (or integration) error with the shipped rules."""
    return load_rules().classify(error)


#: How many distinct errors :func:`classify_facts` remembers (a few MB at most).
FACTS_REMEMBERED = 4096


@lru_cache(maxsize=FACTS_REMEMBERED)
def classify_facts(code: str, message: str, fields: tuple[str, ...]) -> Classification:
    """:func:`classify` of one error given by its facts, remembered: a sync engine
    reports the same errors again and again (one validation rule's message for every
    record it refuses, a retried record's same failure), and a repeat then costs a
    lookup instead of the rules' regex searches. ``cache_info()`` counts the calls."""
    return classify({"statusCode": code, "message": message, "fields": fields})


#: Subtype -> our own error code, for the subtypes Salesforce has no code for.
#: The service and the simulated org raise these; :func:`classify` maps them back.
INTEGRATION_CODES: Mapping[str, str] = load_rules().integration_codes
