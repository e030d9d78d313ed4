"""Engine-mode resync end to end (issue 10, points 2 and 5): a real service (its ledger on
each engine) and the simulated org on loopback, a simulated CRM, and the engine loop of
docs/integrating.md.

A failure is reported; the test fixes the CRM record; a resync becomes a request the
engine takes; the engine re-reads the record and syncs the current values; the error
resolves."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from pg_harness import service_target
from sfstandin import serve_in_thread
from simcrm import CollectionsWriter, SimCrm, engine_code

from tui.core.sobjects import KEY_PREFIX
from tui.service.app import SyncHealthService
from tui.service.config import ServiceConfig
from tui.service.db import PostgresTarget
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state
from tui.simorg.ids import make_id

ORG_TOKEN = "00Dengine!org-token"
API_TOKEN = "shapi-engine-Qm4Zt8Kp2Wd6"


@contextmanager
def service_on_loopback(config: ServiceConfig) -> Iterator[str]:
    """``synchealth serve``'s app under uvicorn (lifespan on) in a thread; yields its URL."""
    server = uvicorn.Server(
        uvicorn.Config(SyncHealthService(config).asgi, host="127.0.0.1", port=0,
                       log_level="critical", lifespan="on")
    )  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(20)


@pytest.fixture
def world(
    ledger_target: Path | PostgresTarget,
) -> Iterator[tuple[httpx.Client, SimCrm, CollectionsWriter, object]]:
    org = demo_org_state(7)
    with serve_in_thread(create_simorg(org, access_token=ORG_TOKEN)) as org_url:
        config = ServiceConfig(**service_target(ledger_target), org_url=org_url,
                               org_token=ORG_TOKEN, api_token=API_TOKEN,
                               resync_mode="engine", notify_interval=None)  # fmt: skip
        with service_on_loopback(config) as url:
            headers = {"Authorization": f"Bearer {API_TOKEN}"}
            with httpx.Client(base_url=url, headers=headers, timeout=20) as service:
                yield service, SimCrm(), CollectionsWriter(org_url, ORG_TOKEN), org


def test_a_crm_fix_reaches_salesforce_through_the_engine_and_the_error_resolves(world) -> None:
    service, crm, write, org = world
    code = engine_code()
    assert service.get("/v1/health").json()["resync_mode"] == "engine"
    sf_id = make_id(KEY_PREFIX["Contact"], org.usable_counter(KEY_PREFIX["Contact"], 3))
    crm.records[("contact", "51234")] = {"LastName": "Doe", "Email": "jane@@example.com"}
    contact = {"object_type": "contact", "record_id": "51234", "direction": "to_salesforce",
               "salesforce": {"object": "Contact", "id": sf_id}}  # fmt: skip

    # the engine's first attempt fails in Salesforce and is reported
    fields = crm.read("contact", "51234")
    errors = write(contact["salesforce"], fields)
    assert errors and errors[0]["statusCode"] == "INVALID_EMAIL_ADDRESS"
    reported = service.post("/v1/errors", json={"errors": [
        code["outcome_item"](contact, fields, errors)]}).json()  # fmt: skip
    (error_id,) = reported["error_ids"]

    # the admin fixes the address in the CRM, then resyncs: the service asks the engine
    crm.records[("contact", "51234")]["Email"] = "jane.doe@example.com"
    resync = service.post("/v1/resync", json={"error_ids": [error_id], "request_id": "r-1"})
    (outcome,) = resync.json()["outcomes"]
    assert outcome["status"] == "requested" and resync.json()["salesforce_calls"] == 0
    waiting = service.get(f"/v1/errors/{error_id}").json()
    assert waiting["status"] == "open"
    assert waiting["engine_request"]["state"] == "waiting"
    assert waiting["engine_request"]["request_id"] == outcome["engine_request_id"]

    # the engine takes the request, re-reads the record and syncs what the CRM has now
    assert code["engine_loop"](service, crm.read, write, once=True) == 1
    assert org.written[sf_id[:15]]["Email"] == "jane.doe@example.com"
    done = service.get(f"/v1/errors/{error_id}").json()
    assert done["status"] == "resolved"
    assert done["engine_request"]["state"] == "answered"
    assert done["engine_request"]["outcome"] == "synced"
    assert [h["outcome"] for h in done["history"]] == ["failed", "requested", "resolved"]
    assert done["history"][2]["request_id"] == outcome["engine_request_id"]
    assert code["engine_loop"](service, crm.read, write, once=True) == 0  # nothing left


def test_a_crm_that_cannot_be_read_gives_the_request_back(world) -> None:
    service, crm, write, org = world
    code = engine_code()
    sf_id = make_id(KEY_PREFIX["Contact"], org.usable_counter(KEY_PREFIX["Contact"], 4))
    crm.records[("contact", "7")] = {"LastName": "Sato", "Email": "sato@example.jp"}
    contact = {"object_type": "contact", "record_id": "7", "direction": "to_salesforce",
               "salesforce": {"object": "Contact", "id": sf_id}}  # fmt: skip
    bad = {"LastName": "Sato", "Email": "sato@@example.jp"}
    item = code["outcome_item"](contact, bad, write(contact["salesforce"], bad))
    (error_id,) = service.post("/v1/errors", json={"errors": [item]}).json()["error_ids"]
    service.post("/v1/resync", json={"error_ids": [error_id], "request_id": "r-2"})
    crm.down = True
    assert code["engine_loop"](service, crm.read, write, once=True) == 0
    crm.down = False  # released, so offered again at once rather than after the lease
    assert code["engine_loop"](service, crm.read, write, once=True) == 1
    assert service.get(f"/v1/errors/{error_id}").json()["status"] == "resolved"
