"""What the console's start imports, and what each part costs (``python -X importtime``).

Each run imports, in a fresh interpreter, what ``synchealth`` imports before its first
screen (the command line with every command's parser, the console command, the app), and
then, in another fresh interpreter, ``textual.app`` alone: the empty Textual app's
imports, the reference of the same run. Prints the median cumulative ms of the parts
named below (each counted where it is first imported, as ``-X importtime`` does) and the
whole, beside the reference.

    python bench/start_imports.py [--runs 5] [--before DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from _common import compile_package

#: What ``python -m tui`` imports before the console's first screen.
CONSOLE_START = (
    "import tui.cli; tui.cli.build_parser(('console',)); "
    "import tui.commands.console; import tui.app"
)
#: The same before the command line built only the parser of the command it runs.
BEFORE_START = "import tui.cli; tui.cli.build_parser(); import tui.commands.console; import tui.app"
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


def importtime(code: str, tree: Path | None = None) -> dict[str, float]:
    """Cumulative ms of every module ``code`` imports, and ``total`` (the top level's sum);
    ``tree``: with the ``tui`` package of that folder first on the path."""
    env = dict(os.environ) | ({} if tree is None else {"PYTHONPATH": str(tree)})
    done = subprocess.run(
        [sys.executable, *(() if tree is None else ("-P",)), "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
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
    parser.add_argument(
        "--before",
        type=Path,
        help="also the tui package in this folder (an export of an earlier commit), in the "
        "same turns; its start is imported as the code there has it (all the commands' "
        "parsers)",
    )
    args = parser.parse_args()
    compile_package()
    trees: dict[str, tuple[str, Path | None]] = {"now": (CONSOLE_START, None)}
    if args.before is not None:
        trees["before"] = (BEFORE_START, args.before)
    got: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    reference: list[float] = []
    for _ in range(args.runs):
        for name, (code, tree) in trees.items():
            got[name].append(importtime(code, tree))
        reference.append(importtime(REFERENCE)["total"])
    ref = statistics.median(reference)
    print(f"median of {args.runs} runs, ms (cumulative, where first imported)")
    print(f"{'part':<28}" + "".join(f"{name:>9}" for name in trees))
    for part in (*PARTS, "total"):
        times = {
            name: statistics.median(r.get(part, 0.0) for r in runs) for name, runs in got.items()
        }
        if any(times.values()):
            label = "console start, all" if part == "total" else part
            print(f"{label:<28}" + "".join(f"{ms:>9.0f}" for ms in times.values()))
    for name, runs in got.items():
        total = statistics.median(r["total"] for r in runs)
        print(f"{name}: {total:.0f} ms = {total / ref:.2f}x the reference")
    print(f"reference, {REFERENCE}: {ref:.0f} ms")


if __name__ == "__main__":
    main()
