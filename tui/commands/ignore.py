"""``synchealth ignore`` / ``synchealth unignore``: errors (by id) or a whole cause.

``ignore`` needs a reason and takes ``--until`` (``7d``, a date, or an ISO time with its
zone); without it the errors stay ignored until unignored. The service keys the request
on a request_id, so a retry after a lost answer does not ignore twice. Exit 0 when the
service did it, 1 when it refused or cannot be reached, 2 for bad input.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from typing import Any

from tui.commands.say import say, show
from tui.commands.target import open_session, service_target
from tui.profiles import ServiceTarget, add_service_arguments


def _add(subparsers: Any, name: str, help_text: str, description: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=help_text, description=description
    )
    parser.add_argument("ids", nargs="*", type=int, metavar="ID", help="error ids")
    parser.add_argument("--cause", help="a cause key (GET /v1/causes) instead of ids")
    parser.add_argument("--lang", choices=("en", "ja"), help="language of what is printed")
    add_service_arguments(parser)
    return parser


def add_parser(subparsers: Any) -> None:
    parser = _add(
        subparsers,
        "ignore",
        "ignore errors or a cause, with a reason and maybe until a date",
        "Ignore sync errors (by id) or every open error of a cause: they leave the open "
        "counts and are never retried automatically, until --until passes, they are "
        "unignored, or the record fails again for another reason.",
    )
    parser.add_argument("--reason", required=True, help="why they can wait (shown to everyone)")
    parser.add_argument(
        "--until",
        help="7d (days, by the service's clock), a date (2026-12-31: its start in the "
        "system's time zone) or an ISO time with its zone; default: until unignored",
    )
    _add(
        subparsers,
        "unignore",
        "make ignored errors open again",
        "Make ignored errors (by id, or those of a cause) open again.",
    )


def _targets(args: argparse.Namespace) -> dict[str, Any] | None:
    from tui.i18n import t

    if bool(args.ids) == bool(args.cause):
        say(args.command, t("ignore.cli_targets"))
        return None
    return {"error_ids": args.ids} if args.ids else {"cause": args.cause}


async def _send(args: argparse.Namespace, target: ServiceTarget, expiry: Any) -> int:
    from tui.data.cache import CacheError
    from tui.data.client import ServiceError
    from tui.i18n import t

    named = _targets(args)
    if named is None:
        return 2
    session = await open_session(args.command, target, args.demo_size)
    if session is None:
        return 1
    try:
        if args.command == "ignore":
            result = await session.ignore(args.reason, expiry, **named)
        else:
            result = await session.unignore(**named)
    except (ServiceError, CacheError) as exc:
        say(args.command, exc.message)
        return 1
    finally:
        await session.close()
    changed, unchanged = len(result.changed), len(result.unchanged)
    show(t(f"ignore.cli_{args.command}d", count=changed))
    if unchanged:
        show(t(f"ignore.cli_{args.command}_unchanged", count=unchanged))
    return 0


def run(args: argparse.Namespace) -> int:
    from tui.core.lang import resolve_lang
    from tui.data.expiry import BadExpiry, parse_until
    from tui.i18n import set_lang, t

    set_lang(resolve_lang(args.lang))
    target = service_target(args.command, args)
    if target is None:
        return 2
    expiry = None
    if getattr(args, "until", None):
        try:
            expiry = parse_until(args.until, datetime.now(UTC), None)
        except BadExpiry as exc:
            say(args.command, str(exc))
            return 2
    if getattr(args, "reason", None) is not None and not args.reason.strip():
        say(args.command, t("ignore.reason_missing"))
        return 2
    return asyncio.run(_send(args, target, expiry))
