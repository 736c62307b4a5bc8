"""The gateway's HTTP/1.1 client to providers: asyncio protocols and httptools' response parser.

httpx's transport stack (httpcore's pool, anyio's streams, h11) was most of the gateway's CPU
per request when profiled under load (cProfile of `fleetui serve` at 64 concurrent calls,
2026-12-02): for one POST and its reply it ran ~2,600 Python calls. The gateway needs none of
its generality — one method, bodies it already holds, keep-alive to a few origins — so this
client writes the request in one `write` and lets httptools (already the server's parser)
parse the reply, as uvicorn does on the other side.

It raises httpx's exception types (ConnectError, ReadError, RemoteProtocolError, ConnectTimeout,
ReadTimeout, PoolTimeout), so the relay's fallback and retry rules read the same either way.
TLS uses one shared context; redirects are never followed (a key only goes to its provider).
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from collections.abc import AsyncIterator

import httptools
import httpx

_HIGH_WATER = 256 * 1024  # bytes buffered from a provider before it is asked to wait


class Headers:
    """A reply's headers, names in lower case, in the order received."""

    __slots__ = ("_items",)

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items

    def items(self) -> list[tuple[str, str]]:
        return self._items

    def get(self, name: str, default: str | None = None) -> str | None:
        return next((v for k, v in self._items if k == name), default)


class _Connection(asyncio.Protocol):
    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.parser = httptools.HttpResponseParser(self)
        self._names: list[str] = []
        self._header_items: list[tuple[str, str]] = []
        self.head: asyncio.Future[None] | None = None
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.paused = False
        self.complete = False
        self.keep_alive = False
        self.error: Exception | None = None
        self.wake: asyncio.Event = asyncio.Event()

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.head is None:  # bytes while idle: the provider is not speaking HTTP to us
            self._fail(httpx.RemoteProtocolError("the provider sent bytes before a request"))
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed reply from the provider ({exc})"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.complete:
            return
        if self.head is not None and not self.head.done():
            self._fail(httpx.ReadError(str(exc)) if exc else
                       httpx.RemoteProtocolError("Server disconnected without sending a response."))
        elif self.head is not None:
            if exc is None and self._ends_at_close():  # HTTP/1.1 without a length: the body ends here
                self.complete, self.keep_alive = True, False
                self.wake.set()
                return
            self._fail(httpx.ReadError(str(exc) if exc else "the provider closed the connection mid-reply"))

    def _ends_at_close(self) -> bool:
        names = {name for name, _ in self._header_items}
        chunked = any(n == "transfer-encoding" and "chunked" in v.lower() for n, v in self._header_items)
        return "content-length" not in names and not chunked

    # -- httptools callbacks ------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_items.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        if self.head is not None and not self.head.done():
            self.head.set_result(None)

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > _HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self.wake.set()

    def on_message_complete(self) -> None:
        # Asked now: once the message is over the parser has reset and always answers False.
        self.keep_alive = self.parser.should_keep_alive()
        self.complete = True
        self.wake.set()

    # -- the client's side --------------------------------------------------------------------

    def _fail(self, error: Exception) -> None:
        self.error = error
        if self.head is not None and not self.head.done():
            self.head.set_exception(error)
        self.wake.set()
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def begin(self, request: bytes) -> asyncio.Future[None]:
        self.head = asyncio.get_running_loop().create_future()
        self._header_items = []
        self.chunks.clear()
        self.buffered, self.complete, self.keep_alive, self.error = 0, False, False, None
        self.parser = httptools.HttpResponseParser(self)
        assert self.transport is not None
        self.transport.write(request)
        return self.head

    def take(self) -> bytes | None:
        """The next body piece, None when none is waiting."""
        if not self.chunks:
            return None
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        if self.paused and self.buffered <= _HIGH_WATER // 2 and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return chunk


class Response:
    """The reply's status and headers, its body read or streamed from the connection; closing it
    gives the connection back to its pool (kept alive when the reply was read to its end)."""

    def __init__(self, connection: _Connection, read_s: float) -> None:
        self._connection = connection
        self._read_s = read_s
        self.status_code: int = connection.parser.get_status_code()
        self.headers = Headers(connection._header_items)
        self._done = False
        self._closed = False

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        connection = self._connection
        while True:
            chunk = connection.take()
            if chunk is not None:
                yield chunk
                continue
            if connection.complete:
                break
            if connection.error is not None:
                raise connection.error
            connection.wake.clear()
            try:
                async with asyncio.timeout(self._read_s):
                    await connection.wake.wait()
            except TimeoutError:
                raise httpx.ReadTimeout(f"no byte from the provider in {self._read_s:g} s") from None
        self._done = True

    async def aread(self) -> bytes:
        return b"".join([chunk async for chunk in self.aiter_raw()])

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        connection = self._connection
        if self._done and connection.complete and connection.keep_alive and not connection.closed:
            connection.head = None
            connection.pool.idle.append(connection)
        else:
            connection.close()  # a reply not read to its end leaves the connection unusable
        connection.pool.slots.release()


class Pool:
    """Kept-alive connections to one origin (scheme, host, port)."""

    def __init__(self, scheme: str, host: str, port: int, tls: ssl.SSLContext | None, *, limit: int,
                 connect_s: float, read_s: float, pool_s: float) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.authority = (host if port == (443 if scheme == "https" else 80) else f"{host}:{port}").encode()
        self.idle: list[_Connection] = []
        self.slots = asyncio.Semaphore(limit)
        self.connect_s, self.read_s, self.pool_s = connect_s, read_s, pool_s

    async def send(self, target: bytes, headers: bytes, content: bytes) -> Response:
        try:
            async with asyncio.timeout(self.pool_s):
                await self.slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("all connections to the provider are busy") from None
        connection: _Connection | None = None
        try:
            connection = await self._connection()
            head = connection.begin(b"POST %s HTTP/1.1\r\nhost: %s\r\n%scontent-length: %d\r\n\r\n%s" % (
                target, self.authority, headers, len(content), content))
            try:
                async with asyncio.timeout(self.read_s):
                    await head
            except TimeoutError:
                connection.close()
                raise httpx.ReadTimeout(f"no reply from the provider in {self.read_s:g} s") from None
        except BaseException:  # failed, timed out, or cancelled by a client that hung up
            if connection is not None:
                connection.close()
            self.slots.release()
            raise
        return Response(connection, self.read_s)

    async def _connection(self) -> _Connection:
        while self.idle:
            connection = self.idle.pop()  # the most recently used: the least likely to be stale
            if not connection.closed:
                return connection
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_s):
                _, protocol = await loop.create_connection(
                    lambda: _Connection(self), self.host, self.port, ssl=self.tls,
                    server_hostname=self.host if self.tls else None)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"could not connect within {self.connect_s:g} s") from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc)) from None
        return protocol

    def close(self) -> None:
        for connection in self.idle:
            connection.close()
        self.idle.clear()


def split_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an http(s) URL."""
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed.scheme, parsed.host, port, parsed.raw_path.decode("ascii")


def header_block(headers: list[tuple[bytes, bytes]]) -> bytes:
    return b"".join(b"%s: %s\r\n" % (name, value) for name, value in headers)
