"""Routing: rules over a safe condition language, roles, fallbacks, escalation, strategies."""

from fleetui.routing.router import NoRoute, RouteDecision, Router

__all__ = ["NoRoute", "RouteDecision", "Router"]
