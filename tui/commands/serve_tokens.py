"""``synchealth serve tokens add|list|revoke``: the service's named API tokens.

They work on the ledger ``serve`` would open (``--db``, ``$SYNCHEALTH_DB``, the
profile, the data dir), with or without the service running; a running service sees
a new token within a second and a revoked one at once (tui/service/auth.py). Each
change is in the audit trail under ``cli:<os user>``.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.commands.say import say, show

if TYPE_CHECKING:
    from tui.service.db import PostgresTarget

COMMAND = "serve tokens"


def add_parser(subparsers: Any) -> None:
    tokens = subparsers.add_parser(
        "tokens",
        help="add, list or revoke the service's named API tokens",
        description="Named API tokens of the Sync Health service: each admin or engine gets "
        "its own, and the audit trail names it. 'add' prints the new token once.",
    )
    actions = tokens.add_subparsers(dest="tokens_action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="make a new token and print it once")
    add.add_argument("name", help="1 to 40 letters, digits, '.', '_' or '-'")
    actions.add_parser("list", help="name, created, last used and revoked of every token")
    revoke = actions.add_parser("revoke", help="stop a token from working, at once")
    revoke.add_argument("name")
    for parser in (tokens, *actions.choices.values()):
        # SUPPRESS: a value given before the action is not reset by the action's parser
        parser.add_argument(
            "--db",
            default=argparse.SUPPRESS,
            help="the ledger: a file, or postgresql://USER@HOST:PORT/DB",
        )
        parser.add_argument("--db-password-file", type=Path, default=argparse.SUPPRESS)
        parser.add_argument("--config", type=Path, default=argparse.SUPPRESS)
        parser.add_argument("--profile", metavar="NAME", default=argparse.SUPPRESS)


def cli_actor() -> str:
    """Who the audit trail names for a change made with this command."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for the uid (a bare container)
        return "cli:unknown"


async def _act(args: argparse.Namespace, db: Path | PostgresTarget) -> int:
    from tui.service.config import utc_now
    from tui.service.db import DatabaseError
    from tui.service.ledger import Ledger, LedgerError
    from tui.service.tokens import TokenRefused, Tokens

    ledger = Ledger(db)
    try:
        await ledger.open()
    except (LedgerError, DatabaseError) as exc:
        say(COMMAND, str(exc))
        return 1
    tokens = Tokens(ledger)
    try:
        if args.tokens_action == "add":
            token = await tokens.add(args.name, cli_actor(), utc_now())
            show(token)
            say(COMMAND, f"token {args.name!r} added to {db}; keep it now, it is not shown again")
        elif args.tokens_action == "revoke":
            await tokens.revoke(args.name, cli_actor(), utc_now())
            say(COMMAND, f"token {args.name!r} revoked: requests with it are refused from now on")
        else:
            listed = await tokens.listed()
            if not listed:
                say(COMMAND, f"{db} holds no named tokens ('synchealth serve tokens add NAME')")
            for info in listed:
                revoked = (
                    f"revoked {info.revoked} by {info.revoked_by}" if info.revoked else "valid"
                )
                refused = f", last refused {info.last_refused}" if info.last_refused else ""
                show(
                    f"{info.name}\tcreated {info.created} by {info.created_by}\t"
                    f"last used {info.last_used or 'never'}\t{revoked}{refused}"
                )
        return 0
    except TokenRefused as exc:
        say(COMMAND, exc.message)
        return 1
    finally:
        await ledger.close()


def run(args: argparse.Namespace) -> int:
    from tui.commands.serve import ledger_problem, team_ledger
    from tui.config import ConfigError
    from tui.profiles import select
    from tui.serve_plan import ledger_target
    from tui.service.db import PostgresTarget

    try:
        selection = select(getattr(args, "config", None), getattr(args, "profile", None))
        target = ledger_target(
            selection, getattr(args, "db", None), getattr(args, "db_password_file", None)
        )
    except ConfigError as exc:
        say(COMMAND, exc.message)
        return 2
    if isinstance(target, PostgresTarget):
        return asyncio.run(_act(args, target))
    db = team_ledger(target, selection.name)
    if (problem := ledger_problem(db)) is not None:
        say(COMMAND, problem)
        return 2
    return asyncio.run(_act(args, db))
