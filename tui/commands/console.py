"""The default command: the full-screen console.

``synchealth [--profile NAME] [--url URL] [--token T] [--lang en|ja] [--tz ZONE]
[--config PATH] [--cache PATH] [--demo-size N]``. The service and its token come from the flags, the
environment or the profile (:mod:`tui.profiles`). Textual is imported inside
:func:`run` only, so the other commands never load it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from tui.commands.say import say
from tui.profiles import add_service_arguments

#: Milliseconds Textual waits after escape for the rest of a key's sequence (ESCDELAY).
ESCAPE_DELAY_MS = 50


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "console",
        help="the full-screen console (the default command)",
        description="Open the console. Without --url it runs the Sync Health service and a "
        "simulated Salesforce org in-process on a demo ledger.",
    )
    add_console_arguments(parser)


def add_console_arguments(parser: argparse.ArgumentParser) -> None:
    """The console's options; ``synchealth`` also takes them before any command."""
    add_service_arguments(parser, show_demo_size=True)
    parser.add_argument("--lang", choices=("en", "ja"), help="language of the console")
    parser.add_argument(
        "--tz",
        metavar="ZONE",
        help="time zone of the times shown: an IANA name (Asia/Tokyo), UTC, or local "
        "(the default: the system's zone)",
    )
    parser.add_argument("--cache", type=Path, help="local cache file (default: per service)")


def run(args: argparse.Namespace) -> int:
    from tui.config import ConfigError
    from tui.core.lang import resolve_lang
    from tui.core.zone import resolve_zone
    from tui.profiles import target_from_args

    try:
        selection, target = target_from_args(args)
    except ConfigError as exc:
        say("", str(exc))
        return 2
    config = selection.config
    if args.demo_size < 1:
        say("", "--demo-size must be at least 1")
        return 2
    lang = resolve_lang(args.lang, config.lang)
    try:
        zone = resolve_zone(args.tz, config.timezone)
    except ValueError as exc:
        say("", f"--tz: {exc}")
        return 2

    # escape alone is told from the start of a key's escape sequence by a pause; Textual
    # waits 100 ms, so "back" took a tenth of a second before anything began. 50 ms, as
    # neovim's ttimeoutlen; a terminal's ESCDELAY, if set, is kept.
    os.environ.setdefault("ESCDELAY", str(ESCAPE_DELAY_MS))
    from tui.app import SyncHealthApp
    from tui.text.timefmt import set_zone

    set_zone(zone)

    app = SyncHealthApp(
        url=target.url,
        token=target.token_value,
        cache_path=args.cache,
        demo_size=args.demo_size,
        config=config,
        lang=lang,
        profile=target.profile,
    )
    return int(app.run() or 0)
