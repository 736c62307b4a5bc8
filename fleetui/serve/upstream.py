"""The providers behind the gateway: one pooled httpx client per (endpoint, key).

A key is resolved from env or keyring (fleetui.secrets) into the default headers of the client
for its own model's base URL, and that client is only ever given paths, never a full URL, and
follows no redirect: a provider key cannot reach any other host. Clients send the gateway their
gateway token; nothing they send as credentials is forwarded.
"""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass

import httpx

from fleetui.config.schema import Fleet, Model, ProviderKind
from fleetui.providers.anthropic import API_VERSION
from fleetui.secrets import resolve_key
from fleetui.serve.wire import Wire

# Which client wire format each kind of provider serves, and where under its base URL.
_WIRES: dict[ProviderKind, tuple[Wire, str]] = {
    ProviderKind.OPENAI_COMPATIBLE: (Wire.OPENAI, ""),
    ProviderKind.OLLAMA: (Wire.OPENAI, "/v1"),  # Ollama's OpenAI-compatible API
    ProviderKind.ANTHROPIC: (Wire.ANTHROPIC, ""),
}


@dataclass(frozen=True, slots=True)
class Target:
    """One fleet model as the gateway calls it."""

    model_id: str
    provider_id: str
    provider_model: str
    base_url: str  # the base the wire format's paths go under
    wire: Wire | None  # None: the gateway does not serve this provider's native API (Gemini)
    key_ref: str | None
    enabled: bool


class MissingKey(LookupError):
    """The fleet names a key for a model that neither env nor keyring holds."""


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect_s: float = 10.0
    read_s: float = 300.0  # between two bytes of a reply: a long generation, or a stalled stream
    pool_s: float = 30.0


def target_of(fleet: Fleet, model: Model) -> Target:
    kind = fleet.provider_of(model).kind
    wire, suffix = _WIRES.get(kind, (None, ""))
    return Target(model.id, model.provider, model.model, fleet.base_url_of(model).rstrip("/") + suffix,
                  wire, fleet.key_ref_of(model), model.enabled)


class Upstreams:
    """Targets of the current fleet and their pooled clients (kept across fleet reloads)."""

    def __init__(self, *, timeouts: Timeouts = Timeouts(), max_connections: int = 512,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._timeout = httpx.Timeout(timeouts.read_s, connect=timeouts.connect_s, pool=timeouts.pool_s)
        self._limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._transport = transport
        self._fleet: Fleet | None = None
        self._targets: dict[str, Target] = {}
        self._clients: dict[tuple[str, str | None], httpx.AsyncClient] = {}

    def targets(self, fleet: Fleet) -> dict[str, Target]:
        """Model id → target for this fleet (rebuilt when the router took a new fleet)."""
        if fleet is not self._fleet:
            self._targets = {m.id: target_of(fleet, m) for m in fleet.models}
            self._fleet = fleet
        return self._targets

    def client(self, target: Target) -> httpx.AsyncClient:
        key = (target.base_url, target.key_ref)
        client = self._clients.get(key)
        if client is None:
            client = httpx.AsyncClient(
                base_url=target.base_url, headers=self._auth(target), timeout=self._timeout,
                limits=self._limits, follow_redirects=False, transport=self._transport, verify=_tls(),
            )
            # Replies pass to the client byte for byte, and are recorded as they are: an
            # encoded reply would have to be decoded to record it, or sent on re-encoded.
            client.headers["accept-encoding"] = "identity"
            self._clients[key] = client
        return client

    def _auth(self, target: Target) -> dict[str, str]:
        if target.key_ref is None:
            return {}
        found = resolve_key(target.key_ref)
        if found is None:
            raise MissingKey(f"{target.model_id}: key {target.key_ref} is not set — run "
                             f"`fleetui key set {target.key_ref}` or export {target.key_ref}=… before `fleetui serve`")
        if target.wire is Wire.ANTHROPIC:
            return {"x-api-key": found.value, "anthropic-version": API_VERSION}
        return {"authorization": f"Bearer {found.value}"}

    def warm(self, fleet: Fleet) -> list[str]:
        """Open the clients of every enabled model now, so the first call does not pay for it;
        returns what is missing (keys not set), to say at start-up."""
        missing = []
        for target in self.targets(fleet).values():
            if target.enabled and target.wire is not None:
                try:
                    self.client(target)
                except MissingKey as exc:
                    missing.append(str(exc))
        return missing

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client: each costs tens of milliseconds to build."""
    return httpx.create_ssl_context()
