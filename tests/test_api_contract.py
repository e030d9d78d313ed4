"""Issue 13 point 3: the OpenAPI document is the API as it runs.

The document is generated from the route table; these tests hold it to the routes
Starlette serves, to the OpenAPI 3.1 schema, and (schemathesis, against a real
``synchealth serve --demo`` on a loopback port) to the answers the service gives.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate
from pg_harness import ENGINES, demo_ledger, demo_serve_args, sqlite_only
from starlette.routing import Route

from tests.test_serve_loopback import free_port, wait_for
from tests.test_service_api import T0, Clock, client_for, make_service
from tui.service.app import SyncHealthService
from tui.service.db import PostgresTarget
from tui.simorg.demo import demo_org_state

HUGE = 2**63  # one past the largest SQLite integer
INVALID = "invalid_resync"
CONFIG = Path(__file__).with_name("schemathesis.toml")


async def _started(
    tmp_path: Path, token: str | None, target: Path | PostgresTarget | None = None
) -> SyncHealthService:
    """The service on a demo ledger of 30 errors at ``target`` (else a SQLite file)."""
    db = tmp_path / f"ledger-{token}.sqlite3" if target is None else target
    await demo_ledger(db, tmp_path, 30, now=T0)
    service = make_service(db, demo_org_state(7), Clock(T0), api_token=token)
    await service.start()
    return service


@pytest.fixture
async def service(
    tmp_path: Path, ledger_target: Path | PostgresTarget
) -> AsyncIterator[SyncHealthService]:
    """The service on each engine in turn (tests of the document alone: SQLite only)."""
    service = await _started(tmp_path, None, ledger_target)
    yield service
    await service.stop()


def _served(service: SyncHealthService) -> dict[str, set[str]]:
    """Path -> methods, as Starlette routes them (HEAD comes with GET on its own)."""
    routes = [r for r in service.asgi.routes if isinstance(r, Route)]
    return {r.path: set(r.methods or ()) - {"HEAD"} for r in routes}


@sqlite_only  # the document and the routing: nothing is read from the ledger
async def test_the_document_has_every_route_and_method_and_no_other(
    service: SyncHealthService,
) -> None:
    async with client_for(service) as client:
        doc = (await client.get("/v1/openapi.json")).json()
    documented = {path: {m.upper() for m in ops} for path, ops in doc["paths"].items()}
    assert documented == _served(service)
    assert len(documented) >= 20  # the table is not empty


@pytest.mark.parametrize("token", [None, "s3cret"])
async def test_the_document_is_valid_openapi_3_1_and_says_how_it_is_secured(
    tmp_path: Path, token: str | None
) -> None:
    service = await _started(tmp_path, token)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with client_for(service, headers=headers) as client:
            doc = (await client.get("/v1/openapi.json")).json()
    finally:
        await service.stop()
    validate(doc)  # raises on anything OpenAPI 3.1 does not allow
    statuses = {s for ops in doc["paths"].values() for op in ops.values() for s in op["responses"]}
    if token:
        assert doc["security"] == [{"bearer": []}]
        assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        assert "401" in statuses
    else:
        assert doc["security"] == [] and "securitySchemes" not in doc["components"]
        assert "accepts every request" in doc["info"]["description"]
        assert "401" not in statuses


@sqlite_only  # the document and the routing: nothing is read from the ledger
async def test_error_answers_name_the_real_body_and_their_codes(
    service: SyncHealthService,
) -> None:
    async with client_for(service) as client:
        doc = (await client.get("/v1/openapi.json")).json()
    answer = doc["components"]["schemas"]["ErrorAnswer"]
    assert answer["required"] == ["error"]
    assert doc["components"]["schemas"]["ApiError"]["required"] == ["code", "message"]
    resync = doc["paths"]["/v1/resync"]["post"]
    bad = resync["responses"]["422"]["content"]["application/json"]["schema"]
    assert bad["allOf"] == [{"$ref": "#/components/schemas/ErrorAnswer"}]
    codes = bad["properties"]["error"]["properties"]["code"]["enum"]
    assert {"invalid_resync", "too_many_errors", "missing_body", "invalid_json"} <= set(codes)
    body = doc["components"]["schemas"]["ResyncRequest"]
    assert body["additionalProperties"] is False
    assert body["properties"]["error_ids"]["maxItems"] == 100
    assert body["properties"]["error_ids"]["items"]["maximum"] == HUGE - 1
    feed = {p["name"]: p["schema"] for p in doc["paths"]["/v1/errors"]["get"]["parameters"]}
    assert feed["limit"] == {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", f"/v1/errors/{HUGE}", None, 404, "not_found"),
        ("GET", f"/v1/errors/{HUGE * 10**20}", None, 404, "not_found"),
        ("GET", "/v1/errors/-1", None, 404, "not_found"),
        ("POST", "/v1/resync", {"error_ids": [HUGE], "request_id": "r"}, 422, "invalid_resync"),
        ("POST", "/v1/resync/jobs", {"error_ids": [HUGE], "request_id": "j"}, 422, INVALID),
        ("POST", "/v1/resync", {"error_ids": [1.0e30], "request_id": "r"}, 422, "invalid_resync"),
        ("POST", "/v1/resync", {"error_ids": [1], "request_id": "r", "x": 1}, 422, INVALID),
        ("PUT", "/v1/usage/allocation", {"allocated": 10, "extra": 1}, 422, "invalid_allocation"),
        ("POST", "/v1/doctor", {"send_test": True, "x": 1}, 422, "invalid_doctor"),
        ("GET", f"/v1/history?cursor={HUGE}", None, 422, "invalid_parameter"),
    ],
)
async def test_out_of_range_ids_and_unknown_keys_get_a_clear_4xx(
    service: SyncHealthService, method: str, path: str, body: object, status: int, code: str
) -> None:
    async with client_for(service) as client:
        answer = await client.request(method, path, json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code and len(answer.json()["error"]["message"]) > 20


async def test_a_whole_number_written_with_a_point_is_a_whole_number(
    service: SyncHealthService,
) -> None:
    """JSON Schema's integer takes 4000.0; so does the service, and 12.5 stays refused."""
    async with client_for(service) as client:
        good = await client.put("/v1/usage/allocation", json={"allocated": 4000.0})
        bad = await client.put("/v1/usage/allocation", json={"allocated": 12.5})
    assert good.status_code == 200 and good.json()["allocated"] == 4000
    assert bad.status_code == 422 and "whole number" in bad.json()["error"]["message"]


@sqlite_only  # the document and the routing: nothing is read from the ledger
async def test_a_405_allows_every_method_of_the_path(service: SyncHealthService) -> None:
    async with client_for(service) as client:
        for path, methods in _served(service).items():
            concrete = path.replace("{error_id}", "1").replace("{job_id}", "j")
            concrete = concrete.replace("{request_id}", "r").replace("{cause}", "c")
            concrete = concrete.replace("{ignore_id}", "1")
            answer = await client.request("PATCH", concrete)  # a method no route takes
            assert answer.status_code == 405, path
            allowed = {m.strip() for m in answer.headers["allow"].split(",")} - {"HEAD"}
            assert allowed == methods, path
            assert answer.json()["error"]["code"] == "method_not_allowed"


@pytest.fixture(scope="module", params=ENGINES)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real ``synchealth serve`` on a demo ledger of either engine (SQLite: ``--demo``);
    its log goes to a file (a pipe could fill)."""
    folder = tmp_path_factory.mktemp("contract")
    with ExitStack() as stack:
        args, env = demo_serve_args(stack, request.param, folder)
        yield stack.enter_context(_serving(folder, args, env))


@contextmanager
def _serving(folder: Path, args: list[str], env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    log = (folder / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "serve", *args, "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "SYNCHEALTH_API_TOKEN": "", **env},
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/v1/health", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.communicate(timeout=15)
        log.close()
        assert "Traceback" not in (folder / "serve.log").read_text(), "the service crashed"


def test_schemathesis_finds_nothing(served: str, tmp_path: Path) -> None:
    """Every check: no 500, answers match the document, schema-valid requests are
    taken and schema-violating ones refused. Bounded: 10 examples an operation."""
    run = subprocess.run(
        [str(Path(sys.executable).with_name("st")), "--config-file", str(CONFIG), "run",
         f"{served}/v1/openapi.json", "--checks", "all", "--max-examples", "10",
         "--phases", "examples,coverage,fuzzing", "--seed", "13", "--no-color"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,  # its cache stays there
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    tested = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert tested and tested[1] == tested[2] and int(tested[1]) > 500, run.stdout[-3000:]
    assert httpx.get(f"{served}/v1/health").status_code == 200  # still up after it all
