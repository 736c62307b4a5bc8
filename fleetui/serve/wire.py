"""The two wire formats the gateway speaks to clients: which endpoint is which, what a valid
request must carry, and errors shaped the way each client's SDK parses them.

OpenAI's error body is ``{"error": {"message", "type", "param", "code"}}``; Anthropic's is
``{"type": "error", "error": {"type", "message"}}``. A client only ever sees its own shape, so
its SDK raises the exception it documents (``openai.NotFoundError``, ``anthropic.RateLimitError``…).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Wire(StrEnum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One LLM endpoint of the gateway and where it goes upstream."""

    path: str  # the gateway's path
    wire: Wire
    upstream: str  # path under the provider's base URL
    operation: str  # the call's operation_name in the store
    required: tuple[tuple[str, type | tuple[type, ...]], ...]  # fields a valid body must carry
    recorded: bool = True  # an LLM call (stored); count_tokens is free and not a model call


ENDPOINTS: dict[str, Endpoint] = {e.path: e for e in (
    Endpoint("/v1/chat/completions", Wire.OPENAI, "/chat/completions", "chat", (("messages", list),)),
    Endpoint("/v1/responses", Wire.OPENAI, "/responses", "chat", (("input", (str, list)),)),
    Endpoint("/v1/embeddings", Wire.OPENAI, "/embeddings", "embeddings", (("input", (str, list)),)),
    Endpoint("/v1/messages", Wire.ANTHROPIC, "/v1/messages", "chat", (("messages", list), ("max_tokens", int))),
    Endpoint("/v1/messages/count_tokens", Wire.ANTHROPIC, "/v1/messages/count_tokens", "count_tokens",
             (("messages", list),), recorded=False),
)}

_OPENAI_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_denied",
                 404: "not_found_error", 413: "invalid_request_error", 429: "rate_limit_error"}
_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                    529: "overloaded_error"}


_KIND_NAMES: dict[type, str] = {str: "a string", list: "a list", int: "an integer", dict: "an object",
                                float: "a number", bool: "a boolean", type(None): "null"}


class BadRequest(Exception):
    """What is wrong with a client's request, as one sentence; becomes a 4xx in its format."""

    def __init__(self, message: str, status: int = 400, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.param = param


def error_body(wire: Wire, status: int, message: str, *, code: str | None = None,
               param: str | None = None) -> bytes:
    if wire is Wire.ANTHROPIC:
        kind = _ANTHROPIC_TYPES.get(status, "api_error")
        return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()
    kind = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return json.dumps({"error": {"message": message, "type": kind, "param": param, "code": code}}).encode()


def parse_body(raw: bytes, endpoint: Endpoint) -> dict[str, Any]:
    """The request's JSON object, checked for the fields the endpoint needs."""
    if not raw:
        raise BadRequest(f"{endpoint.path} needs a JSON body with a 'model'")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the request body is not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise BadRequest(f"the request body must be a JSON object, not {type(body).__name__}")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("'model' is required: a fleet model id, a role, a provider model name or "
                         "fleetui/auto", param="model")
    for name, kind in endpoint.required:
        value = body.get(name)
        if value is None:
            raise BadRequest(f"'{name}' is required by {endpoint.path}", param=name)
        if not isinstance(value, kind) or isinstance(value, bool):
            expected = " or ".join(_KIND_NAMES[k] for k in (kind if isinstance(kind, tuple) else (kind,)))
            raise BadRequest(f"'{name}' must be {expected}, not {_KIND_NAMES.get(type(value), type(value).__name__)}",
                             param=name)
    if "stream" in body and not isinstance(body["stream"], bool):
        raise BadRequest("'stream' must be true or false", param="stream")
    return body
