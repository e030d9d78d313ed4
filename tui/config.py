"""The user configuration: a TOML file, validated with pydantic.

The file lives in the platform's user config directory
(``synchealth/config.toml``); ``$SYNCHEALTH_CONFIG`` or ``--config PATH`` point
elsewhere. A missing default file means defaults; a missing explicit file, bad TOML
or a bad value is a :class:`ConfigError` whose message names the file and the
offending setting (``profiles.team.salesforce.client_id: ...``).

```toml
lang = "ja"                 # en | ja (else the locale decides)
timezone = "Asia/Tokyo"     # times on screen: an IANA name, UTC or local (the default)
refresh_interval = 30       # seconds between background refreshes
health_interval = 3         # seconds between looks at the service's health (0: never)
export_dir = "~/exports"    # where the export dialog proposes to write
default_profile = "team"

[keymap]                    # binding id -> keys (comma-separated)
resync = "R"

[profiles.team]             # the console side: where the service is, its token
service_url = "https://synchealth.example.com"
token_file = "~/.config/synchealth/team.token"

[profiles.team.serve]       # synchealth serve --profile team
[profiles.team.salesforce]  # how the service signs in to Salesforce
[profiles.team.notify]      # where notifications are sent from / to
```

The file never holds a secret itself: each secret is named by an environment
variable (``*_env``) or an owner-only file (``*_file``); a secret written inline is
refused. docs/configuration.md lists every key. :mod:`tui.profiles` turns a profile
plus flags and environment into what each command needs.

This module stays free of Textual so the CLI can report a bad file before the
console starts.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from tui.core.apiversion import check_api_version
from tui.core.tomlfile import parse_toml, read_utf8
from tui.core.zone import zone_named

APP_NAME = "synchealth"
CONFIG_ENV = "SYNCHEALTH_CONFIG"

SalesforceAuth = Literal["client_credentials", "jwt", "access_token", "sf_cli"]
SmtpSecurity = Literal["starttls", "tls", "none"]

#: A secret someone may try to write inline -> the keys that say where it is instead.
INLINE_SECRETS: dict[str, str] = {
    "token": "token_env or token_file",
    "api_token": "api_token_env or api_token_file",
    "client_secret": "client_secret_env or client_secret_file",
    "private_key": "private_key_file",
    "access_token": "access_token_env or access_token_file",
    "smtp_password": "smtp_password_env or smtp_password_file",
    "password": "smtp_password_env or smtp_password_file",
    "webhook_url": "webhook_url_env or webhook_url_file",
}

EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
ProfileName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class ConfigError(Exception):
    """The configuration cannot be used; ``str(err)`` says why, for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check_url(value: str) -> str:
    """An absolute http(s) URL with a host (and a valid port), without a trailing slash.

    Parsed as the HTTP client will parse it, so ``http://[::1`` is refused here, at
    once, rather than failing (or hanging) at the first request.
    """
    value = value.strip()
    if not re.match(r"^https?://[^/\s?#]+", value):
        raise ValueError("must be an absolute URL starting with https:// (or http:// on loopback)")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number 0-65535
    except ValueError as exc:
        raise ValueError(f"is not a valid URL: {exc}") from None
    if not parts.hostname:
        raise ValueError("names no host")
    return value.rstrip("/")


class _Section(BaseModel):
    """A table of the file: unknown keys refused, ``X_env`` / ``X_file`` pairs exclusive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="after")
    def _one_source_per_secret(self) -> _Section:
        names = type(self).model_fields
        for name in names:
            if name.endswith("_env"):
                file_key = name.removesuffix("_env") + "_file"
                if file_key in names and getattr(self, name) and getattr(self, file_key):
                    raise ValueError(f"give {name} or {file_key}, not both")
        return self

    @field_validator("*", mode="after")
    @classmethod
    def _expand_home(cls, value: Any) -> Any:
        return value.expanduser() if isinstance(value, Path) else value


class ServeSettings(_Section):
    """``[profiles.NAME.serve]``: how ``synchealth serve`` listens and where its ledger is."""

    host: NonBlank | None = None
    port: int | None = Field(None, ge=1, le=65535)
    #: a file, sqlite:///PATH or postgresql://USER@HOST:PORT/DB (tui/service/db/target.py)
    db: NonBlank | None = None
    db_password_file: Path | None = None
    api_token_env: EnvName | None = None
    api_token_file: Path | None = None
    org_name: NonBlank | None = None
    #: direct: a resync re-sends the newest reported values; engine: it asks the sync engine.
    resync_mode: Literal["direct", "engine"] | None = None
    #: seconds between a replica's heartbeats; its resyncs are taken as cut off once it
    #: missed three (tui/service/replicas.py)
    heartbeat: float | None = Field(None, ge=0.5, le=60)


class SalesforceSettings(_Section):
    """``[profiles.NAME.salesforce]``: how the service signs in to the org."""

    #: sign-in method -> the keys it uses (besides auth, api_version and ca_file)
    KEYS_BY_AUTH: ClassVar[dict[str, frozenset[str]]] = {
        "client_credentials": frozenset(
            {"domain_url", "client_id", "client_secret_env", "client_secret_file"}
        ),
        "jwt": frozenset({"login_url", "client_id", "username", "private_key_file", "audience"}),
        "access_token": frozenset({"access_token_env", "access_token_file", "instance_url"}),
        "sf_cli": frozenset({"sf_cli_json_file"}),
    }

    auth: SalesforceAuth | None = None
    domain_url: str | None = None
    login_url: str | None = None
    client_id: NonBlank | None = None
    client_secret_env: EnvName | None = None
    client_secret_file: Path | None = None
    username: NonBlank | None = None
    private_key_file: Path | None = None
    audience: Literal["login", "test"] | None = None
    access_token_env: EnvName | None = None
    access_token_file: Path | None = None
    instance_url: str | None = None
    sf_cli_json_file: Path | None = None
    api_version: str | None = None
    ca_file: Path | None = None

    @field_validator("domain_url", "login_url", "instance_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value)

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str | None) -> str | None:
        return None if value is None else check_api_version(value)

    @model_validator(mode="after")
    def _keys_fit_the_method(self) -> SalesforceSettings:
        if self.auth is None:
            return self
        used = self.KEYS_BY_AUTH[self.auth]
        stray = sorted(
            key
            for key in self.model_fields_set
            if key not in used and key not in {"auth", "api_version", "ca_file"}
        )
        if stray:
            raise ValueError(
                f"{', '.join(stray)} not used with auth = {self.auth!r}, which reads "
                f"{', '.join(sorted(used))}"
            )
        return self


class NotifySettings(_Section):
    """``[profiles.NAME.notify]``: the mail server and webhook the notifier sends through."""

    smtp_host: NonBlank | None = None
    smtp_port: int | None = Field(None, ge=1, le=65535)
    smtp_security: SmtpSecurity | None = None
    smtp_username: NonBlank | None = None
    smtp_password_env: EnvName | None = None
    smtp_password_file: Path | None = None
    smtp_sender: NonBlank | None = None
    smtp_timeout: float | None = Field(None, gt=0, le=300)
    webhook_url_env: EnvName | None = None
    webhook_url_file: Path | None = None


class Profile(_Section):
    """``[profiles.NAME]``: one deployment, seen from the console and from the service."""

    service_url: str | None = None
    token_env: EnvName | None = None
    token_file: Path | None = None
    serve: ServeSettings = ServeSettings()
    salesforce: SalesforceSettings = SalesforceSettings()
    notify: NotifySettings = NotifySettings()

    @field_validator("service_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value)


class Config(BaseModel):
    """Validated settings: the console's own keys, and the named profiles."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lang: Literal["en", "ja"] | None = None
    timezone: NonBlank | None = None
    refresh_interval: float = Field(30.0, ge=2, le=86400)
    #: A look at ``GET /v1/health`` (answered without the database): a change of state
    #: (the database away or back, the service gone or back) refreshes at once.
    health_interval: float = Field(3.0, ge=0, le=86400)
    export_dir: Path | None = None
    keymap: dict[str, str] = Field(default_factory=dict)
    default_profile: ProfileName | None = None
    profiles: dict[ProfileName, Profile] = Field(default_factory=dict)

    @field_validator("keymap")
    @classmethod
    def _keys_are_not_blank(cls, keymap: dict[str, str]) -> dict[str, str]:
        for binding_id, keys in keymap.items():
            parts = [part.strip() for part in keys.split(",")]
            if not all(parts):
                raise ValueError(f"binding {binding_id!r} has an empty key in {keys!r}")
        return {binding_id: keys.replace(" ", "") for binding_id, keys in keymap.items()}

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone_named(value)
        return value

    @field_validator("export_dir")
    @classmethod
    def _expand_home(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @model_validator(mode="after")
    def _default_profile_exists(self) -> Config:
        if self.default_profile is not None and self.default_profile not in self.profiles:
            known = ", ".join(sorted(self.profiles)) or "none"
            raise ValueError(
                f"default_profile {self.default_profile!r} is not a [profiles.NAME] table "
                f"(profiles: {known})"
            )
        return self


def default_config_path() -> Path:
    """``<user config dir>/synchealth/config.toml``."""
    return platformdirs.user_config_path(APP_NAME, appauthor=False) / "config.toml"


def config_path(
    path: Path | None = None, environ: Mapping[str, str] | None = None
) -> tuple[Path, bool]:
    """The file to read and whether it was named: ``path`` (``--config``), else
    ``$SYNCHEALTH_CONFIG``, else the default (which may be absent)."""
    if path is not None:
        return path.expanduser(), True
    env = os.environ if environ is None else environ
    named = env.get(CONFIG_ENV, "").strip()
    return (Path(named).expanduser(), True) if named else (default_config_path(), False)


def _tables(data: Mapping[str, Any], where: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield where, data
    for key, value in data.items():
        if isinstance(value, Mapping) and key != "keymap":
            yield from _tables(value, f"{where}.{key}" if where else key)


def _refuse_inline_secrets(text: str, what: str) -> None:
    """A secret written into the file is an error that names the key, never the value."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return  # parse_toml reports it
    for where, table in _tables(data):
        for key in table:
            if key in INLINE_SECRETS:
                place = f"{where}.{key}" if where else key
                raise ConfigError(
                    f"{what}: {place} would put a secret in the config file; name where it is "
                    f"instead with {INLINE_SECRETS[key]} (an environment variable, or a file "
                    "only you can read)"
                )


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the configuration (defaults when the default file is absent)."""
    target, explicit = config_path(path, environ)
    try:
        raw = read_utf8(target, ConfigError, f"config file {target}")
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file {target} does not exist") from None
        return Config()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {target}: {exc.strerror or exc}") from exc
    what = f"config file {target}"
    _refuse_inline_secrets(raw, what)
    return parse_toml(raw, Config, ConfigError, what)


def configured_lang(path: Path | None = None) -> str | None:
    """The ``lang`` of the user's config file; None when unset or the file is unusable.

    The CLI's pipe commands must not fail over a console setting, so a broken default
    config file only means "not configured" here (the console reports it). A file named
    with ``--config`` (``path``) must be usable: its ConfigError propagates.
    """
    try:
        return load_config(path).lang
    except ConfigError:
        if path is not None:
            raise
        return None
