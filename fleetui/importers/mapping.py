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
from fleetui.shim.fleetmodels import ModelMap
from fleetui.store.records import CallRecord


class ModelMatcher:
    """The shim's rule (fleetui.shim.fleetmodels) applied to imported calls, with the names
    foreign tools use: a routing prefix taken off, and the host tried first, then any host."""

    def __init__(self, fleet: Fleet) -> None:
        self.models = ModelMap(fleet)
        self.unmapped: Counter[str] = Counter()  # model name as logged -> calls left unmapped

    def __call__(self, call: CallRecord) -> None:
        """Set the call's fleet model id when one matches; count it as unmapped when none does."""
        if call.model_id is not None:
            return
        logged = [n for n in (call.request_model, call.response_model) if n]
        names = logged + [n.split("/", 1)[1] for n in logged if "/" in n]
        host = urlparse(call.server_address).netloc if call.server_address else None
        for name in names:
            found = (self.models.resolve(name, host) if host else None) or self.models.resolve(name)
            if found is not None:
                call.model_id = found
                return
        self.unmapped[logged[-1] if logged else "(no model named)"] += 1
