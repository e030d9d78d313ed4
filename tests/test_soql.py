"""Salesforce ids and SOQL for the affected records (tui/data/soql.py)."""

from __future__ import annotations

from tui.data.soql import MAX_STATEMENT, id_export

LEAD = "00Q5g00000AbCdEAAZ"
CONTACT = "0035g00000XyZ12AAB"


def test_ids_once_each_grouped_by_object_with_the_unusable_left_out() -> None:
    export = id_export(
        [
            ("Lead", LEAD),
            ("Contact", CONTACT),
            ("Lead", LEAD),  # two errors of one record
            ("Lead", None),  # never synced
            ("Lead", "00Q' OR Name != '"),  # not an id: never into SOQL
            ("Lead; DELETE", "00Q5g00000AbCdE"),  # not an object name
        ]
    )
    assert export.ids == f"{LEAD}\n{CONTACT}\n"
    assert export.count == 2 and export.left_out == 3
    assert export.soql == (
        f"SELECT Id FROM Lead WHERE Id IN ('{LEAD}');\n"
        f"SELECT Id FROM Contact WHERE Id IN ('{CONTACT}');\n"
    )


def test_long_lists_are_split_under_the_statement_limit() -> None:
    ids = [f"00Q5g{n:013d}" for n in range(10_000)]
    export = id_export(("Lead", i) for i in ids)
    statements = export.soql.rstrip(";\n").split(";\n")
    assert len(statements) > 1
    assert all(len(s) <= MAX_STATEMENT for s in statements)
    found = [part.strip(" '()") for s in statements for part in s.split("IN (")[1].split(",")]
    assert found == ids


def test_nothing_to_copy() -> None:
    export = id_export([("Lead", None)])
    assert (export.ids, export.soql, export.count, export.left_out) == ("", "", 0, 1)
