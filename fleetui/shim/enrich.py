"""What the writer thread adds to a recorded call: fleet model id, cost and its source, privacy.

This runs off the app's thread, so it may load the fleet file and the price catalog; the app
only ever paid for appending a record to a queue. Use cases are not classified here: at ~20 µs
a prompt that would halve the writer's throughput, so discovery assigns them in its own pass.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from fleetui.config.fleetfile import find_fleet_file, load_fleet
from fleetui.config.schema import Fleet
from fleetui.pricing import PROVIDER_REPORTED, UNPRICED, Cost, Pricer, catalog_id_for
from fleetui.privacy import keep
from fleetui.shim.fleetmodels import ModelMap
from fleetui.store.records import CallRecord


@dataclass
class Enricher:
    fleet: Fleet
    pricer: Pricer
    privacy: str
    source: str | None  # replaces the shim's default "app"; None keeps sources as they are
    models: ModelMap

    @classmethod
    def load(cls, fleet_path: Path | None, privacy: str | None, source: str | None) -> Enricher:
        found = fleet_path or (s.path if (s := find_fleet_file()) else None)
        return cls.for_fleet(load_fleet(found) if found else Fleet(), privacy, source)

    @classmethod
    def for_fleet(cls, fleet: Fleet, privacy: str | None, source: str | None) -> Enricher:
        return cls(fleet, Pricer(fleet), privacy or fleet.privacy.prompts, source, ModelMap(fleet))

    def __call__(self, call: CallRecord) -> None:
        if call.source == "app" and self.source is not None:
            call.source = self.source
        self.identify(call)
        self.name_provider(call)
        if isinstance(call.tool_calls, (list, tuple)):  # track(): call.record(tool_calls=[{name, arguments}])
            call.tool_calls = _tool_calls_json(call.tool_calls)
        if call.cost_usd is None:
            cost = self.price(call)
            call.cost_usd, call.cost_source = cost.usd, cost.source
        elif call.cost_source is None:
            call.cost_source = PROVIDER_REPORTED  # given with the call (by the provider, a proxy or the app)
        if call.prompt is not None:
            kept = keep(call.prompt, self.privacy)
            call.prompt, call.prompt_hash, call.prompt_chars = kept.text, kept.hash, kept.chars
        if call.response is not None:
            call.response_chars = len(call.response)
            if self.privacy != "full":
                call.response = keep(call.response, self.privacy).text

    def identify(self, call: CallRecord) -> None:
        """Set the call's fleet model id by the rule in fleetui.shim.fleetmodels."""
        host = _host(call.server_address) if call.server_address else None
        # A call that says where it went is matched by endpoint; its provider_name is the wire
        # format ("openai" for any OpenAI-compatible server), not a fleet provider id.
        provider = None if host is not None else call.provider_name
        if call.model_id is not None:  # named by the app: a fleet id, or a provider model name
            if self.models.model(call.model_id) is None:
                # A name nothing in the fleet answers to is kept as given, never dropped.
                call.model_id = self.models.resolve(call.model_id, host, provider) or call.model_id
            return
        if not call.request_model:
            return
        # An SDK request names the provider's model at an endpoint; only track() may name a fleet id.
        call.model_id = self.models.resolve(call.request_model, host, provider, fleet_ids=host is None)
        model = self.models.model(call.model_id) if call.model_id else None
        if model is not None and call.request_model == model.id and host is None:
            call.request_model = model.model  # request_model is always the provider's name

    def name_provider(self, call: CallRecord) -> None:
        """A fleet provider id (given to track() or by the gateway) is this fleet's own word: the
        call keeps its provider's kind instead, which the store's vocabulary translates."""
        model = self.models.model(call.model_id) if call.model_id and call.provider_name else None
        if model is not None:
            owner = self.fleet.provider_of(model)
            if call.provider_name == owner.id:
                call.provider_name = str(owner.kind)

    def price(self, call: CallRecord) -> Cost:
        """What the call costs by the fleet's override or the catalog (never a reported cost)."""
        cached = call.cached_input_tokens or 0
        if call.model_id is not None and self.models.model(call.model_id) is not None:
            return self.pricer.priced(call.model_id, call.input_tokens, call.output_tokens, cached)
        name = call.response_model or call.request_model
        if not name:
            return UNPRICED
        catalog = _catalog(call.server_address) if call.server_address else None
        cost = self.pricer.priced_for(catalog, name, call.input_tokens, call.output_tokens, cached)
        if cost.usd is None and call.request_model and call.request_model != name:
            cost = self.pricer.priced_for(catalog, call.request_model, call.input_tokens, call.output_tokens, cached)
        return cost


def _tool_calls_json(tools: list[Any] | tuple[Any, ...]) -> str | None:
    try:
        return json.dumps(list(tools), ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return None


@functools.lru_cache(maxsize=256)
def _host(url: str) -> str:
    return urlparse(url).netloc


@functools.lru_cache(maxsize=256)
def _catalog(url: str) -> str | None:
    return catalog_id_for(url)
