"""``synchealth catalog``: the error types and subtypes, what they mean and how to fix them."""

from __future__ import annotations

import json
import sys
from typing import Any

from tui.commands.say import say
from tui.config import ConfigError, configured_lang
from tui.core.catalog import Catalog, load_catalog
from tui.core.lang import LANGS, resolve_lang
from tui.profiles import add_config_argument

#: The few words of the listing that are not catalog text.
_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "meaning": "Meaning",
        "resolution": "How to fix",
        "integration": "raised by the integration",
    },
    "ja": {"meaning": "意味", "resolution": "解決方法", "integration": "連携が検出"},
}


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "catalog",
        help="list the error types and subtypes with their meaning and fix",
        description="List the sync error taxonomy: every type and subtype with its code, "
        "what it means and how to resolve it.",
    )
    parser.add_argument(
        "--lang", choices=LANGS, help="language of the listing (default: config, then locale)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print JSON with both languages instead"
    )
    add_config_argument(parser)


def as_json(catalog: Catalog) -> dict[str, Any]:
    """Every type with its subtypes; titles, meanings and resolutions in both languages."""

    def texts(entry: Any) -> dict[str, Any]:
        return {lang: entry.text(lang).model_dump(exclude_none=True) for lang in LANGS}

    return {
        "types": [
            {
                "code": entry.code,
                **texts(entry),
                "subtypes": [
                    {"code": sub.code, "origin": sub.origin, **texts(sub)} for sub in entry.subtypes
                ],
            }
            for entry in catalog.types
        ]
    }


def as_text(catalog: Catalog, lang: str) -> str:
    """A plain listing in one language, types in card order."""
    labels = _LABELS[lang]
    lines: list[str] = []
    for entry in catalog.types:
        info = entry.text(lang)
        lines += [
            f"{info.title} [{entry.code}]",
            f"  {labels['meaning']}: {info.meaning}",
            f"  {labels['resolution']}: {info.resolution}",
            "",
        ]
        for sub in entry.subtypes:
            text = sub.text(lang)
            origin = f" ({labels['integration']})" if sub.origin == "integration" else ""
            lines += [
                f"  - {text.title} [{sub.code}]{origin}",
                f"      {labels['meaning']}: {text.meaning}",
                f"      {labels['resolution']}: {text.resolution}",
                "",
            ]
    return "\n".join(lines)


def run(args: Any) -> int:
    try:
        lang = resolve_lang(args.lang, configured_lang(args.config))
    except ConfigError as exc:
        say("catalog", str(exc))
        return 2
    catalog = load_catalog()
    if args.json:
        sys.stdout.write(json.dumps(as_json(catalog), ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(as_text(catalog, lang))
    return 0
