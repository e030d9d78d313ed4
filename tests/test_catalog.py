"""The error catalog: exactly the agreed codes, both languages, and a strict loader."""

# The table of malformed files keeps one case per line.
# ruff: noqa: E501

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from seed_article import article_text

from tui.core.catalog import CatalogError, load_catalog, read_catalog
from tui.core.lang import resolve_lang
from tui.core.models import ERROR_TYPES

SUBTYPES = {
    "association": ["association_limit", "awaiting_account_sync"],
    "custom_code": ["automation", "contact_id_missing", "validation_rule", "flow"],
    "duplicate": ["email_in_use", "duplicate_rule"],
    "permissions": ["access_or_missing_record", "field_permission", "insufficient_access"],
    "picklist": [
        "missing_option", "state_country_mismatch", "option_mismatch", "invalid_owner",
        "restricted_value", "invalid_deal_stage", "owner_not_synced", "option_limit",
        "default_sales_process", "deal_stage_missing",
    ],
    "field_mapping": ["type_mismatch", "sf_id_missing", "invalid_sf_id"],
    "property_value": [
        "string_too_long", "invalid_email", "country_required", "invalid_value",
        "queue_assignment", "unique_value", "required_value",
    ],
    "other": ["unknown"],
}  # fmt: skip
INTEGRATION_RAISED = {
    "association.association_limit", "association.awaiting_account_sync",
    "picklist.owner_not_synced", "picklist.option_limit", "custom_code.contact_id_missing",
}  # fmt: skip
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _article_examples(article: str) -> dict[str, list[str]]:
    """Each "…エラーの例" list of the article under the type name on the line before it."""
    lines = article.splitlines()
    examples: dict[str, list[str]] = {}
    for index, line in enumerate(lines):
        if line.endswith("エラーの例"):
            names = []
            for item in lines[index + 1 :]:
                if not item.startswith("- "):
                    break
                names.append(item[2:])
            examples[lines[index - 1]] = names
    return examples


def _entries():
    catalog = load_catalog()
    for entry in catalog.types:
        yield entry
        yield from entry.subtypes


def test_exactly_the_agreed_subtypes_in_card_order() -> None:
    catalog = load_catalog()
    assert [t.code for t in catalog.types] == list(ERROR_TYPES)
    for type_code, subs in SUBTYPES.items():
        assert [s.code for s in catalog.subtypes_of(type_code)] == [
            f"{type_code}.{s}" for s in subs
        ]
    assert len(catalog.subtype_codes) == 32


def test_origin_marks_only_what_the_integration_raises() -> None:
    catalog = load_catalog()
    raised = {s.code for t in catalog.types for s in t.subtypes if s.origin == "integration"}
    assert raised == INTEGRATION_RAISED
    sub = catalog.subtype("picklist.option_limit")
    assert (sub.type, sub.origin) == ("picklist", "integration")


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_entry_has_all_texts_in_both_languages(lang: str) -> None:
    for entry in _entries():
        text = entry.text(lang)
        for part in (text.title, text.meaning, text.resolution):
            assert part.strip(), (entry.code, lang)
            assert bool(JAPANESE.search(part)) == (lang == "ja"), (entry.code, lang, part)
            assert "hubspot" not in part.lower(), entry.code


def test_meanings_and_resolutions_are_a_few_sentences() -> None:
    for entry in _entries():
        for part, most in (("meaning", 3), ("resolution", 4)):
            english = getattr(entry.text("en"), part)
            sentences = [s for s in re.split(r"(?<=[.!?])\s+", english) if s]
            assert 1 <= len(sentences) <= most, (entry.code, part, english)
            assert getattr(entry.text("ja"), part).endswith("。"), (entry.code, part)


def test_japanese_titles_are_the_articles_names_character_for_character() -> None:
    article = article_text()
    examples = _article_examples(article)
    catalog = load_catalog()
    listed = [entry for entry in catalog.types if entry.code != "other"]
    assert list(examples) == [entry.text("ja").title for entry in listed]
    for entry in listed:
        titles = [sub.text("ja").title for sub in entry.subtypes]
        assert titles == examples[entry.text("ja").title], entry.code
    assert sum(len(names) for names in examples.values()) == 31
    for entry in _entries():
        assert entry.text("ja").title in article, entry.code


def test_short_titles_are_shorter_and_used_only_where_the_title_does_not_fit() -> None:
    sub = load_catalog().subtype("association.awaiting_account_sync").text("ja")
    assert sub.title == "アカウントが同期されるのを待機しています"
    assert sub.label(40) == sub.title
    assert sub.label(39) == sub.short_title == "アカウント同期待ち"
    flow = load_catalog().subtype("custom_code.flow").text("ja")
    assert flow.short_title is None and flow.label(3) == "Salesforceフロー"
    for entry in _entries():
        for lang in ("en", "ja"):
            text = entry.text(lang)
            if text.short_title is not None:
                assert len(text.short_title) < len(text.title), entry.code


def test_japanese_texts_are_not_lifted_from_thearticle_text() -> None:
    article = article_text()
    window = 24
    for entry in _entries():
        text = entry.text("ja")
        for part in (text.meaning, text.resolution):
            for start in range(max(0, len(part) - window + 1)):
                assert part[start : start + window] not in article, (entry.code, part)


def test_lookups_and_fallbacks() -> None:
    catalog = load_catalog()
    assert catalog.type("picklist").text("ja").title == "選択リスト"
    assert catalog.subtype("no.such_code").code == "other.unknown"
    assert catalog.subtype("").code == "other.unknown"
    with pytest.raises(KeyError):
        catalog.type("nonsense")
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        catalog.type("other").text("fr")
    assert load_catalog() is catalog


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    source = resources.files("tui.core").joinpath("catalog")
    target.mkdir()
    for entry in source.iterdir():
        if entry.name.endswith(".toml"):
            (target / entry.name).write_text(entry.read_text("utf-8"), "utf-8")
    return target


def test_a_copy_of_the_shipped_files_loads(catalog_copy: Path) -> None:
    assert read_catalog(catalog_copy).subtype_codes == load_catalog().subtype_codes


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), "utf-8")


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        ("duplicate.toml", 'code = "duplicate"', 'code = "duplicate', "not valid TOML"),
        ("duplicate.toml", 'ja.title = "Eメールがすでに使用中です"\n', "", "subtypes.0.ja.title: Field required"),
        ("duplicate.toml", 'en.title = "Email already in use"', 'en.title = "  "', "subtypes.0.en.title"),
        ("duplicate.toml", 'origin = "salesforce"', 'origin = "crm"', "subtypes.0.origin"),
        ("duplicate.toml", '"duplicate.email_in_use"', '"picklist.email_in_use"', "must start with 'duplicate.'"),
        ("duplicate.toml", 'code = "duplicate"', 'code = "dupes"', "unknown type 'dupes'"),
        ("duplicate.toml", '"duplicate.duplicate_rule"', '"duplicate.email_in_use"', "is already in"),
        ("duplicate.toml", 'en.title = "Email already in use"', 'en.titel = "x"', "titel"),
    ],
)  # fmt: skip
def test_the_loader_rejects_a_malformed_file_naming_it(
    catalog_copy: Path, file: str, old: str, new: str, expected: str
) -> None:
    _edit(catalog_copy / file, old, new)
    with pytest.raises(CatalogError) as caught:
        read_catalog(catalog_copy)
    assert file in str(caught.value)
    assert expected in str(caught.value)


def test_the_loader_wants_every_type(catalog_copy: Path) -> None:
    (catalog_copy / "picklist.toml").unlink()
    with pytest.raises(CatalogError, match="lacks the types: picklist"):
        read_catalog(catalog_copy)


def test_the_loader_wants_the_unknown_fallback(catalog_copy: Path) -> None:
    _edit(catalog_copy / "other.toml", '"other.unknown"', '"other.mystery"')
    with pytest.raises(CatalogError, match=r"fallback subtype 'other\.unknown'"):
        read_catalog(catalog_copy)


@pytest.mark.parametrize(
    ("explicit", "config", "env", "expected"),
    [
        ("ja", "en", {"LANG": "en_US.UTF-8"}, "ja"),
        (None, "ja", {"LANG": "en_US.UTF-8"}, "ja"),
        (None, "en", {"LANG": "ja_JP.UTF-8"}, "en"),
        (None, None, {"LANG": "ja_JP.UTF-8"}, "ja"),
        (None, None, {"LC_MESSAGES": "ja_JP.eucJP", "LANG": "en_US"}, "ja"),
        (None, None, {"LC_ALL": "C", "LANG": "ja_JP.UTF-8"}, "en"),
        (None, None, {"LC_ALL": "", "LANG": "ja"}, "ja"),
        (None, None, {"LANG": "C.UTF-8"}, "en"),
        (None, None, {}, "en"),
    ],
)
def test_resolve_lang_precedence(
    explicit: str | None, config: str | None, env: dict[str, str], expected: str
) -> None:
    assert resolve_lang(explicit, config, environ=env) == expected


def test_resolve_lang_reads_the_process_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert resolve_lang() == "ja"
    monkeypatch.setenv("LC_ALL", "en_GB.UTF-8")
    assert resolve_lang() == "en"


def test_resolve_lang_rejects_unknown_languages() -> None:
    with pytest.raises(ValueError, match="'fr' in the command line"):
        resolve_lang("fr")
    with pytest.raises(ValueError, match="'de' in the configuration"):
        resolve_lang(None, "de")
