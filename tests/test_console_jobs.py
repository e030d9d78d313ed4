"""The console sends marked errors as one resync job and follows it again after it is
closed and reopened (issue 10, point 3). Driven with Pilot on the embedded service."""

from __future__ import annotations

import asyncio

from tui.data.session import ViewFilter
from tui.data.session_resync import JOB_META
from tui.screens.resync import ResyncRunScreen

WIDE = (160, 50)


async def _until(pilot, check, seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.05)):
        await pilot.pause()
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the console never got there")


async def test_a_job_left_running_is_followed_again_when_the_console_reopens(
    make_app, wait_ready
) -> None:
    first = make_app()
    async with first.run_test(size=WIDE) as pilot:
        await wait_ready(pilot, lambda: first.session is not None)
        session = first.session
        service = (await session._owned.started()).service  # the embedded service, started
        await service.usage.set_allocated(0)  # the job can only wait
        ids = list((await session.view_ids(ViewFilter()))[:30])
        screen = ResyncRunScreen(session, ids)
        first.push_screen(screen)
        await _until(pilot, lambda: screen.last_progress is not None
                     and screen.last_progress.waiting is not None)  # fmt: skip
        assert "Waiting for the allocation" in screen.last_progress.waiting
        assert "The job waits:" in str(screen.query_one("#status").render())
        (job,) = await session.client.jobs()
        assert job.total == 30 and job.state == "running"
        assert (await session.cache.get_meta(JOB_META))["request_id"] == job.request_id
    # the console was closed with the job still waiting; it goes on in the service

    second = make_app()
    async with second.run_test(size=WIDE) as pilot:
        await _until(pilot, lambda: isinstance(second.screen, ResyncRunScreen))
        followed = second.screen
        assert followed.job_id == job.job_id
        service = (await second.session._owned.started()).service
        await service.usage.set_allocated(5000)
        service.jobs.wake()
        await _until(pilot, lambda: followed.finished)
        summary = followed.summary
        assert summary is not None and summary.requested == 30
        assert summary.synced + summary.failed + summary.skipped + summary.interrupted == 30
        assert await second.session.cache.get_meta(JOB_META) == {}
        await pilot.press("enter")
        await _until(pilot, lambda: not isinstance(second.screen, ResyncRunScreen))
