"""``synchealth [console options] [COMMAND]``: the console's options before any command.

Each command is run for real after an option given before its name, and the test checks
that the option reached the command (the language of its words, the profile's service it
tried to reach, the config file it read), not just that parsing passed.
"""

from __future__ import annotations

import io
import json
import socket
import sys
from pathlib import Path

import pytest

from tui.cli import main
from tui.core.catalog import load_catalog

ERROR = {"errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "message": "bad value"}


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No config file, profile, service or locale from whoever runs the tests."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    for name in ("LC_ALL", "LC_MESSAGES", "SYNCHEALTH_CONFIG", "SYNCHEALTH_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("SYNCHEALTH_URL", "SYNCHEALTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def profile_to_nowhere(tmp_path: Path) -> tuple[Path, str]:
    """A config whose profile ``p`` names a service on a port nothing listens on."""
    url = f"http://127.0.0.1:{closed_port()}"
    return config_file(tmp_path, f'[profiles.p]\nservice_url = "{url}"\n'), url


def picklist_title(lang: str) -> str:
    return load_catalog().subtype("picklist.restricted_value").text(lang).title


def test_catalog_after_lang(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "ja", "catalog"]) == 0
    out = capsys.readouterr().out
    assert picklist_title("ja") in out and "解決方法:" in out


def test_catalog_after_config_reads_that_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path, 'lang = "ja"\n')
    assert main(["--config", str(config), "catalog"]) == 0
    assert picklist_title("ja") in capsys.readouterr().out
    assert main(["--config", str(tmp_path / "missing.toml"), "catalog"]) == 2
    err = capsys.readouterr().err
    assert err == f"synchealth catalog: config file {tmp_path / 'missing.toml'} does not exist\n"


@pytest.mark.parametrize("before", [["--lang", "ja"], ["--config", "CONFIG"]])
def test_classify_after_lang_or_config(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    before: list[str],
) -> None:
    config = config_file(tmp_path, 'lang = "ja"\n')
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(ERROR) + "\n"))
    args = [str(config) if a == "CONFIG" else a for a in before]
    assert main([*args, "classify"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["title"] == picklist_title("ja")


def test_doctor_after_config_and_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, url = profile_to_nowhere(tmp_path)
    assert main(["--config", str(config), "--profile", "p", "doctor", "--json"]) == 1
    service = json.loads(capsys.readouterr().out)["checks"][0]
    assert service["id"] == "service" and service["status"] == "red"
    assert f"Cannot reach the Sync Health service at {url}" in service["found"]


def test_export_after_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    code = main(["--url", url, "export", "-o", str(tmp_path / "out.csv")])
    assert code == 1
    assert f"Cannot reach the Sync Health service at {url}" in capsys.readouterr().err


def test_ingest_after_config_and_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, url = profile_to_nowhere(tmp_path)
    failures = tmp_path / "failures.jsonl"
    failures.write_text("{}\n", encoding="utf-8")
    code = main(["--config", str(config), "--profile", "p", "ingest", str(failures)])
    assert code != 0
    assert url in capsys.readouterr().err


def test_serve_after_config_and_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_file(tmp_path, '[profiles.ops]\nservice_url = "http://127.0.0.1:1"\n')
    assert main(["--config", str(config), "--profile", "nosuch", "serve"]) == 2
    err = capsys.readouterr().err
    assert f"no profile 'nosuch' (--profile) in config file {config}" in err, err


@pytest.mark.parametrize("command", [[], ["console"]])
def test_the_console_with_or_without_its_name(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """An invalid --demo-size stops the console before Textual starts: proof it was read."""
    assert main(["--lang", "ja", "--demo-size", "0", *command]) == 2
    assert capsys.readouterr().err == "synchealth: --demo-size must be at least 1\n"


def test_an_unknown_command_is_named_with_the_commands_there_are(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--lang", "ja", "catlog"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "unknown command 'catlog'; the commands are console, serve, export, ingest," in err


def test_a_console_option_the_command_does_not_take_is_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--tz", "UTC", "catalog"])
    assert exited.value.code == 2
    assert "catalog does not take --tz UTC (synchealth catalog --help" in capsys.readouterr().err


def test_help_alone_is_the_overview_and_after_console_options_the_consoles(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "COMMAND" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--lang", "ja", "--help"])
    assert capsys.readouterr().out.startswith("usage: synchealth console ")
