"""``synchealth export --audit``: the real CLI against a real ``serve`` on a loopback
port, on a ledger of each engine (a SQLite file, then a schema of the real PostgreSQL),
its CSV read back with the csv module."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from test_tokens import added, serving

from tui.data.audit_csv import AUDIT_COLUMNS


def cli(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCHEALTH_")}
    env |= {"SYNCHEALTH_DATA_DIR": str(tmp / "data"), "SYNCHEALTH_CACHE_DIR": str(tmp / "cache"),
            "XDG_CONFIG_HOME": str(tmp / "config")}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_the_audit_trail_exports_as_csv_escaped_and_without_secrets(
    tmp_path: Path, engine: str
) -> None:
    with serving(engine, tmp_path) as (url, db, _):
        evil = {"X-Synchealth-Actor": '=HYPERLINK("http://x")'}
        put = httpx.put(f"{url}/v1/usage/allocation", json={"allocated": 2500}, headers=evil)
        assert put.status_code == 200, put.text
        ignore = httpx.post(
            f"{url}/v1/ignores",
            json={"request_id": "i-1", "error_ids": [1, 2], "reason": "@SUM(A1) known, ok"},
        )
        assert ignore.status_code == 200, ignore.text
        token = added(db, "exporter")
        time.sleep(1.2)  # the service looks for a new token once a second
        out = tmp_path / "audit.csv"
        done = cli(tmp_path, "export", "--audit", "--url", url, "--token", token, "-o", str(out))
        assert done.returncode == 0, done.stderr
        assert "3 audit entries written" in done.stderr
        refused = cli(tmp_path, "export", "--audit", "--url", url, "-o", str(tmp_path / "no.csv"))
        assert refused.returncode == 1 and "audit trail" in refused.stderr
        assert not (tmp_path / "no.csv").exists()
    text = out.read_text("utf-8")
    assert token not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == AUDIT_COLUMNS
    assert [r["kind"] for r in rows] == ["allocation", "ignore", "token"]
    allocation, ignored, token_row = rows
    assert allocation["actor"] == '\'=HYPERLINK("http://x")'  # not a formula any more
    assert allocation["changes"] == "allocated: 5000 -> 2500"
    assert ignored["reason"] == "'@SUM(A1) known, ok" and ignored["errors"] == "2"
    assert (token_row["action"], token_row["ref"]) == ("added", "exporter")
    assert token_row["actor"].startswith("cli:")


def test_export_audit_says_so_when_the_service_cannot_be_reached(tmp_path: Path) -> None:
    out = tmp_path / "audit.csv"
    done = cli(tmp_path, "export", "--audit", "--url", "http://127.0.0.1:9", "-o", str(out))
    assert done.returncode == 1
    assert "cannot read the audit trail from the service" in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


def test_export_audit_refuses_the_error_exports_filters(tmp_path: Path) -> None:
    done = cli(tmp_path, "export", "--audit", "--type", "picklist")
    assert done.returncode == 2 and "--audit writes the whole audit trail" in done.stderr
