"""Profiles: which deployment a command works with, and every value it needs from it.

Each value comes from the first place that has it: the command-line flag, then an
environment variable (table :data:`ENV_SETTINGS` and :data:`ENV_SECRETS`), then the
selected profile of the config file, then the default. The profile is chosen by
``--profile``, else ``$SYNCHEALTH_PROFILE``, else ``default_profile``; with none of
them, only flags, environment and defaults count.

The console, ``export`` and ``ingest`` need a :class:`ServiceTarget` (the service's URL
and API token); ``serve`` needs a :class:`~tui.serve_plan.ServePlan` (where to listen,
the ledger, how to sign in to Salesforce, where notifications go), resolved in
``tui/serve_plan.py``. Every problem is a :class:`~tui.config.ConfigError` whose
message never holds a secret.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

from tui.config import (
    Config,
    ConfigError,
    Profile,
    check_url,
    config_path,
    load_config,
)
from tui.core.secret_source import SecretSourceError, read_secret, secret_from_env

PROFILE_ENV = "SYNCHEALTH_PROFILE"
URL_ENV = "SYNCHEALTH_URL"
TOKEN_ENV = "SYNCHEALTH_TOKEN"
API_TOKEN_ENV = "SYNCHEALTH_API_TOKEN"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765

#: environment variable -> (profile table, key) whose value it replaces
ENV_SETTINGS: dict[str, tuple[str, str]] = {
    "SYNCHEALTH_HOST": ("serve", "host"),
    "SYNCHEALTH_PORT": ("serve", "port"),
    "SYNCHEALTH_DB": ("serve", "db"),
    "SYNCHEALTH_DB_PASSWORD_FILE": ("serve", "db_password_file"),
    "SYNCHEALTH_ORG_NAME": ("serve", "org_name"),
    "SYNCHEALTH_RESYNC_MODE": ("serve", "resync_mode"),
    "SYNCHEALTH_HEARTBEAT": ("serve", "heartbeat"),
    "SYNCHEALTH_SF_AUTH": ("salesforce", "auth"),
    "SYNCHEALTH_SF_DOMAIN_URL": ("salesforce", "domain_url"),
    "SYNCHEALTH_SF_LOGIN_URL": ("salesforce", "login_url"),
    "SYNCHEALTH_SF_CLIENT_ID": ("salesforce", "client_id"),
    "SYNCHEALTH_SF_USERNAME": ("salesforce", "username"),
    "SYNCHEALTH_SF_PRIVATE_KEY_FILE": ("salesforce", "private_key_file"),
    "SYNCHEALTH_SF_AUDIENCE": ("salesforce", "audience"),
    "SYNCHEALTH_SF_INSTANCE_URL": ("salesforce", "instance_url"),
    "SYNCHEALTH_SF_CLI_JSON_FILE": ("salesforce", "sf_cli_json_file"),
    "SYNCHEALTH_SF_API_VERSION": ("salesforce", "api_version"),
    "SYNCHEALTH_SF_CA_FILE": ("salesforce", "ca_file"),
    "SYNCHEALTH_SMTP_HOST": ("notify", "smtp_host"),
    "SYNCHEALTH_SMTP_PORT": ("notify", "smtp_port"),
    "SYNCHEALTH_SMTP_SECURITY": ("notify", "smtp_security"),
    "SYNCHEALTH_SMTP_USERNAME": ("notify", "smtp_username"),
    "SYNCHEALTH_SMTP_SENDER": ("notify", "smtp_sender"),
    "SYNCHEALTH_SMTP_TIMEOUT": ("notify", "smtp_timeout"),
}

#: environment variable holding a secret itself -> (profile table, the secret's key stem);
#: it wins over the profile's ``<stem>_env`` / ``<stem>_file``.
ENV_SECRETS: dict[str, tuple[str, str]] = {
    TOKEN_ENV: ("", "token"),
    API_TOKEN_ENV: ("serve", "api_token"),
    "SYNCHEALTH_SF_CLIENT_SECRET": ("salesforce", "client_secret"),
    "SYNCHEALTH_SF_ACCESS_TOKEN": ("salesforce", "access_token"),
    "SYNCHEALTH_SMTP_PASSWORD": ("notify", "smtp_password"),
    "SYNCHEALTH_WEBHOOK_URL": ("notify", "webhook_url"),
}

S = TypeVar("S", bound=BaseModel)


def env_for(table: str, key: str) -> str:
    """The environment variable that overrides ``table.key`` (setting or secret)."""
    for name, target in (*ENV_SETTINGS.items(), *ENV_SECRETS.items()):
        if target == (table, key):
            return name
    raise KeyError(f"{table}.{key}")


@dataclass(frozen=True)
class Selection:
    """The config file, the chosen profile, and the environment the values come from."""

    config: Config
    path: Path
    name: str | None
    profile: Profile
    environ: Mapping[str, str] = field(repr=False)  # holds secrets

    def where(self, table: str) -> str:
        """Where a key of ``table`` is set, for messages: ``[profiles.team.serve] of FILE``."""
        if self.name is None:
            return "a profile (none is selected)"
        section = f"profiles.{self.name}" + (f".{table}" if table else "")
        return f"[{section}] of {self.path}"

    def file(self, value: Path) -> Path:
        """A path from the config file; a relative one is relative to the file's directory."""
        value = value.expanduser()
        return value if value.is_absolute() else self.path.parent / value

    def env(self, name: str) -> str | None:
        value = self.environ.get(name, "").strip()
        return value or None

    def section(self, table: str, model: type[S]) -> S:
        """The profile's ``table`` with the environment's overrides laid over it."""
        current: S = getattr(self.profile, table)
        names = {key: var for var, (t, key) in ENV_SETTINGS.items() if t == table}
        values = {key: value for key, var in names.items() if (value := self.env(var))}
        if not values:
            return current
        try:
            overrides = model.model_validate(values)
        except ValidationError as exc:
            lines = []
            for err in exc.errors(include_url=False):
                key = str(err["loc"][0]) if err["loc"] else ""
                source = f"${names[key]}" if key in names else "the environment"
                lines.append(f"  {source}: {err['msg']}")
            raise ConfigError("invalid environment variable:\n" + "\n".join(lines)) from None
        update = {key: getattr(overrides, key) for key in values}
        # A relative path from the environment is relative to the working directory,
        # like a flag's; only the config file's own paths are relative to the file.
        update = {k: v.absolute() if isinstance(v, Path) else v for k, v in update.items()}
        # Keys the effective sign-in method does not use are simply not read later.
        return current.model_copy(update=update)

    def secret(self, what: str, table: str, stem: str, section: BaseModel) -> SecretStr | None:
        """A secret from its environment variable, else the profile's ``_env`` / ``_file``."""
        value = secret_from_env(env_for(table, stem), self.environ)
        if value is not None:
            return value
        file = getattr(section, f"{stem}_file", None)
        try:
            return read_secret(
                what,
                env=getattr(section, f"{stem}_env", None),
                file=None if file is None else self.file(file),
                environ=self.environ,
            )
        except SecretSourceError as exc:
            raise ConfigError(exc.message) from None


def select(
    config: Path | None = None,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Selection:
    """Read the config file and pick the profile: ``profile`` (--profile), else
    ``$SYNCHEALTH_PROFILE``, else ``default_profile``, else none."""
    env = os.environ if environ is None else environ
    path, _ = config_path(config, env)
    loaded = load_config(config, env)
    from_env = env.get(PROFILE_ENV, "").strip()
    name = profile or from_env or loaded.default_profile
    if name is None:
        return Selection(loaded, path, None, Profile(), env)
    if name not in loaded.profiles:
        chosen = "--profile" if profile else f"${PROFILE_ENV}" if from_env else "default_profile"
        known = ", ".join(sorted(loaded.profiles)) or "none"
        where = f"config file {path}" + ("" if path.exists() else " (it does not exist)")
        raise ConfigError(f"no profile {name!r} ({chosen}) in {where}; profiles there: {known}")
    return Selection(loaded, path, name, loaded.profiles[name], env)


# --- the console, export and ingest: which service, with which token --------------


@dataclass(frozen=True)
class ServiceTarget:
    """The Sync Health service a client command talks to (``url`` None: the embedded demo)."""

    url: str | None
    token: SecretStr | None
    profile: str | None

    @property
    def token_value(self) -> str | None:
        return None if self.token is None else self.token.get_secret_value()


def service_target(
    selection: Selection, url: str | None = None, token: str | None = None
) -> ServiceTarget:
    """URL: ``--url``, ``$SYNCHEALTH_URL``, ``service_url``; token: ``--token``,
    ``$SYNCHEALTH_TOKEN``, ``token_env`` / ``token_file``."""
    if url is not None:
        try:
            url = check_url(url)
        except ValueError as exc:
            raise ConfigError(f"--url {url!r} {exc}") from None
    if url is None and (from_env := selection.env(URL_ENV)) is not None:
        try:
            url = check_url(from_env)
        except ValueError as exc:
            raise ConfigError(f"${URL_ENV} {exc}") from None
    if url is None:
        url = selection.profile.service_url
    secret = (
        SecretStr(token)
        if token
        else selection.secret("the service's API token", "", "token", selection.profile)
    )
    return ServiceTarget(url, secret, selection.name)


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """``--config PATH``, as every command that reads the config file has it."""
    parser.add_argument(
        "--config",
        type=Path,
        help="config file (default: $SYNCHEALTH_CONFIG, then the user config dir)",
    )


def add_profile_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config`` and ``--profile``, as every command that reads profiles has them."""
    add_config_argument(parser)
    parser.add_argument(
        "--profile",
        metavar="NAME",
        help=f"a [profiles.NAME] of the config file (default: ${PROFILE_ENV}, "
        "then default_profile)",
    )


def add_service_arguments(parser: argparse.ArgumentParser, *, show_demo_size: bool = False) -> None:
    """``--url``, ``--token``, ``--config``, ``--profile`` and ``--demo-size`` of a client command.

    ``--demo-size`` (errors in a new embedded demo ledger) is listed in the help only
    where ``show_demo_size`` says so: the console's; the other commands take it quietly.
    """
    parser.add_argument(
        "--url",
        help="the Sync Health service (default: $SYNCHEALTH_URL, then the profile's "
        "service_url, else the embedded demo)",
    )
    parser.add_argument(
        "--token",
        help=f"the service's API token (default: ${TOKEN_ENV}, then the profile's "
        "token_env / token_file)",
    )
    add_profile_arguments(parser)
    parser.add_argument(
        "--demo-size",
        type=int,
        default=5000,
        metavar="N",
        help="errors in the embedded demo ledger (default: 5000)"
        if show_demo_size
        else argparse.SUPPRESS,
    )


def target_from_args(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> tuple[Selection, ServiceTarget]:
    """The selection and service target of a command built with :func:`add_service_arguments`."""
    selection = select(args.config, args.profile, environ)
    return selection, service_target(selection, args.url, args.token)
