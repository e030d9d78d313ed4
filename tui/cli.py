"""Command line: ``synchealth [console options] | serve | export | ingest | ignore | ...``.

Each command lives in its own module under ``tui.commands`` with
``add_parser(subparsers)`` and ``run(args) -> int``. Modules are imported only
when needed so ``synchealth classify`` never pays for Textual.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from tui import __version__

#: command name -> module under tui.commands
COMMANDS: dict[str, str] = {
    "console": "console",
    "serve": "serve",
    "export": "export",
    "ingest": "ingest",
    "classify": "classify",
    "catalog": "catalog",
    "doctor": "doctor",
    "ignore": "ignore",
    "unignore": "ignore",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="synchealth",
        description="Watch and repair the health of a CRM <-> Salesforce sync.",
        epilog="With no command, the console opens: on the service of --url, $SYNCHEALTH_URL "
        "or the profile (--profile NAME), else on the embedded simulated org. "
        "'synchealth COMMAND --help' explains each command; docs/configuration.md lists "
        "every setting.",
    )
    parser.add_argument("--version", action="version", version=f"synchealth {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in dict.fromkeys(COMMANDS.values()):  # a module may add several commands
        importlib.import_module(f"tui.commands.{module}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in args_list if not a.startswith("-")), None)
    wants_help = any(a in ("-h", "--help", "--version") for a in args_list)
    if first not in COMMANDS and not (wants_help and first is None):
        args_list.insert(0, "console")
    parser = build_parser()
    args = parser.parse_args(args_list)
    module = importlib.import_module(f"tui.commands.{COMMANDS[args.command]}")
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130
