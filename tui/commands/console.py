"""The default command: the full-screen console.

``synchealth [--url URL] [--token T] [--lang en|ja] [--config PATH] [--cache PATH]
[--demo-size N]``. Textual is imported inside :func:`run` only, so the other
commands never load it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "console",
        help="the full-screen console (the default command)",
        description="Open the console. Without --url it runs the Sync Health service and a "
        "simulated Salesforce org in-process on a demo ledger.",
    )
    parser.add_argument("--url", help="Sync Health service URL (default: embedded demo)")
    parser.add_argument(
        "--token",
        default=os.environ.get("SYNCHEALTH_TOKEN"),
        help="bearer token for the service (default: $SYNCHEALTH_TOKEN)",
    )
    parser.add_argument("--lang", choices=("en", "ja"), help="language of the console")
    parser.add_argument("--config", type=Path, help="config file (default: the user config dir)")
    parser.add_argument("--cache", type=Path, help="local cache file (default: per service)")
    parser.add_argument(
        "--demo-size",
        type=int,
        default=5000,
        metavar="N",
        help="errors in the embedded demo ledger (default: 5000)",
    )


def run(args: argparse.Namespace) -> int:
    from tui.config import ConfigError, load_config
    from tui.data.lang import resolve_lang

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"synchealth: {exc}", file=sys.stderr)
        return 2
    if args.demo_size < 1:
        print("synchealth: --demo-size must be at least 1", file=sys.stderr)
        return 2
    lang = resolve_lang(args.lang, config.lang)

    from tui.app import SyncHealthApp

    app = SyncHealthApp(
        url=args.url,
        token=args.token,
        cache_path=args.cache,
        demo_size=args.demo_size,
        config=config,
        lang=lang,
    )
    return int(app.run() or 0)
