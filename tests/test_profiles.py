"""Profiles in the config file, environment overrides, and which value wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.config import ConfigError, load_config
from tui.profiles import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    ENV_SECRETS,
    ENV_SETTINGS,
    select,
    service_target,
)
from tui.serve_plan import serve_plan

TOKEN = "console-token-Zq81x"
OTHER = "another-token-Kp02y"

FULL = """
lang = "en"
default_profile = "team"

[profiles.team]
service_url = "https://synchealth.example.com/"
token_file = "team.token"

[profiles.ops.serve]
host = "0.0.0.0"
port = 9000
db = "ledgers/ops.sqlite3"
api_token_env = "TEAM_API_TOKEN"
org_name = "Acme production"

[profiles.team.salesforce]
auth = "client_credentials"
domain_url = "https://acme.my.salesforce.com"
client_id = "3MVG9-consumer-key"
client_secret_file = "sf.secret"
api_version = "61.0"

[profiles.team.notify]
smtp_host = "smtp.example.com"
smtp_security = "tls"
smtp_username = "bot@example.com"
smtp_password_env = "ACME_SMTP_PASSWORD"
smtp_sender = "Sync Health <bot@example.com>"
smtp_timeout = 20
webhook_url_file = "hook.url"

[profiles.sandbox]
service_url = "http://127.0.0.1:8765"
token_env = "SANDBOX_TOKEN"

[profiles.sandbox.salesforce]
auth = "jwt"
client_id = "3MVG9-sandbox"
username = "integration@acme.com.sandbox"
private_key_file = "/etc/synchealth/sandbox.key"
audience = "test"
"""


@pytest.fixture(autouse=True)
def no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No real config file and no SYNCHEALTH_* settings of the machine leak into a test."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("SYNCHEALTH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SYNCHEALTH_CACHE_DIR", str(tmp_path / "cache"))
    for name in [*ENV_SETTINGS, *ENV_SECRETS, "SYNCHEALTH_PROFILE", "SYNCHEALTH_CONFIG"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SYNCHEALTH_URL", raising=False)


def write_config(tmp_path: Path, text: str = FULL) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def owner_only(path: Path, text: str) -> Path:
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def error_of(call, *args, **kwargs) -> str:
    with pytest.raises(ConfigError) as caught:
        call(*args, **kwargs)
    return str(caught.value)


def test_every_table_of_a_profile_is_read(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    team = config.profiles["team"]
    assert config.default_profile == "team"
    assert team.service_url == "https://synchealth.example.com"  # trailing slash dropped
    assert team.serve.host is None  # an absent table means every key unset
    ops = config.profiles["ops"].serve
    assert ops.port == 9000 and ops.host == "0.0.0.0" and ops.db == "ledgers/ops.sqlite3"
    assert team.salesforce.auth == "client_credentials"
    assert team.salesforce.api_version == "v61.0"
    assert team.notify.smtp_security == "tls" and team.notify.smtp_timeout == 20
    sandbox = config.profiles["sandbox"]
    assert sandbox.salesforce.audience == "test"


def test_the_console_keys_still_work_beside_profiles(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, 'refresh_interval = 5\n[keymap]\nresync = "R"\n'))
    assert config.refresh_interval == 5 and config.keymap == {"resync": "R"}
    assert config.profiles == {} and config.default_profile is None


@pytest.mark.parametrize(
    ("table", "key", "instead"),
    [
        ("[profiles.team]", "token", "token_env or token_file"),
        ("[profiles.team.serve]", "api_token", "api_token_env or api_token_file"),
        ("[profiles.team.salesforce]", "client_secret", "client_secret_env or client_secret_file"),
        ("[profiles.team.salesforce]", "access_token", "access_token_env or access_token_file"),
        ("[profiles.team.salesforce]", "private_key", "private_key_file"),
        ("[profiles.team.notify]", "smtp_password", "smtp_password_env or smtp_password_file"),
        ("[profiles.team.notify]", "webhook_url", "webhook_url_env or webhook_url_file"),
        ("", "token", "token_env or token_file"),
    ],
)
def test_a_secret_written_in_the_file_is_refused_without_echoing_it(
    tmp_path: Path, table: str, key: str, instead: str
) -> None:
    path = write_config(tmp_path, f'{table}\n{key} = "{TOKEN}"\n')
    message = error_of(load_config, path)
    where = table.strip("[]")
    assert (f"{where}.{key}" if where else key) in message
    assert instead in message and str(path) in message
    assert TOKEN not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[profiles.team.salesforce]\ncolour = "red"', "profiles.team.salesforce.colour"),
        ('[profiles.team.serve]\nport = "eighty"', "profiles.team.serve.port"),
        ("[profiles.team.serve]\nport = 70000", "profiles.team.serve.port"),
        ('[profiles.team]\nservice_url = "synchealth.example.com"', "service_url"),
        ('[profiles.team.salesforce]\nauth = "password"', "profiles.team.salesforce.auth"),
        ('[profiles.team.salesforce]\napi_version = "latest"', "must look like v62.0"),
        ('[profiles.team.salesforce]\naudience = "prod"', "audience"),
        ('[profiles.team.notify]\nsmtp_security = "ssl"', "smtp_security"),
        ('[profiles.team]\ntoken_env = "NOT VALID"', "profiles.team.token_env"),
        ('[profiles."bad name"]', "profiles.bad name"),
        ('default_profile = "prod"\n[profiles.team]', "default_profile 'prod' is not"),
        (
            '[profiles.team.salesforce]\nclient_secret_env = "A"\nclient_secret_file = "b"',
            "give client_secret_env or client_secret_file, not both",
        ),
        (
            '[profiles.team]\ntoken_env = "A"\ntoken_file = "b"',
            "give token_env or token_file, not both",
        ),
        (
            '[profiles.team.salesforce]\nauth = "jwt"\ndomain_url = "https://a.my.salesforce.com"',
            "domain_url not used with auth = 'jwt', which reads audience, client_id",
        ),
    ],
)
def test_bad_profiles_name_the_file_the_profile_and_the_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write_config(tmp_path, text)
    message = error_of(load_config, path)
    assert expected in message and str(path) in message


def test_synchealth_config_names_the_file_when_no_flag_does(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    assert select(environ={"SYNCHEALTH_CONFIG": str(path)}).name == "team"
    message = error_of(select, environ={"SYNCHEALTH_CONFIG": str(tmp_path / "gone.toml")})
    assert "gone.toml does not exist" in message


def test_the_profile_comes_from_the_flag_then_the_environment_then_the_default(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path)
    assert select(path, environ={}).name == "team"
    assert select(path, environ={"SYNCHEALTH_PROFILE": "sandbox"}).name == "sandbox"
    assert select(path, "team", environ={"SYNCHEALTH_PROFILE": "sandbox"}).name == "team"
    without_default = write_config(tmp_path, "[profiles.a]\n")
    assert select(without_default, environ={}).name is None


def test_an_unknown_profile_lists_the_known_ones(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    message = error_of(select, path, "prod", environ={})
    assert message == (
        f"no profile 'prod' (--profile) in config file {path}; profiles there: ops, sandbox, team"
    )
    from_env = error_of(select, path, environ={"SYNCHEALTH_PROFILE": "qa"})
    assert "(SYNCHEALTH_PROFILE)" not in from_env and "($SYNCHEALTH_PROFILE)" in from_env


def test_a_profile_asked_for_without_a_config_file_says_the_file_is_missing(
    tmp_path: Path,
) -> None:
    message = error_of(select, None, "team", environ={})
    assert "no profile 'team' (--profile) in config file" in message
    assert "(it does not exist); profiles there: none" in message


# --- the console side -------------------------------------------------------------


def test_the_service_url_and_token_come_from_the_profile(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    owner_only(tmp_path / "team.token", TOKEN)  # relative to the config file's directory
    target = service_target(select(path, environ={}))
    assert target.url == "https://synchealth.example.com"
    assert target.token_value == TOKEN
    assert target.profile == "team"
    assert TOKEN not in repr(target)


def test_the_selection_and_target_never_show_a_secret(tmp_path: Path) -> None:
    selection = select(write_config(tmp_path), "sandbox", environ={"SANDBOX_TOKEN": TOKEN})
    target = service_target(selection)
    assert target.token_value == TOKEN
    for shown in (repr(selection), str(selection), repr(target), str(target)):
        assert TOKEN not in shown


def test_flag_beats_environment_beats_profile(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    owner_only(tmp_path / "team.token", TOKEN)
    env = {"SYNCHEALTH_URL": "https://env.example.com", "SYNCHEALTH_TOKEN": OTHER}
    from_env = service_target(select(path, environ=env))
    assert (from_env.url, from_env.token_value) == ("https://env.example.com", OTHER)
    from_flags = service_target(select(path, environ=env), "http://flag:1", "flag-token")
    assert (from_flags.url, from_flags.token_value) == ("http://flag:1", "flag-token")


def test_token_env_names_the_variable_and_must_be_set(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    target = service_target(select(path, "sandbox", environ={"SANDBOX_TOKEN": OTHER}))
    assert target.token_value == OTHER and target.url == "http://127.0.0.1:8765"
    message = error_of(service_target, select(path, "sandbox", environ={}))
    assert message == "the service's API token is to be read from $SANDBOX_TOKEN, which is not set"


def test_a_token_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    token_file = owner_only(tmp_path / "team.token", TOKEN)
    token_file.chmod(0o644)
    message = error_of(service_target, select(path, environ={}))
    assert message == (
        f"refusing to read the service's API token from {token_file}: it can be read by "
        f"other users (mode 0644); run chmod 600 {token_file}"
    )
    assert TOKEN not in message


def test_without_a_profile_the_embedded_demo_is_the_target(tmp_path: Path) -> None:
    target = service_target(select(environ={}))
    assert target.url is None and target.token is None and target.profile is None


def test_a_bad_synchealth_url_is_named(tmp_path: Path) -> None:
    message = error_of(
        service_target,
        select(write_config(tmp_path), environ={"SYNCHEALTH_URL": "synchealth:8765"}),
    )
    assert message.startswith("$SYNCHEALTH_URL must be an absolute URL")


# --- the service side: listening, ledger, API token ---------------------------------


def test_serve_values_come_from_flags_then_environment_then_profile_then_defaults(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path)
    env = {"TEAM_API_TOKEN": TOKEN}
    plan = serve_plan(select(path, "ops", environ=env), demo=True)
    assert (plan.host, plan.port, plan.org_name) == ("0.0.0.0", 9000, "Acme production")
    assert plan.api_token is not None and plan.api_token.get_secret_value() == TOKEN
    env |= {
        "SYNCHEALTH_HOST": "127.0.0.2",
        "SYNCHEALTH_PORT": "9100",
        "SYNCHEALTH_ORG_NAME": "From env",
        "SYNCHEALTH_API_TOKEN": OTHER,
    }
    plan = serve_plan(select(path, "ops", environ=env), demo=True)
    assert (plan.host, plan.port, plan.org_name) == ("127.0.0.2", 9100, "From env")
    assert plan.api_token is not None and plan.api_token.get_secret_value() == OTHER
    plan = serve_plan(
        select(path, "ops", environ=env),
        demo=True,
        host="::1",
        port=9200,
        token="t",
        org_name="Flag",
    )
    assert (plan.host, plan.port, plan.org_name) == ("::1", 9200, "Flag")
    assert plan.api_token is not None and plan.api_token.get_secret_value() == "t"
    bare = serve_plan(select(environ={}), demo=True)
    assert (bare.host, bare.port, bare.api_token, bare.profile) == (
        DEFAULT_HOST,
        DEFAULT_PORT,
        None,
        None,
    )


def test_relative_paths_follow_where_they_were_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path)
    (tmp_path / "ledgers").mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    env = {"TEAM_API_TOKEN": TOKEN, "SYNCHEALTH_SF_AUTH": "access_token"}
    env |= {"SYNCHEALTH_SF_INSTANCE_URL": "https://a.my.salesforce.com"}
    env |= {"SYNCHEALTH_SF_ACCESS_TOKEN": OTHER}
    plan = serve_plan(select(path, "ops", environ=env))
    assert plan.db == tmp_path / "ledgers" / "ops.sqlite3"  # from the file: next to it
    env["SYNCHEALTH_DB"] = "here.sqlite3"
    plan = serve_plan(select(path, "ops", environ=env))
    assert plan.db == work / "here.sqlite3"  # from the environment: the working directory


def test_a_demo_never_uses_the_profiles_ledger(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    env = {"TEAM_API_TOKEN": TOKEN, "SYNCHEALTH_DB": str(tmp_path / "env.sqlite3")}
    assert serve_plan(select(path, "ops", environ=env), demo=True).db is None
    flag = tmp_path / "flag.sqlite3"
    assert serve_plan(select(path, "ops", environ=env), demo=True, db=str(flag)).db == flag


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SYNCHEALTH_PORT", "eighty", "$SYNCHEALTH_PORT: Input should be a valid integer"),
        ("SYNCHEALTH_PORT", "0", "$SYNCHEALTH_PORT: Input should be greater than or equal to 1"),
        ("SYNCHEALTH_SF_AUTH", "password", "$SYNCHEALTH_SF_AUTH: Input should be"),
        ("SYNCHEALTH_SF_API_VERSION", "new", "$SYNCHEALTH_SF_API_VERSION: Value error, must look"),
        ("SYNCHEALTH_SMTP_SECURITY", "ssl", "$SYNCHEALTH_SMTP_SECURITY: Input should be"),
    ],
)
def test_a_bad_environment_value_names_the_variable(
    tmp_path: Path, name: str, value: str, expected: str
) -> None:
    env = {"TEAM_API_TOKEN": TOKEN, name: value}
    message = error_of(serve_plan, select(write_config(tmp_path), "ops", environ=env))
    assert message.startswith("invalid environment variable:") and expected in message


def test_every_environment_variable_is_documented() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text("utf-8")
    for name in [*ENV_SETTINGS, *ENV_SECRETS, "SYNCHEALTH_PROFILE", "SYNCHEALTH_CONFIG"]:
        assert f"`{name}`" in docs, name


def test_a_serve_without_any_org_says_what_to_pass(tmp_path: Path) -> None:
    message = error_of(serve_plan, select(environ={}))
    assert "--demo" in message and "--org-url" in message and "--profile" in message


def test_a_salesforce_table_without_auth_asks_for_it(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[profiles.p.salesforce]\nclient_id = "x"\n')
    message = error_of(serve_plan, select(path, "p", environ={}))
    assert "no sign-in method: set auth" in message and "[profiles.p.salesforce]" in message


def test_the_cli_reports_an_unknown_profile_with_exit_code_2(tmp_path: Path, capsys) -> None:
    from tui.cli import main

    path = write_config(tmp_path)
    for argv in (
        ["--config", str(path), "--profile", "prod"],
        ["export", "--config", str(path), "--profile", "prod"],
        ["serve", "--config", str(path), "--profile", "prod"],
    ):
        assert main(argv) == 2, argv
        assert "no profile 'prod'" in capsys.readouterr().err


def test_the_cli_never_prints_a_secret_it_refuses(tmp_path: Path, capsys) -> None:
    from tui.cli import main

    path = write_config(tmp_path)
    (tmp_path / "team.token").write_text(TOKEN, encoding="utf-8")
    (tmp_path / "team.token").chmod(0o640)
    assert main(["export", "--config", str(path)]) == 2
    captured = capsys.readouterr()
    assert "chmod 600" in captured.err and TOKEN not in captured.err + captured.out
