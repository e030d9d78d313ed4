"""``synchealth serve --profile``: sign-in, notification and listening settings from a profile.

The plan tests build what ``serve`` would run without starting it; the process tests
start ``synchealth serve`` for real on a loopback port and talk to it over HTTP. SQLite
only: they are about the profile, on ``--demo`` (a SQLite ledger by design); serve on
PostgreSQL is tests/test_serve_postgres.py's.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest
from pydantic import SecretStr
from test_serve_loopback import free_port, wait_for

from tui.config import ConfigError
from tui.profiles import ENV_SECRETS, ENV_SETTINGS, select
from tui.serve_plan import serve_plan, service_config
from tui.service.notify.smtp import SmtpServer
from tui.service.salesforce import salesforce_url
from tui.service.salesforce_errors import SignInError
from tui.service.sfauth_methods import ClientCredentials, GivenToken, JwtBearer

CLIENT_SECRET = "cs-Secret-4711-abcdef"
ACCESS_TOKEN = "00Dxx0000001gPL!AQ4AQFakeTokenValue"
API_TOKEN = "api-Token-0815-zyxwvu"
SMTP_PASSWORD = "smtp-Pass-1234-qwerty"
WEBHOOK = "https://hooks.example.com/services/T000/B000/XyZsecretPart"
SECRETS = [CLIENT_SECRET, ACCESS_TOKEN, API_TOKEN, SMTP_PASSWORD, "XyZsecretPart"]


@pytest.fixture(autouse=True)
def no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("SYNCHEALTH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SYNCHEALTH_CACHE_DIR", str(tmp_path / "cache"))
    for name in [*ENV_SETTINGS, *ENV_SECRETS, "SYNCHEALTH_PROFILE", "SYNCHEALTH_CONFIG"]:
        monkeypatch.delenv(name, raising=False)


def secret_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(mode)
    return path


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def plan_for(tmp_path: Path, text: str, env: dict[str, str] | None = None, **flags):
    return serve_plan(select(config_file(tmp_path, text), "p", environ=env or {}), **flags)


def refusal(tmp_path: Path, text: str, env: dict[str, str] | None = None, **flags) -> str:
    with pytest.raises(ConfigError) as caught:
        plan_for(tmp_path, text, env, **flags)
    message = str(caught.value)
    assert not any(secret in message for secret in SECRETS), message
    return message


CLIENT_CREDENTIALS = """
[profiles.p.serve]
db = "team.sqlite3"

[profiles.p.salesforce]
auth = "client_credentials"
domain_url = "https://acme.my.salesforce.com"
client_id = "3MVG9-key"
client_secret_file = "sf.secret"
api_version = "61.0"
"""


def test_a_client_credentials_profile_becomes_the_services_config(tmp_path: Path) -> None:
    secret_file(tmp_path / "sf.secret", CLIENT_SECRET)
    plan = plan_for(tmp_path, CLIENT_CREDENTIALS, {"SYNCHEALTH_API_TOKEN": API_TOKEN})
    link = plan.salesforce
    assert link is not None
    assert link.sign_in == ClientCredentials(
        domain_url="https://acme.my.salesforce.com",
        client_id="3MVG9-key",
        client_secret=SecretStr(CLIENT_SECRET),
    )
    assert plan.db == tmp_path / "team.sqlite3"  # relative to the config file
    assert plan.summary() == (
        "profile: p; Salesforce: client credentials at https://acme.my.salesforce.com"
    )
    config = service_config(plan, plan.db)
    assert config.sign_in == link.sign_in and config.mode == "live"
    assert config.api_version == "v61.0" and config.api_token == API_TOKEN
    assert config.org_name == "https://acme.my.salesforce.com"
    for shown in (repr(plan), repr(config), plan.summary()):
        assert not any(secret in shown for secret in SECRETS), shown


def test_the_environment_supplies_or_replaces_the_client_secret(tmp_path: Path) -> None:
    secret_file(tmp_path / "sf.secret", "from-the-file")
    plan = plan_for(tmp_path, CLIENT_CREDENTIALS, {"SYNCHEALTH_SF_CLIENT_SECRET": CLIENT_SECRET})
    assert plan.salesforce is not None
    sign_in = plan.salesforce.sign_in
    assert isinstance(sign_in, ClientCredentials)
    assert sign_in.client_secret.get_secret_value() == CLIENT_SECRET


def test_a_missing_client_secret_says_where_it_may_come_from(tmp_path: Path) -> None:
    text = CLIENT_CREDENTIALS.replace('client_secret_file = "sf.secret"\n', "")
    message = refusal(tmp_path, text)
    assert message == (
        "the client secret is missing: set client_secret_env or client_secret_file in "
        f"[profiles.p.salesforce] of {tmp_path / 'config.toml'}, or set "
        "$SYNCHEALTH_SF_CLIENT_SECRET"
    )


def test_a_client_secret_file_others_can_read_stops_the_start(tmp_path: Path) -> None:
    secret = secret_file(tmp_path / "sf.secret", CLIENT_SECRET, mode=0o644)
    message = refusal(tmp_path, CLIENT_CREDENTIALS)
    assert message == (
        f"refusing to read the client secret from {secret}: it can be read by other users "
        f"(mode 0644); run chmod 600 {secret}"
    )


def test_a_missing_key_names_the_key_and_its_variable(tmp_path: Path) -> None:
    secret_file(tmp_path / "sf.secret", CLIENT_SECRET)
    message = refusal(tmp_path, CLIENT_CREDENTIALS.replace('client_id = "3MVG9-key"\n', ""))
    assert message.startswith("auth = 'client_credentials' needs client_id: set it in")
    assert message.endswith("or set $SYNCHEALTH_SF_CLIENT_ID")


def test_plain_http_to_salesforce_is_refused(tmp_path: Path) -> None:
    secret_file(tmp_path / "sf.secret", CLIENT_SECRET)
    text = CLIENT_CREDENTIALS.replace("https://acme", "http://acme")
    assert "Salesforce needs https://" in refusal(tmp_path, text)


@pytest.mark.parametrize("url", ["https://[::1", "https://acme.my.salesforce.com:port"])
def test_an_org_url_urlsplit_refuses_is_a_clear_refusal_not_a_crash(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        serve_plan(
            select(environ={"SF_TOKEN": ACCESS_TOKEN}), org_url=url, org_token_env="SF_TOKEN"
        )
    assert str(caught.value) == (
        "--org-url must be an https:// address, for example https://acme.my.salesforce.com; "
        f"got {url!r}"
    )
    with pytest.raises(SignInError, match=r"^the org URL must be an https:// address"):
        salesforce_url(url, "the org URL")


def rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


JWT = """
[profiles.p.salesforce]
auth = "jwt"
client_id = "3MVG9-jwt"
username = "integration@acme.com.uat"
private_key_file = "keys/sf.key"
audience = "test"
"""


def test_a_jwt_profile_reads_the_key_file_and_defaults_the_login_url(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    pem = rsa_pem()
    secret_file(tmp_path / "keys" / "sf.key", pem)
    plan = plan_for(tmp_path, JWT)
    assert plan.salesforce is not None
    bearer = plan.salesforce.sign_in
    assert isinstance(bearer, JwtBearer)
    assert bearer.login_url == bearer.audience == "https://test.salesforce.com"
    assert bearer.private_key.get_secret_value() == pem.strip()
    assert (bearer.username, bearer.client_id) == ("integration@acme.com.uat", "3MVG9-jwt")
    assert plan.summary().endswith(
        "JWT bearer as integration@acme.com.uat at https://test.salesforce.com"
    )
    assert "PRIVATE KEY" not in repr(plan)
    mydomain = JWT + 'login_url = "https://acme--uat.sandbox.my.salesforce.com"\n'
    link = plan_for(tmp_path, mydomain).salesforce
    assert link is not None and isinstance(link.sign_in, JwtBearer)
    bearer = link.sign_in
    assert bearer.login_url == "https://acme--uat.sandbox.my.salesforce.com"
    assert bearer.audience == "https://test.salesforce.com"


def test_a_private_key_file_others_can_read_or_that_is_no_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    key = secret_file(tmp_path / "keys" / "sf.key", rsa_pem(), mode=0o640)
    message = refusal(tmp_path, JWT)
    assert message.startswith(f"refusing to read the JWT private key from {key}")
    assert "BEGIN" not in message
    secret_file(key, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")
    assert "does not hold a PEM private key" in refusal(tmp_path, JWT)


def test_the_environment_can_switch_the_sign_in_method(tmp_path: Path) -> None:
    env = {
        "SYNCHEALTH_SF_AUTH": "access_token",
        "SYNCHEALTH_SF_ACCESS_TOKEN": ACCESS_TOKEN,
        "SYNCHEALTH_SF_INSTANCE_URL": "https://acme.my.salesforce.com",
    }
    plan = plan_for(tmp_path, JWT, env)  # the profile's JWT keys are not read
    assert plan.salesforce is not None
    assert plan.salesforce.sign_in == GivenToken(
        access_token=SecretStr(ACCESS_TOKEN), instance_url="https://acme.my.salesforce.com"
    )
    assert ACCESS_TOKEN not in plan.summary()


def test_an_access_token_profile_and_a_missing_token(tmp_path: Path) -> None:
    text = """
[profiles.p.salesforce]
auth = "access_token"
instance_url = "https://acme.my.salesforce.com"
access_token_env = "ACME_TOKEN"
"""
    plan = plan_for(tmp_path, text, {"ACME_TOKEN": ACCESS_TOKEN})
    assert plan.salesforce is not None
    assert plan.salesforce.summary == "a given access token for https://acme.my.salesforce.com"
    assert refusal(tmp_path, text) == (
        "the access token is to be read from $ACME_TOKEN, which is not set"
    )


def test_an_sf_cli_profile_reads_the_saved_output(tmp_path: Path) -> None:
    text = '[profiles.p.salesforce]\nauth = "sf_cli"\nsf_cli_json_file = "org.json"\n'
    output = {
        "status": 0,
        "result": {
            "accessToken": ACCESS_TOKEN,
            "instanceUrl": "https://acme--uat.sandbox.my.salesforce.com",
            "username": "admin@acme.com.uat",
        },
    }
    org_json = secret_file(tmp_path / "org.json", orjson.dumps(output).decode())
    plan = plan_for(tmp_path, text)
    assert plan.salesforce is not None
    assert plan.salesforce.sign_in == GivenToken(
        access_token=SecretStr(ACCESS_TOKEN),
        instance_url="https://acme--uat.sandbox.my.salesforce.com",
    )
    org_json.chmod(0o644)
    assert "chmod 600" in refusal(tmp_path, text)
    secret_file(org_json, '{"status": 1, "message": "No authorization information found"}')
    message = refusal(tmp_path, text)
    assert message.startswith(f"{org_json}: the sf CLI reported a failure")


def test_org_url_is_a_given_token_from_the_named_variable(tmp_path: Path) -> None:
    selection = select(environ={"SF_TOKEN": ACCESS_TOKEN})
    plan = serve_plan(
        selection, org_url="https://acme.my.salesforce.com/", org_token_env="SF_TOKEN"
    )
    assert plan.salesforce is not None
    assert plan.salesforce.sign_in == GivenToken(
        access_token=SecretStr(ACCESS_TOKEN), instance_url="https://acme.my.salesforce.com"
    )
    with pytest.raises(ConfigError, match=r"read from \$SF_TOKEN, which is not set"):
        serve_plan(
            select(environ={}), org_url="https://a.my.salesforce.com", org_token_env="SF_TOKEN"
        )


def test_a_missing_ca_bundle_stops_the_start(tmp_path: Path) -> None:
    secret_file(tmp_path / "sf.secret", CLIENT_SECRET)
    text = CLIENT_CREDENTIALS + 'ca_file = "proxy-ca.pem"\n'
    message = refusal(tmp_path, text)
    assert "proxy-ca.pem" in message and "ca_file" in message


# --- notifications --------------------------------------------------------------------

NOTIFY = """
[profiles.p.notify]
smtp_host = "smtp.example.com"
smtp_security = "tls"
smtp_username = "bot@example.com"
smtp_password_file = "smtp.pass"
smtp_sender = "Sync Health <bot@example.com>"
webhook_url_file = "hook.url"
"""


def test_the_mail_server_and_webhook_come_from_the_profile(tmp_path: Path) -> None:
    secret_file(tmp_path / "smtp.pass", SMTP_PASSWORD)
    secret_file(tmp_path / "hook.url", WEBHOOK)
    plan = plan_for(tmp_path, NOTIFY, demo=True)
    assert plan.smtp == SmtpServer(
        host="smtp.example.com",
        port=465,
        security="tls",
        username="bot@example.com",
        password=SecretStr(SMTP_PASSWORD),
        sender="Sync Health <bot@example.com>",
    )
    assert plan.webhook_url is not None and plan.webhook_url.get_secret_value() == WEBHOOK
    config = service_config(plan, tmp_path / "x.sqlite3", org_token="t", mode="simulated")
    assert config.smtp == plan.smtp and config.webhook_url == plan.webhook_url
    assert not any(secret in repr(config) + repr(plan) for secret in SECRETS)
    env = {"SYNCHEALTH_SMTP_PORT": "2465", "SYNCHEALTH_SMTP_PASSWORD": "from-env"}
    smtp = plan_for(tmp_path, NOTIFY, env, demo=True).smtp
    assert smtp is not None and smtp.port == 2465
    assert smtp.password is not None and smtp.password.get_secret_value() == "from-env"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('smtp_sender = "Sync Health <bot@example.com>"\n', ""), "smtp_host needs smtp_sender"),
        (('smtp_password_file = "smtp.pass"\n', ""), "needs both a username and a password"),
        (('smtp_host = "smtp.example.com"\n', ""), "set without smtp_host"),
        (('"tls"', '"none"'), "would send the password in clear text"),
        (("<bot@example.com>", "<bot>"), "is not an address like bot@example.com"),
    ],
)
def test_mail_server_settings_that_cannot_work_are_refused(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    secret_file(tmp_path / "smtp.pass", SMTP_PASSWORD)
    secret_file(tmp_path / "hook.url", WEBHOOK)
    assert expected in refusal(tmp_path, NOTIFY.replace(*change), demo=True)


def test_a_plain_http_webhook_is_refused_without_showing_it(tmp_path: Path) -> None:
    secret_file(tmp_path / "smtp.pass", SMTP_PASSWORD)
    secret_file(tmp_path / "hook.url", WEBHOOK.replace("https://", "http://"))
    message = refusal(tmp_path, NOTIFY, demo=True)
    assert "must use https://" in message and "hooks.example.com" in message


# --- the real process -------------------------------------------------------------------


def serve(config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ENV_SETTINGS and k not in ENV_SECRETS}
    return subprocess.Popen(
        [sys.executable, "-m", "tui", "serve", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**clean, **(env or {})},
    )


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.terminate()
    out, err = proc.communicate(timeout=15)
    assert proc.returncode in (0, -signal.SIGTERM), err
    assert "Traceback" not in err
    return out, err


def test_serve_and_export_share_a_profile_over_real_http(tmp_path: Path, capsys) -> None:
    from tui.cli import main

    port = free_port()
    secret_file(tmp_path / "api.token", API_TOKEN)
    config = config_file(
        tmp_path,
        f"""
default_profile = "ops"

[profiles.ops]
service_url = "http://127.0.0.1:{port}"
token_file = "api.token"

[profiles.ops.serve]
port = {port}
api_token_file = "api.token"
""",
    )
    proc = serve(config, "--demo", "--demo-size", "200", "--db", str(tmp_path / "demo.sqlite3"))
    try:
        wait_for(f"http://127.0.0.1:{port}/v1/health", proc)  # health needs no token
        usage = httpx.get(f"http://127.0.0.1:{port}/v1/usage", timeout=10)
        assert usage.status_code == 401  # the profile's API token is in force
        output = tmp_path / "errors.csv"
        assert main(["export", "--config", str(config), "--status", "all", "-o", str(output)]) == 0
        with output.open(encoding="utf-8", newline="") as rows:
            assert len(list(csv.reader(rows))) == 1 + 200
        # another token is refused by the service: the export says so, and falls back to
        # the copy cached a moment ago
        secret_file(tmp_path / "wrong.token", "not-the-token")
        wrong = config.read_text(encoding="utf-8").replace(
            'token_file = "api.token"', 'token_file = "wrong.token"', 1
        )
        config.write_text(wrong, encoding="utf-8")
        capsys.readouterr()
        assert main(["export", "--config", str(config), "-o", str(tmp_path / "cached.csv")]) == 0
        err = capsys.readouterr().err
        assert "refused our token (HTTP 401)" in err and "exporting the cached copy" in err
        assert "not-the-token" not in err
    finally:
        out, err = stop(proc)
    assert "profile: ops; Salesforce: the simulated org (--demo)" in out
    assert API_TOKEN not in out + err
    # the token is in no file the run wrote: cache, exports, ledger (WAL files included)
    written = [p for p in tmp_path.rglob("*") if p.is_file() and not p.name.endswith(".token")]
    assert any(p.suffix == ".csv" for p in written)
    assert any("cache" in p.parts for p in written) and (tmp_path / "demo.sqlite3").exists()
    for path in written:
        assert API_TOKEN.encode() not in path.read_bytes(), path


def test_serve_refuses_a_profile_that_listens_widely_without_a_token(tmp_path: Path) -> None:
    config = config_file(tmp_path, '[profiles.wide.serve]\nhost = "0.0.0.0"\n')
    proc = serve(config, "--demo", "--profile", "wide", "--db", str(tmp_path / "x.sqlite3"))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "refusing to listen on 0.0.0.0 without an API token" in err
    assert not (tmp_path / "x.sqlite3").exists()


def test_serve_stops_on_a_secret_file_others_can_read(tmp_path: Path) -> None:
    token = secret_file(tmp_path / "api.token", API_TOKEN, mode=0o644)
    config = config_file(tmp_path, '[profiles.p.serve]\napi_token_file = "api.token"\n')
    proc = serve(config, "--demo", "--profile", "p", "--db", str(tmp_path / "x.sqlite3"))
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert err.strip() == (
        f"synchealth serve: refusing to read the service's API token from {token}: it can be "
        f"read by other users (mode 0644); run chmod 600 {token}"
    )
    assert API_TOKEN not in out + err


def test_serve_reports_a_refused_client_secret_on_stderr(tmp_path: Path) -> None:
    secret_file(tmp_path / "sf.secret", CLIENT_SECRET, mode=0o604)
    config = config_file(tmp_path, CLIENT_CREDENTIALS)
    proc = serve(config, "--profile", "p")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "refusing to read the client secret" in err and "chmod 600" in err
    assert CLIENT_SECRET not in out + err


@pytest.mark.parametrize("method", ["client_credentials", "jwt"])
def test_serve_with_a_live_profile_signs_in_to_the_standin(tmp_path: Path, method: str) -> None:
    """``serve --profile`` against the Salesforce stand-in on a loopback port."""
    import sfstandin

    keys = sfstandin.make_key_pair()
    if method == "client_credentials":
        secret_file(tmp_path / "sf.secret", sfstandin.CLIENT_SECRET)
        table = 'domain_url = "{url}"\nclient_secret_file = "sf.secret"\n'
    else:
        secret_file(tmp_path / "sf.key", keys.private_pem)
        table = 'login_url = "{url}"\nusername = "{user}"\nprivate_key_file = "sf.key"\n'
    port = free_port()
    with sfstandin.standin_in_thread(
        connected_app=sfstandin.app_for(keys), daily_limit=23456
    ) as sf:
        config = config_file(
            tmp_path,
            f'[profiles.live.salesforce]\nauth = "{method}"\n'
            f'client_id = "{sfstandin.CLIENT_ID}"\n'
            + table.format(url=sf.url, user=sfstandin.USERNAME),
        )
        db = str(tmp_path / "live.sqlite3")
        proc = serve(config, "--profile", "live", "--port", str(port), "--db", db)
        try:
            usage = wait_for(f"http://127.0.0.1:{port}/v1/usage", proc)
            assert usage.status_code == 200, usage.text
            body = usage.json()
            assert body["salesforce_limit"] == 23456
            assert body["org_used"] == sf.org.api_used
            assert sf.oauth.sign_ins == 1
        finally:
            out, err = stop(proc)
    expected = {
        "client_credentials": f"client credentials at {sf.url}",
        "jwt": f"JWT bearer as {sfstandin.USERNAME} at {sf.url}",
    }
    assert f"profile: live; Salesforce: {expected[method]}" in out
    assert "mode: live" in out
    leaked = [sfstandin.CLIENT_SECRET, keys.private_pem.splitlines()[1], *sf.oauth.issued]
    assert not any(secret in out + err for secret in leaked)
