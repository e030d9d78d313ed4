"""Who this console is in the service's history: ``user@host``, after the profile's name.

Its own module so the console can name itself before it imports the HTTP client, which
it does only when it first asks the service something (issue 11: the start).
"""

from __future__ import annotations

import getpass
import socket


def actor_name(profile: str | None = None) -> str:
    """``user@host`` of this process, after the profile's name if there is one
    (``ops (alice@laptop)``); ASCII only, as an HTTP header value must be."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or passwd
        user = "unknown"
    name = f"{user}@{socket.gethostname()}"
    if profile:
        name = f"{profile} ({name})"
    return name.encode("ascii", "replace").decode("ascii")
