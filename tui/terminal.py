"""The terminal's keys, with a lone escape delivered once the escape delay is over.

Textual's Linux driver reads the terminal in a thread that waits up to 0.1 s for input
and tells a lone escape from the start of a key's sequence only when a wait ends, so
escape (the console's "back", and every dialog's close) arrived 0.1 s after it was
pressed whatever ``ESCDELAY`` said: 103 ms from ``tmux send-keys`` to the key, with
``ESCDELAY=50``. Here, after input that holds an escape, the thread waits the escape
delay instead; otherwise it reads as Textual's does.
"""

from __future__ import annotations

import os
import selectors
from codecs import getincrementaldecoder

from textual import constants
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

ESC = "\x1b"


class TerminalDriver(LinuxDriver):
    #: How long the input thread waits for input when no escape is pending (Textual's).
    IDLE_WAIT = 0.1

    def run_input_thread(self) -> None:
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        wait = self.IDLE_WAIT
        try:
            while not self.exit_event.is_set():
                ready = selector.select(wait)
                wait = self.IDLE_WAIT
                if ready and (text := decode(os.read(self.fileno, 4096))):
                    for event in parser.feed(text):
                        self.process_message(event)
                    if ESC in text:  # a lone escape is told once the delay is over
                        wait = constants.ESCAPE_DELAY
                for event in parser.tick():
                    self.process_message(event)
        finally:
            selector.close()
