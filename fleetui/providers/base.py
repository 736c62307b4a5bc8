"""HTTP mechanics shared by every adapter: timeouts, retries, error classification, streams.

Each adapter only says how to build its requests and read its replies. Everything that can go
wrong on the wire becomes a `ProviderError` with a kind from one taxonomy; no httpx or JSON
exception leaves an adapter.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import ssl
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

import httpx

from fleetui.providers import sse
from fleetui.providers.types import (
    Capabilities,
    ChatRequest,
    ChatResult,
    ErrorKind,
    ProbeResult,
    ProviderError,
    RetryPolicy,
    StreamDone,
    StreamEvent,
    TextDelta,
    Timeouts,
    parse_retry_after,
)

@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for all adapters: building one costs ~30 ms, which adds up when a probe
    round opens fifty clients."""
    return httpx.create_ssl_context()


_UNKNOWN_MODEL_HINTS = ("model_not_found", "does not exist", "not found", "unknown model", "no such model")


class Adapter(ABC):
    """One model at one endpoint. Use as an async context manager, or call `aclose()`."""

    kind: str = "base"
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        model_id: str | None = None,
        timeouts: Timeouts = Timeouts(),
        retry: RetryPolicy = RetryPolicy(),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.model_id = model_id or model
        self.timeouts = timeouts
        self.retry = retry
        # The key goes only into this client's default headers, and this client only talks to
        # base_url (redirects are not followed), so a key never reaches another endpoint.
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=self.auth_headers(api_key) if api_key else {},
            timeout=httpx.Timeout(timeouts.read_s, connect=timeouts.connect_s),
            follow_redirects=False,
            transport=transport,
            verify=_tls(),
        )

    async def __aenter__(self) -> Adapter:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- what each provider defines ------------------------------------------------------------

    @abstractmethod
    def auth_headers(self, api_key: str) -> dict[str, str]: ...

    @abstractmethod
    def chat_request(self, request: ChatRequest, *, stream: bool) -> tuple[str, dict[str, Any]]:
        """(path, JSON body) of a chat call."""

    @abstractmethod
    def parse_chat(self, body: Any, latency_ms: float) -> ChatResult: ...

    @abstractmethod
    def stream_events(self, lines: AsyncIterator[str], started: float) -> AsyncIterator[StreamEvent]:
        """Turn the response's lines into text deltas and one final StreamDone."""

    models_path: str = "/models"

    def parse_models(self, body: Any) -> list[str]:
        return [str(m["id"]) for m in body["data"]]

    # -- public operations ---------------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> ChatResult:
        path, body = self.chat_request(request, stream=False)

        async def attempt() -> ChatResult:
            started = time.perf_counter()
            response = await self._send("POST", path, body)
            latency = (time.perf_counter() - started) * 1000
            return self._parsed(lambda: self.parse_chat(self._json(response), latency))

        return await self._with_retries(attempt)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Text as it arrives, then a StreamDone with usage and time to first token.

        Retries happen only before the first byte: once the app has seen text, a failure is
        reported with the partial text rather than silently started over. An adapter that cannot
        stream, or a server that answers a stream request with a whole JSON reply (some local
        servers ignore `stream: true`), gives the reply as one delta.
        """
        if not self.capabilities.streaming:
            result = await self.chat(request)
            if result.text:
                yield TextDelta(result.text)
            yield StreamDone(result)
            return
        path, body = self.chat_request(request, stream=True)
        attempt_no = 0
        while True:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self.timeouts.first_byte_s):
                    response = await self._client.send(
                        self._client.build_request("POST", path, json=body), stream=True
                    )
            except TimeoutError:
                raise self._error(ErrorKind.TIMEOUT, f"no response within {self.timeouts.first_byte_s:g}s") from None
            except httpx.HTTPError as exc:
                error = self._transport_error(exc)
                if error.retryable and attempt_no < self.retry.max_retries:
                    attempt_no += 1
                    await self._backoff(attempt_no, error)
                    continue
                raise error from None
            if response.status_code >= 400:
                await response.aread()
                await response.aclose()
                error = self._status_error(response)
                if error.retryable and attempt_no < self.retry.max_retries and self._can_wait(error):
                    attempt_no += 1
                    await self._backoff(attempt_no, error)
                    continue
                raise error
            break
        try:
            if response.headers.get("content-type", "").split(";")[0].strip() == "application/json":
                await response.aread()
                latency = (time.perf_counter() - started) * 1000
                result = self._parsed(lambda: self.parse_chat(self._json(response), latency))
                if result.text:
                    yield TextDelta(result.text)
                yield StreamDone(result)
                return
            async for event in self.stream_events(self._lines(response), started):
                yield event
        finally:
            await response.aclose()

    async def list_models(self) -> list[str]:
        async def attempt() -> list[str]:
            response = await self._send("GET", self.models_path, None)
            return self._parsed(lambda: self.parse_models(self._json(response)))

        return await self._with_retries(attempt)

    async def probe(self, *, deep: bool = False) -> ProbeResult:
        """Cheap by default: the model list, or one token where a list proves nothing."""
        started = time.perf_counter()
        try:
            if deep:
                await self.chat(ChatRequest.of("Reply with the single word OK.", max_tokens=8))
                return ProbeResult(True, _ms(started), method="deep")
            if not self.capabilities.model_listing:
                await self.chat(ChatRequest.of("Reply with OK.", max_tokens=1))
                return ProbeResult(True, _ms(started), method="1-token")
            try:
                models = await self.list_models()
            except ProviderError as exc:
                if exc.kind not in (ErrorKind.UNKNOWN_MODEL, ErrorKind.BAD_REQUEST, ErrorKind.BAD_RESPONSE):
                    raise
                # The server has no model list (404 on the list path): ask for one token.
                started = time.perf_counter()
                await self.chat(ChatRequest.of("Reply with OK.", max_tokens=1))
                return ProbeResult(True, _ms(started), method="1-token")
            latency = _ms(started)
            if self.model_listed(models):
                return ProbeResult(True, latency, listed=True, models_seen=tuple(models[:50]))
            error = self._error(
                ErrorKind.UNKNOWN_MODEL,
                f"model {self.model!r} is not among the {len(models)} models the server lists",
            )
            return ProbeResult(False, latency, error, listed=False, models_seen=tuple(models[:50]))
        except ProviderError as exc:
            return ProbeResult(False, _ms(started), exc, method="deep" if deep else "list")

    def model_listed(self, models: list[str]) -> bool:
        return self.model in models

    # -- mechanics -----------------------------------------------------------------------------

    async def _send(self, method: str, path: str, body: dict[str, Any] | None) -> httpx.Response:
        try:
            async with asyncio.timeout(self.timeouts.total_s):
                response = await self._client.request(method, path, json=body)
        except TimeoutError:
            raise self._error(ErrorKind.TIMEOUT, f"no complete reply within {self.timeouts.total_s:g}s") from None
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from None
        if response.status_code >= 400:
            raise self._status_error(response)
        return response

    async def _with_retries(self, attempt: Any) -> Any:
        for attempt_no in range(self.retry.max_retries + 1):
            try:
                return await attempt()
            except ProviderError as error:
                last = attempt_no == self.retry.max_retries
                if not error.retryable or last or not self._can_wait(error):
                    raise
                await self._backoff(attempt_no + 1, error)
        raise AssertionError("unreachable")

    def _can_wait(self, error: ProviderError) -> bool:
        return error.retry_after_s is None or error.retry_after_s <= self.retry.max_delay_s

    async def _backoff(self, attempt_no: int, error: ProviderError) -> None:
        if error.retry_after_s is not None:
            delay = error.retry_after_s
        else:
            delay = min(self.retry.max_delay_s, self.retry.base_delay_s * 2 ** (attempt_no - 1))
            delay *= 0.5 + random.random()  # jitter keeps many clients from retrying in step
        await asyncio.sleep(delay)

    async def _lines(self, response: httpx.Response) -> AsyncIterator[str]:
        """Lines of a streamed body, with the first-byte and stall timeouts applied."""
        iterator = response.aiter_lines().__aiter__()
        limit = self.timeouts.first_byte_s
        while True:
            try:
                async with asyncio.timeout(limit):
                    line = await iterator.__anext__()
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise self._error(ErrorKind.TIMEOUT, f"stream stalled: nothing for {limit:g}s") from None
            except httpx.HTTPError as exc:
                raise self._transport_error(exc) from None
            limit = self.timeouts.stall_s
            yield line

    async def _sse_json(self, lines: AsyncIterator[str], parts: list[str]) -> AsyncIterator[Any]:
        """The JSON payloads of an SSE body's events; None for OpenAI's `[DONE]`. A payload that
        is not JSON is a bad_response carrying the text received so far."""
        async for event in sse.events(lines):
            if event.data == "[DONE]":
                yield None
                continue
            try:
                yield json.loads(event.data)
            except json.JSONDecodeError:
                raise self._error(ErrorKind.BAD_RESPONSE, f"malformed stream event: {event.data[:80]!r}",
                                  partial_text="".join(parts)) from None

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            snippet = response.text[:120].replace("\n", " ")
            raise self._error(ErrorKind.BAD_RESPONSE, f"reply is not JSON: {snippet!r}") from None

    def _parsed(self, parse: Any) -> Any:
        try:
            return parse()
        except ProviderError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise self._error(ErrorKind.BAD_RESPONSE, f"reply is missing a field the API documents ({exc!r})") from None

    def _error(self, kind: ErrorKind, detail: str, **extra: Any) -> ProviderError:
        return ProviderError(kind, f"{self.model_id} at {self.base_url}: {detail}", **extra)

    def _transport_error(self, exc: httpx.HTTPError) -> ProviderError:
        if isinstance(exc, httpx.TimeoutException):
            return self._error(ErrorKind.TIMEOUT, f"timed out ({type(exc).__name__})")
        if isinstance(exc, httpx.ConnectError):
            return self._error(ErrorKind.CONNECTION, f"cannot connect ({exc}); is the server running?")
        return self._error(ErrorKind.CONNECTION, f"connection failed mid-reply ({type(exc).__name__}: {exc})")

    def _status_error(self, response: httpx.Response) -> ProviderError:
        status = response.status_code
        message = _provider_message(response)
        text = (message or "").lower()
        detail = f"HTTP {status}" + (f": {message}" if message else "")
        extra: dict[str, Any] = {"status": status, "provider_message": message}
        if status in (401, 403):
            return self._error(ErrorKind.AUTH, f"{detail} — check the API key", **extra)
        if status == 404 or any(h in text for h in _UNKNOWN_MODEL_HINTS) and status == 400:
            return self._error(ErrorKind.UNKNOWN_MODEL, f"{detail} — is {self.model!r} the provider's model name?", **extra)
        if status == 429:
            wait = parse_retry_after(response.headers)
            return self._error(ErrorKind.RATE_LIMITED, detail, retry_after_s=wait, **extra)
        if status == 529 or status == 503 and "overload" in text:
            return self._error(ErrorKind.OVERLOADED, detail, retry_after_s=parse_retry_after(response.headers), **extra)
        if status >= 500:
            return self._error(ErrorKind.SERVER_ERROR, detail, **extra)
        return self._error(ErrorKind.BAD_REQUEST, detail, **extra)


def _provider_message(response: httpx.Response) -> str | None:
    """The provider's own error text, from the error body shapes the APIs document."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        text = response.text.strip()
        return text[:200] or None
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping):
            message = error.get("message") or error.get("type")
            return str(message) if message else None
        if isinstance(error, str):
            return error
    return None


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
