"""The service while its PostgreSQL database is away, and when it is back (issue 14):
what ``GET /v1/health`` says (to a load balancer without a token, to a console whose
named token cannot be checked), the 503 of every other endpoint, and the log.

A real ``synchealth serve`` process on a database of its own, closed to every session
(``ALLOW_CONNECTIONS false``, its backends ended) and opened again.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from pg_db import allow_connections
from pg_outage import served_on_own_database

from tui.core.models import Health
from tui.service.db.postgres import CONNECT_TIMEOUT

#: A request of the outage answers well within the connect timeout: the service knows
#: the database is away and does not wait for it again.
PROMPT = CONNECT_TIMEOUT / 2


def _timed(client: httpx.Client, path: str, **kw: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = client.get(path, **kw)  # type: ignore[arg-type]
    return answer, time.monotonic() - started


def _until_health_says(client: httpx.Client, database: str, seconds: float = 15) -> Health:
    deadline = time.monotonic() + seconds
    while True:
        answer = client.get("/v1/health")
        assert answer.status_code == 200, answer.text
        health = Health.model_validate(answer.json())
        if health.database == database:
            return health
        assert time.monotonic() < deadline, f"health still says {health}"
        time.sleep(0.2)


async def test_health_says_the_process_is_up_and_the_database_is_not(tmp_path: Path) -> None:
    async with served_on_own_database(tmp_path, 50, tokens=("alice",)) as (served, made):
        alice = {"Authorization": f"Bearer {made['alice']}"}
        with httpx.Client(base_url=served.base, timeout=30) as client:
            full = Health.model_validate(client.get("/v1/health", headers=alice).json())
            assert full.status == "ok" and full.database == "ok" and full.org_name
            anyone = Health.model_validate(client.get("/v1/health").json())
            assert anyone.database == "ok" and anyone.org_name == "" and anyone.replica == ""
            assert client.get("/v1/usage").status_code == 401  # the rest still needs a token

            allow_connections(served.database_url, False)
            _until_health_says(client, "unavailable")
            for _ in range(10):  # with a token, without one, a wrong one: the same answer
                for headers in (alice, {}, {"Authorization": "Bearer wrong"}):
                    answer, took = _timed(client, "/v1/health", headers=headers)
                    assert answer.status_code == 200 and took < PROMPT, (answer.text, took)
                    health = Health.model_validate(answer.json())
                    assert health.status == "degraded" and health.database == "unavailable"
                    database_name = served.database_url.rsplit("/", 1)[1]
                    assert health.problem and database_name in health.problem
                for path in ("/v1/usage", "/v1/errors", "/v1/causes"):
                    answer, took = _timed(client, path, headers=alice)
                    assert answer.status_code == 503 and took < PROMPT, (path, took)
                    assert answer.json()["error"]["code"] == "database_unavailable"
                    assert answer.headers["content-type"] == "application/json"

            allow_connections(served.database_url, True)
            _until_health_says(client, "ok")
            assert client.get("/v1/usage", headers=alice).status_code == 200
            back = Health.model_validate(client.get("/v1/health", headers=alice).json())
            assert back.org_name == full.org_name and back.status == "ok"
    log = served.log
    # the outage once, its end once; not a line per reconnection attempt or request
    assert log.count("requests that need it answer 503 until it is back") == 1, log
    assert log.count("the ledger's database is back after") == 1, log
    for noise in ("error connecting", "GET /v1/", "heartbeat failed", "Traceback"):
        assert noise not in log, log


async def test_each_outage_is_one_line_and_its_end_another(tmp_path: Path) -> None:
    outages = 3
    async with served_on_own_database(tmp_path, 20) as (served, _):
        with httpx.Client(base_url=served.base, timeout=30) as client:
            for _ in range(outages):
                allow_connections(served.database_url, False)
                _until_health_says(client, "unavailable")
                time.sleep(2)  # the pool and the loops try the database meanwhile
                allow_connections(served.database_url, True)
                _until_health_says(client, "ok")
                assert client.get("/v1/usage").status_code == 200
    starts = served.log.count("requests that need it answer 503 until it is back")
    assert starts == outages and served.log.count("is back after") == outages, served.log
    assert "error connecting" not in served.log and "Traceback" not in served.log


async def test_a_stop_while_the_database_is_away_ends_and_says_what_it_left(
    tmp_path: Path,
) -> None:
    async with served_on_own_database(tmp_path, 20) as (served, _):
        with httpx.Client(base_url=served.base, timeout=30) as client:
            allow_connections(served.database_url, False)
            _until_health_says(client, "unavailable")
        served.proc.terminate()
        served.proc.wait(timeout=30)  # it ends (uvicorn re-raises the SIGTERM it handled)
    assert "stopping without the ledger's database" in served.log, served.log
    assert "Traceback" not in served.log and "shutdown failed" not in served.log, served.log
