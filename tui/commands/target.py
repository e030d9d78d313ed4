"""The two first steps the service commands share: where the service is, then a session.

Each failure is said on stderr under the command's name; the caller returns the exit
code (2 for a bad configuration, 1 when the data cannot be opened).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tui.commands.say import say

if TYPE_CHECKING:
    from tui.data.session import DataSession
    from tui.profiles import ServiceTarget


def service_target(command: str, args: argparse.Namespace) -> ServiceTarget | None:
    """The service the flags, environment and profile name; None once the error is said."""
    from tui.config import ConfigError
    from tui.profiles import target_from_args

    try:
        _, target = target_from_args(args)
    except ConfigError as exc:
        say(command, exc.message)
        return None
    return target


async def open_session(command: str, target: ServiceTarget, demo_size: int) -> DataSession | None:
    """A data session on ``target``; None once the reason it cannot open is said."""
    from tui.data.cache import CacheError
    from tui.data.client_errors import ServiceError
    from tui.embedded import open_data_session

    try:
        return await open_data_session(
            url=target.url, token=target.token_value, demo_size=demo_size
        )
    except (CacheError, ServiceError) as exc:
        say(command, exc.message)
        return None
