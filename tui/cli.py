"""Command line: ``synchealth [console options] [COMMAND [its options]]``.

Each command lives in its own module under ``tui.commands`` with
``add_parser(subparsers)`` and ``run(args) -> int``. Modules are imported only
when needed so ``synchealth classify`` never pays for Textual.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable, Sequence

from tui import __version__
from tui.commands.console import add_console_arguments

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


def build_parser(commands: Iterable[str] = COMMANDS) -> argparse.ArgumentParser:
    """The command line with the options of ``commands`` (all by default, as the help lists
    them). Each command's module is imported to add its options, so a run of one command
    builds only its own: the console's start does not import the others (issue 11)."""
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
    for module in dict.fromkeys(COMMANDS[c] for c in commands):  # one may add several
        importlib.import_module(f"tui.commands.{module}").add_parser(sub)
    return parser


def _command_first(args: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """``args`` with the command first: ``--lang ja catalog`` becomes ``catalog --lang ja``.

    The console's options may come before the command (``synchealth [console options]
    [COMMAND]``); which tokens are their values is read from the console's own option
    table, so ``ja`` in ``--lang ja`` is never taken for the command. No command (and no
    request for help alone) means the console.
    """
    before = argparse.ArgumentParser(prog="synchealth", add_help=False)
    add_console_arguments(before)
    before.add_argument("command", nargs="?")
    before.add_argument("rest", nargs=argparse.REMAINDER)
    found, _unknown = before.parse_known_args(args)
    if found.command is None:
        only_help = bool(args) and all(a in ("-h", "--help", "--version") for a in args)
        return args if only_help else ["console", *args]
    if found.command not in COMMANDS:
        parser.error(
            f"unknown command {found.command!r}; the commands are {', '.join(COMMANDS)} "
            "(only the console's options may come before a command)"
        )
    at = len(args) - len(found.rest) - 1
    return [found.command, *args[:at], *args[at + 1 :]]


def main(argv: Sequence[str] | None = None) -> int:
    given = _command_first(list(sys.argv[1:] if argv is None else argv), build_parser(()))
    command = given[0] if given and given[0] in COMMANDS else None
    parser = build_parser(COMMANDS if command is None else (command,))
    args, extra = parser.parse_known_args(given)
    if extra:
        parser.error(
            f"{args.command} does not take {' '.join(extra)} "
            f"(synchealth {args.command} --help lists what it takes)"
        )
    module = importlib.import_module(f"tui.commands.{COMMANDS[args.command]}")
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130
