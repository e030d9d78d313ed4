"""``[serve] heartbeat`` / ``SYNCHEALTH_HEARTBEAT``: how soon the other replicas take a
dead replica's resync as cut off (tui/service/replicas.py); out of range, a message."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.config import ConfigError
from tui.profiles import select
from tui.serve_plan import serve_plan, service_config


def test_the_heartbeat_comes_from_the_profile_or_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[profiles.crm.serve]\nheartbeat = 2\n", encoding="utf-8")
    plan = serve_plan(select(path, "crm", environ={}), demo=True)
    config = service_config(plan, tmp_path / "l.sqlite3", org_token="t", mode="simulated")
    assert (plan.heartbeat, config.heartbeat) == (2.0, 2.0)
    plain = serve_plan(select(environ={}), demo=True)
    assert service_config(plain, tmp_path / "l.sqlite3", org_token="t").heartbeat == 5.0
    env = {"SYNCHEALTH_HEARTBEAT": "0.5"}
    assert serve_plan(select(environ=env), demo=True).heartbeat == 0.5
    path.write_text("[profiles.crm.serve]\nheartbeat = 0.1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        serve_plan(select(path, "crm", environ={}), demo=True)
    assert "heartbeat" in refused.value.message
