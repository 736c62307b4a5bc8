"""What every provider adapter takes and returns, whatever the wire format behind it."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal


@dataclass(frozen=True)
class Message:
    role: Literal["user", "assistant", "system"]
    content: str


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[Message, ...]
    system: str | None = None
    max_tokens: int = 512
    temperature: float | None = None

    @classmethod
    def of(cls, prompt: str, *, system: str | None = None, max_tokens: int = 512,
           temperature: float | None = None) -> ChatRequest:
        return cls((Message("user", prompt),), system, max_tokens, temperature)


FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "refusal", "other"]


@dataclass
class ChatResult:
    """One reply. ``input_tokens`` includes cached input tokens (OpenAI's convention)."""

    text: str
    finish_reason: FinishReason | None
    raw_finish_reason: str | None
    input_tokens: int | None
    output_tokens: int | None
    cached_input_tokens: int | None
    latency_ms: float
    ttft_ms: float | None
    response_model: str | None
    streamed: bool = False

    @property
    def refused(self) -> bool:
        return self.finish_reason in ("content_filter", "refusal")


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class StreamDone:
    result: ChatResult


StreamEvent = TextDelta | StreamDone


class ErrorKind(StrEnum):
    AUTH = "auth"
    UNKNOWN_MODEL = "unknown_model"
    RATE_LIMITED = "rate_limited"
    OVERLOADED = "overloaded"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    BAD_RESPONSE = "bad_response"
    BAD_REQUEST = "bad_request"
    REFUSAL = "refusal"
    MISCONFIGURED = "misconfigured"


RETRYABLE = {ErrorKind.RATE_LIMITED, ErrorKind.OVERLOADED, ErrorKind.SERVER_ERROR, ErrorKind.CONNECTION}


class ProviderError(Exception):
    """A call that failed, classified; the message names the model and URL, never the key."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
        provider_message: str | None = None,
        partial_text: str = "",
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after_s = retry_after_s
        self.provider_message = provider_message
        self.partial_text = partial_text

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


@dataclass(frozen=True)
class Timeouts:
    connect_s: float = 10.0
    read_s: float = 60.0
    first_byte_s: float = 60.0  # streams: until the first event
    stall_s: float = 30.0  # streams: longest silence between events
    total_s: float = 300.0


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0  # a longer Retry-After is reported, not waited for


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from Retry-After (seconds or HTTP date) or retry-after-ms."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True)
class Capabilities:
    """What an adapter can do, so probes, trials, tests and the app ask it instead of checking
    which provider it is (and an adapter from a plugin says the same things about itself)."""

    streaming: bool = True  # `stream()` yields text as it arrives; False: `chat()` only
    tools: bool = False  # sends tool definitions and reads tool calls back
    usage_in_stream: bool = True  # a stream ends with token counts
    model_listing: bool = True  # `list_models()` works, so a probe can be free

    def describe(self) -> str:
        """A short line for the app: "streams · lists models · usage in streams"."""
        said = [("streams", self.streaming), ("tools", self.tools), ("lists models", self.model_listing),
                ("usage in streams", self.streaming and self.usage_in_stream)]
        return " · ".join(name for name, present in said if present) or "chat only"


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    latency_ms: float | None
    error: ProviderError | None = None
    listed: bool | None = None  # the model was in the provider's model list
    method: str = "list"  # "list", "1-token", "deep"
    models_seen: tuple[str, ...] = field(default=())
