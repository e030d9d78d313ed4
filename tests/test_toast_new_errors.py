"""Errors new to the console show as one toast after a refresh; never on the first fill.

The errors arrive the way the sync engine reports them: POST /v1/errors to the
service the console reads (the embedded one here, reached over its own transport).
"""

from __future__ import annotations

from typing import Any

import httpx

from tui import i18n
from tui.data.session import DataSession, ViewFilter
from tui.embedded import EMBEDDED_URL, open_data_session
from tui.text.arrivals import arrivals_text

PICKLIST = {
    "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    "message": "bad value for restricted picklist field: Rating",
    "fields": ["Rating"],
}
VALIDATION = {
    "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    "message": "Phone must be 10 digits",
    "fields": [],
}


def report(record_id: str, name: str, error: dict[str, Any]) -> dict[str, Any]:
    return {
        "object_type": "contact",
        "record_id": record_id,
        "record_name": name,
        "salesforce": {"object": "Contact", "fields": {"LastName": name}},
        "errors": [error],
    }


NEW_THREE = [
    report("toast-1", "Ann Rating", PICKLIST),
    report("toast-2", "Bo Rating", PICKLIST),
    report("toast-3", "Cy Phone", VALIDATION),
]


async def post_errors(session: DataSession, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Report failures to the session's embedded service, as the sync engine would."""
    transport = session._owned.transport  # the in-process service the console reads
    async with httpx.AsyncClient(transport=transport, base_url=EMBEDDED_URL) as http:
        answer = await http.post("/v1/errors", json={"errors": items})
    assert answer.status_code == 200, answer.text
    return answer.json()


def arrival_toasts(app) -> list[str]:
    title = i18n.t("main.arrivals.title")
    return [str(n.message) for n in app._notifications if n.title == title]


# -- the session counts ---------------------------------------------------------------


async def test_refresh_counts_new_open_errors_by_type_and_only_once(demo_session) -> None:
    answer = await post_errors(demo_session, NEW_THREE)
    assert answer["created"] == 3
    result = await demo_session.refresh()
    assert result.new_errors == {"picklist": 2, "custom_code": 1} and result.new_count == 3
    assert (await demo_session.refresh()).new_errors == {}


async def test_a_repeat_of_a_known_error_is_not_new(demo_session) -> None:
    await post_errors(demo_session, NEW_THREE[:1])
    assert (await demo_session.refresh()).new_count == 1
    again = await post_errors(demo_session, NEW_THREE[:1])
    assert again["repeated"] == 1
    result = await demo_session.refresh()
    assert result.changed == 1 and result.new_errors == {}


async def test_the_first_fill_of_an_empty_cache_counts_nothing(synchealth_env, tmp_path) -> None:
    session = await open_data_session(cache_path=tmp_path / "fresh.sqlite3", demo_size=2000)
    try:
        first = await session.refresh()
        assert first.changed == 2000 and first.new_errors == {}
    finally:
        await session.close()


async def test_arrivals_pulled_by_a_resync_are_reported_by_the_next_refresh(
    demo_session,
) -> None:
    await post_errors(demo_session, NEW_THREE)
    known = await demo_session.view_ids(ViewFilter())  # open errors the cache holds
    await demo_session.resync([known[-1]])
    assert (await demo_session.refresh()).new_errors == {"picklist": 2, "custom_code": 1}


# -- the toast ------------------------------------------------------------------------


def test_the_toast_text_names_the_biggest_types_in_both_languages() -> None:
    counts = {"picklist": 5, "duplicate": 4, "other": 1, "association": 2, "permissions": 1}
    assert arrivals_text(counts) == (
        "13 new sync errors: 5 Picklist, 4 Duplicate, 2 Association, 2 more"
    )
    assert arrivals_text({"custom_code": 1}) == "1 new sync error: 1 Custom code"
    try:
        i18n.set_lang("ja")
        assert (
            arrivals_text({"duplicate": 1200}) == "新しい同期エラーが1,200件あります：重複 1,200件"
        )
    finally:
        i18n.set_lang("en")


async def test_one_toast_after_errors_arrive_none_on_the_first_fill(make_app, wait_ready) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        assert app.session is not None and app.session.last_refresh is not None
        assert arrival_toasts(app) == []  # the first fill brought 2,000 errors: no toast

        await post_errors(app.session, NEW_THREE)
        app.action_refresh()
        await wait_ready(pilot, lambda: bool(arrival_toasts(app)))
        assert arrival_toasts(app) == [arrivals_text({"picklist": 2, "custom_code": 1})]
        assert arrival_toasts(app)[0].startswith("3 new sync errors: 2 Picklist, 1 Custom code")

        app.action_refresh()  # nothing new: no second toast
        await wait_ready(pilot)
        await pilot.pause()
        assert len(arrival_toasts(app)) == 1
