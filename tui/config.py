"""The console's user configuration: a TOML file, validated with pydantic.

The file lives in the platform's user config directory
(``synchealth/config.toml``); ``--config PATH`` points elsewhere. A missing
default file means defaults; a missing explicit file, bad TOML or a bad value is
a :class:`ConfigError` whose message names the file and the offending setting.

```toml
lang = "ja"                 # en | ja (else the locale decides)
refresh_interval = 30       # seconds between background refreshes
export_dir = "~/exports"    # where the export dialog proposes to write

[keymap]                    # binding id -> keys (comma-separated)
resync = "R"
mark_all = "ctrl+a,A"
```

This module stays free of Textual so the CLI can report a bad file before the
console starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tui.data.tomlfile import parse_toml

APP_NAME = "synchealth"


class ConfigError(Exception):
    """The configuration file cannot be used; ``str(err)`` says why, for a person."""


class Config(BaseModel):
    """Validated settings of the console."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lang: Literal["en", "ja"] | None = None
    refresh_interval: float = Field(30.0, ge=2, le=86400)
    export_dir: Path | None = None
    keymap: dict[str, str] = Field(default_factory=dict)

    @field_validator("keymap")
    @classmethod
    def _keys_are_not_blank(cls, keymap: dict[str, str]) -> dict[str, str]:
        for binding_id, keys in keymap.items():
            parts = [part.strip() for part in keys.split(",")]
            if not all(parts):
                raise ValueError(f"binding {binding_id!r} has an empty key in {keys!r}")
        return {binding_id: keys.replace(" ", "") for binding_id, keys in keymap.items()}

    @field_validator("export_dir")
    @classmethod
    def _expand_home(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None


def default_config_path() -> Path:
    """``<user config dir>/synchealth/config.toml``."""
    return platformdirs.user_config_path(APP_NAME, appauthor=False) / "config.toml"


def load_config(path: Path | None = None) -> Config:
    """Read and validate the configuration (defaults when the default file is absent)."""
    explicit = path is not None
    target = path if path is not None else default_config_path()
    try:
        raw = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file {target} does not exist") from None
        return Config()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {target}: {exc.strerror or exc}") from exc
    return parse_toml(raw, Config, ConfigError, f"config file {target}")
