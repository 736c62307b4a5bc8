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


def loaded_by(code: str, modules: tuple[str, ...]) -> list[str]:
    """Which of `modules` a fresh interpreter has imported after running `code`."""
    script = f"import sys\n{code}\nprint(','.join(m for m in {modules!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return [m for m in result.stdout.strip().split(",") if m]


def test_importing_the_shim_loads_nothing_heavy() -> None:
    heavy = ("textual", "numpy", "sklearn", "pydantic", "sqlite_utils", "genai_prices", "httpx")
    assert loaded_by("import fleetui.shim, fleetui", heavy) == []


def test_reading_a_fleet_imports_neither_the_router_nor_the_ui() -> None:
    code = (
        "from fleetui.config.fleetfile import load_fleet\n"
        "from fleetui import locations\n"
        "assert load_fleet(locations.sample_fleet_file()).rules, 'rules, so conditions were parsed'\n"
    )
    modules = ("fleetui.routing.router", "fleetui.routing.strategies", "fleetui.routing.ab", "textual", "tomlkit",
               "httpx", "numpy")
    assert loaded_by(code, modules) == []
