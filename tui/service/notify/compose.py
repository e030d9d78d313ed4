"""Messages: subject, a plain-text body for a phone, and the same facts as data.

Bodies put numbers first and keep lines within 40 columns; text that comes from the
CRM or Salesforce (record names, messages) is data: control characters are dropped,
long messages are shortened, and lines are wrapped.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from tui.core.models import Channel, NotificationSettings
from tui.service.ledger import iso
from tui.service.notify.cause_alerts import CauseChange
from tui.service.notify.digest import ErrorSummary
from tui.service.notify.outbox import Message
from tui.service.notify.text import Text, local_time, wrap
from tui.service.notify.usage_alerts import Crossing, UsageFigures

MESSAGE_CHARS = 120
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def clean(text: str, limit: int = MESSAGE_CHARS) -> str:
    """Data as one printable line, shortened to ``limit`` characters."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _head(text: Text, summary: ErrorSummary) -> list[str]:
    if summary.count == 0:
        return [text("body.no_new_errors")]
    return [
        text.count("body.new_errors", summary.count),
        text.count("body.records", summary.records),
    ]


def _by_type(text: Text, summary: ErrorSummary) -> list[str]:
    if not summary.by_type:
        return []
    rows = [f"{n:>6,}  {text.type_title(code)}" for code, n in summary.by_type]
    return ["", text("body.by_type"), *rows]


def _latest(text: Text, summary: ErrorSummary) -> list[str]:
    lines = ["", text("body.latest")]
    for error in summary.latest:
        record = f"{clean(error.record_name, 60)} ({text.object_name(error.object_type)})"
        first, *rest = wrap(record, "  ")
        lines += ["•" + first[1:], *rest]
        lines += wrap(f"{text.type_title(error.type)}: {text.subtype_title(error.subtype)}", "  ")
    hidden = summary.count - len(summary.latest)
    if hidden > 0:
        lines.append(text.count("body.more", hidden))
    return lines


def _top(text: Text, summary: ErrorSummary) -> list[str]:
    if not summary.top_messages:
        return []
    lines = ["", text("body.top_messages")]
    for code, message, n in summary.top_messages:
        first, *rest = wrap(clean(message) or code, " " * 8)
        lines += [f"{n:>6,}  {first.lstrip()}", *rest]
    return lines


def _usage(text: Text, usage: UsageFigures) -> list[str]:
    if usage.percent is None:
        line = text("body.usage_unallocated", used=f"{usage.used:,}")
    else:
        line = text(
            "body.usage_line",
            used=f"{usage.used:,}",
            allocated=f"{usage.allocated:,}",
            percent=usage.shown_percent,
        )
    return ["", text("body.usage_title"), *wrap(line, "  ")]


def _lines(*parts: str) -> list[str]:
    return [line for part in parts for line in wrap(part)]


def _summary_data(org: str, summary: ErrorSummary, usage: UsageFigures) -> dict[str, Any]:
    return {
        "org": org,
        "new_errors": summary.count,
        "affected_records": summary.records,
        "by_type": dict(summary.by_type),
        "top_messages": [
            {"sf_code": code, "message": message, "count": n}
            for code, message, n in summary.top_messages
        ],
        "latest": [
            {
                "id": e.id,
                "type": e.type,
                "subtype": e.subtype,
                "object_type": e.object_type,
                "record_id": e.record_id,
                "record_name": e.record_name,
                "message": e.message,
            }
            for e in summary.latest
        ],
        "open_errors": summary.open_now,
        "usage": _usage_data(usage),
    }


def _usage_data(usage: UsageFigures) -> dict[str, Any]:
    return {"used": usage.used, "allocated": usage.allocated, "percent": usage.shown_percent}


def immediate(text: Text, org: str, summary: ErrorSummary, usage: UsageFigures) -> Message:
    body = [
        *_head(text, summary),
        *_latest(text, summary),
        *_by_type(text, summary),
        "",
        *_lines(text("body.fix_hint")),
    ]
    return Message(
        kind="immediate",
        subject=text.count("subject.immediate", summary.count, org=org),
        body="\n".join(body),
        data=_summary_data(org, summary, usage),
    )


def digest(
    text: Text,
    org: str,
    kind: Literal["daily", "weekly"],
    summary: ErrorSummary,
    usage: UsageFigures,
    since: datetime,
    zone: str,
) -> Message:
    subject = (
        text(f"subject.{kind}_none", org=org)
        if summary.count == 0
        else text.count(f"subject.{kind}", summary.count, org=org)
    )
    body = [
        *_head(text, summary),
        *_lines(text("body.since", time=local_time(since, zone), zone=zone)),
        *_by_type(text, summary),
        *_top(text, summary),
        *_usage(text, usage),
        "",
        *_lines(text("body.open_now", count=f"{summary.open_now:,}")),
    ]
    data = {**_summary_data(org, summary, usage), "since": iso(since), "timezone": zone}
    return Message(kind=kind, subject=subject, body="\n".join(body), data=data)


def usage_change(text: Text, org: str, change: Crossing, usage: UsageFigures) -> Message:
    percent = usage.shown_percent
    data = {"org": org, "threshold": change.threshold, "usage": _usage_data(usage)}
    if change.direction == "up":
        body = [
            *_lines(text("body.alert_head", percent=percent)),
            *_usage(text, usage),
            "",
            *_lines(text("body.alert_crossed", threshold=change.threshold)),
            "",
            *_lines(text("body.alert_hint")),
        ]
        subject = text("subject.usage_alert", percent=percent, org=org)
        return Message("usage_alert", subject, "\n".join(body), data)
    body = [
        *_lines(text("body.recovered_head", percent=percent)),
        *_usage(text, usage),
        "",
        *_lines(text("body.recovered_under", threshold=change.threshold)),
    ]
    subject = text("subject.usage_recovered", threshold=change.threshold, org=org)
    return Message("usage_recovered", subject, "\n".join(body), data)


def retries_change(text: Text, org: str, kind: str, facts: dict[str, Any]) -> Message:
    """Automatic retries paused at the budget ceiling (``retries_paused``) or resumed."""
    used, allocated = facts["used"], facts["allocated"]
    values = {
        "used": f"{used:,}",
        "allocated": f"{allocated:,}",
        "ceiling": facts["ceiling_percent"],
    }
    body = _lines(text(f"body.{kind}", **values), text(f"body.{kind}_hint"))
    subject = text(f"subject.{kind}", org=org, ceiling=facts["ceiling_percent"])
    return Message(kind, subject, "\n".join(body), {"org": org, **facts})


def _what(change: CauseChange) -> str:
    """Which change: the key of its label (``body.cause_<what>``, ``subject.cause_<what>``)."""
    if change.cleared:
        return "cleared"
    if change.opened:
        name = "back" if change.back_from else "new"
        return "new_surge" if change.surge and name == "new" else name
    return "surge"


def _cause_name(text: Text, change: CauseChange) -> str:
    try:
        title = text.subtype_title(change.subtype)
    except KeyError:
        title = change.subtype
    return f"{title} ({clean(change.sf_object, 40)})"


def _cause_lines(text: Text, change: CauseChange, settings: NotificationSettings) -> list[str]:
    first, *rest = wrap(text(f"body.cause_{_what(change)}"), "  ")
    lines = ["", "•" + first[1:], *rest, *wrap(_cause_name(text, change), "  ")]
    if change.template:
        lines += wrap(clean(change.template.splitlines()[0]), "  ")
    if not change.cleared:
        lines += wrap(text.count("body.cause_open", change.open_errors), "  ")
    if change.surge:
        recent = text.count(
            "body.cause_recent",
            change.recent,
            minutes=settings.alert_minutes,
            rule=f"{settings.alert_errors:,}",
        )
        lines += wrap(recent, "  ")
    if change.back_from:
        when = local_time(datetime.fromisoformat(change.back_from), "UTC")
        lines += wrap(text("body.cause_back_since", time=when), "  ")
    return lines


def _cause_data(change: CauseChange) -> dict[str, Any]:
    return {
        "cause": change.cause,
        "change": _what(change),
        "type": change.type,
        "subtype": change.subtype,
        "sf_object": change.sf_object,
        "template": change.template,
        "open_errors": change.open_errors,
        "recent_errors": change.recent,
        "cleared_before": change.back_from,
    }


def cause_alert(
    text: Text, org: str, changes: list[CauseChange], settings: NotificationSettings
) -> Message:
    """Alert mode: the causes that changed state (new, back, growing fast, cleared)."""
    if len(changes) == 1:
        [change] = changes
        subject = text(f"subject.cause_{_what(change)}", cause=_cause_name(text, change), org=org)
    else:
        subject = text.count("subject.cause_many", len(changes), org=org)
    body = [text.count("body.cause_many", len(changes))]
    for change in changes:
        body += _cause_lines(text, change, settings)
    body += ["", *_lines(text("body.cause_hint"))]
    data = {
        "org": org,
        "rule": {"errors": settings.alert_errors, "minutes": settings.alert_minutes},
        "causes": [_cause_data(c) for c in changes],
    }
    return Message("cause_alert", subject, "\n".join(body), data)


def _settings_lines(text: Text, settings: NotificationSettings) -> list[str]:
    if not settings.enabled:
        schedule = text("body.settings_off")
    elif settings.frequency == "immediate":
        schedule = text("body.settings_immediate")
    else:
        schedule = text(
            f"body.settings_{settings.frequency}",
            errors=f"{settings.alert_errors:,}",
            minutes=settings.alert_minutes,
            time=settings.digest_time,
            zone=settings.timezone,
            weekday=text.weekday(settings.digest_weekday),
        )
    usage = (
        text(
            "body.settings_usage", thresholds=", ".join(f"{t}%" for t in settings.usage_thresholds)
        )
        if settings.usage_alerts
        else text("body.settings_no_usage")
    )
    return _lines(schedule, usage)


def trial_message(
    text: Text, org: str, channel: Channel, settings: NotificationSettings
) -> Message:
    body = [
        *_lines(text("body.test_head"), text(f"body.test_{channel}")),
        "",
        *_settings_lines(text, settings),
    ]
    return Message("test", text("subject.test", org=org), "\n".join(body), {"org": org})
