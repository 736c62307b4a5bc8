"""Build the adapter for a fleet model, with its key resolved from env or keyring.

Adapters are found by provider kind: the four built in, and any a package adds through the
entry-point group `fleetui.adapters` (name: the kind, as a fleet file's `[[providers]] kind`
names it; value: an `Adapter` subclass), as simonw/llm finds model plugins and harlequin its
adapters:

    [project.entry-points."fleetui.adapters"]
    mistral = "fleetui_mistral:MistralAdapter"

A plugin that fails to load, or that names a built-in kind, is skipped with a warning: a broken
extra package never stops fleetui.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging

import httpx

from fleetui.config.schema import ADAPTER_ENTRY_POINTS, Fleet, ProviderKind
from fleetui.providers.anthropic import AnthropicAdapter
from fleetui.providers.base import Adapter
from fleetui.providers.gemini import GeminiAdapter
from fleetui.providers.ollama import OllamaAdapter
from fleetui.providers.openai import OpenAIAdapter
from fleetui.providers.types import ErrorKind, ProviderError, RetryPolicy, Timeouts

ENTRY_POINT_GROUP = ADAPTER_ENTRY_POINTS  # the fleet schema accepts the kinds they name

log = logging.getLogger(__name__)

_BUILT_IN: dict[str, type[Adapter]] = {
    ProviderKind.OPENAI_COMPATIBLE.value: OpenAIAdapter,
    ProviderKind.ANTHROPIC.value: AnthropicAdapter,
    ProviderKind.GEMINI.value: GeminiAdapter,
    ProviderKind.OLLAMA.value: OllamaAdapter,
}


@functools.cache
def adapter_classes() -> dict[str, type[Adapter]]:
    """Every adapter by kind: the built-in ones, then those installed plugins declare."""
    found = dict(_BUILT_IN)
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in found:
            log.warning("adapter plugin %s (%s) names a kind fleetui already has; skipped", entry.name, entry.value)
            continue
        try:
            loaded = entry.load()
        except Exception as exc:  # a broken plugin must not break fleetui
            log.warning("adapter plugin %s (%s) failed to load: %s; skipped", entry.name, entry.value, exc)
            continue
        if not (isinstance(loaded, type) and issubclass(loaded, Adapter)):
            log.warning("adapter plugin %s (%s) is not an Adapter subclass; skipped", entry.name, entry.value)
            continue
        found[entry.name] = loaded
    return found


def adapter_class(kind: str) -> type[Adapter]:
    """The adapter for a provider kind; KeyError names the kinds there are."""
    classes = adapter_classes()
    if kind not in classes:
        raise KeyError(f"no adapter for provider kind {kind!r}; known: {', '.join(sorted(classes))}")
    return classes[kind]


def adapter_for(
    fleet: Fleet,
    model_id: str,
    *,
    timeouts: Timeouts | None = None,
    retry: RetryPolicy | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Adapter:
    """The adapter for `model_id`; a missing key is a `misconfigured` ProviderError."""
    from fleetui.secrets import resolve_key

    try:
        model = fleet.model(model_id)
    except KeyError:
        raise ProviderError(ErrorKind.MISCONFIGURED, f"no model {model_id!r} in the fleet") from None
    provider = fleet.provider_of(model)
    base_url = fleet.base_url_of(model)
    key_ref = fleet.key_ref_of(model)
    api_key: str | None = None
    if key_ref:
        found = resolve_key(key_ref)
        if found is None:
            raise ProviderError(ErrorKind.MISCONFIGURED, missing_key_message(fleet, model_id))
        api_key = found.value
    probes = fleet.probes
    try:
        adapter = adapter_class(provider.kind)
    except KeyError as exc:
        raise ProviderError(ErrorKind.MISCONFIGURED, f"{model_id}: {exc.args[0]}") from None
    return adapter(
        base_url=base_url,
        model=model.model,
        api_key=api_key,
        model_id=model_id,
        timeouts=timeouts or Timeouts(connect_s=min(10.0, probes.timeout_s), read_s=60.0),
        retry=retry or RetryPolicy(),
        transport=transport,
    )


def missing_key_message(fleet: Fleet, model_id: str) -> str:
    model = fleet.model(model_id)
    key_ref = fleet.key_ref_of(model)
    return (f"{model_id} at {fleet.base_url_of(model)}: key {key_ref} is not set — run "
            f"`fleetui key set {key_ref}` or export {key_ref}=…")


def key_problem(fleet: Fleet, model_id: str) -> str | None:
    """Why `model_id` cannot be called for want of a key, or None; nothing is sent anywhere."""
    from fleetui.secrets import resolve_key

    key_ref = fleet.key_ref_of(fleet.model(model_id))
    if key_ref and resolve_key(key_ref) is None:
        return missing_key_message(fleet, model_id)
    return None
