"""Server-sent events, as the HTML standard defines the format (WHATWG, "Server-sent events").

Every streaming API fleetui speaks sends SSE except Ollama's NDJSON: OpenAI and its compatibles
put one JSON object per `data:` line, Anthropic names each event with `event:`, and a
standards-following server may split one payload over several `data:` lines, send `: comments`
as keep-alives, or set `id:` and `retry:`. Reading only single `data:` lines loses the first and
misreads the second, so the decoder follows the whole format.

One leniency: the standard drops an event the stream ends in the middle of (no blank line after
it). Some local servers end their last event that way, so `SSEDecoder.end()` hands it over.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    data: str
    event: str = "message"  # the standard's default event type
    id: str | None = None  # the last event id seen on the stream, as the standard carries it
    retry_ms: int | None = None  # the reconnection time the server last asked for


class SSEDecoder:
    """Feed it the stream's lines (without line endings); it returns an event at each blank line."""

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event = ""
        self._last_id: str | None = None
        self._retry_ms: int | None = None
        self._first = True

    def feed(self, line: str) -> ServerSentEvent | None:
        if self._first:
            self._first = False
            line = line.removeprefix("\ufeff")  # a byte order mark may open the stream
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment: servers send them to keep idle connections open
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id" and "\0" not in value:
            self._last_id = value
        elif field == "retry" and value.isascii() and value.isdigit():
            self._retry_ms = int(value)
        # Any other field name is ignored, as the standard says.
        return None

    def end(self) -> ServerSentEvent | None:
        """The event the stream ended in without its blank line, if any (see the module doc)."""
        return self._dispatch()

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data:
            self._event = ""
            return None
        event = ServerSentEvent("\n".join(self._data), self._event or "message", self._last_id, self._retry_ms)
        self._data, self._event = [], ""
        return event


async def events(lines: AsyncIterator[str]) -> AsyncIterator[ServerSentEvent]:
    """The events of a stream given as lines (httpx's `aiter_lines()` splits on CR, LF and CRLF)."""
    decoder = SSEDecoder()
    async for line in lines:
        event = decoder.feed(line)
        if event is not None:
            yield event
    last = decoder.end()
    if last is not None:
        yield last
