"""``synchealth doctor``: the health checks, green / yellow / red, each with its fix.

The checks that need Salesforce run in the service (``GET /v1/doctor``); this command
shows them, adds the local cache's, and exits 1 when any check is red (0 otherwise).
The text is in the session's language (``--lang``), put into words from each check's
codes; ``--json`` prints the report as the API gives it (English ``found`` and ``fix``
with their ``found_codes`` and ``fix_codes``), with the cache check added.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from tui.commands.say import show
from tui.commands.target import open_session, service_target
from tui.profiles import ServiceTarget, add_service_arguments


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check the service, Salesforce sign-in, access, limits, notifications, cache",
        description="Run the health checks: the service and its version, the Salesforce "
        "sign-in, the API version, the org's limits, the integration user's access to the "
        "objects and fields open errors name, allocation headroom, notification channels "
        "and the local cache. Each is green, yellow or red with what to do; the exit code "
        "is 1 when any is red.",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--send-test",
        action="store_true",
        help="also send a test message on each enabled notification channel",
    )
    parser.add_argument(
        "--lang", choices=("en", "ja"), help="language of the checks' names, findings and fixes"
    )
    add_service_arguments(parser)


def render(report: Any) -> str:
    """The report as text lines: status, check, subject, what was found, the fix."""
    from rich.cells import set_cell_size

    from tui.data.doctor import fix_text, found_text, worst
    from tui.i18n import t

    lines = []
    for c in report.checks:
        name = t(f"doctor.check.{c.id}") + (f" ({c.subject})" if c.subject else "")
        status = set_cell_size(t(f"doctor.status.{c.status}"), 5)
        lines.append(f"{status} {name}: {found_text(c)}")
        if fix := fix_text(c):
            lines.append(f"      {t('doctor.fix', fix=fix)}")
    verdict = worst(report)
    count = sum(c.status == verdict for c in report.checks)
    lines.append(t(f"doctor.summary_{verdict}", count=count))
    lines.append(t("doctor.calls", count=report.salesforce_calls, time=f"{report.as_of:%H:%M:%S}"))
    return "\n".join(lines)


async def _doctor(args: argparse.Namespace, target: ServiceTarget) -> int:
    from tui.data.doctor import run_doctor, worst

    session = await open_session("doctor", target, args.demo_size)
    if session is None:
        return 1
    try:
        report = await run_doctor(session, send_test=args.send_test)
    finally:
        await session.close()
    show(report.model_dump_json(indent=2) if args.json else render(report))
    return 1 if worst(report) == "red" else 0


def run(args: argparse.Namespace) -> int:
    from tui.core.lang import resolve_lang
    from tui.i18n import set_lang

    target = service_target("doctor", args)
    if target is None:
        return 2
    set_lang(resolve_lang(args.lang))
    return asyncio.run(_doctor(args, target))
