"""Provider adapters: one result type and one error taxonomy over every provider's wire format."""

from __future__ import annotations

from fleetui.providers.factory import adapter_for, adapter_class
from fleetui.providers.types import (
    ChatRequest,
    ChatResult,
    ErrorKind,
    Message,
    ProbeResult,
    ProviderError,
    RetryPolicy,
    StreamDone,
    StreamEvent,
    TextDelta,
    Timeouts,
)

__all__ = [
    "ChatRequest", "ChatResult", "ErrorKind", "Message", "ProbeResult", "ProviderError",
    "RetryPolicy", "StreamDone", "StreamEvent", "TextDelta", "Timeouts", "adapter_class", "adapter_for",
]
