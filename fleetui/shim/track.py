"""`track()` for any client, app-level attributes, and feedback markers."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, TypeVar

from fleetui.shim.recorder import default_recorder
from fleetui.store.records import CallRecord, new_call_id

F = TypeVar("F", bound=Callable[..., Any])

# Attributes an app sets once for a stretch of work (a request, a job); every call recorded
# inside it — through track() or an instrumented SDK client — carries them.
_attributes: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("fleetui_attributes", default={})
_current: contextvars.ContextVar[TrackedCall | None] = contextvars.ContextVar("fleetui_call", default=None)

_FIELDS = {"model": "model_id", "user": "user_id", "session": "session_id", "task": "task", "use_case": "use_case",
           "tags": "tags", "decision_id": "decision_id", "route": "route", "rule": "rule",
           "complexity": "complexity", "source": "source", "confidence": "confidence", "override": "override"}


@contextlib.contextmanager
def attributes(**values: Any) -> Iterator[None]:
    """Attach user, session, task, use_case, tags, source, or a routing decision (decision_id,
    route, rule, confidence, override — see RouteDecision.call_attributes) to calls.

    `model`: the fleet model id the calls are for, when the endpoint and provider model name
    they call are shared by several fleet models (see fleetui.shim.fleetmodels)."""
    unknown = set(values) - set(_FIELDS)
    if unknown:
        raise TypeError(f"unknown attribute(s) {sorted(unknown)}; known: {sorted(_FIELDS)}")
    token = _attributes.set({**_attributes.get(), **{k: v for k, v in values.items() if v is not None}})
    try:
        yield
    finally:
        _attributes.reset(token)


class _PendingCall(dict):  # type: ignore[type-arg]
    """A tracked call's fields; the recorder's thread turns them into a CallRecord."""

    __slots__ = ()

    def to_record(self) -> CallRecord:
        return CallRecord(**self)


class TrackedCall:
    """One call being tracked; `record()` adds what only the app knows (reply, tokens).

    Kept to a dict and two numbers on purpose: this runs on the app's thread.
    """

    __slots__ = ("call_id", "_fields", "_started")

    def __init__(self, fields: dict[str, Any]) -> None:
        self.call_id = new_call_id()
        self._fields = _PendingCall(fields, call_id=self.call_id, ts=time.time())
        self._started = time.perf_counter()

    def record(self, **values: Any) -> None:
        """Any CallRecord field: response, prompt, input_tokens, output_tokens,
        cached_input_tokens, response_model, finish_reason, cost_usd, ttft_ms, …"""
        fields = self._fields
        for name, value in values.items():
            if value is not None:
                fields[name] = value

    def _finish(self, error: BaseException | None) -> None:
        fields = self._fields
        fields["latency_ms"] = (time.perf_counter() - self._started) * 1000
        if error is not None:
            fields["success"] = False
            fields["error_type"] = type(error).__name__
        extra = _attributes.get()
        if extra:
            for name, value in extra.items():
                field = _FIELDS[name]
                if field == "tags":
                    fields["tags"] = [*fields.get("tags", ()), *value]
                else:
                    fields.setdefault(field, value)
        default_recorder().record(fields)


class track:  # noqa: N801 - used like a function: `with track(...)` / `@track(...)`
    """Record a call made with any client, as a context manager or a decorator.

    `model` is a fleet model id or the provider's model name; the recorder maps it to the fleet
    model (fleetui.shim.fleetmodels says how, ambiguous names included).

    Exceptions inside are recorded (success false, error type) and re-raised unchanged.
    """

    def __init__(self, model: str | None = None, *, use_case: str | None = None, task: str | None = None,
                 user: str | None = None, session: str | None = None, tags: list[str] | None = None,
                 provider: str | None = None, prompt: str | None = None, source: str | None = None) -> None:
        given = {"request_model": model, "use_case": use_case, "task": task, "user_id": user,
                 "session_id": session, "tags": list(tags) if tags else None, "provider_name": provider,
                 "prompt": prompt, "source": source}
        self._fields: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        self._active: list[tuple[TrackedCall, contextvars.Token[TrackedCall | None]]] = []

    def __enter__(self) -> TrackedCall:
        call = TrackedCall(self._fields)
        self._active.append((call, _current.set(call)))
        return call

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        call, token = self._active.pop()
        _current.reset(token)
        try:
            call._finish(error)
        except Exception:
            pass  # recording must never change what the app sees
        return None

    def __call__(self, fn: F) -> F:
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await fn(*args, **kwargs)
            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]


def current() -> TrackedCall | None:
    """The call being tracked here (inside `with track()` or a `@track` function), if any."""
    return _current.get()


def feedback(call_id: str, score: float, comment: str | None = None) -> None:
    """A user's judgement of a call: 0.0 (bad) … 1.0 (good)."""
    default_recorder().record(("feedback", call_id, (float(score), comment)))


def follow_up(call_id: str) -> None:
    """The user had to ask again: a sign the answer did not serve."""
    default_recorder().record(("follow_up", call_id, ()))


def abandoned(call_id: str) -> None:
    """The user left without using the answer."""
    default_recorder().record(("abandoned", call_id, ()))


def log_decision(decision: Any) -> None:
    """A router's decision log that stores every decision beside the calls:
    `Router.from_toml("fleet.toml", on_decision=fleetui.log_decision)`; `fleetui decisions` reads them.

    Queues the decision and returns (about a microsecond); the recorder's thread writes it."""
    default_recorder().record(("decision", decision.decision_id, (time.time(), decision)))


def flush(timeout: float = 5.0) -> bool:
    """Write everything recorded so far (also done at interpreter exit)."""
    return default_recorder().flush(timeout)
