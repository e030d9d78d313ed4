"""What the console's start imports, and what each part costs (``python -X importtime``).

Each run imports, in a fresh interpreter, what ``synchealth`` imports before its first
screen (the command line with every command's parser, the console command, the app), and
then, in another fresh interpreter, ``textual.app`` alone: the empty Textual app's
imports, the reference of the same run. Prints the median cumulative ms of the parts
named below (each counted where it is first imported, as ``-X importtime`` does) and the
whole, beside the reference.

    python bench/start_imports.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

from _common import compile_package

#: What ``python -m tui`` imports before the console's first screen.
CONSOLE_START = (
    "import tui.cli; tui.cli.build_parser(); import tui.commands.console; import tui.app"
)
REFERENCE = "import textual.app"
#: The parts shown; each row adds up wherever in the tree the module was first imported.
PARTS = (
    "textual",
    "textual.app",
    "pydantic",
    "httpx",
    "click",
    "pygments",
    "orjson",
    "aiosqlite",
    "platformdirs",
    "tui.profiles",
    "tui.config",
    "tui.core.models",
    "tui.core.notify_models",
    "tui.data.session",
    "tui.data.client",
    "tui.data.cache",
    "tui.embedded",
    "tui.palette",
    "tui.screens.health",
    "tui.commands.serve",
    "tui.commands.serve_tokens",
)


def importtime(code: str) -> dict[str, float]:
    """Cumulative ms of every module ``code`` imports, and ``total`` (the top level's sum)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    got: dict[str, float] = {"total": 0.0}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        module = name.strip()
        ms = int(cumulative) / 1000
        got.setdefault(module, ms)
        if not name.startswith("  "):  # a top-level import: its tree counted once
            got["total"] += ms
    return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    compile_package()
    console: list[dict[str, float]] = []
    reference: list[float] = []
    for _ in range(runs):
        console.append(importtime(CONSOLE_START))
        reference.append(importtime(REFERENCE)["total"])
    ref = statistics.median(reference)
    print(f"median of {runs} runs, ms (cumulative, where first imported)")
    print(f"{'part':<28}{'ms':>9}")
    for part in PARTS:
        times = [run.get(part, 0.0) for run in console]
        if any(times):
            print(f"{part:<28}{statistics.median(times):>9.0f}")
    total = statistics.median(run["total"] for run in console)
    print(f"{'console start, all':<28}{total:>9.0f} = {total / ref:.2f}x the reference")
    print(f"{'reference: ' + REFERENCE:<28}{ref:>9.0f}")


if __name__ == "__main__":
    main()
