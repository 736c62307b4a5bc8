"""Which fleet model an imported call was made to, when its log names one.

Foreign logs name a model the way their tool does: a provider's model name ("gpt-4o-mini"),
sometimes an alias ("cheap", a LiteLLM model group), rarely a fleet id. A call maps to a fleet
model when its (host, model name) is that model's endpoint and name; else when the name is a
fleet id; else when exactly one fleet model has that provider model name, also with a routing
prefix taken off ("anthropic/claude-…", as LiteLLM and llm's plugins name models). Two fleet
models with the same name and no host to tell them apart: the call stays unmapped, not guessed.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlparse

from fleetui.config.schema import Fleet
from fleetui.store.records import CallRecord


class ModelMatcher:
    def __init__(self, fleet: Fleet) -> None:
        self.by_endpoint = {(urlparse(fleet.base_url_of(m)).netloc, m.model): m.id for m in fleet.models}
        self.ids = {m.id for m in fleet.models}
        names = Counter(m.model for m in fleet.models)
        self.by_name = {m.model: m.id for m in fleet.models if names[m.model] == 1}
        self.unmapped: Counter[str] = Counter()  # model name as logged -> calls left unmapped

    def __call__(self, call: CallRecord) -> None:
        """Set the call's fleet model id when one matches; count it as unmapped when none does."""
        if call.model_id is not None:
            return
        logged = [n for n in (call.request_model, call.response_model) if n]
        names = logged + [n.split("/", 1)[1] for n in logged if "/" in n]
        host = urlparse(call.server_address).netloc if call.server_address else ""
        for name in names:
            found = self.by_endpoint.get((host, name)) if host else None
            found = found or (name if name in self.ids else None) or self.by_name.get(name)
            if found is not None:
                call.model_id = found
                return
        self.unmapped[logged[-1] if logged else "(no model named)"] += 1
