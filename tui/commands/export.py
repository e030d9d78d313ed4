"""``synchealth export``: refresh the cache from the service, then write its errors as CSV.

The service and its token come from the flags, the environment or the profile
(:mod:`tui.profiles`); with none of them the embedded service (simulated org) is used,
like the console. If the service cannot be reached the cached copy is exported, with a
warning.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from tui.commands.say import say
from tui.commands.target import open_session, service_target
from tui.profiles import ServiceTarget, add_service_arguments
from tui.text.terminal import TerminalWriter, is_terminal

if TYPE_CHECKING:
    from tui.data.session import DataSession


def add_parser(subparsers: Any) -> None:
    from tui.core.models import ERROR_TYPES

    parser = subparsers.add_parser(
        "export",
        help="write sync errors as CSV (to a file or stdout)",
        description="Refresh the local cache from the Sync Health service, then write its "
        "errors as CSV. Cells that a spreadsheet would run as a formula are escaped.",
    )
    parser.add_argument("--type", choices=ERROR_TYPES, help="only errors of this type")
    parser.add_argument(
        "--status",
        choices=("open", "resolved", "ignored", "all"),
        default="open",
        help="which errors (open)",
    )
    parser.add_argument(
        "--lang", choices=("en", "ja"), help="language of the subtype titles (from the locale)"
    )
    parser.add_argument(
        "--bom", action="store_true", help="start with a UTF-8 byte order mark (for Excel)"
    )
    parser.add_argument(
        "--raw",
        action="store_true",
        help="machine header and type codes (id, type, ... custom_code) instead of words "
        "in the language",
    )
    parser.add_argument(
        "--audit",
        action="store_true",
        help="write the service's audit trail instead (every change, who and when; oldest "
        "first, machine columns); needs the service to answer",
    )
    parser.add_argument("-o", "--output", type=Path, help="the CSV file (default: stdout)")
    add_service_arguments(parser)


def _say(message: str) -> None:
    say("export", message)


def _progress_printer() -> Callable[[int], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(rows: int) -> None:
        sys.stderr.write(f"\r{rows:,} rows written")
        sys.stderr.flush()

    return show


def _stdout() -> BinaryIO:
    """stdout for the CSV: exact bytes to a file or pipe, control characters escaped on a tty."""
    if is_terminal(sys.stdout):
        return TerminalWriter(sys.stdout.buffer)  # type: ignore[return-value]
    return sys.stdout.buffer


def _drop_stdout() -> None:
    """After a failed write to stdout, so the exit does not fail (and print) again."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


async def _written(
    args: argparse.Namespace, writing: Awaitable[int], errors: tuple[type[Exception], ...]
) -> int | None:
    """The rows ``writing`` wrote; None when it failed, after saying why (a failed write to
    stdout also lets the exit not fail again)."""
    try:
        return await writing
    except errors as exc:
        _say(getattr(exc, "message", str(exc)))
        if args.output is None:
            _drop_stdout()
        return None
    except BrokenPipeError:
        _drop_stdout()
        return None


async def _export(args: argparse.Namespace, target: ServiceTarget) -> int:
    from tui.core.lang import resolve_lang
    from tui.data.cache import CacheError, ViewFilter
    from tui.data.export import ExportError

    session = await open_session("export", target, args.demo_size)
    if session is None:
        return 1
    if args.audit:
        return await _export_audit(args, session)
    told = session.notice
    try:
        if told:
            _say(told)
        result = await session.refresh()
        if not result.online:
            if session.last_refresh is None:
                _say(
                    f"cannot refresh from the service, and there is no cached copy: {result.error}"
                )
                return 1
            _say(
                f"cannot refresh from the service ({result.error}); exporting the cached copy "
                f"from {session.last_refresh:%Y-%m-%d %H:%M} UTC"
            )
        status = None if args.status == "all" else args.status
        view = ViewFilter(type=args.type, status=status)
        progress = _progress_printer()
        output = args.output if args.output is not None else _stdout()
        writing = session.export(
            output,
            f=view,
            bom=args.bom,
            progress=progress,
            lang=resolve_lang(args.lang),
            raw=args.raw,
        )
        if (rows := await _written(args, writing, (ExportError, CacheError))) is None:
            return 1
        if progress is not None:
            sys.stderr.write("\n")
        if session.notice and session.notice != told:
            _say(session.notice)  # the cache was found damaged during the export, and rebuilt
        if args.output is not None:
            _say(f"{rows:,} errors written to {args.output}")
        return 0
    finally:
        await session.close()


async def _export_audit(args: argparse.Namespace, session: DataSession) -> int:
    """The audit trail, from the service only: a cache has none to fall back on."""
    from tui.data.client_errors import ServiceError
    from tui.data.export import ExportError

    output = args.output if args.output is not None else _stdout()
    try:
        rows = await _written(args, session.export_audit(output, bom=args.bom), (ExportError,))
    except ServiceError as exc:
        _say(f"cannot read the audit trail from the service: {exc.message}")
        return 1
    finally:
        await session.close()
    if rows is None:
        return 1
    if args.output is not None:
        _say(f"{rows:,} audit entries written to {args.output}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.audit and (args.type or args.status != "open" or args.raw or args.lang):
        _say("--audit writes the whole audit trail: it takes -o, --bom and the service's "
             "options, not --type, --status, --raw or --lang")  # fmt: skip
        return 2
    target = service_target("export", args)
    if target is None:
        return 2
    return asyncio.run(_export(args, target))
