"""A failure's lead sentence comes from the locale files in the session's language; the
client's English technical sentence is only the detail, on a line of its own."""

from __future__ import annotations

import re
import socket

import pytest
from faulty_service import FaultyService, service_error

from tui.data.client import ServiceClient
from tui.data.client_errors import ServiceRejected, ServiceUnauthorized
from tui.i18n import set_lang, strings
from tui.widgets.header import OfflineBanner

WIDE = (160, 50)
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


@pytest.fixture
def japanese():
    set_lang("ja")
    yield
    set_lang("en")


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def japanese_only(line: str) -> bool:
    """No English word in ``line`` other than the product's name and HTTP."""
    words = set(LATIN_WORD.findall(line)) - {"Sync", "Health", "HTTP", "Salesforce", "URL"}
    return not words


async def test_the_japanese_banner_leads_in_japanese_and_keeps_the_detail_apart(
    make_app, wait_ready, japanese
) -> None:
    app = make_app(url=closed_port_url(), lang="ja")
    async with app.run_test(size=WIDE) as pilot:
        await wait_ready(pilot)
        banner = app.screen.query_one(OfflineBanner)
        assert banner.display
        lead, detail = str(banner.render()).split("\n")
        assert strings("ja")["main.offline.unreachable"] in lead
        assert japanese_only(lead), lead
        assert "Cannot reach" in detail  # the technical sentence, on its own line
        shown = [n.message for n in app._notifications]
        assert shown and all(japanese_only(m.split("\n")[0]) for m in shown), shown


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (401, service_error("unauthorized", "Missing or wrong bearer token."), "unauthorized"),
        (429, service_error("too_many_requests", "Slow down."), "rate_limited"),
        (500, service_error("internal", "The ledger is locked."), "service_error"),
    ],
    ids=["401", "429", "500"],
)
async def test_every_kind_of_failure_has_a_japanese_lead(
    japanese, status: int, body: dict, kind: str
) -> None:
    with FaultyService() as svc:
        svc.answer_all(status, body)
        async with ServiceClient(svc.url, retries=0) as client:
            with pytest.raises(Exception) as failed:
                await client.usage()
    problem = failed.value
    assert problem.kind == kind
    assert problem.lead == strings("ja")[f"main.problem.{kind}"]
    first, _, detail = problem.message.partition("\n")
    assert japanese_only(first) and detail and not japanese_only(detail)


async def test_a_refusal_the_console_knows_is_in_its_own_words_only(japanese) -> None:
    with FaultyService() as svc:
        svc.answer_all(422, service_error("allocation_exceeded", "Not enough calls left."))
        async with ServiceClient(svc.url, retries=0) as client:
            with pytest.raises(ServiceRejected) as refused:
                await client.usage()
    assert refused.value.message == strings("ja")["main.service.allocation_exceeded"]
    assert "Not enough calls" not in refused.value.message


async def test_the_english_detail_is_kept_for_the_command_line() -> None:
    with FaultyService() as svc:
        svc.answer_all(401, service_error("unauthorized", "Wrong token."))
        async with ServiceClient(svc.url, retries=0) as client:
            with pytest.raises(ServiceUnauthorized) as refused:
                await client.usage()
    assert refused.value.lead == "The Sync Health service refused our token."
    assert "refused our token (HTTP 401)" in refused.value.detail
