"""`instrument(client)`: record every call an openai / anthropic SDK client makes.

The SDK keeps its own defaults (timeouts, limits, proxies from the environment): we wrap the
transports its HTTP client already has, so the request goes out unchanged and the response
comes back unchanged. The body is teed: chunks reach the app as they arrive, and the recorder
gets references to the same bytes when the app closes the response. Works with SDKs built on
httpx (openai < 3, anthropic < 2) and on httpx2 (openai 3.x, anthropic 2.x), by duck typing.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar

from fleetui.shim.exchange import Exchange
from fleetui.shim.recorder import default_recorder
from fleetui.shim.track import _attributes, _FIELDS

C = TypeVar("C")
_MARK = "_fleetui_instrumented"


def instrument(client: C) -> C:
    """Return `client` (an SDK client, or an httpx/httpx2 client), now recording its calls."""
    http = getattr(client, "_client", client)
    if not hasattr(http, "_transport"):
        raise TypeError(
            f"fleetui.instrument() takes an openai or anthropic client (or an httpx client), "
            f"not {type(client).__name__}"
        )
    if getattr(http, _MARK, False):
        return client
    # The client says which it is (a transport may offer both, as httpx.MockTransport does).
    is_async = hasattr(http, "aclose")
    wrapper = _AsyncTransport if is_async else _SyncTransport
    http._transport = wrapper(http._transport)
    mounts = getattr(http, "_mounts", None) or {}
    for pattern, transport in list(mounts.items()):
        if transport is not None:
            mounts[pattern] = wrapper(transport)
    setattr(http, _MARK, True)
    return client


def _exchange(request: Any) -> Exchange:
    attrs = {_FIELDS[k]: v for k, v in _attributes.get().items()}
    try:
        body = request.content  # built by the SDK from JSON; already in memory
    except Exception:
        body = b""
    return Exchange(str(request.url), body, time.time(), time.perf_counter(), attrs)


_tee_classes: dict[tuple[type, type], type] = {}


def _tee(mixin: type, base_name: str, stream: Any) -> type:
    """The tee class for this HTTP library: httpx and httpx2 each assert that a response
    stream is an instance of *their own* byte-stream base class."""
    base = next((c for c in type(stream).__mro__ if c.__name__ == base_name), object)
    key = (mixin, base)
    if key not in _tee_classes:
        _tee_classes[key] = type(mixin.__name__, (mixin, base), {})
    return _tee_classes[key]


def _already_read(response: Any, exchange: Exchange) -> bool:
    """Fill the exchange from the response; True when the body was already read (a transport
    that built the response from bytes), in which case it is recorded now."""
    exchange.status = response.status_code
    exchange.headers = {k.lower(): v for k, v in response.headers.items()}
    if not getattr(response, "is_closed", False):
        return False
    exchange.headers.pop("content-encoding", None)  # .content is already decoded
    exchange.chunks = [response.content]
    exchange.complete = True
    exchange.ended_perf = time.perf_counter()
    default_recorder().record(exchange)
    return True


def _is_llm_call(request: Any) -> bool:
    return request.method == "POST" and str(request.url.path).endswith(("/chat/completions", "/messages", "/responses"))


class _SyncTransport:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> Any:
        self._inner.__enter__()
        return self

    def __exit__(self, *args: Any) -> None:
        self._inner.__exit__(*args)

    def handle_request(self, request: Any) -> Any:
        if not _is_llm_call(request):
            return self._inner.handle_request(request)
        exchange = _exchange(request)
        try:
            response = self._inner.handle_request(request)
        except BaseException as exc:
            exchange.error, exchange.ended_perf = type(exc).__name__, time.perf_counter()
            default_recorder().record(exchange)
            raise
        if _already_read(response, exchange):
            return response
        response.stream = _tee(_SyncTee, "SyncByteStream", response.stream)(response.stream, exchange)
        return response

    def close(self) -> None:
        self._inner.close()


class _SyncTee:
    def __init__(self, stream: Any, exchange: Exchange) -> None:
        self._stream = stream
        self._exchange = exchange
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        exchange = self._exchange
        for chunk in self._stream:
            if exchange.first_chunk_perf is None:
                exchange.first_chunk_perf = time.perf_counter()
            exchange.chunks.append(chunk)
            yield chunk
        exchange.complete = True

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._exchange.ended_perf = time.perf_counter()
            default_recorder().record(self._exchange)  # a stream closed early is marked incomplete
        self._stream.close()


class _AsyncTransport:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __aenter__(self) -> Any:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self._inner.__aexit__(*args)

    async def handle_async_request(self, request: Any) -> Any:
        if not _is_llm_call(request):
            return await self._inner.handle_async_request(request)
        exchange = _exchange(request)
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException as exc:
            exchange.error, exchange.ended_perf = type(exc).__name__, time.perf_counter()
            default_recorder().record(exchange)
            raise
        if _already_read(response, exchange):
            return response
        response.stream = _tee(_AsyncTee, "AsyncByteStream", response.stream)(response.stream, exchange)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _AsyncTee:
    def __init__(self, stream: Any, exchange: Exchange) -> None:
        self._stream = stream
        self._exchange = exchange
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        exchange = self._exchange
        async for chunk in self._stream:
            if exchange.first_chunk_perf is None:
                exchange.first_chunk_perf = time.perf_counter()
            exchange.chunks.append(chunk)
            yield chunk
        exchange.complete = True

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._exchange.ended_perf = time.perf_counter()
            default_recorder().record(self._exchange)
        await self._stream.aclose()
