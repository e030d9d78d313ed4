"""The console's TOML config: defaults, validation messages, the keymap, the CLI's error path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.config import Config, ConfigError, default_config_path, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_file_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'lang = "ja"\nrefresh_interval = 10\nexport_dir = "~/x"\n'
        '[keymap]\nresync = "R"\nmark_all = "ctrl+a, A"\n',
    )
    config = load_config(path)
    assert config.lang == "ja"
    assert config.refresh_interval == 10
    assert config.export_dir == Path("~/x").expanduser()
    assert config.keymap == {"resync": "R", "mark_all": "ctrl+a,A"}


def test_no_default_file_means_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "nowhere"))
    assert default_config_path().name == "config.toml"
    assert "synchealth" in str(default_config_path())
    assert load_config() == Config()


def test_a_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lang = ", "not valid TOML"),
        ('lang = "fr"', "lang"),
        ('refresh_interval = "often"', "refresh_interval"),
        ("refresh_interval = 0.5", "refresh_interval"),
        ("colour = 1", "colour"),
        ('[keymap]\nresync = "R,"', "'resync'"),
    ],
)
def test_bad_files_name_the_setting(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert expected in str(caught.value)
    assert str(path) in str(caught.value)


def test_the_cli_reports_a_bad_config_on_stderr(tmp_path: Path, capsys) -> None:
    from tui.cli import main

    path = write(tmp_path, "refresh_interval = -3")
    assert main(["--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "refresh_interval" in err and str(path) in err


async def test_the_keymap_remaps_a_binding(make_app, wait_ready) -> None:
    from tui.widgets.errorgrid import ErrorGrid

    app = make_app(config=Config(keymap={"mark": "m", "mark_all": "M"}))
    async with app.run_test(size=(120, 40)) as pilot:
        grid = app.screen.query_one(ErrorGrid)
        await wait_ready(pilot, lambda: grid.total > 1)
        ids = list(await app.session.view_ids(grid.view, grid.sort, grid.descending))
        await pilot.press("m")
        assert app.marks == {ids[0]}
        await pilot.press("M")
        await wait_ready(pilot, lambda: app.marks == set(ids))
        keys = str(app.screen.query_one("#keys").render())
        assert " m " in keys


async def test_unknown_keymap_ids_are_reported(make_app, wait_ready) -> None:
    app = make_app(config=Config(keymap={"no_such_binding": "x"}))
    # The toast lives 5 s; a busy machine (xdist beside other work) takes longer to settle.
    app.NOTIFICATION_TIMEOUT = 600  # type: ignore[misc]
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        messages = [n.message for n in app._notifications]
        assert any("no_such_binding" in m for m in messages)
