"""Routing: rules over a safe condition language, roles, fallbacks, escalation, strategies."""

from fleetui.routing.ab import ABTest
from fleetui.routing.router import DecisionLog, NoRoute, RouteDecision, Router
from fleetui.routing.strategies import STRATEGIES, Strategy

__all__ = ["STRATEGIES", "ABTest", "DecisionLog", "NoRoute", "RouteDecision", "Router", "Strategy"]
