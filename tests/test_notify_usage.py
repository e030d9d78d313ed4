"""API-usage alerts: one per upward crossing, one on the way back down, no flapping
around a threshold, whatever the digest frequency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from clock import Clock
from notify_env import Mailbox, NotifyEnv, SmtpRunning, at, body_of, smtp_server

from tui.service.db import PostgresTarget
from tui.service.notify.usage_alerts import Crossing, crossing

TEAM = ["ops@acme.example"]


@pytest.fixture
def smtp() -> SmtpRunning:
    with smtp_server(Mailbox()) as running:
        yield running


@pytest.fixture
async def env(ledger_target: Path | PostgresTarget, smtp: SmtpRunning) -> AsyncIterator[NotifyEnv]:
    clock = Clock(at("2025-03-10T08:10:00"))
    env = await NotifyEnv(ledger_target, clock, smtp=smtp.server()).start()
    await env.settings(
        enabled=True, frequency="immediate", email={"enabled": True, "recipients": TEAM}
    )
    yield env
    await env.stop()


async def allocate(env: NotifyEnv, calls: int) -> None:
    await env.service.usage.set_allocated(calls)
    await env.tick()


def subjects(smtp: SmtpRunning) -> list[str]:
    return [m.message["Subject"] for m in smtp.mailbox.messages]


async def test_crossings_up_and_down_with_hysteresis(env: NotifyEnv, smtp: SmtpRunning) -> None:
    await env.use_calls(3000)  # 60% of the default 5,000
    await env.tick()
    assert smtp.mailbox.messages == []
    env.clock.advance(hours=1)
    await env.use_calls(800)  # 76%
    await env.tick()
    await env.tick()
    assert subjects(smtp) == ["[synchealth] API usage at 76% of the allocation — Acme org"]
    body = body_of(smtp.mailbox.messages[0])
    assert body.startswith("76% of the API allocation used\n")
    assert "3,800 of 5,000 calls (76%)" in body and "Over the 75% threshold." in body
    env.clock.advance(hours=1)
    await env.use_calls(800)  # 92%
    await env.tick()
    assert subjects(smtp)[1] == "[synchealth] API usage at 92% of the allocation — Acme org"
    assert "Over the 90% threshold." in body_of(smtp.mailbox.messages[1])

    await allocate(env, 5600)  # 82%: under 90 by more than the 5-point margin
    assert subjects(smtp)[2] == "[synchealth] API usage back under 90% — Acme org"
    await allocate(env, 6000)  # 76.7%: still over 75
    await allocate(env, 6400)  # 71.9%: under 75, but within the margin: no flapping
    await allocate(env, 6100)  # 75.4%: the 75% alert is still standing
    assert len(smtp.mailbox.messages) == 3
    await allocate(env, 7000)  # 65.7%
    assert subjects(smtp)[3] == "[synchealth] API usage back under 75% — Acme org"
    await allocate(env, 6100)  # 75.4%: a new upward crossing
    assert subjects(smtp)[4] == "[synchealth] API usage at 75% of the allocation — Acme org"
    await env.restart()
    await env.tick()
    assert len(smtp.mailbox.messages) == 5  # the state survived the restart
    data = (await env.status())["deliveries"]
    assert [d["kind"] for d in data] == [
        "usage_alert",
        "usage_recovered",
        "usage_recovered",
        "usage_alert",
        "usage_alert",
    ]


async def test_old_calls_leave_the_window_and_usage_recovers(
    env: NotifyEnv, smtp: SmtpRunning
) -> None:
    await env.use_calls(4600)
    await env.tick()
    assert subjects(smtp) == ["[synchealth] API usage at 92% of the allocation — Acme org"]
    env.clock.advance(hours=24)
    await env.tick()
    assert subjects(smtp)[-1] == "[synchealth] API usage back under 75% — Acme org"
    assert "0 of 5,000 calls (0%)" in body_of(smtp.mailbox.messages[-1])


async def test_alerts_come_whatever_the_frequency_and_in_the_settings_language(
    env: NotifyEnv, smtp: SmtpRunning
) -> None:
    await env.settings(
        enabled=True,
        frequency="weekly",
        lang="ja",
        usage_thresholds=[50],
        email={"enabled": True, "recipients": TEAM},
    )
    await env.use_calls(2600)
    await env.tick()
    [mail] = smtp.mailbox.messages
    assert mail.message["Subject"] == "[synchealth] API使用量が割り当ての 52% に到達 — Acme org"
    assert "しきい値 50% を超えました。" in body_of(mail)


async def test_no_alerts_when_they_or_notifications_are_off(
    env: NotifyEnv, smtp: SmtpRunning
) -> None:
    await env.settings(enabled=False, email={"enabled": True, "recipients": TEAM})
    await env.use_calls(4000)
    await env.tick()
    await env.settings(
        enabled=True, usage_alerts=False, email={"enabled": True, "recipients": TEAM}
    )
    await env.tick()
    assert smtp.mailbox.messages == []
    await env.settings(enabled=True, email={"enabled": True, "recipients": TEAM})
    await env.tick()  # on again while over 75%: say so once
    await env.tick()
    assert subjects(smtp) == ["[synchealth] API usage at 80% of the allocation — Acme org"]


@pytest.mark.parametrize(
    ("percent", "level", "expected"),
    [
        (None, 0, None),  # no allocation: nothing to compare
        (74.9, 0, None),
        (75.0, 0, Crossing("up", 75, 75)),
        (95.0, 0, Crossing("up", 90, 90)),  # two at once: one alert, the highest
        (91.0, 90, None),
        (86.0, 90, None),  # within 5 points of 90
        (84.9, 90, Crossing("down", 90, 75)),
        (40.0, 90, Crossing("down", 75, 0)),  # fell under both: names the lower
        (70.5, 75, None),
        (69.0, 75, Crossing("down", 75, 0)),
        (50.0, 80, Crossing("down", 75, 0)),  # a level from thresholds changed since
        (100.0, 100, None),
    ],
)
def test_crossing(percent: float | None, level: int, expected: Crossing | None) -> None:
    thresholds = [75, 90] if level != 100 else [75, 90, 100]
    assert crossing(percent, level, thresholds) == expected
