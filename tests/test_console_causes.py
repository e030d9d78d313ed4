"""The console's causes view (``C``): driven with Pilot on the embedded demo."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from textual.widgets import DataTable, Static

from tui import i18n
from tui.screens.causes import CausesScreen
from tui.screens.resync import ResyncConfirmScreen
from tui.text.timefmt import ago

#: Two causes of the demo with one subtype and one message shape, on two objects: a
#: filter by subtype and message text takes both; the cause filter only its own.
INDUSTRY = "Industry: bad value for restricted picklist field: <value>"


async def open_causes(app: Any, pilot: Any, wait_ready: Any) -> CausesScreen:
    await wait_ready(pilot)
    await pilot.press("C")
    await wait_ready(pilot, lambda: isinstance(app.screen, CausesScreen) and app.screen.causes)
    return app.screen


async def goto(pilot: Any, screen: CausesScreen, subtype: str, sf_object: str) -> Any:
    index = next(
        i for i, c in enumerate(screen.causes) if c.subtype == subtype and c.sf_object == sf_object
    )
    screen.query_one(DataTable).move_cursor(row=index)
    await pilot.pause()
    return screen.causes[index]


async def test_space_marks_every_open_error_of_the_cause(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_causes(app, pilot, wait_ready)
        cause = await goto(pilot, screen, "picklist.restricted_value", "Contact")
        await pilot.press("space")
        # the demo's engine may report more failures of the cause meanwhile: at least these
        await wait_ready(pilot, lambda: len(app.marks) >= cause.open_errors)
        marked = set(app.marks)
        rows = await app.session.rows(sorted(marked))
    assert len(marked) >= cause.open_errors and len(rows) == len(marked)
    assert {r.subtype for r in rows.values()} == {"picklist.restricted_value"}
    assert all(r.message.startswith("Contact Tier: ") for r in rows.values())


async def grid_and_service(app: Any, view: Any, cause: str) -> tuple[list[int], set[int]]:
    """The view's ids and the service's open errors of ``cause``; asked again (after a
    refresh) if the demo's engine reported a failure of the cause in between."""
    for _ in range(3):
        exact = set(await app.session.cause_error_ids(cause))
        ids = list(await app.session.view_ids(view))
        if set(ids) == exact:
            break
        await app.session.refresh()
    return ids, exact


def line_of(app: Any) -> str:
    return str(app.main_screen.query_one("#view-status", Static).render())


async def test_enter_filters_the_grid_to_exactly_the_cause(
    make_app: Callable[..., Any], wait_ready: Any, tmp_path: Path
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_causes(app, pilot, wait_ready)
        twin = await goto(pilot, screen, "picklist.restricted_value", "Lead")
        cause = await goto(pilot, screen, "picklist.restricted_value", "Account")
        assert cause.template == twin.template == INDUSTRY and cause.cause != twin.cause
        table = screen.query_one(DataTable)
        first = str(table.get_cell(cause.cause, "first_seen"))
        assert first == ago(cause.first_seen, app.now()) and first.endswith("ago")
        await pilot.press("enter")
        await wait_ready(pilot, lambda: not isinstance(app.screen, CausesScreen))
        main = app.main_screen
        view = main.view
        await wait_ready(pilot, lambda: main.grid.total == cause.open_errors and main.counted)
        ids, exact = await grid_and_service(app, view, cause.cause)
        rows = await app.session.rows(ids)
        assert set(ids) == exact and len(ids) >= cause.open_errors
        assert {(r.sf_object, r.subtype) for r in rows.values()} == {
            ("Account", "picklist.restricted_value")
        }
        # the old narrowing (subtype + message text) takes the Lead cause's errors too
        both = await app.session.count(
            type(view)(subtype=cause.subtype, text="Industry: bad value for restricted")
        )
        assert both == cause.open_errors + twin.open_errors
        # the shape is cut to leave the count and the sort on the line, never them
        said = line_of(app)
        assert said.startswith("Open errors · cause: Account “Industry: bad value for restr")
        assert f"” · {cause.open_errors} rows · sort: last seen ▼" in said

        # a narrower or wider terminal fits the line again, without another update
        await pilot.resize_terminal(80, 40)
        await wait_ready(pilot, lambda: line_of(app) != said)
        narrow = line_of(app)
        assert narrow.startswith("Open errors · cause: Account “Industry")
        assert f"” · {cause.open_errors} rows · sort: last seen ▼" in narrow
        status = app.main_screen.query_one("#view-status", Static)
        assert cell_len(narrow) <= status.size.width < cell_len(said)  # the old line would not fit
        await pilot.resize_terminal(160, 40)
        await wait_ready(pilot, lambda: line_of(app) == said)

        # sorted another way: the same rows
        await pilot.press("s")
        await wait_ready(pilot)
        assert set(await app.session.view_ids(main.view, main.grid.sort)) == exact

        # mark all, then r: the resync asks for exactly the cause's open errors
        await pilot.press("ctrl+a")
        await wait_ready(pilot, lambda: app.marks == exact)
        await pilot.press("r")
        await wait_ready(pilot, lambda: isinstance(app.screen, ResyncConfirmScreen))
        assert app.screen.plan.errors == len(exact) and app.screen.hidden_marked == 0
        await pilot.press("escape")
        await wait_ready(pilot, lambda: not isinstance(app.screen, ResyncConfirmScreen))

        # the export of the view writes the cause's errors, no more
        out = tmp_path / "cause.csv"
        written = await app.session.export(out, f=main.view, raw=True)
        with out.open(newline="", encoding="utf-8") as fh:
            exported = list(csv.DictReader(fh))
        assert written == len(exported) == len(exact)
        assert {int(r["id"]) for r in exported} == exact

        # escape takes the cause away, leaving the type
        await pilot.press("escape")
        await wait_ready(pilot, lambda: main.view.cause is None)
        assert main.view.type == "picklist" and "cause:" not in line_of(app)


async def test_the_cause_filter_works_with_the_text_filter_and_speaks_japanese(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    try:
        app = make_app(lang="ja")
        async with app.run_test(size=(160, 40)) as pilot:
            screen = await open_causes(app, pilot, wait_ready)
            cause = await goto(pilot, screen, "picklist.restricted_value", "Account")
            await pilot.press("enter")
            await wait_ready(pilot, lambda: not isinstance(app.screen, CausesScreen))
            main = app.main_screen
            await wait_ready(pilot, lambda: main.grid.total == cause.open_errors)
            assert "原因: Account「Industry: bad value" in line_of(app)
            first = await app.session.rows(list(await app.session.view_ids(main.view))[:1])
            name = next(iter(first.values())).record_name
            await pilot.press("slash", *name)
            await wait_ready(pilot, lambda: main.view.text == name and main.counted)
            narrowed = await app.session.rows(list(await app.session.view_ids(main.view)))
            assert narrowed and all(
                r.record_name == name or name in r.message for r in narrowed.values()
            )
            assert {r.sf_object for r in narrowed.values()} == {"Account"}
            assert main.view.cause is not None and main.grid.total == len(narrowed)
    finally:
        i18n.set_lang("en")


def shown_lines(table: DataTable) -> list[str]:
    """The table's lines as drawn (header first), what the user sees of it."""
    return [table.render_line(y).text for y in range(table.size.height)]


async def test_at_80_columns_the_message_shows_beside_every_cause_and_follows_a_resize(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_causes(app, pilot, wait_ready)
        table = screen.query_one(DataTable)
        lines = shown_lines(table)
        assert i18n.t("causes.col_message") in lines[0]
        for cause, line in zip(screen.causes, lines[1:5], strict=False):
            shape = cause.template.splitlines()[0]
            assert shape[:12] in line, (shape, line)
            assert cell_len(line.rstrip()) <= table.size.width
        # what the narrow table leaves out is said for the cause at the cursor
        sample = str(screen.query_one("#sample", Static).render())
        first = screen.causes[0]
        assert f"{first.records:,} records" in sample and ago(first.first_seen, app.now()) in sample
        await pilot.resize_terminal(160, 50)
        await wait_ready(pilot)
        await pilot.pause(0.1)
        header = shown_lines(table)[0]
        assert i18n.t("causes.col_first_seen") in header and i18n.t("mute.col_muted") in header
        wide = shown_lines(table)[1]
        assert screen.causes[0].template.splitlines()[0][:40] in wide, wide
