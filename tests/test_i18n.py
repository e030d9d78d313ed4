"""Every console string exists in both languages, with the same placeholders."""

import re
import tomllib
from importlib import resources

from tui import i18n

PLACEHOLDER = re.compile(r"\{(\w+)")


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    en, ja = i18n.strings("en"), i18n.strings("ja")
    assert en, "no console strings found"
    assert set(en) == set(ja), set(en) ^ set(ja)
    for key, text in en.items():
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(ja[key])), key


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
