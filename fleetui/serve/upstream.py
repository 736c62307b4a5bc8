"""The providers behind the gateway: their endpoints, their keys, one pool of connections.

A key is resolved from env or keyring (fleetui.secrets) and only ever put on a request whose
URL is built here from its own model's base URL; the transport follows no redirect. So a
provider key cannot reach any other host. Clients send the gateway its token; nothing they send
as credentials is forwarded.
"""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass
from typing import Any

import httpx

from fleetui.config.schema import Fleet, Model, ProviderKind
from fleetui.secrets import resolve_key
from fleetui.serve.client import Pool, header_block, split_url
from fleetui.serve.wire import Wire

# Which client wire format each kind of provider serves, and where under its base URL.
_WIRES: dict[ProviderKind | str, tuple[Wire, str]] = {  # a plugin kind: not served
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


# Failures of a connection before any reply byte (not timeouts: TimeoutException is not among them).
_BROKE_BEFORE_REPLY = (httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
# Plain bodies (the recorder reads them), and a name for the provider's logs.
_ALWAYS = ((b"accept-encoding", b"identity"), (b"user-agent", b"fleetui-serve"))
_CLOSED_UNANSWERED = "Server disconnected without sending a response"  # httpcore's words for it


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
    """Targets of the current fleet, their auth headers, and one pool of upstream connections.

    Requests go through fleetui.serve.client (asyncio protocols, httptools), one pool per
    origin: an httpx AsyncClient's layers cost more than half of the relay's own time, and
    httpx's bare transport still most of the rest (see client.py). Given an httpx transport
    instead (tests), requests go through it.
    """

    def __init__(self, *, timeouts: Timeouts = Timeouts(), max_connections: int = 512,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._timeouts = timeouts
        self._max_connections = max_connections
        # Given a transport (tests, other servers), requests go through httpx; else through
        # fleetui.serve.client's pools, one per origin.
        self._transport = transport
        self._timeout = {"connect": timeouts.connect_s, "read": timeouts.read_s, "write": timeouts.read_s,
                         "pool": timeouts.pool_s}
        self._pools: dict[str, Pool] = {}
        self._fleet: Fleet | None = None
        self._targets: dict[str, Target] = {}
        self._auth: dict[tuple[str, str | None], list[tuple[bytes, bytes]]] = {}
        self._urls: dict[tuple[str, str], tuple[Pool, bytes] | httpx.URL] = {}

    def targets(self, fleet: Fleet) -> dict[str, Target]:
        """Model id → target for this fleet (rebuilt when the router took a new fleet)."""
        if fleet is not self._fleet:
            self._targets = {m.id: target_of(fleet, m) for m in fleet.models}
            self._fleet = fleet
            self._auth.clear()  # a reload may have changed which key a model uses
        return self._targets

    def headers(self, target: Target) -> list[tuple[bytes, bytes]]:
        """The target's own auth headers (resolved once per fleet); MissingKey when unset."""
        key = (target.base_url, target.key_ref)
        found = self._auth.get(key)
        if found is None:
            found = self._auth[key] = self._resolve(target)
        return found

    def request(self, target: Target, path: str, content: bytes, extra: list[tuple[bytes, bytes]]) -> Any:
        """A request to `path` under the target's own base URL, with the target's own key: the
        only way a key leaves the gateway."""
        headers = [*self.headers(target), *extra, *_ALWAYS]
        where = self._urls.get((target.base_url, path))
        if where is None:
            url = target.base_url + path
            where = self._urls[(target.base_url, path)] = httpx.URL(url) if self._transport else self._pool_for(url)
        if isinstance(where, httpx.URL):
            return httpx.Request("POST", where, headers=headers, content=content, extensions={"timeout": self._timeout})
        pool, request_target = where
        return pool, request_target, header_block(headers), content

    async def send(self, request: Any) -> Any:
        """The reply's status and headers; its body is read (or streamed) by the caller.

        A connection that fails before a single byte of the reply came back is tried once more
        on another connection. Two things cause it, and neither reached the provider's
        application: a kept-alive connection the provider had already closed (the standard
        case every keep-alive client retries), and a connection the provider's kernel reset
        because its listen backlog was full under a burst of new connections (how a server with
        a small backlog, such as Python's socketserver with its 5, answers 32 at once). A
        provider that read the request and then died would look the same, and would generate
        twice; the gateway accepts that, as it already sends the same request on to the next
        model of the chain after such a failure. Timeouts are not retried: the provider may be
        working on it, and the chain's fallback handles them.
        """
        try:
            return await self._send(request)
        except _BROKE_BEFORE_REPLY as exc:
            if isinstance(exc, httpx.RemoteProtocolError) and not str(exc).startswith(_CLOSED_UNANSWERED):
                raise  # a reply came back malformed: the provider did answer
            return await self._send(request)

    async def _send(self, request: Any) -> Any:
        if self._transport is not None:
            return await self._transport.handle_async_request(request)
        pool, target, headers, content = request
        return await pool.send(target, headers, content)

    def _pool_for(self, url: str) -> tuple[Pool, bytes]:
        scheme, host, port, path = split_url(url)
        origin = f"{scheme}://{host}:{port}"
        pool = self._pools.get(origin)
        if pool is None:
            timeouts = self._timeouts
            pool = self._pools[origin] = Pool(scheme, host, port, _tls() if scheme == "https" else None,
                                              limit=self._max_connections, connect_s=timeouts.connect_s,
                                              read_s=timeouts.read_s, pool_s=timeouts.pool_s)
        return pool, path.encode("ascii")

    def _resolve(self, target: Target) -> list[tuple[bytes, bytes]]:
        if target.key_ref is None:
            return []
        found = resolve_key(target.key_ref)
        if found is None:
            raise MissingKey(f"{target.model_id}: key {target.key_ref} is not set — run "
                             f"`fleetui key set {target.key_ref}` or export {target.key_ref}=… before `fleetui serve`")
        if target.wire is Wire.ANTHROPIC:
            return [(b"x-api-key", found.value.encode())]
        return [(b"authorization", f"Bearer {found.value}".encode())]

    def warm(self, fleet: Fleet) -> list[str]:
        """Resolve the keys of every enabled model now, so the first call does not pay for it;
        returns what is missing, to say at start-up."""
        missing = []
        for target in self.targets(fleet).values():
            if target.enabled and target.wire is not None:
                try:
                    self.headers(target)
                except MissingKey as exc:
                    missing.append(str(exc))
        return missing

    async def aclose(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()
        for pool in self._pools.values():
            pool.close()


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client: each costs tens of milliseconds to build."""
    return httpx.create_ssl_context()
