"""How the simulated org upserts records matched by an external id field.

sObject Collections upsert (``PATCH /composite/sobjects/{sobject}/{field}``) looks
each record up by the value of its external id field: a record that holds the value
is updated, otherwise a new one is inserted. Every record must name the sObject of
the URL in ``attributes.type``, carry the field, and not carry ``Id``; two records
of one request with the same value are both refused. Planning happens before any
record is written, so ``allOrNone`` can still refuse everything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tui.core import sobjects as md
from tui.core.sobjects import KEY_PREFIX
from tui.simorg.ids import make_id, parse_id
from tui.simorg.state import OrgState
from tui.simorg.validate import (
    SfError,
    apply,
    check_new_record,
    check_record,
    err,
    record_id_of,
    unique_holder,
)


@dataclass(frozen=True, slots=True)
class UpsertPlan:
    """What one record of an upsert will do: its errors, or the record it writes."""

    errors: list[SfError]
    record_id: str | None = None  # the record matched, or the id the insert will get
    created: bool = False
    values: dict[str, Any] = field(default_factory=dict)


def plan_upserts(
    state: OrgState, sobject: str, external_field: str, records: Sequence[Mapping[str, Any]]
) -> list[UpsertPlan]:
    """Judge every record of one upsert request, in request order."""
    counts = Counter(r.get(external_field) for r in records if _hashable(r.get(external_field)))
    inserts = 0
    plans = []
    for record in records:
        plan = _plan(state, sobject, external_field, record, counts, inserts)
        inserts += plan.created and not plan.errors
        plans.append(plan)
    return plans


def apply_upsert(state: OrgState, sobject: str, plan: UpsertPlan) -> str:
    """Write one error-free plan; the id of the record written."""
    if plan.created:
        return state.create(KEY_PREFIX[sobject], plan.values)
    assert plan.record_id is not None
    apply(state, {**plan.values, "Id": plan.record_id})
    return plan.record_id


def _plan(
    state: OrgState,
    sobject: str,
    external_field: str,
    record: Mapping[str, Any],
    counts: Counter[Any],
    inserts_before: int,
) -> UpsertPlan:
    attributes = record.get("attributes")
    declared = attributes.get("type") if isinstance(attributes, Mapping) else None
    if not isinstance(declared, str) or declared not in md.FIELDS:
        return UpsertPlan([err("INVALID_TYPE", "Must send a concrete entity type.")])
    if declared != sobject:
        return UpsertPlan(
            [err("INVALID_TYPE", f"This request upserts {sobject} records; got a {declared}.")]
        )
    if record_id_of(record) is not None:
        return UpsertPlan(
            [
                err(
                    "INVALID_FIELD",
                    f"An upsert by {external_field} matches records by that field; do not send Id.",
                    ["Id"],
                )
            ]
        )
    value = record.get(external_field)
    if value in (None, ""):
        return UpsertPlan(
            [err("MISSING_ARGUMENT", f"{external_field} not specified", [external_field])]
        )
    if _hashable(value) and counts[value] > 1:
        return UpsertPlan(
            [
                err(
                    "DUPLICATE_VALUE",
                    f"Duplicate external id specified: {value}",
                    [external_field],
                )
            ]
        )
    values = {k: v for k, v in record.items() if k != "attributes"}
    holder = unique_holder(state, sobject, external_field, value)
    if holder is not None:
        errors = check_record(state, {**record, "Id": holder})
        return UpsertPlan(errors, holder, False, values)
    prefix = KEY_PREFIX[sobject]
    new_id = state.next_created_id(prefix)
    if inserts_before:
        new_id = make_id(prefix, (parse_id(new_id)[1] or 0) + inserts_before)
    return UpsertPlan(check_new_record(state, sobject, new_id, values), new_id, True, values)


def _hashable(value: object) -> bool:
    return isinstance(value, str | int | float | bool)
