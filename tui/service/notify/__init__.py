"""Notifications: immediate batches, daily and weekly digests and API-usage alerts,
delivered by email (SMTP) and webhook through a persisted outbox (docs/notifications.md).

The parts: :mod:`.notifier` (the loop), :mod:`.schedule` (when digests are due),
:mod:`.digest` and :mod:`.compose` (what a message says), :mod:`.text` (en/ja words),
:mod:`.usage_alerts` (threshold crossings), :mod:`.outbox` and :mod:`.state` (what is
persisted), :mod:`.channels`, :mod:`.smtp` and :mod:`.webhook` (how it goes out).
"""
