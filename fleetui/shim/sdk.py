"""`instrument(client)`: record every call an openai / anthropic SDK client makes.

The SDK keeps its own defaults (timeouts, limits, proxies from the environment): we wrap the
transports its HTTP client already has, so the request goes out unchanged and the response
comes back unchanged. The body is teed: chunks reach the app as they arrive, and the recorder
gets references to the same bytes (and when each arrived). Works with SDKs built on httpx
(openai < 3, anthropic < 2) and on httpx2 (openai 3.x, anthropic 2.x), by duck typing, and so
with every call shape they have: `create()`, `stream()` helpers, `with_raw_response`,
`with_streaming_response`, sync and async.

When a response is recorded: when its body is read to the end, or when the app (or its SDK)
closes it, or when the app drops it (the tee's finalizer), or — for an app that holds a stream
and stops reading — once it has sat unread for `idle_s` seconds. One daemon thread checks for
idle streams, started with the first response; a stream whose SDK is waiting on the network is
never idle. Latency ends at the app's last read in every case.

SDK retries: openai and anthropic send `x-stainless-retry-count` with each attempt, on the
caller's thread (or task). An attempt that failed in a way the SDK retries (408, 409, 429, 5xx,
a connection error; `x-should-retry` overrides) gets app_call_id = its own call id and attempt 1;
the retry that follows gets the same app_call_id and attempt 2, and so on. A call whose first
attempt succeeds, or fails for good, is a call made once: app_call_id and attempt stay None.
"""

from __future__ import annotations

import atexit
import contextvars
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar

from fleetui.shim.exchange import CLOSED, DROPPED, FAILED, IDLE, OPEN, READ_TO_END, Exchange
from fleetui.shim.recorder import default_recorder
from fleetui.shim.track import _attributes, _FIELDS
from fleetui.store.records import new_call_id

C = TypeVar("C")
_MARK = "_fleetui_instrumented"
IDLE_S = 30.0

# The last attempt on this thread or task that the SDK may retry: (app_call_id, attempt).
_last_attempt: contextvars.ContextVar[tuple[str, int] | None] = contextvars.ContextVar("fleetui_attempt", default=None)


def instrument(client: C, *, idle_s: float = IDLE_S) -> C:
    """Return `client` (an SDK client, or an httpx/httpx2 client), now recording its calls.

    `idle_s`: a stream the app has stopped reading is recorded (as abandoned) after this long."""
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
    http._transport = wrapper(http._transport, idle_s)
    mounts = getattr(http, "_mounts", None) or {}
    for pattern, transport in list(mounts.items()):
        if transport is not None:
            mounts[pattern] = wrapper(transport, idle_s)
    setattr(http, _MARK, True)
    return client


def _exchange(request: Any, idle_s: float) -> Exchange:
    attributes = _attributes.get()
    attrs = {_FIELDS[k]: v for k, v in attributes.items()} if attributes else {}
    try:
        body = request.content  # built by the SDK from JSON; already in memory
    except Exception:
        body = b""
    # The URL object, not its text: turned into a string on the recorder's thread.
    exchange = Exchange(request.url, body, time.time(), time.perf_counter(), attrs, idle_s=idle_s)
    previous = _last_attempt.get()
    if previous is not None:  # the last request here failed in a way the SDK retries: is this the retry?
        retries = request.headers.get("x-stainless-retry-count")
        if retries is not None and retries.isdigit() and int(retries) == previous[1]:
            exchange.app_call_id, exchange.attempt = previous[0], previous[1] + 1
        else:
            _last_attempt.set(None)
    return exchange


def _retryable(response: Any) -> bool:
    """What the openai and anthropic SDKs retry (their `_should_retry`, asked on errors only)."""
    status = response.status_code
    if status < 400:
        return False
    told = response.headers.get("x-should-retry")
    if told in ("true", "false"):
        return told == "true"
    return status in (408, 409, 429) or status >= 500


def _note_attempt(exchange: Exchange, request: Any, retryable: bool) -> None:
    """Link the attempts of one SDK call (see the module's note). Reads headers only on the rare
    paths — a retryable failure, or a retry — so that a call made once costs nothing here."""
    if not retryable:
        if exchange.attempt is not None:
            _last_attempt.set(None)  # the retry that ended it
        return
    if exchange.attempt is None:
        if request.headers.get("x-stainless-retry-count") is None:
            return  # not an SDK request: nothing will retry it
        exchange.attempt = 1
        exchange.call_id = exchange.app_call_id = new_call_id()
    if exchange.app_call_id is not None:
        _last_attempt.set((exchange.app_call_id, exchange.attempt))


def _already_read(request: Any, response: Any, exchange: Exchange) -> bool:
    """Fill the exchange from the response; True when the body was already read (a transport
    that built the response from bytes), in which case it is recorded now."""
    exchange.last_read_perf = time.perf_counter()
    exchange.status = response.status_code
    exchange.headers = response.headers  # read on the recorder's thread
    _note_attempt(exchange, request, _retryable(response))
    if not getattr(response, "is_closed", False):
        _watch(exchange)
        return False
    exchange.decoded = True  # .content is already decoded
    exchange.chunks = [response.content]
    exchange.chunk_perf = [exchange.last_read_perf]
    exchange.end = READ_TO_END
    exchange.ended_perf = exchange.last_read_perf
    default_recorder().record(exchange)
    return True


def _failed_to_connect(request: Any, exchange: Exchange, exc: BaseException) -> None:
    try:
        exchange.error, exchange.end = type(exc).__name__, FAILED
        exchange.ended_perf = exchange.last_read_perf = time.perf_counter()
        _note_attempt(exchange, request, isinstance(exc, Exception))
        default_recorder().record(exchange)
    except Exception:  # the app gets its own exception, not ours
        pass


def _is_llm_call(request: Any) -> bool:
    return request.method == "POST" and str(request.url.path).endswith(("/chat/completions", "/messages", "/responses"))


# -- responses still being read ---------------------------------------------------------------------

_open: dict[int, Exchange] = {}  # by id(): the exchange is alive while it is in here
_sweeper: threading.Thread | None = None
_sweeper_lock = threading.Lock()
_tick_s = 1.0


def _watch(exchange: Exchange) -> None:
    _open[id(exchange)] = exchange
    if _sweeper is None or exchange.idle_s / 4 < _tick_s:
        _start_sweeper(exchange.idle_s)


def _finish(exchange: Exchange, how: str, error: str | None = None) -> None:
    """Hand the exchange to the recorder, once: whoever pops it first (the app's read, a close,
    the finalizer, the idle sweeper) records it."""
    if _open.pop(id(exchange), None) is None:
        return
    exchange.end = how
    exchange.ended_perf = time.perf_counter()
    if error is not None:
        exchange.error = error
        exchange.last_read_perf = exchange.ended_perf
    default_recorder().record(exchange)


def _start_sweeper(idle_s: float) -> None:
    global _sweeper, _tick_s
    with _sweeper_lock:
        _tick_s = min(_tick_s, max(0.02, idle_s / 4))
        if _sweeper is None:
            default_recorder()  # its exit flush is registered first, so ours runs before it
            atexit.register(_record_open_at_exit)
            _sweeper = threading.Thread(target=_sweep, name="fleetui-streams", daemon=True)
            _sweeper.start()


def _sweep() -> None:
    while True:
        time.sleep(_tick_s)
        try:
            now = time.perf_counter()
            for exchange in list(_open.values()):
                last = exchange.last_read_perf or exchange.started_perf
                if not exchange.waiting and exchange.end == OPEN and now - last >= exchange.idle_s:
                    _finish(exchange, IDLE)
        except Exception:  # never let the sweeper die; the finalizers still record
            pass


def _forget_parent_streams() -> None:
    """A forked child has no sweeper thread and does not own its parent's open responses."""
    global _sweeper
    _open.clear()
    _sweeper = None


os.register_at_fork(after_in_child=_forget_parent_streams)


def _record_open_at_exit() -> None:
    for exchange in list(_open.values()):
        _finish(exchange, DROPPED)
    default_recorder().flush(2.0)


# -- the transports and their tees ------------------------------------------------------------------


def _stopped_reading(exchange: Exchange, error: BaseException | None) -> None:
    """The body's iteration ended: at its end (None), by a read error, or closed by the app
    (GeneratorExit: close() or the finalizer records that)."""
    exchange.waiting = False
    if error is None:
        exchange.last_read_perf = time.perf_counter()
        _finish(exchange, READ_TO_END)
    elif not isinstance(error, GeneratorExit):
        _finish(exchange, FAILED, type(error).__name__)

_tee_classes: dict[tuple[type, type], type] = {}


def _tee(mixin: type, base_name: str, stream: Any) -> type:
    """The tee class for this HTTP library: httpx and httpx2 each assert that a response
    stream is an instance of *their own* byte-stream base class."""
    base = next((c for c in type(stream).__mro__ if c.__name__ == base_name), object)
    key = (mixin, base)
    if key not in _tee_classes:
        _tee_classes[key] = type(mixin.__name__, (mixin, base), {})
    return _tee_classes[key]


class _SyncTransport:
    def __init__(self, inner: Any, idle_s: float = IDLE_S) -> None:
        self._inner = inner
        self._idle_s = idle_s

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
        try:
            exchange = _exchange(request, self._idle_s)
        except Exception:  # recording must never change what the app sees
            return self._inner.handle_request(request)
        try:
            response = self._inner.handle_request(request)
        except BaseException as exc:
            _failed_to_connect(request, exchange, exc)
            raise
        try:
            if _already_read(request, response, exchange):
                return response
        except Exception:
            return response
        response.stream = _tee(_SyncTee, "SyncByteStream", response.stream)(response.stream, exchange)
        return response

    def close(self) -> None:
        self._inner.close()


class _SyncTee:
    def __init__(self, stream: Any, exchange: Exchange) -> None:
        self._stream = stream
        self._exchange = exchange

    def __iter__(self) -> Iterator[bytes]:
        exchange = self._exchange
        chunks, times = exchange.chunks, exchange.chunk_perf
        clock = time.perf_counter
        exchange.waiting = True
        try:
            for chunk in self._stream:
                exchange.waiting = False
                if exchange.end is OPEN:
                    exchange.last_read_perf = now = clock()
                    times.append(now)  # before the chunk: a reader never finds a chunk without its time
                    chunks.append(chunk)
                yield chunk
                exchange.waiting = True
        except BaseException as exc:
            _stopped_reading(exchange, exc)
            raise
        _stopped_reading(exchange, None)

    def close(self) -> None:
        _finish(self._exchange, CLOSED)
        self._stream.close()

    def __del__(self) -> None:
        try:
            _finish(self._exchange, DROPPED)
        except Exception:  # at interpreter exit the recorder may be gone
            pass


class _AsyncTransport:
    def __init__(self, inner: Any, idle_s: float = IDLE_S) -> None:
        self._inner = inner
        self._idle_s = idle_s

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
        try:
            exchange = _exchange(request, self._idle_s)
        except Exception:  # recording must never change what the app sees
            return await self._inner.handle_async_request(request)
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException as exc:
            _failed_to_connect(request, exchange, exc)
            raise
        try:
            if _already_read(request, response, exchange):
                return response
        except Exception:
            return response
        response.stream = _tee(_AsyncTee, "AsyncByteStream", response.stream)(response.stream, exchange)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _AsyncTee:
    def __init__(self, stream: Any, exchange: Exchange) -> None:
        self._stream = stream
        self._exchange = exchange

    async def __aiter__(self) -> AsyncIterator[bytes]:
        exchange = self._exchange
        chunks, times = exchange.chunks, exchange.chunk_perf
        clock = time.perf_counter
        exchange.waiting = True
        try:
            async for chunk in self._stream:
                exchange.waiting = False
                if exchange.end is OPEN:
                    exchange.last_read_perf = now = clock()
                    times.append(now)
                    chunks.append(chunk)
                yield chunk
                exchange.waiting = True
        except BaseException as exc:
            _stopped_reading(exchange, exc)
            raise
        _stopped_reading(exchange, None)

    async def aclose(self) -> None:
        _finish(self._exchange, CLOSED)
        await self._stream.aclose()

    def __del__(self) -> None:
        try:
            _finish(self._exchange, DROPPED)
        except Exception:
            pass
