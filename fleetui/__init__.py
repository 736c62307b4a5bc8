"""fleetui: a terminal fleet manager for the LLM models your apps use.

`import fleetui` stays cheap: the shim's entry points load on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_SHIM = {"track", "instrument", "feedback", "flush", "attributes", "follow_up", "abandoned", "configure",
         "log_decision"}


def __getattr__(name: str) -> Any:
    if name == "Router":
        from fleetui.routing import Router

        return Router
    if name in _SHIM:
        from fleetui import shim

        return getattr(shim, name)
    raise AttributeError(f"module 'fleetui' has no attribute {name!r}")
