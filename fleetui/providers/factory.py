"""Build the adapter for a fleet model, with its key resolved from env or keyring."""

from __future__ import annotations

import httpx

from fleetui.config.schema import Fleet, ProviderKind
from fleetui.providers.anthropic import AnthropicAdapter
from fleetui.providers.base import Adapter
from fleetui.providers.gemini import GeminiAdapter
from fleetui.providers.ollama import OllamaAdapter
from fleetui.providers.openai import OpenAIAdapter
from fleetui.providers.types import ErrorKind, ProviderError, RetryPolicy, Timeouts

_ADAPTERS: dict[ProviderKind, type[Adapter]] = {
    ProviderKind.OPENAI_COMPATIBLE: OpenAIAdapter,
    ProviderKind.ANTHROPIC: AnthropicAdapter,
    ProviderKind.GEMINI: GeminiAdapter,
    ProviderKind.OLLAMA: OllamaAdapter,
}


def adapter_class(kind: ProviderKind) -> type[Adapter]:
    return _ADAPTERS[kind]


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
    return _ADAPTERS[provider.kind](
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
