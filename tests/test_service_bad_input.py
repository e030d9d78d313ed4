"""Issue 16 points 9 and 14: inputs that gave 500s, and the connection after an error.

A real ``synchealth serve --demo`` process on a loopback port, spoken to with
``http.client`` on one kept-alive connection, so a reset after an error answer shows.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from urllib.parse import quote

import pytest
from pg_harness import ENGINES, demo_serve_args

from tests.test_serve_loopback import free_port, serve, wait_for

HUGE = 2**63  # one past the largest SQLite integer


@pytest.fixture(scope="module", params=ENGINES)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[int]:
    """``synchealth serve`` on a demo ledger of either engine (SQLite: ``--demo``)."""
    folder = tmp_path_factory.mktemp("bad-input")
    with ExitStack() as stack:
        args, env = demo_serve_args(stack, request.param, folder)
        port = free_port()
        proc = serve(*args, "--port", str(port), env=env)
        try:
            wait_for(f"http://127.0.0.1:{port}/v1/health", proc)
            yield port
        finally:
            proc.terminate()
            proc.communicate(timeout=15)


class KeptAlive:
    """One HTTP/1.1 connection; ``ask`` fails if the server closed it after an answer."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.conn.connect()
        self.sock = self.conn.sock

    def ask(self, method: str, path: str, body: object = None) -> tuple[int, dict]:
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        assert self.conn.sock is self.sock, "the server closed the connection"
        assert (response.getheader("connection") or "").lower() != "close"
        return response.status, json.loads(raw) if raw else {}


def item(**over: object) -> dict:
    base = {
        "object_type": "contact",
        "record_id": "c-1",
        "salesforce": {"object": "Contact", "id": "003000000000001AAA"},
        "errors": [{"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are "
                    "missing: [LastName]", "fields": ["LastName"]}],
    }  # fmt: skip
    return base | over


CASES = [
    ("GET", f"/v1/errors/{HUGE}", None, 404, "not_found"),
    ("GET", "/v1/errors/١٢", None, 422, "invalid_parameter"),  # Arabic-Indic digits
    ("GET", "/v1/errors/１２", None, 422, "invalid_parameter"),  # full-width digits
    ("GET", "/v1/errors?cursor=１", None, 422, "invalid_parameter"),
    ("GET", "/v1/errors?cursor=٣", None, 422, "invalid_parameter"),
    ("POST", "/v1/resync", {"error_ids": [HUGE], "request_id": "r-huge"}, 422, "invalid_resync"),
    ("POST", "/v1/resync", {"error_ids": [1], "request_id": "nul\x00id"}, 422, "invalid_resync"),
    ("POST", "/v1/errors", {"errors": [item(occurred_at="0001-01-01T00:00:00+14:00")]}, 200, ""),
    ("GET", "/v1/health/", None, 404, "not_found"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), CASES)
def test_bad_input_gets_a_clear_4xx_and_the_connection_stays(
    served: int, method: str, path: str, body: object, status: int, code: str
) -> None:
    client = KeptAlive(served)
    got, answer = client.ask(method, quote(path, safe="/?=&"), body)
    assert got == status, answer
    if code:
        assert answer["error"]["code"] == code and answer["error"]["message"]
    else:  # ingest answers 200 with the item rejected, and why
        text = json.dumps(answer)
        assert "occurred_at" in text and "outside the years 1 to 9999" in text
    ok, health = client.ask("GET", "/v1/health")  # the same connection still works
    assert ok == 200 and health["status"] in ("ok", "degraded")


def test_health_time_has_the_documented_format(served: int) -> None:
    _, health = KeptAlive(served).ask("GET", "/v1/health")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", health["time"]), health["time"]


def test_a_handler_that_crashes_answers_json_500_and_keeps_the_connection() -> None:
    """A bug the inputs above did not reach: answered, logged, connection kept."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tui.service.api.problems import AnswerCrashes

    def crash(request):
        raise RuntimeError("a bug")

    def fine(request):
        return JSONResponse({"fine": True})

    app = Starlette(
        routes=[Route("/crash", crash), Route("/fine", fine)],
        middleware=[Middleware(AnswerCrashes)],
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        client = KeptAlive(port)
        status, body = client.ask("GET", "/crash")
        assert status == 500 and body["error"]["code"] == "internal_error"
        assert "RuntimeError" in body["error"]["message"]
        assert client.ask("GET", "/fine") == (200, {"fine": True})
    finally:
        server.should_exit = True
        thread.join(timeout=10)
