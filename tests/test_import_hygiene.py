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



def _imported_modules(path: Path) -> list[str]:
    """Every fleetui module a file imports, absolute or relative, at any depth of the file."""
    package = ".".join(("fleetui", *path.relative_to(PACKAGE).with_suffix("").parts[:-1]))
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found += [base, *(f"{base}.{a.name}" for a in node.names)]
    return [m for m in found if m.startswith("fleetui")]


def test_the_core_never_imports_the_interfaces() -> None:
    # The CLI and the app are thin shells over the layers: an arrow back up from a layer to
    # them would make the core unusable without its UI (and is how import cycles start).
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        layer = path.relative_to(PACKAGE).parts[0]
        if layer in ("cli", "tui", "__main__.py"):
            continue
        for module in _imported_modules(path):
            if module.startswith(("fleetui.cli", "fleetui.tui")):
                offenders.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert offenders == []


def test_the_cli_never_imports_the_app_at_module_level() -> None:
    # `fleetui status` must not pay for Textual: only the `tui` command loads the app, lazily.
    code = (
        "import sys, fleetui.cli\n"
        "print(','.join(m for m in ('textual', 'fleetui.tui') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_opentelemetry_is_imported_only_by_the_recorders_thread(tmp_path: Path) -> None:
    """With [otel] set, the app's thread records calls without OpenTelemetry; the writer thread
    loads it (here it may be absent: then nothing loads it, and that is fine too)."""
    fleet = tmp_path / "fleet.toml"
    fleet.write_text('name = "f"\n[otel]\nendpoint = "http://127.0.0.1:9"\n', encoding="utf-8")
    code = (
        "import sys, threading\n"
        "seen = []\n"
        "class Watch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'opentelemetry' and not seen:\n"
        "            seen.append(threading.current_thread().name)\n"
        "sys.meta_path.insert(0, Watch())\n"
        "import fleetui.shim\n"
        "from fleetui.shim.recorder import Recorder\n"
        "from fleetui.store.records import CallRecord\n"
        f"r = Recorder({str(tmp_path / 'c.db')!r}, fleet_path={str(fleet)!r})\n"
        "for _ in range(50): r.record(CallRecord(request_model='m'))\n"
        "on_app_thread = 'opentelemetry' in sys.modules and seen[:1] == ['MainThread']\n"
        "assert r.flush(20)\n"
        "print('app-thread' if on_app_thread or seen[:1] == ['MainThread'] else ','.join(seen) or 'none')\n"
    )
    import importlib.util

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    expected = "fleetui-recorder" if importlib.util.find_spec("opentelemetry.sdk") else "none"
    assert result.stdout.strip().splitlines()[-1] == expected, result.stdout + result.stderr
