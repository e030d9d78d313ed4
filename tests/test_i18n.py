"""Every console string exists in both languages, with the same placeholders."""

import re
import tomllib
from importlib import resources

from seed_article import article_text, bracketed_labels

from tui import i18n
from tui.core.lang import counted

PLACEHOLDER = re.compile(r"\{(\w+)")


def _unplural(key: str) -> str:
    return key.removesuffix(".one").removesuffix(".other")


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    en, ja = i18n.strings("en"), i18n.strings("ja")
    assert en, "no console strings found"
    assert {_unplural(k) for k in en} == {_unplural(k) for k in ja}
    for key, text in en.items():
        twin = ja[key] if key in ja else ja[f"{_unplural(key)}.other"]
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(twin)), key


def test_plural_strings_have_both_english_forms_and_one_japanese_form() -> None:
    en, ja = i18n.strings("en"), i18n.strings("ja")
    plurals = {_unplural(k) for k in en if k.endswith((".one", ".other"))}
    assert "main.view.rows" in plurals and "modals.resync.question" in plurals
    for key in plurals:
        assert f"{key}.one" in en and f"{key}.other" in en, key
        assert f"{key}.other" in ja and f"{key}.one" not in ja, key


def test_counts_pick_the_plural_form_and_get_thousands_separators() -> None:
    try:
        assert i18n.t("main.view.rows", count=1) == "1 row"
        assert i18n.t("main.view.rows", count=0) == "0 rows"
        assert i18n.t("modals.resync.question", count=1) == "Resync 1 error?"
        assert i18n.t("modals.resync.question", count=1200) == "Resync 1,200 errors?"
        assert i18n.t("modals.allocation.hint", count=1).startswith("Will save 1 call per")
        assert i18n.t("main.view.rows", count="12") == "12 rows"  # a written-out count
        i18n.set_lang("ja")
        assert i18n.t("main.view.rows", count=1) == "1 行"
        assert i18n.t("modals.resync.question", count=1200) == "1,200件のエラーを再同期しますか？"
    finally:
        i18n.set_lang("en")
    assert counted(1, "call") == "1 call"
    assert counted(3661, "call") == "3,661 calls"


def test_no_english_string_hedges_a_plural() -> None:
    for key, text in i18n.strings("en").items():
        assert "(s)" not in text, key


def test_every_area_file_has_its_twin() -> None:
    names = {e.name for e in resources.files("tui.locale").iterdir() if e.name.endswith(".toml")}
    for name in names:
        area, lang, _ = name.rsplit(".", 2)
        other = "ja" if lang == "en" else "en"
        assert f"{area}.{other}.toml" in names, name
        tomllib.loads(resources.files("tui.locale").joinpath(name).read_text("utf-8"))


def test_lookup_switches_language_and_formats() -> None:
    key = next(k for k, v in i18n.strings("en").items() if "{" not in v)
    try:
        i18n.set_lang("ja")
        assert i18n.t(key) == i18n.strings("ja")[key]
        i18n.set_lang("en")
        assert i18n.t(key) == i18n.strings("en")[key]
        assert i18n.t("no.such.key") == "no.such.key"
    finally:
        i18n.set_lang("en")


def test_the_notifications_dialog_uses_the_articles_labels() -> None:
    labels = bracketed_labels(article_text())
    ja = i18n.strings("ja")
    for key in ("title", "enabled", "immediate", "daily", "weekly"):
        assert ja[f"modals.notifications.{key}"] in labels, key
    assert ja["modals.common.save"] in labels


def test_one_word_for_marking_and_it_is_not_the_picklist_word() -> None:
    ja = i18n.strings("ja")
    keys = [k for k in ja if k.startswith("main.keys.") and "mark" in k]
    keys += ["main.view.marked", "main.notify.nothing_to_resync", "modals.help.marks"]
    for key in keys:
        assert "マーク" in ja[key], key
    for key, text in ja.items():
        assert "選択" not in text.replace("選択リスト", ""), key
