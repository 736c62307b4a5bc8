"""Routing: rules over a safe condition language, roles, fallbacks, escalation, strategies."""

from fleetui.routing.ab import ABTest
from fleetui.routing.router import NoRoute, RouteDecision, Router

__all__ = ["ABTest", "NoRoute", "RouteDecision", "Router"]
