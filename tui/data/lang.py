"""Which language to explain errors in: a flag, then the config file, then the locale."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

Lang = Literal["en", "ja"]
LANGS: tuple[Lang, ...] = ("en", "ja")

#: Locale variables in POSIX precedence: the first one set decides the messages' language.
LOCALE_VARS: tuple[str, ...] = ("LC_ALL", "LC_MESSAGES", "LANG")


def _checked(value: str, origin: str) -> Lang:
    if value not in LANGS:
        raise ValueError(f"unknown language {value!r} in {origin}; choose en or ja")
    return value


def resolve_lang(
    explicit: str | None = None,
    config: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Lang:
    """``explicit`` (a flag), else ``config``, else the locale, else English.

    Only the first non-empty locale variable counts, as in POSIX: ``LC_ALL=C``
    with ``LANG=ja_JP.UTF-8`` means English. A locale starting with "ja" means
    Japanese. ``environ`` defaults to ``os.environ``.
    """
    if explicit:
        return _checked(explicit, "the command line")
    if config:
        return _checked(config, "the configuration")
    env = os.environ if environ is None else environ
    for name in LOCALE_VARS:
        value = env.get(name)
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


def configured_lang(path: Path | None = None) -> str | None:
    """The ``lang`` of the user's config file; None when unset or the file is unusable.

    The CLI's pipe commands must not fail over a console setting, so a broken default
    config file only means "not configured" here (the console reports it). A file named
    with ``--config`` (``path``) must be usable: its ConfigError propagates.
    """
    from tui.config import ConfigError, load_config

    try:
        return load_config(path).lang
    except ConfigError:
        if path is not None:
            raise
        return None
