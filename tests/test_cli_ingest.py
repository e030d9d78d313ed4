"""``synchealth ingest FILE``: against the embedded demo and a real uvicorn service on loopback
(its ledger on each engine)."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from pg_harness import demo_ledger, ledger_rows, service_target

from tui.cli import main
from tui.data.client import ServiceClient
from tui.data.client_errors import ServiceUnavailable
from tui.service.app import SyncHealthService
from tui.service.config import ServiceConfig
from tui.service.db import PostgresTarget
from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state

API_TOKEN = "shapi-cli-Vb7Kq2Lm9Xw4"
ORG_TOKEN = "00Dcli!org-token"
Asgi = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Any]


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No config file, profile or service from the environment of whoever runs the tests."""
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("SYNCHEALTH_CONFIG", str(config))
    for name in ("SYNCHEALTH_PROFILE", "SYNCHEALTH_URL", "SYNCHEALTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def item(n: int, **over: Any) -> dict[str, Any]:
    body = {
        "object_type": "contact",
        "record_id": str(n),
        "record_name": f"Contact {n}",
        "salesforce": {
            "object": "Contact",
            "external_id": {"field": "CRM_Id__c", "value": str(n)},
            "fields": {"LastName": f"Contact {n}", "Email": f"c{n}@@example.com"},
        },
        "errors": [{"statusCode": "INVALID_EMAIL_ADDRESS",
                    "message": f"Email: invalid email address: c{n}@@example.com",
                    "fields": ["Email"]}],
    }  # fmt: skip
    body.update(over)
    return body


def jsonl(path: Path, lines: list[Any]) -> Path:
    text = "\n".join(x if isinstance(x, str) else orjson.dumps(x).decode() for x in lines)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def ingest(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["ingest", *args])
    return code, capsys.readouterr().err


def attempts_by_record(db: Path | PostgresTarget, prefix: str = "") -> dict[str, int]:
    sql = "SELECT record_id, attempts FROM errors WHERE record_name LIKE ?"
    return dict(asyncio.run(ledger_rows(db, sql, (f"{prefix}%",))))


# -- the embedded demo ----------------------------------------------------------------------


def test_a_file_with_bad_lines_into_the_embedded_demo(
    synchealth_env: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = jsonl(tmp_path / "failures.jsonl", [
        item(1), item(2), "", "{not json", {"object_type": "contact", "record_id": "3"}, item(4),
    ])  # fmt: skip
    code, err = ingest(capsys, str(file))
    assert code == 1
    assert "failures.jsonl: 5 items: 3 accepted (3 new errors, 0 repeats of known errors), " \
        "2 rejected" in err  # fmt: skip
    assert "line 4: not valid JSON" in err
    assert "line 5: salesforce is missing" in err and "errors" in err
    ledger = synchealth_env["data"] / "demo-ledger.sqlite3"
    assert attempts_by_record(ledger, "Contact ") == {"1": 1, "2": 1, "4": 1}

    code, err = ingest(capsys, str(file))
    assert code == 1 and "had been ingested before" in err
    assert attempts_by_record(ledger, "Contact ") == {"1": 1, "2": 1, "4": 1}


def test_stdin_and_usage_errors(
    synchealth_env: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = b"\xef\xbb\xbf" + orjson.dumps(item(7)) + b"\r\n\r\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, err = ingest(capsys, "-")
    assert code == 0 and "stdin: 1 item: 1 accepted (1 new error," in err

    code, err = ingest(capsys, str(tmp_path / "missing.jsonl"))
    assert code == 2 and "cannot read" in err and "missing.jsonl" in err
    code, err = ingest(capsys, str(tmp_path))
    assert code == 2 and "cannot read" in err
    with pytest.raises(SystemExit) as usage:
        main(["ingest"])
    assert usage.value.code == 2


# -- a real service on loopback --------------------------------------------------------------


class AnswersLost:
    """Between the network and the service: from the ``fail_from``-th POST on, the
    service does its work but the answer never reaches the client (a dying process)."""

    def __init__(self, app: Asgi) -> None:
        self.app = app
        self.posts = 0
        self.fail_from: int | None = None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            self.posts += 1
            if self.fail_from is not None and self.posts >= self.fail_from:

                async def lose(message: dict) -> None:
                    return None

                await self.app(scope, receive, lose)
                raise ConnectionResetError("the service died before answering")
        await self.app(scope, receive, send)


@contextmanager
def served(
    tmp_path: Path, target: Path | PostgresTarget | None = None
) -> Iterator[tuple[str, AnswersLost, Path | PostgresTarget]]:
    """The service under uvicorn on a demo ledger at ``target`` (else a SQLite file)."""
    db = tmp_path / "served.sqlite3" if target is None else target
    asyncio.run(demo_ledger(db, tmp_path, 50, now=datetime.now(UTC)))
    org = create_simorg(demo_org_state(7), access_token=ORG_TOKEN)
    transport = httpx.ASGITransport(app=org)
    config = ServiceConfig(**service_target(db), org_token=ORG_TOKEN, api_token=API_TOKEN,
                           org_transport=transport, mode="simulated")  # fmt: skip
    app = AnswersLost(SyncHealthService(config).asgi)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", app, db
    finally:
        server.should_exit = True
        thread.join(20)


def test_batches_to_a_real_service_survive_a_crash_without_double_counting(
    tmp_path: Path, ledger_target: Path | PostgresTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {**item(1201), "direction": "both"}
    file = jsonl(tmp_path / "run.jsonl", [*(item(n) for n in range(1, 1201)), bad])
    with served(tmp_path, ledger_target) as (url, app, db):
        auth = ("--url", url, "--token", API_TOKEN)
        app.fail_from = 2  # the second batch is applied, then the service dies
        code, err = ingest(capsys, str(file), *auth)
        assert code == 2
        assert "Lines from 501 on were not sent" in err and "run the same command again" in err
        assert "500 accepted" in err
        assert sorted(attempts_by_record(db, "Contact ").values()) == [1] * 1000

        app.fail_from = None  # the service is back
        code, err = ingest(capsys, str(file), *auth)
        assert code == 1, err
        assert "1,201 items: 1,200 accepted (200 new errors, 0 repeats" in err
        assert "1 rejected" in err and "line 1201: direction must be 'to_salesforce' or" in err
        assert "lines 1-1000 had been ingested before" in err  # two batches, one span
        counted = attempts_by_record(db, "Contact ")
        assert len(counted) == 1200 and set(counted.values()) == {1}
        assert API_TOKEN not in err


def test_a_wrong_token_or_no_service_is_exit_2(
    tmp_path: Path, ledger_target: Path | PostgresTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    file = jsonl(tmp_path / "one.jsonl", [item(1)])
    with served(tmp_path, ledger_target) as (url, _, db):
        code, err = ingest(capsys, str(file), "--url", url, "--token", "wrong-token-123")
        assert code == 2 and "refused our token" in err and "wrong-token-123" not in err
        assert attempts_by_record(db, "Contact ") == {}
    code, err = ingest(capsys, str(file), "--url", url, "--token", API_TOKEN)
    assert code == 2 and "Cannot reach" in err and "Lines from 1 on were not sent" in err


def test_the_client_retries_a_lost_answer_only_with_a_batch_id(
    tmp_path: Path, ledger_target: Path | PostgresTarget
) -> None:
    async def post(url: str, batch_id: str | None) -> None:
        async with ServiceClient(url, API_TOKEN, backoff=0.01) as client:
            with pytest.raises(ServiceUnavailable):
                await client.ingest([item(1)], batch_id=batch_id)

    with served(tmp_path, ledger_target) as (url, app, db):
        app.fail_from = 1
        asyncio.run(post(url, None))
        assert app.posts == 1  # not retried: a retry could count the failure twice
        assert attempts_by_record(db, "Contact ") == {"1": 1}
        asyncio.run(post(url, "b-1"))
        assert app.posts == 1 + 4  # retried 3 times, each one answered from the batch_id
        assert attempts_by_record(db, "Contact ") == {"1": 2}
