"""Every key binding id the app has, for checking the user's keymap file against."""

from __future__ import annotations

import importlib
import pkgutil

from textual.binding import Binding
from textual.dom import DOMNode

import fleetui.tui


def binding_ids() -> set[str]:
    """The `id=` of every Binding in fleetui's screens and widgets (each module imported once)."""
    ids: set[str] = set()
    for module_info in pkgutil.iter_modules(fleetui.tui.__path__, "fleetui.tui."):
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, DOMNode) and value.__module__ == module.__name__:
                for binding in value.BINDINGS:
                    if isinstance(binding, Binding) and binding.id:
                        ids.add(binding.id)
    return ids
