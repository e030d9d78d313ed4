"""``synchealth export``: refresh the cache from the service, then write its errors as CSV.

The service and its token come from the flags, the environment or the profile
(:mod:`tui.profiles`); with none of them the embedded service (simulated org) is used,
like the console. If the service cannot be reached the cached copy is exported, with a
warning.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tui.profiles import ServiceTarget, add_service_arguments


def add_parser(subparsers: Any) -> None:
    from tui.data.models import ERROR_TYPES

    parser = subparsers.add_parser(
        "export",
        help="write sync errors as CSV (to a file or stdout)",
        description="Refresh the local cache from the Sync Health service, then write its "
        "errors as CSV. Cells that a spreadsheet would run as a formula are escaped.",
    )
    parser.add_argument("--type", choices=ERROR_TYPES, help="only errors of this type")
    parser.add_argument(
        "--status",
        choices=("open", "resolved", "all"),
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
    parser.add_argument("-o", "--output", type=Path, help="the CSV file (default: stdout)")
    add_service_arguments(parser)


def _say(message: str) -> None:
    print(f"synchealth export: {message}", file=sys.stderr)


def _progress_printer() -> Callable[[int], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(rows: int) -> None:
        sys.stderr.write(f"\r{rows:,} rows written")
        sys.stderr.flush()

    return show


async def _export(args: argparse.Namespace, target: ServiceTarget) -> int:
    from tui.data.cache import CacheError, ViewFilter
    from tui.data.client import ServiceError
    from tui.data.export import ExportError
    from tui.data.lang import resolve_lang
    from tui.data.session import DataSession

    try:
        session = await DataSession.open(
            url=target.url, token=target.token_value, demo_size=args.demo_size
        )
    except (CacheError, ServiceError) as exc:
        _say(exc.message)
        return 1
    try:
        if session.notice:
            _say(session.notice)
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
        target = args.output if args.output is not None else sys.stdout.buffer
        try:
            rows = await session.export(
                target,
                f=view,
                bom=args.bom,
                progress=progress,
                lang=resolve_lang(args.lang),
                raw=args.raw,
            )
        except (ExportError, CacheError) as exc:
            _say(exc.message)
            return 1
        except BrokenPipeError:
            return 1
        if progress is not None:
            sys.stderr.write("\n")
        if args.output is not None:
            _say(f"{rows:,} errors written to {args.output}")
        return 0
    finally:
        await session.close()


def run(args: argparse.Namespace) -> int:
    from tui.config import ConfigError
    from tui.profiles import target_from_args

    try:
        _, target = target_from_args(args)
    except ConfigError as exc:
        _say(exc.message)
        return 2
    return asyncio.run(_export(args, target))
