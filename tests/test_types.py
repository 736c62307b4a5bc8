"""The type checker keeps the seams between layers honest: mypy runs over the core packages.

The core is every package of fleetui except those listed in NOT_YET_CHECKED, which are still
checked where the core uses them (their types are read) but whose own errors are not reported
here. A cold run takes ~30 s on a 2-core machine, a warm one a few seconds: the cache lives in
the repository's .mypy_cache like any mypy run there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "fleetui"
# Packages left out while they have type errors of their own (add a name only with a reason and
# an issue). Empty: every package of fleetui is checked.
NOT_YET_CHECKED: tuple[str, ...] = ()


def mypy(*targets: str | Path) -> subprocess.CompletedProcess[str]:
    # --follow-imports=silent: a module the targets import is read for its types, and its own
    # errors are left to the run that targets it.
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--follow-imports=silent",
         "--no-error-summary", "--hide-error-context", *map(str, targets)],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )


def core_targets() -> list[Path]:
    return sorted(p for p in PACKAGE.iterdir()
                  if p.name not in NOT_YET_CHECKED and (p.suffix == ".py" or (p / "__init__.py").exists()))


def test_the_core_packages_type_check() -> None:
    targets = core_targets()
    assert {"store", "config", "routing", "analysis", "shim", "serve", "tui", "cli"} <= {p.name for p in targets}
    result = mypy(*targets)
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert result.returncode == 0 and not errors, "mypy found:\n" + (
        "\n".join(errors) or result.stdout + result.stderr
    )


def test_the_check_fails_on_a_type_error(tmp_path: Path) -> None:
    """The same configuration reports a real mismatch, so a clean run above means something."""
    bad = tmp_path / "bad.py"
    bad.write_text("from fleetui.store.rollups import Totals\n\n"
                   "def share(t: Totals) -> str:\n    return t.calls\n")
    result = mypy(bad)
    assert result.returncode == 1
    assert 'bad.py:4: error: Incompatible return value type (got "int", expected "str")' in result.stdout
