"""The headless half of synchealth must run without Textual.

Each package is imported (every module in it) in a fresh interpreter, which then
reports whether Textual (or Rich, which only the console needs) got loaded.
"""

import subprocess
import sys

import pytest

HEADLESS = ["tui.core", "tui.data", "tui.service", "tui.simorg"]
#: Every command module (the package is walked), the CLI and the settings it reads.
HEADLESS_COMMANDS = ["tui.commands", "tui.cli", "tui.config", "tui.profiles", "tui.serve_plan"]

PROBE = """
import importlib, pkgutil, sys
for name in sys.argv[1:]:
    module = importlib.import_module(name)
    if hasattr(module, "__path__"):
        for info in pkgutil.walk_packages(module.__path__, name + "."):
            importlib.import_module(info.name)
print(sorted(m for m in sys.modules if m.split(".")[0] == "textual"))
"""


@pytest.mark.parametrize("package", HEADLESS)
def test_headless_package_never_imports_textual(package: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, package], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]", f"{package} pulled in {out}"


def test_cli_and_its_commands_load_without_textual() -> None:
    """The console command imports Textual only when it runs."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *HEADLESS_COMMANDS],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "[]", out


def test_the_probe_does_see_textual_when_it_is_imported() -> None:
    """Guard against a probe that could never fail."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE, "tui.app"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert "'textual'" in out
