"""The core never imports the UI, and the shim stays light for the apps that load it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "fleetui"


def test_only_the_tui_imports_textual() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "tui" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n == "textual" or n.startswith(("textual.", "textual_plotext")) for n in names):
                offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


def test_importing_the_shim_loads_nothing_heavy() -> None:
    code = (
        "import sys, fleetui.shim, fleetui\n"
        "heavy = [m for m in ('textual', 'numpy', 'sklearn', 'pydantic', 'sqlite_utils', 'genai_prices', 'httpx')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_reading_a_fleet_imports_neither_the_router_nor_the_ui() -> None:
    code = (
        "import sys\n"
        "from fleetui.config.fleetfile import load_fleet\n"
        "from fleetui import locations\n"
        "fleet = load_fleet(locations.sample_fleet_file())\n"
        "assert fleet.rules, 'the sample has rules, so their conditions were parsed'\n"
        "loaded = [m for m in ('fleetui.routing.router', 'fleetui.routing.strategies', 'fleetui.routing.ab',"
        " 'textual', 'tomlkit', 'httpx', 'numpy') if m in sys.modules]\n"
        "print(','.join(loaded))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
