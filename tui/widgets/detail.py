"""The detail pane: why an error type or one error happens and how to fix it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.core.catalog import load_catalog
from tui.i18n import crm_object, current_lang, t
from tui.text.linebreak import PhraseWrapped
from tui.text.safe import clean
from tui.text.timefmt import ago, stamp


def _section(title: str) -> Text:
    return Text(title, style="bold underline")


def type_text(type_code: str, subtypes: Sequence[Any]) -> Text:
    """A type's meaning, resolution and subtypes with their counts."""
    catalog, lang = load_catalog(), current_lang()
    info = catalog.type(type_code).text(lang)
    counts = {item.subtype: item for item in subtypes}
    lines = [
        Text(info.title, style="bold"),
        Text(""),
        _section(t("main.detail.meaning")),
        Text(info.meaning),
        Text(""),
        _section(t("main.detail.resolution")),
        Text(info.resolution),
        Text(""),
        _section(t("main.detail.subtypes")),
    ]
    for sub in catalog.subtypes_of(type_code):
        count = counts.get(sub.code)
        errors = count.errors if count else 0
        records = count.records if count else 0
        style = "dim" if errors == 0 else ""
        records_count = t("main.detail.records_count", count=records)
        lines.append(Text.assemble(
            (f"{errors:>7,} ", style or "bold"),
            (t("main.detail.subtype_counts", count=errors, records=records_count) + " ", style),
            (sub.text(lang).title, style),
        ))  # fmt: skip
    return Text("\n").join(lines)


def overview_text(type_code: str, subtypes: Sequence[Any]) -> Text:
    """:func:`type_text`, then every subtype explained, those with no open errors too."""
    catalog, lang = load_catalog(), current_lang()
    counts = {item.subtype: item.errors for item in subtypes}
    lines = [type_text(type_code, subtypes)]
    for sub in catalog.subtypes_of(type_code):
        words = sub.text(lang)
        errors = counts.get(sub.code, 0)
        lines += [
            Text(""),
            Text.assemble(
                (words.title, "bold underline"),
                "  ",
                (t("main.overview.open", count=f"{errors:,}"), "dim" if errors == 0 else ""),
            ),
            Text.assemble((t("main.detail.meaning") + " ", "dim"), words.meaning),
            Text.assemble((t("main.detail.resolution") + " ", "dim"), words.resolution),
        ]
    return Text("\n").join(lines)


def engine_text(request: Any, now: datetime) -> Text:
    """Where the error's request to the sync engine stands (engine-mode resync)."""
    if request.state == "waiting":
        return Text(t("main.detail.engine_waiting", age=ago(request.created, now)), "bold")
    if request.state == "expired":
        return Text(t("main.detail.engine_expired", when=stamp(request.expires)), "bold")
    outcome = t(f"main.detail.outcome_{request.outcome or 'synced'}")
    return Text(t("main.detail.engine_answered", outcome=outcome, when=stamp(request.answered)))


def retry_text(retry: Any) -> Text:
    """The error's next automatic retry, or why none is planned."""
    when = stamp(retry.at) if retry.at is not None else ""
    return Text.assemble(
        (t("main.detail.retry") + " ", "dim"), t(f"main.detail.retry_{retry.reason}", when=when)
    )


def ignore_text(ignore: Any) -> Text:
    """Why, by whom and until when the error is ignored."""
    if ignore.expires_at is None:
        said = t("ignore.detail", reason=clean(ignore.reason), actor=clean(ignore.actor))
    else:
        said = t("ignore.detail_until", reason=clean(ignore.reason), actor=clean(ignore.actor),
                 until=stamp(ignore.expires_at))  # fmt: skip
    return Text.assemble((t("ignore.detail_label") + " ", "dim"), said)


def error_text(row: Any, detail: Any | None, now: datetime | None = None) -> Text:
    """One error: its subtype's meaning and fix, the raw Salesforce answer, both records."""
    lang = current_lang()
    try:
        sub = load_catalog().subtype(row.subtype).text(lang)
        title, meaning, resolution = sub.title, sub.meaning, sub.resolution
    except KeyError:
        title, meaning, resolution = row.subtype, "", ""
    fields = ", ".join(clean(name) for name in row.fields) or "-"
    lines = [
        Text(title, style="bold"),
        Text(""),
        _section(t("main.detail.meaning")),
        Text(meaning),
        Text(""),
        _section(t("main.detail.resolution")),
        Text(resolution),
        Text(""),
        _section(t("main.detail.salesforce")),
        Text.assemble((t("main.detail.code") + " ", "dim"), clean(row.sf_code or "-")),
        Text.assemble((t("main.detail.message") + " ", "dim"), clean(row.message or "-")),
        Text.assemble((t("main.detail.fields") + " ", "dim"), fields),
        Text(""),
        _section(t("main.detail.records")),
        Text.assemble(
            (t("main.detail.crm") + " ", "dim"),
            clean(crm_object(row.object_type)),
            " ",
            (clean(row.record_name), "bold"),
            " (",
            clean(row.record_id),
            ")",
        ),
        Text.assemble(
            (t("main.detail.sf") + " ", "dim"),
            clean(row.sf_object),
            " ",
            clean(row.sf_id or t("main.detail.no_sf_id")),
        ),
        Text.assemble(
            (t("main.detail.direction") + " ", "dim"), t(f"main.detail.dir_{row.direction}")
        ),
        Text(""),
        Text.assemble((t("main.detail.first_seen") + " ", "dim"), stamp(row.first_seen)),
        Text.assemble((t("main.detail.last_seen") + " ", "dim"), stamp(row.last_seen)),
        Text.assemble(
            (t("main.detail.attempts") + " ", "dim"),
            str(row.attempts),
            "  ",
            (t("main.detail.status") + " ", "dim"),
            t(f"main.detail.status_{row.status}"),
        ),
    ]
    ignore = getattr(detail, "ignore", None)
    if ignore is not None:
        lines.append(ignore_text(ignore))
    retry = getattr(detail, "next_retry", None)
    if retry is not None and retry.reason != "resolved":
        lines.append(retry_text(retry))
    request = getattr(detail, "engine_request", None)
    if request is not None and now is not None:
        lines.append(engine_text(request, now))
    history = getattr(detail, "history", None) or []
    if history:
        lines += [Text(""), _section(t("main.detail.history"))]
        for attempt in history:
            lines.append(Text.assemble(
                stamp(attempt.at), " ", t(f"main.detail.outcome_{attempt.outcome}"), " ",
                (clean(attempt.sf_code), "dim"),
            ))  # fmt: skip
    return Text("\n").join(lines)


class DetailPane(VerticalScroll, can_focus=True):
    """Scrolls when the text is longer than the pane (j/k or arrows when focused).

    Lines break between phrases (:mod:`tui.text.linebreak`), anew at each width.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shown = Text(t("main.detail.empty"), style="dim")

    def compose(self) -> ComposeResult:
        yield Static(PhraseWrapped(self.shown), id="detail-body")

    def show(self, text: Text) -> None:
        """Show ``text`` (the :attr:`shown` one, as it was before line breaking)."""
        self.shown = text
        self.query_one("#detail-body", Static).update(PhraseWrapped(text))
        self.scroll_home(animate=False)
