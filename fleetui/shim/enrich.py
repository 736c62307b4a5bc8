"""What the writer thread adds to a recorded call: fleet model id, cost, privacy.

This runs off the app's thread, so it may load the fleet file and the price catalog; the app
only ever paid for appending a record to a queue. Use cases are not classified here: at ~20 µs
a prompt that would halve the writer's throughput, so discovery assigns them in its own pass.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from fleetui.config.schema import Fleet
from fleetui.config.fleetfile import find_fleet_file, load_fleet
from fleetui.pricing import Pricer, catalog_id_for
from fleetui.privacy import keep
from fleetui.store.records import CallRecord


@dataclass
class Enricher:
    fleet: Fleet
    pricer: Pricer
    privacy: str
    source: str | None  # replaces the shim's default "app"; None keeps sources as they are
    by_endpoint: dict[tuple[str, str], str]  # (host, provider model name) -> fleet model id

    @classmethod
    def load(cls, fleet_path: Path | None, privacy: str | None, source: str | None) -> Enricher:
        found = fleet_path or (s.path if (s := find_fleet_file()) else None)
        return cls.for_fleet(load_fleet(found) if found else Fleet(), privacy, source)

    @classmethod
    def for_fleet(cls, fleet: Fleet, privacy: str | None, source: str | None) -> Enricher:
        by_endpoint = {
            (urlparse(fleet.base_url_of(m)).netloc, m.model): m.id for m in fleet.models
        }
        return cls(fleet, Pricer(fleet), privacy or fleet.privacy.prompts, source, by_endpoint)

    def __call__(self, call: CallRecord) -> None:
        if call.source == "app" and self.source is not None:
            call.source = self.source
        if call.model_id is None and call.request_model:
            call.model_id = self.by_endpoint.get((_host(call.server_address or ""), call.request_model))
        if call.cost_usd is None:
            cached = call.cached_input_tokens or 0
            if call.model_id is not None:
                call.cost_usd = self.pricer.cost(call.model_id, call.input_tokens, call.output_tokens, cached)
            elif call.response_model or call.request_model:
                catalog = _catalog(call.server_address) if call.server_address else None
                name = call.response_model or call.request_model or ""
                call.cost_usd = self.pricer.cost_for(catalog, name, call.input_tokens, call.output_tokens, cached)
                if call.cost_usd is None and call.request_model and call.request_model != name:
                    call.cost_usd = self.pricer.cost_for(catalog, call.request_model, call.input_tokens,
                                                         call.output_tokens, cached)
        if call.prompt is not None:
            kept = keep(call.prompt, self.privacy)
            call.prompt, call.prompt_hash, call.prompt_chars = kept.text, kept.hash, kept.chars
        if call.response is not None:
            call.response_chars = len(call.response)
            if self.privacy != "full":
                call.response = keep(call.response, self.privacy).text


@functools.lru_cache(maxsize=256)
def _host(url: str) -> str:
    return urlparse(url).netloc


@functools.lru_cache(maxsize=256)
def _catalog(url: str) -> str | None:
    return catalog_id_for(url)
