"""Where synchealth keeps its files.

platformdirs gives the per-user directories; ``SYNCHEALTH_DATA_DIR``,
``SYNCHEALTH_CACHE_DIR`` and ``SYNCHEALTH_STATE_DIR`` override them (tests and CI point
them at temp dirs).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import platformdirs

APP_NAME = "synchealth"


def _dir(env: str, default: str) -> Path:
    value = os.environ.get(env)
    path = Path(value).expanduser() if value else Path(default)
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """The user's data directory (the embedded demo ledger lives here)."""
    return _dir("SYNCHEALTH_DATA_DIR", platformdirs.user_data_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """The user's cache directory (the console's local mirrors live here)."""
    return _dir("SYNCHEALTH_CACHE_DIR", platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def state_dir() -> Path:
    """The user's state directory (what the console remembers between runs)."""
    return _dir("SYNCHEALTH_STATE_DIR", platformdirs.user_state_dir(APP_NAME, appauthor=False))


def cache_path_for(service_key: str) -> Path:
    """One cache file per service: the service URL (or embedded ledger) hashed into the name."""
    digest = hashlib.sha256(service_key.encode("utf-8")).hexdigest()[:16]
    return cache_dir() / f"cache-{digest}.sqlite3"
