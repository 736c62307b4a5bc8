"""The model a client names, turned into the models to try, in order, and why.

A name is, in this order: ``fleetui/auto`` (the fleet's routing decides, through
``fleetui.Router``: rules, probe health, A/B tests, escalation), a fleet model id, a role id
(its models by priority), or a provider's own model name (the fleet model serving it). The chain
after the first model is what the gateway falls back to on 429, 5xx and timeouts: the routing
decision's fallbacks, the rest of a role, or for a named model the other models of its first
role. Only models whose provider speaks the client's wire format can be in a chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fleetui.config.schema import Fleet
from fleetui.routing.router import NoRoute, RouteDecision, Router
from fleetui.serve.upstream import Target, Upstreams
from fleetui.serve.wire import BadRequest, Wire

AUTO = "fleetui/auto"


@dataclass(frozen=True, slots=True)
class Plan:
    targets: tuple[Target, ...]  # the first, then the fallbacks
    route: str  # how the name was read: "auto:rule:coding", "model", "role:fast-tasks", …
    decision: RouteDecision | None = None
    attributes: dict[str, Any] = field(default_factory=dict)  # routing fields for the call record


class ModelNames:
    def __init__(self, router: Router, upstreams: Upstreams) -> None:
        self.router = router
        self.upstreams = upstreams

    def plan(self, name: str, wire: Wire, *, prompt: str, task: str | None, user: str | None,
             tags: Sequence[str]) -> Plan:
        fleet = self.router.fleet
        targets = self.upstreams.targets(fleet)
        if name == AUTO:
            try:
                decision = self.router.route(prompt, task=task, user=user, tags=tuple(tags))
            except NoRoute as exc:
                raise BadRequest(f"{AUTO}: {exc}", status=503) from None
            chain = [decision.model_id, *decision.fallbacks]
            label = f"rule:{decision.rule}" if decision.rule else (
                f"ab:{decision.ab_test}" if decision.ab_test else "default")
            return Plan(self._servable(name, chain, targets, wire), f"auto:{label}", decision,
                        decision.call_attributes())
        if name in targets:
            return Plan(self._servable(name, [name, *_role_mates(fleet, name)], targets, wire), "model")
        role = [m.id for m in fleet.models_in_role(name)]
        if role:
            return Plan(self._servable(name, role, targets, wire), f"role:{name}")
        named = [t.model_id for t in targets.values() if t.provider_model == name]
        if named:
            return Plan(self._servable(name, [*named, *_role_mates(fleet, named[0])], targets, wire),
                        "provider-model")
        raise BadRequest(f"model {name!r} is not in the fleet: name a fleet model id, a role, a provider "
                         f"model name or {AUTO} (GET /v1/models lists them)", status=404, code="model_not_found",
                         param="model")

    def _servable(self, name: str, chain: list[str], targets: dict[str, Target], wire: Wire) -> tuple[Target, ...]:
        seen: set[str] = set()
        served: list[Target] = []
        for model_id in chain:
            target = targets.get(model_id)
            if target is None or model_id in seen or not target.enabled or target.wire is not wire:
                continue
            seen.add(model_id)
            served.append(target)
        if not served:
            first = targets.get(chain[0]) if chain else None
            if first is not None and not first.enabled:
                why = f"{first.model_id} is disabled in the fleet"
            elif first is not None:
                why = (f"{first.model_id} is served by provider {first.provider_id!r}, which does not speak the "
                       f"{wire.value} wire format here; use the {'Anthropic /v1/messages' if first.wire is Wire.ANTHROPIC else 'OpenAI /v1/chat/completions'} endpoint"
                       if first.wire else f"{first.model_id}'s provider {first.provider_id!r} is not served by the gateway")
            else:
                why = "no model left to try"
            raise BadRequest(f"model {name!r}: {why}", status=400, param="model")
        return tuple(served)


def _role_mates(fleet: Fleet, model_id: str) -> list[str]:
    """The other models of the model's first role, by priority: where a named model falls back."""
    model = fleet.model(model_id)
    if not model.roles:
        return []
    first = min(model.roles, key=lambda r: r.priority)
    return [m.id for m in fleet.models_in_role(first.role) if m.id != model_id]
