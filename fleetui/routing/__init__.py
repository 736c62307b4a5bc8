"""Routing: rules over a safe condition language, roles, fallbacks, escalation, strategies.

The names below load on first use, so that `fleetui.routing.conditions` (which the config layer
needs to validate a rule) does not pull in the router.
"""

from __future__ import annotations

from typing import Any

__all__ = ["STRATEGIES", "ABTest", "DecisionLog", "NoRoute", "RouteDecision", "Router", "Strategy"]

_HOME = {
    "ABTest": "fleetui.routing.ab",
    "DecisionLog": "fleetui.routing.router",
    "NoRoute": "fleetui.routing.router",
    "RouteDecision": "fleetui.routing.router",
    "Router": "fleetui.routing.router",
    "STRATEGIES": "fleetui.routing.strategies",
    "Strategy": "fleetui.routing.strategies",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'fleetui.routing' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
