"""Profiles: which deployment a command works with, and every value it needs from it.

Each value comes from the first place that has it: the command-line flag, then an
environment variable (table :data:`ENV_SETTINGS` and :data:`ENV_SECRETS`), then the
selected profile of the config file, then the default. The profile is chosen by
``--profile``, else ``$SYNCHEALTH_PROFILE``, else ``default_profile``; with none of
them, only flags, environment and defaults count.

The console, ``export`` and ``ingest`` need a :class:`ServiceTarget` (the service's URL
and API token); ``serve`` needs a :class:`ServePlan` (where to listen, the ledger,
how to sign in to Salesforce, where notifications go), which :func:`service_config`
turns into the service's :class:`~tui.service.config.ServiceConfig`. Every problem is
a :class:`~tui.config.ConfigError` whose message never holds a secret.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

from tui.config import (
    Config,
    ConfigError,
    NotifySettings,
    Profile,
    SalesforceSettings,
    ServeSettings,
    check_url,
    config_path,
    load_config,
)
from tui.core.secret_source import SecretSourceError, read_secret, secret_from_env, secret_from_file

if TYPE_CHECKING:
    from tui.service.config import ServiceConfig
    from tui.service.notify.smtp import SmtpServer
    from tui.service.sfauth import SignIn

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
    "SYNCHEALTH_ORG_NAME": ("serve", "org_name"),
    "SYNCHEALTH_RESYNC_MODE": ("serve", "resync_mode"),
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

#: the ``aud`` claim and default login URL of each JWT audience
AUDIENCES: dict[str, str] = {
    "login": "https://login.salesforce.com",
    "test": "https://test.salesforce.com",
}

S = TypeVar("S", bound=BaseModel)


def _env_for(table: str, key: str) -> str:
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
        value = secret_from_env(_env_for(table, stem), self.environ)
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


# --- serve: where to listen, the org, notifications ---------------------------------


@dataclass(frozen=True)
class SalesforceLink:
    """How the service reaches the org; ``summary`` is safe to print (no secret)."""

    sign_in: SignIn
    summary: str
    org_url: str | None = None  # known before signing in, except for JWT
    api_version: str | None = None
    ca_file: Path | None = None


@dataclass(frozen=True)
class ServePlan:
    """Everything ``synchealth serve`` needs, resolved; ``salesforce`` None means --demo."""

    profile: str | None
    host: str
    port: int
    db: Path | None
    api_token: SecretStr | None
    org_name: str | None
    salesforce: SalesforceLink | None
    smtp: SmtpServer | None
    webhook_url: SecretStr | None
    resync_mode: str = "direct"

    def summary(self) -> str:
        """One line for the start banner: profile, sign-in method and instance."""
        profile = self.profile or "none"
        org = self.salesforce.summary if self.salesforce else "the simulated org (--demo)"
        return f"profile: {profile}; Salesforce: {org}"


def _need(selection: Selection, table: str, key: str, value: Any, why: str) -> Any:
    if value is None:
        raise ConfigError(
            f"{why} needs {key}: set it in {selection.where(table)}, or set ${_env_for(table, key)}"
        )
    return value


def _need_secret(selection: Selection, what: str, stem: str, section: BaseModel) -> SecretStr:
    value = selection.secret(what, "salesforce", stem, section)
    if value is None:
        raise ConfigError(
            f"{what} is missing: set {stem}_env or {stem}_file in "
            f"{selection.where('salesforce')}, or set ${_env_for('salesforce', stem)}"
        )
    return value


def _secret_file(path: Path, what: str) -> SecretStr:
    try:
        return secret_from_file(path, what)
    except SecretSourceError as exc:
        raise ConfigError(exc.message) from None


def _private_key(path: Path) -> SecretStr:
    key = _secret_file(path, "the JWT private key")
    text = key.get_secret_value()
    if "-----BEGIN" not in text or "PRIVATE KEY-----" not in text:
        raise ConfigError(
            f"the file {path} does not hold a PEM private key (expected a '-----BEGIN ... "
            "PRIVATE KEY-----' block, as openssl writes it)"
        )
    return key


def _sign_in(selection: Selection, sf: SalesforceSettings) -> tuple[SignIn, str, str | None]:
    """The sign-in of ``sf``, a printable summary of it, and the org's URL if known."""
    from tui.service.sfauth import (
        ClientCredentials,
        GivenToken,
        JwtBearer,
        SignInError,
        given_token_from_sf_cli,
    )

    def need(key: str) -> Any:
        return _need(selection, "salesforce", key, getattr(sf, key), f"auth = {sf.auth!r}")

    def need_file(key: str) -> Path:
        return selection.file(need(key))

    if sf.auth == "client_credentials":
        credentials = ClientCredentials(
            domain_url=need("domain_url"),
            client_id=need("client_id"),
            client_secret=_need_secret(selection, "the client secret", "client_secret", sf),
        )
        url = credentials.domain_url
        return credentials, f"client credentials at {url}", url
    if sf.auth == "jwt":
        audience = AUDIENCES[sf.audience or "login"]
        bearer = JwtBearer(
            login_url=sf.login_url or audience,
            client_id=need("client_id"),
            username=need("username"),
            private_key=_private_key(need_file("private_key_file")),
            audience=audience,
        )
        return bearer, f"JWT bearer as {bearer.username} at {bearer.login_url}", None
    if sf.auth == "access_token":
        given = GivenToken(
            access_token=_need_secret(selection, "the access token", "access_token", sf),
            instance_url=need("instance_url"),
        )
        url = given.instance_url
        return given, f"a given access token for {url}", url
    path = need_file("sf_cli_json_file")
    text = _secret_file(path, "the output of 'sf org display --json'")
    try:
        given = given_token_from_sf_cli(text.get_secret_value())
    except SignInError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    url = given.instance_url
    return given, f"the sf CLI's token ({path}) for {url}", url


def _salesforce(selection: Selection) -> SalesforceLink:
    sf = selection.section("salesforce", SalesforceSettings)
    if sf.auth is None:
        if sf.model_fields_set:
            raise ConfigError(
                f"no sign-in method: set auth (client_credentials, jwt, access_token or "
                f"sf_cli) in {selection.where('salesforce')}, or set $SYNCHEALTH_SF_AUTH"
            )
        raise ConfigError(
            "say which org to serve: --demo (a simulated org), --org-url URL (a live org, "
            "with its access token in $SALESFORCE_ACCESS_TOKEN), or --profile NAME with a "
            "[profiles.NAME.salesforce] table (see docs/configuration.md)"
        )
    from tui.service.sfauth import SignInError, tls_verify

    ca_file = None if sf.ca_file is None else selection.file(sf.ca_file)
    try:
        sign_in, summary, org_url = _sign_in(selection, sf)
        tls_verify(ca_file)  # a bundle that cannot be used stops the start, not a resync
    except SignInError as exc:
        raise ConfigError(str(exc)) from None
    return SalesforceLink(sign_in, summary, org_url, api_version=sf.api_version, ca_file=ca_file)


def _given_token(org_url: str, token_env: str, environ: Mapping[str, str]) -> SalesforceLink:
    """``--org-url`` with the token in ``$token_env``: a given token, as before profiles."""
    from tui.service.salesforce import salesforce_url
    from tui.service.sfauth import GivenToken, SignInError

    token = secret_from_env(token_env, environ)
    if token is None:
        raise ConfigError(f"the org's access token is read from ${token_env}, which is not set")
    try:
        url = salesforce_url(org_url, "--org-url")
    except SignInError as exc:
        raise ConfigError(str(exc)) from None
    return SalesforceLink(
        GivenToken(access_token=token, instance_url=url),
        f"a given access token (${token_env}) for {url}",
        url,
    )


def _smtp(selection: Selection, notify: NotifySettings) -> SmtpServer | None:
    password = selection.secret("the SMTP password", "notify", "smtp_password", notify)
    if notify.smtp_host is None:
        others = sorted(k for k in notify.model_fields_set if k.startswith("smtp_"))
        if others or password is not None:
            raise ConfigError(
                f"{', '.join(others) or 'an SMTP password'} set without smtp_host: set "
                f"smtp_host in {selection.where('notify')}, or set $SYNCHEALTH_SMTP_HOST"
            )
        return None
    sender = _need(selection, "notify", "smtp_sender", notify.smtp_sender, "smtp_host")
    from tui.service.notify.smtp import SmtpServer

    given = {
        "host": notify.smtp_host,
        "port": notify.smtp_port or 0,  # 0: the usual port of the security (SmtpServer)
        "security": notify.smtp_security,
        "username": notify.smtp_username,
        "password": password,
        "sender": sender,
        "timeout": notify.smtp_timeout,
    }
    try:
        return SmtpServer(**{key: value for key, value in given.items() if value is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"smtp_{err['loc'][0]}: {err['msg']}" if err["loc"] else err["msg"]
            for err in exc.errors(include_url=False)
        )
        raise ConfigError(
            f"the mail server in {selection.where('notify')} cannot be used: "
            + problems.replace("Value error, ", "")
        ) from None


def _webhook(selection: Selection, notify: NotifySettings) -> SecretStr | None:
    from tui.service.notify.webhook import check_webhook_url

    url = selection.secret("the webhook URL", "notify", "webhook_url", notify)
    if url is None:
        return None
    try:
        return SecretStr(check_webhook_url(url.get_secret_value()))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def serve_plan(
    selection: Selection,
    *,
    host: str | None = None,
    port: int | None = None,
    db: Path | None = None,
    token: str | None = None,
    org_name: str | None = None,
    demo: bool = False,
    org_url: str | None = None,
    org_token_env: str = "SALESFORCE_ACCESS_TOKEN",
) -> ServePlan:
    """Resolve the flags of ``synchealth serve`` against environment and profile.

    With ``demo`` the profile's ``db`` and Salesforce settings are not used: a demo
    ledger must never land in a team's ledger file. ``org_url`` replaces the profile's
    Salesforce settings with a given token read from ``$org_token_env``.
    """
    serve = selection.section("serve", ServeSettings)
    notify = selection.section("notify", NotifySettings)
    api_token = (
        SecretStr(token)
        if token
        else selection.secret("the service's API token", "serve", "api_token", serve)
    )
    if demo:
        link, ledger = None, db
    else:
        link = (
            _given_token(org_url, org_token_env, selection.environ)
            if org_url
            else _salesforce(selection)
        )
        ledger = db or (None if serve.db is None else selection.file(serve.db))
    return ServePlan(
        profile=selection.name,
        host=host or serve.host or DEFAULT_HOST,
        port=port if port is not None else serve.port or DEFAULT_PORT,
        db=ledger,
        api_token=api_token,
        org_name=org_name or serve.org_name,
        salesforce=link,
        smtp=_smtp(selection, notify),
        webhook_url=_webhook(selection, notify),
        resync_mode=serve.resync_mode or "direct",
    )


def service_config(plan: ServePlan, db_path: Path, **org: Any) -> ServiceConfig:
    """The service's config for ``plan``; ``org`` gives the org when the plan has no
    Salesforce link (the simulated org of --demo: org_token, org_transport, mode)."""
    from tui.service.config import ServiceConfig

    fields: dict[str, Any] = {
        "db_path": db_path,
        "api_token": plan.api_token.get_secret_value() if plan.api_token else None,
        "smtp": plan.smtp,
        "webhook_url": plan.webhook_url,
        "resync_mode": plan.resync_mode,
    }
    if plan.salesforce is not None:
        link = plan.salesforce
        fields |= {"sign_in": link.sign_in, "ca_file": link.ca_file, "mode": "live"}
        if link.api_version is not None:
            fields["api_version"] = link.api_version
    org_name = plan.org_name or (plan.salesforce.org_url if plan.salesforce else None)
    if org_name is not None:
        fields["org_name"] = org_name
    return ServiceConfig(**(fields | org))
