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
        from fleetui.routing import Router as value
    elif name in _SHIM:
        from fleetui import shim

        value = getattr(shim, name)
    else:
        raise AttributeError(f"module 'fleetui' has no attribute {name!r}")
    # Kept as a module global: the next `fleetui.track` is a plain lookup, not this function
    # again (1.2 µs on every call an app records).
    globals()[name] = value
    return value
