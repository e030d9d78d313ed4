"""The simulated org's ``GET /sobjects/{sobject}/describe`` answers, built from metadata.py.

The shape follows a real org's describe (object keys ``name``, ``label``,
``labelPlural``, ``keyPrefix``, ``createable``, ``updateable``, ``fields``, ``urls``...;
per field ``name``, ``type``, ``length``, ``createable``, ``updateable``, ``nillable``,
``externalId``, ``restrictedPicklist``, ``picklistValues``, ``referenceTo``...), as in the
recorded answers of tests/fixtures/describe/SOURCES.md. Only the keys a client of the
integration reads are given; a field the integration user may read but not edit
(field-level security read-only) is described with ``createable`` and ``updateable``
false, as Salesforce describes it to that user.
"""

from __future__ import annotations

from typing import Any

from tui.core import sobjects as md
from tui.core.sobjects import KEY_PREFIX, OBJECT_OF_PREFIX

#: Describe's ``type`` of each field kind the simulated org knows.
_DESCRIBE_TYPE = {
    md.STRING: "string",
    md.TEXTAREA: "textarea",
    md.EMAIL: "email",
    md.PHONE: "phone",
    md.URL: "url",
    md.PICKLIST: "picklist",
    md.REFERENCE: "reference",
    md.NUMBER: "double",
    md.PERCENT: "percent",
    md.DATE: "date",
    md.BOOLEAN: "boolean",
}
_PLURAL = {"Opportunity": "Opportunities"}


def _field(definition: md.FieldDef) -> dict[str, Any]:
    values = sorted(definition.values)
    return {
        "name": definition.name,
        "label": definition.label,
        "type": _DESCRIBE_TYPE[definition.kind],
        "length": definition.length,
        "custom": definition.name.endswith("__c"),
        "calculated": False,
        "createable": definition.updateable,
        "updateable": definition.updateable,
        "nillable": not definition.required and definition.kind != md.BOOLEAN,
        "unique": definition.unique,
        "externalId": definition.external_id,
        # a picklist's default is flagged among its values; a checkbox's is false
        "defaultValue": False if definition.kind == md.BOOLEAN else None,
        "restrictedPicklist": definition.restricted,
        "picklistValues": [
            {
                "active": True,
                "defaultValue": value == definition.default,
                "label": value,
                "validFor": None,
                "value": value,
            }
            for value in values
        ],
        "referenceTo": [OBJECT_OF_PREFIX[p] for p in definition.refs if p in OBJECT_OF_PREFIX],
    }


def _id_field() -> dict[str, Any]:
    return {
        **_field(md.FieldDef("Id", "Record ID", md.STRING, 18, updateable=False)),
        "type": "id",
        "nillable": False,
        "unique": False,
    }


def describe(sobject: str, version: int) -> dict[str, Any] | None:
    """The describe of ``sobject`` as the integration user sees it; None if it has none."""
    fields = md.FIELDS.get(sobject)
    if fields is None:
        return None
    base = f"/services/data/v{version}.0/sobjects/{sobject}"
    return {
        "name": sobject,
        "label": sobject,
        "labelPlural": _PLURAL.get(sobject, f"{sobject}s"),
        "keyPrefix": KEY_PREFIX[sobject],
        "custom": False,
        "createable": True,
        "updateable": True,
        "deletable": False,
        "queryable": True,
        "fields": [_id_field(), *(_field(f) for f in fields.values())],
        "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
    }
