"""The console's causes view (``C``): driven with Pilot on the embedded demo."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import DataTable

from tui.screens.causes import CausesScreen, fixed_part


def test_the_fixed_part_is_the_longest_stretch_without_a_placeholder() -> None:
    template = "Contact Tier: bad value for restricted picklist field: <value>"
    assert fixed_part(template) == "Contact Tier: bad value for restricted picklist field:"
    company = "Company '<value>' already has <n> associated contacts"
    assert fixed_part(company) == "associated contacts"


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


async def test_enter_narrows_the_grid_to_the_cause(
    make_app: Callable[..., Any], wait_ready: Any
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_causes(app, pilot, wait_ready)
        cause = await goto(pilot, screen, "picklist.restricted_value", "Contact")
        await pilot.press("enter")
        await wait_ready(pilot, lambda: not isinstance(app.screen, CausesScreen))
        view = app.main_screen.view
        shown = await app.session.count(view)
    assert (view.type, view.subtype) == ("picklist", "picklist.restricted_value")
    assert view.text == "Contact Tier: bad value for restricted picklist field:"
    assert shown == cause.open_errors
