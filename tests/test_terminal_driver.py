"""The terminal driver tells a lone escape once the escape delay is over.

Textual's Linux driver looks for a lone escape only when its input thread's 0.1-s wait
for input ends, so escape (back, close) came 0.1 s late whatever ESCDELAY said. Here the
driver's input thread reads a real pipe, with its idle wait made 30 s: an escape that
waited for the idle wait would never come within the test's time.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from tui.terminal import TerminalDriver


class _AppStandIn:
    """What the driver hands its events to (Textual's App, as far as the driver sees)."""

    def __init__(self) -> None:
        self.keys: asyncio.Queue[str] = asyncio.Queue()

    async def _post_message(self, message: Any) -> bool:
        key = getattr(message, "key", None)
        if key is not None:
            self.keys.put_nowait(key)
        return True


async def test_a_lone_escape_comes_without_waiting_for_the_idle_wait() -> None:
    app = _AppStandIn()
    driver = TerminalDriver(app)  # type: ignore[arg-type]
    driver.IDLE_WAIT = 30.0
    reading, writing = os.pipe()
    driver.fileno = reading
    thread = threading.Thread(target=driver.run_input_thread, daemon=True)
    thread.start()
    try:
        os.write(writing, b"j")
        assert await asyncio.wait_for(app.keys.get(), 10) == "j"
        os.write(writing, b"\x1b")
        assert await asyncio.wait_for(app.keys.get(), 10) == "escape"
        os.write(writing, b"\x1b[A")  # a key's whole sequence is that key, not escape
        assert await asyncio.wait_for(app.keys.get(), 10) == "up"
    finally:
        driver.exit_event.set()
        os.write(writing, b" ")  # wakes the thread's wait
        thread.join(10)
        os.close(writing)
        os.close(reading)
    assert not thread.is_alive()


def test_the_console_reads_a_linux_terminal_with_it(make_app) -> None:
    assert make_app().get_driver_class() is TerminalDriver
