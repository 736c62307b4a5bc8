"""Which fleet model a recorded call belongs to.

A call names its model one of two ways: `track(model=...)` or `attributes(model=...)` may give a
fleet model id, and an SDK request gives the provider's model name at an endpoint. The rule:

1. A fleet model id (given to track() or attributes()) is that model.
2. Otherwise the fleet models whose provider model name is the one called, at the endpoint
   called (when the call says where it went) and of the provider given to track() (when it
   says which), are the candidates.
3. One candidate: that model. Several at one endpoint (one server's model under several fleet
   entries, e.g. with different roles or prices): the first *enabled* one in the fleet file's
   order, else the first one. Several at different endpoints and a call that does not say
   where it went (`track()` without a base URL, an imported log without a host): no fleet model;
   the call keeps its provider model name, as `fleetui import` reports. `fleetui validate` lists every such pair; pass the fleet id
   (`track(model="id")`, `attributes(model="id")`) to choose another.

This module loads the fleet's pydantic models, so only the recorder's thread and the CLI use it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlparse

from fleetui.config.schema import Fleet, Model


@dataclass(frozen=True, slots=True)
class Ambiguity:
    """Several fleet models answer to one endpoint and provider model name."""

    endpoint: str  # host[:port]
    provider_model: str
    model_ids: tuple[str, ...]  # in the fleet file's order
    chosen: str  # where calls to the pair are recorded

    def message(self) -> str:
        others = [m for m in self.model_ids if m != self.chosen]
        return (f"models {', '.join(self.model_ids)} all call {self.provider_model!r} at {self.endpoint}: "
                f"the shim records such calls as {self.chosen!r} (the first enabled one); to record one as "
                f"{others[0]!r}, pass track(model={others[0]!r}) or attributes(model={others[0]!r})")


def _host(url: str) -> str:
    return urlparse(url).netloc


class ModelMap:
    def __init__(self, fleet: Fleet) -> None:
        self._fleet = fleet
        self._ids = {m.id: m for m in fleet.models}
        self._by_name: dict[str, list[Model]] = defaultdict(list)
        for model in fleet.models:
            self._by_name[model.model].append(model)
        self._cache: dict[tuple[str, str | None, str | None, bool], str | None] = {}

    def model(self, model_id: str) -> Model | None:
        return self._ids.get(model_id)

    def resolve(self, name: str, host: str | None = None, provider: str | None = None,
                *, fleet_ids: bool = True) -> str | None:
        """The fleet model id for a call to `name` (see the module's rule); None when none fits."""
        key = (name, host, provider, fleet_ids)
        if key in self._cache:
            return self._cache[key]
        found: str | None = None
        if fleet_ids and name in self._ids:
            found = name
        else:
            candidates = [m for m in self._by_name.get(name, ()) if self._fits(m, host, provider)]
            endpoints = {_host(self._fleet.base_url_of(m)) for m in candidates}
            # Without the endpoint, models at different endpoints are not told apart by guessing.
            if candidates and (host is not None or len(endpoints) == 1):
                found = _chosen(candidates).id
        if len(self._cache) < 4096:  # names come from apps; keep the cache bounded
            self._cache[key] = found
        return found

    def _fits(self, model: Model, host: str | None, provider: str | None) -> bool:
        if host is not None and _host(self._fleet.base_url_of(model)) != host:
            return False
        if provider is not None:
            owner = self._fleet.provider_of(model)
            return provider in (owner.id, str(owner.kind))
        return True


def _chosen(candidates: list[Model]) -> Model:
    return next((m for m in candidates if m.enabled), candidates[0])


def ambiguous_pairs(fleet: Fleet) -> list[Ambiguity]:
    """Every endpoint + provider model name that more than one fleet model answers to."""
    groups: dict[tuple[str, str], list[Model]] = defaultdict(list)
    for model in fleet.models:
        groups[(_host(fleet.base_url_of(model)), model.model)].append(model)
    return [
        Ambiguity(host, name, tuple(m.id for m in models), _chosen(models).id)
        for (host, name), models in groups.items() if len(models) > 1
    ]
