"""Where fleetui keeps its files.

Folders follow the platform's conventions (XDG on Linux) through platformdirs; each can be
moved with an env var, which is also how the tests keep every run in a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "fleetui"


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    return _env_path("FLEETUI_CONFIG_DIR") or Path(platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    return _env_path("FLEETUI_DATA_DIR") or Path(platformdirs.user_data_dir(APP))


def themes_dir() -> Path:
    """The user's own themes; fleetui's built-in themes ship inside the package."""
    return config_dir() / "themes"


def user_fleet_file() -> Path:
    return config_dir() / "fleet.toml"


def default_db() -> Path:
    return _env_path("FLEETUI_DB") or data_dir() / "fleetui.db"


def demo_db() -> Path:
    return data_dir() / "demo.db"


def builtin_themes_dir() -> Path:
    packaged = Path(__file__).parent / "themes"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "themes"


def sample_fleet_file() -> Path:
    """The sample fleet: inside the wheel when installed, at the repository root when editable."""
    packaged = Path(__file__).parent / "sample_fleet.toml"
    return packaged if packaged.is_file() else Path(__file__).parent.parent / "sample_fleet.toml"
