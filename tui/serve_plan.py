"""What ``synchealth serve`` runs with: where to listen, the ledger, how to sign in to
Salesforce, where notifications go, resolved from a profile's :class:`~tui.profiles.Selection`
(flag, then environment, then profile, then default) into a :class:`ServePlan`, which
:func:`service_config` turns into the service's :class:`~tui.service.config.ServiceConfig`.

The service's modules are imported inside the functions that need them, so a console
or an export never loads the service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr, ValidationError

from tui.config import (
    ConfigError,
    NotifySettings,
    SalesforceSettings,
    ServeSettings,
)
from tui.core.secret_source import SecretSourceError, secret_from_env, secret_from_file
from tui.profiles import DEFAULT_HOST, DEFAULT_PORT, Selection, env_for

if TYPE_CHECKING:
    from tui.service.config import ServiceConfig
    from tui.service.db.target import PostgresTarget
    from tui.service.notify.smtp import SmtpServer
    from tui.service.sfauth_methods import SignIn

#: the ``aud`` claim and default login URL of each JWT audience
AUDIENCES: dict[str, str] = {
    "login": "https://login.salesforce.com",
    "test": "https://test.salesforce.com",
}


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
    db: Path | PostgresTarget | None
    api_token: SecretStr | None
    org_name: str | None
    salesforce: SalesforceLink | None
    smtp: SmtpServer | None
    webhook_url: SecretStr | None
    resync_mode: str = "direct"
    heartbeat: float | None = None  # None: the service's default

    def summary(self) -> str:
        """One line for the start banner: profile, sign-in method and instance."""
        profile = self.profile or "none"
        org = self.salesforce.summary if self.salesforce else "the simulated org (--demo)"
        return f"profile: {profile}; Salesforce: {org}"


def _need(selection: Selection, table: str, key: str, value: Any, why: str) -> Any:
    if value is None:
        raise ConfigError(
            f"{why} needs {key}: set it in {selection.where(table)}, or set ${env_for(table, key)}"
        )
    return value


def _need_secret(selection: Selection, what: str, stem: str, section: BaseModel) -> SecretStr:
    value = selection.secret(what, "salesforce", stem, section)
    if value is None:
        raise ConfigError(
            f"{what} is missing: set {stem}_env or {stem}_file in "
            f"{selection.where('salesforce')}, or set ${env_for('salesforce', stem)}"
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
    from tui.service.salesforce_errors import SignInError
    from tui.service.sfauth_methods import (
        ClientCredentials,
        GivenToken,
        JwtBearer,
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
    from tui.service.salesforce_errors import SignInError
    from tui.service.sfauth_methods import tls_verify

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
    from tui.service.salesforce_errors import SignInError
    from tui.service.sfauth_methods import GivenToken

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


def ledger_target(
    selection: Selection, db: str | None = None, password_file: Path | None = None
) -> Path | PostgresTarget | None:
    """The ledger of ``--db``, else of ``$SYNCHEALTH_DB``, else of the profile's ``db``;
    None: the default file. Each takes the same forms (a path, ``sqlite:///PATH``,
    ``postgresql://USER@HOST:PORT/DB``), read by the one parser, ``parse_target``; the
    password file is ``--db-password-file``, else the profile's ``db_password_file``
    (``$SYNCHEALTH_DB_PASSWORD_FILE``). A path from the config file is relative to the
    file, one from the environment to the working directory. A value that cannot be used
    is a :class:`ConfigError` saying where it was set, its password never shown."""
    from tui.service.db.base import DatabaseError
    from tui.service.db.target import parse_target

    serve = selection.section("serve", ServeSettings)
    if password_file is None and serve.db_password_file is not None:
        password_file = selection.file(serve.db_password_file)
    variable = f"${env_for('serve', 'db')}"
    text, where = db, "--db"
    if text is None and (text := selection.env(variable[1:])) is not None:
        where = variable
    if text is None and (text := serve.db) is not None:
        where = f"db in {selection.where('serve')}"
    if text is None:
        return None
    try:
        target = parse_target(text, password_file)
    except DatabaseError as exc:
        raise ConfigError(f"{exc} ({where})") from None
    if not isinstance(target, Path) or where == "--db":
        return target
    return target.absolute() if where == variable else selection.file(target)


def serve_plan(
    selection: Selection,
    *,
    host: str | None = None,
    port: int | None = None,
    db: str | None = None,
    db_password_file: Path | None = None,
    token: str | None = None,
    org_name: str | None = None,
    demo: bool = False,
    org_url: str | None = None,
    org_token_env: str = "SALESFORCE_ACCESS_TOKEN",
) -> ServePlan:
    """Resolve the flags of ``synchealth serve`` against environment and profile.

    With ``demo`` the profile's ``db`` and Salesforce settings are not used: a demo
    ledger must never land in a team's ledger file, and is never on PostgreSQL.
    ``org_url`` replaces the profile's Salesforce settings with a given token read from
    ``$org_token_env``.
    """
    serve = selection.section("serve", ServeSettings)
    notify = selection.section("notify", NotifySettings)
    api_token = (
        SecretStr(token)
        if token
        else selection.secret("the service's API token", "serve", "api_token", serve)
    )
    if demo:
        link, ledger = None, None if db is None else ledger_target(selection, db)
        if ledger is not None and not isinstance(ledger, Path):
            raise ConfigError(
                "--demo builds a SQLite ledger; give --db a file, or leave --demo out"
            )
    else:
        link = (
            _given_token(org_url, org_token_env, selection.environ)
            if org_url
            else _salesforce(selection)
        )
        ledger = ledger_target(selection, db, db_password_file)
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
        heartbeat=serve.heartbeat,
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
    if plan.heartbeat is not None:
        fields["heartbeat"] = plan.heartbeat
    if plan.salesforce is not None:
        link = plan.salesforce
        fields |= {"sign_in": link.sign_in, "ca_file": link.ca_file, "mode": "live"}
        if link.api_version is not None:
            fields["api_version"] = link.api_version
    org_name = plan.org_name or (plan.salesforce.org_url if plan.salesforce else None)
    if org_name is not None:
        fields["org_name"] = org_name
    return ServiceConfig(**(fields | org))
