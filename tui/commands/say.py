"""What the CLI commands print: one place, so nothing reaches a terminal raw.

A message may quote a record name or a Salesforce message; when stderr is a terminal,
control characters are shown as escapes (:mod:`tui.text.terminal`), else written as is.
"""

from __future__ import annotations

import sys

from tui.text.terminal import for_terminal, is_terminal


def say(command: str, message: str) -> None:
    """``synchealth COMMAND: message`` on stderr."""
    prefix = f"synchealth {command}: " if command else "synchealth: "
    text = prefix + message
    if is_terminal(sys.stderr):
        text = for_terminal(text)
    print(text, file=sys.stderr)


def show(text: str) -> None:
    """A line on stdout (flushed); escaped the same way when stdout is a terminal."""
    print(for_terminal(text) if is_terminal(sys.stdout) else text, flush=True)
