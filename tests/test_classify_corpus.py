"""The classifier on real Salesforce error messages gathered from public sources.

``tests/corpus/salesforce_errors.jsonl`` holds one message a line, exactly as
its source (named in ``source``) shows it, with the subtype an admin gives it.
Lines marked ``"split": "holdout"`` were gathered after the rules of the time
were frozen and never used to write a rule: their accuracy is how the rules fare
on messages they have not seen (docs/classification.md tells the rounds apart).
``tests/corpus/statuscode_enum.txt`` is the API's StatusCode enum; every value of
it must be mapped by the rules exactly once.
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from tui.core.catalog import load_catalog
from tui.core.classify import classify, load_rules

CORPUS = Path(__file__).parent / "corpus"
TARGET = 0.95


def _lines() -> list[dict[str, Any]]:
    with (CORPUS / "salesforce_errors.jsonl").open(encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def _enum() -> list[str]:
    text = (CORPUS / "statuscode_enum.txt").read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def test_the_corpus_lines_are_well_formed() -> None:
    subtypes = set(load_catalog().subtype_codes)
    lines = _lines()
    for n, line in enumerate(lines, 1):
        assert set(line) == {"code", "message", "fields", "source", "subtype", "split"}, n
        assert line["subtype"] in subtypes, n
        assert line["split"] in {"dev", "holdout"}, n
        assert line["source"].startswith(("https://", "http://")), n
        assert isinstance(line["message"], str) and line["message"].strip(), n
    keys = Counter((line["code"], line["message"], line["source"]) for line in lines)
    assert [key for key, n in keys.items() if n > 1] == []


def _accuracy(lines: list[dict[str, Any]]) -> tuple[int, list[str]]:
    right, misses = 0, []
    for line in lines:
        got = classify({"errorCode": line["code"], "message": line["message"],
                        "fields": line["fields"]})  # fmt: skip
        if got.subtype == line["subtype"]:
            right += 1
        else:
            code = line["code"] or "(no code)"
            misses.append(f"  {code}: {line['message'][:90]!r} -> {got.subtype} "
                          f"by {got.rule}, expected {line['subtype']}")  # fmt: skip
    return right, misses


@pytest.mark.parametrize("split", ["all", "dev", "holdout"])
def test_real_messages_are_typed_right(split: str, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [line for line in _lines() if split == "all" or line["split"] == split]
    assert lines, f"the corpus has no {split} lines"
    right, misses = _accuracy(lines)
    share = right / len(lines)
    with capsys.disabled():
        print(f"\ncorpus ({split}): {len(lines)} messages, {right} typed right ({share:.1%})")
        if misses:
            print("\n".join(misses))
    assert share >= TARGET


def test_every_status_code_of_the_enum_is_mapped_exactly_once() -> None:
    enum = _enum()
    assert len(enum) == len(set(enum)) > 350
    mapped: Counter[str] = Counter()
    for entry in resources.files("tui.core").joinpath("rules").iterdir():
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text("utf-8"))
            mapped.update(code for status in data.get("status", []) for code in status["codes"])
    assert [code for code in enum if mapped[code] != 1] == []
    assert set(enum) <= load_rules().status_codes


def test_every_status_code_lands_in_a_subtype_or_says_why_not() -> None:
    for code in _enum():
        got = classify({"statusCode": code, "message": "", "fields": []})
        assert got.rule.startswith("code "), code
        assert (got.subtype == "other.unknown") == (got.reason is not None), code
