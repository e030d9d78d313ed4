"""Digest slots: pure functions of the settings, in the settings' time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tui.core.notify_models import NotificationSettings
from tui.service.notify.schedule import latest_slot, next_slot, schedule_key


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def settings(**values: object) -> NotificationSettings:
    return NotificationSettings.model_validate({"enabled": True, **values})


@pytest.mark.parametrize(
    ("values", "now", "latest", "following"),
    [
        # daily 09:00 UTC
        ({}, "2025-03-10T08:59:59", "2025-03-09T09:00:00", "2025-03-10T09:00:00"),
        ({}, "2025-03-10T09:00:00", "2025-03-10T09:00:00", "2025-03-11T09:00:00"),
        # daily 09:00 in Tokyo (UTC+9): midnight UTC
        (
            {"timezone": "Asia/Tokyo"},
            "2025-03-10T23:30:00",
            "2025-03-10T00:00:00",
            "2025-03-11T00:00:00",
        ),
        # daily 23:45 in Kolkata (UTC+5:30) falls on the previous UTC day
        (
            {"timezone": "Asia/Kolkata", "digest_time": "23:45"},
            "2025-03-10T12:00:00",
            "2025-03-09T18:15:00",
            "2025-03-10T18:15:00",
        ),
        # weekly, Monday 09:00 in New York: EST before 9 March 2025, EDT after
        (
            {"frequency": "weekly", "timezone": "America/New_York"},
            "2025-03-12T12:00:00",
            "2025-03-10T13:00:00",
            "2025-03-17T13:00:00",
        ),
        (
            {"frequency": "weekly", "timezone": "America/New_York"},
            "2025-03-10T12:59:00",
            "2025-03-03T14:00:00",
            "2025-03-10T13:00:00",
        ),
        # weekly Sunday 18:00 UTC, asked on the Sunday after the slot
        (
            {"frequency": "weekly", "digest_weekday": "sun", "digest_time": "18:00"},
            "2025-03-16T18:00:01",
            "2025-03-16T18:00:00",
            "2025-03-23T18:00:00",
        ),
    ],
)
def test_slots(values: dict, now: str, latest: str, following: str) -> None:
    s = settings(**values)
    assert latest_slot(utc(now), s) == utc(latest)
    assert next_slot(utc(now), s) == utc(following)
    assert next_slot(utc(latest), s) == utc(following)


def test_a_time_the_clocks_skip_happens_an_hour_later_in_local_terms() -> None:
    s = settings(timezone="America/New_York", digest_time="02:30")
    # 9 March 2025 02:30 does not exist in New York: it is 07:30 UTC (03:30 EDT)
    assert next_slot(utc("2025-03-09T00:00:00"), s) == utc("2025-03-09T07:30:00")
    assert next_slot(utc("2025-03-09T07:30:00"), s) == utc("2025-03-10T06:30:00")


def test_a_time_the_clocks_repeat_happens_once() -> None:
    s = settings(timezone="America/New_York", digest_time="01:30")
    # 2 November 2025 01:30 happens twice; the digest goes at the first (EDT, UTC-4)
    first = next_slot(utc("2025-11-02T00:00:00"), s)
    assert first == utc("2025-11-02T05:30:00")
    assert next_slot(first, s) == utc("2025-11-03T06:30:00")


def test_the_schedule_key_changes_with_what_moves_a_digest() -> None:
    base = settings()
    assert schedule_key(base) == schedule_key(settings(lang="ja", usage_alerts=False))
    assert schedule_key(base) == schedule_key(settings(digest_weekday="fri"))  # daily
    for change in (
        {"digest_time": "10:00"},
        {"timezone": "Asia/Tokyo"},
        {"frequency": "weekly"},
    ):
        assert schedule_key(base) != schedule_key(settings(**change))
    weekly = settings(frequency="weekly")
    assert schedule_key(weekly) != schedule_key(settings(frequency="weekly", digest_weekday="fri"))
