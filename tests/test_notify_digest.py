"""Daily and weekly digests: on time in the admin's time zone, what is new since the
last one, one catch-up after downtime, no repeat after a restart, both languages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from clock import Clock
from notify_env import Mailbox, NotifyEnv, SmtpRunning, at, body_of, smtp_server

from tui.service.db import PostgresTarget

TEAM = ["ops@acme.example"]


@pytest.fixture
def smtp() -> SmtpRunning:
    with smtp_server(Mailbox()) as running:
        yield running


@pytest.fixture
async def env(ledger_target: Path | PostgresTarget, smtp: SmtpRunning) -> AsyncIterator[NotifyEnv]:
    clock = Clock(at("2025-03-10T08:00:00"))  # 17:00 in Tokyo
    env = await NotifyEnv(ledger_target, clock, smtp=smtp.server()).start()
    yield env
    await env.stop()


async def tokyo_daily(env: NotifyEnv, **more: object) -> None:
    settings = {
        "enabled": True,
        "frequency": "daily",
        "digest_time": "09:00",
        "timezone": "Asia/Tokyo",
        "email": {"enabled": True, "recipients": TEAM},
    }
    await env.settings(**{**settings, **more})
    await env.tick()


def subjects(smtp: SmtpRunning) -> list[str]:
    return [m.message["Subject"] for m in smtp.mailbox.messages]


async def test_daily_digest_at_nine_tokyo_time_with_what_is_new(
    env: NotifyEnv, smtp: SmtpRunning
) -> None:
    await tokyo_daily(env)
    await env.report(3)
    await env.report(2, kind="picklist")
    await env.report(1, kind="required")
    await env.use_calls(1200)
    env.clock.now = at("2025-03-10T23:59:59")  # 08:59:59 in Tokyo
    await env.tick()
    assert smtp.mailbox.messages == []
    assert (await env.status())["next_digest_at"] == "2025-03-11T00:00:00Z"
    env.clock.now = at("2025-03-11T00:00:00")
    await env.tick()
    assert subjects(smtp) == ["[synchealth] Daily digest: 6 new sync errors — Acme org"]
    body = body_of(smtp.mailbox.messages[0])
    assert body.startswith(
        "6 new sync errors\n6 records affected\nSince 2025-03-10 17:00 (Asia/Tokyo)\n"
    )
    assert "By type\n     3  Duplicate\n     2  Picklist\n     1  Property value\n" in body
    assert "Most frequent messages\n     3  Use one of these records?\n" in body
    assert "API usage, last 24 hours\n  1,200 of 5,000 calls (24%)\n" in body
    assert body.rstrip().endswith("Open errors now: 6")
    assert max(len(line) for line in body.splitlines()) <= 40
    assert (await env.status())["next_digest_at"] == "2025-03-12T00:00:00Z"

    env.clock.advance(hours=3)
    await env.tick()
    await env.report(1, kind="picklist")
    env.clock.now = at("2025-03-12T00:00:05")
    await env.tick()
    assert subjects(smtp)[1] == "[synchealth] Daily digest: 1 new sync error — Acme org"
    assert "Since 2025-03-11 09:00 (Asia/Tokyo)" in body_of(smtp.mailbox.messages[1])
    env.clock.now = at("2025-03-13T00:00:00")
    await env.tick()
    assert subjects(smtp)[2] == "[synchealth] Daily digest: no new sync errors — Acme org"
    assert len(smtp.mailbox.messages) == 3


async def test_weekly_digest_on_the_weekday_across_daylight_saving(
    env: NotifyEnv, smtp: SmtpRunning
) -> None:
    env.clock.now = at("2025-03-05T12:00:00")  # a Wednesday; New York is on EST (UTC-5)
    await env.settings(
        enabled=True,
        frequency="weekly",
        digest_weekday="mon",
        digest_time="09:00",
        timezone="America/New_York",
        email={"enabled": True, "recipients": TEAM},
    )
    await env.tick()
    await env.report(2)
    # Sunday 9 March the clocks went forward: Monday 09:00 is 13:00 UTC, not 14:00
    assert (await env.status())["next_digest_at"] == "2025-03-10T13:00:00Z"
    for moment in ("2025-03-08T14:00:00", "2025-03-09T14:00:00", "2025-03-10T12:59:59"):
        env.clock.now = at(moment)
        await env.tick()
    assert smtp.mailbox.messages == []
    env.clock.now = at("2025-03-10T13:00:00")
    await env.tick()
    assert subjects(smtp) == ["[synchealth] Weekly digest: 2 new sync errors — Acme org"]
    env.clock.now = at("2025-03-16T13:00:00")  # Sunday: nothing
    await env.tick()
    assert len(smtp.mailbox.messages) == 1
    assert (await env.status())["next_digest_at"] == "2025-03-17T13:00:00Z"


async def test_downtime_gives_one_catch_up_digest_not_one_per_missed_day(
    env: NotifyEnv, smtp: SmtpRunning
) -> None:
    await tokyo_daily(env)
    await env.report(4)
    await env.stop()
    env.clock.now = at("2025-03-14T03:00:00")  # down for four digest times
    await env.start()
    await env.tick()
    assert subjects(smtp) == ["[synchealth] Daily digest: 4 new sync errors — Acme org"]
    for _ in range(6):
        env.clock.advance(hours=3)
        await env.tick()
    assert len(smtp.mailbox.messages) == 1  # the next one is at 09:00 Tokyo tomorrow
    env.clock.now = at("2025-03-15T00:00:00")
    await env.tick()
    assert len(smtp.mailbox.messages) == 2


async def test_a_restart_right_after_a_digest_does_not_repeat_it(
    env: NotifyEnv, smtp: SmtpRunning
) -> None:
    await tokyo_daily(env)
    await env.report(2)
    env.clock.now = at("2025-03-11T00:00:00")
    await env.tick()
    await env.restart()
    env.clock.advance(seconds=30)
    await env.tick()
    await env.restart()
    env.clock.advance(hours=23)
    await env.tick()
    assert len(smtp.mailbox.messages) == 1


async def test_changing_the_schedule_never_sends_at_once(env: NotifyEnv, smtp: SmtpRunning) -> None:
    await tokyo_daily(env)
    await env.report(2)
    env.clock.now = at("2025-03-11T03:00:00")  # 12:00 Tokyo: move the digest to 11:00
    await env.tick()
    assert len(smtp.mailbox.messages) == 1  # 09:00's
    await env.report(1)
    await tokyo_daily(env, digest_time="11:00")
    assert len(smtp.mailbox.messages) == 1
    assert (await env.status())["next_digest_at"] == "2025-03-12T02:00:00Z"
    env.clock.now = at("2025-03-12T02:00:00")
    await env.tick()
    assert subjects(smtp)[1] == "[synchealth] Daily digest: 1 new sync error — Acme org"


async def test_japanese_digest_is_proper_utf8_mime(env: NotifyEnv, smtp: SmtpRunning) -> None:
    await tokyo_daily(env, lang="ja")
    await env.report(12)
    await env.use_calls(3000)
    env.clock.now = at("2025-03-11T00:00:00")
    await env.tick()
    [mail] = smtp.mailbox.messages
    assert mail.message["Subject"] == (
        "[synchealth] 日次ダイジェスト: 新しい同期エラー 12 件 — Acme org"
    )
    head = mail.raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()  # the subject travels RFC 2047-encoded
    assert b"Subject: [synchealth] =?utf-8?b?" in head
    assert mail.message.get_content_type() == "text/plain"
    assert mail.message.get_content_charset() == "utf-8"
    assert mail.message["Content-Transfer-Encoding"] == "base64"
    assert mail.message["Auto-Submitted"] == "auto-generated"
    assert mail.message["Message-ID"].startswith("<synchealth.20250311000000.")
    body = body_of(mail)
    assert body.startswith("新しい同期エラー 12 件\n影響を受けたレコード 12 件\n")
    assert "2025-03-10 17:00 以降（Asia/Tokyo）" in body
    assert "種類別\n    12  重複\n" in body
    assert "API使用量（過去24時間）\n  5,000 回中 3,000 回（60%）" in body
    assert "未解決のエラー: 12 件" in body
