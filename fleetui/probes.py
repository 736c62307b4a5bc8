"""Health probes: all enabled models at once, bounded, each within its timeout, then a status.

A model's status comes from its recent probes, not only the last one: a model that answers
now but failed two of its last five probes is *degraded*, as is one that answers slowly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from fleetui.config.schema import Fleet
from fleetui.providers import ErrorKind, ProviderError, RetryPolicy, Timeouts, adapter_for
from fleetui.store.records import ProbeRecord

ONLINE, DEGRADED, OFFLINE = "online", "degraded", "offline"
AUTH_FAILED, RATE_LIMITED, MISCONFIGURED = "auth_failed", "rate_limited", "misconfigured"
STATUSES = (ONLINE, DEGRADED, OFFLINE, AUTH_FAILED, RATE_LIMITED, MISCONFIGURED)

SLOW_FRACTION = 0.5  # a probe slower than half its timeout marks the model degraded
_WINDOW = 5

_KIND_STATUS = {
    ErrorKind.AUTH: AUTH_FAILED,
    ErrorKind.RATE_LIMITED: RATE_LIMITED,
    ErrorKind.MISCONFIGURED: MISCONFIGURED,
    ErrorKind.UNKNOWN_MODEL: MISCONFIGURED,
    ErrorKind.BAD_REQUEST: MISCONFIGURED,
}


@dataclass(frozen=True)
class ProbeOutcome:
    model_id: str
    record: ProbeRecord  # this probe, as stored
    status: str  # the model's status from this probe and its recent history
    detail: str


def probe_status(error: ProviderError | None, latency_ms: float | None, timeout_s: float) -> str:
    """The status one probe shows on its own."""
    if error is not None:
        return _KIND_STATUS.get(error.kind, OFFLINE)
    if latency_ms is not None and latency_ms > timeout_s * 1000 * SLOW_FRACTION:
        return DEGRADED
    return ONLINE


def model_status(recent: Sequence[ProbeRecord]) -> str:
    """A model's status from its probes, newest first."""
    if not recent:
        return "unknown"
    latest = recent[0].status
    if latest != ONLINE:
        return latest
    failures = sum(1 for p in recent[:_WINDOW] if p.status not in (ONLINE, DEGRADED))
    return DEGRADED if failures >= 2 else ONLINE


def fleet_health(fleet: Fleet, recent: Callable[[str, int], Sequence[ProbeRecord]]) -> dict[str, str]:
    """Each model's status from its recent probes; `recent` is e.g. `store.recent_probes`."""
    return {m.id: model_status(recent(m.id, _WINDOW)) for m in fleet.models}


async def probe_fleet(
    fleet: Fleet,
    model_ids: Sequence[str] | None = None,
    *,
    deep: bool = False,
    history: Callable[[str], list[ProbeRecord]] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    on_result: Callable[[ProbeOutcome], None] | None = None,
) -> list[ProbeOutcome]:
    """Probe models concurrently (at most fleet.probes.concurrency at once)."""
    ids = list(model_ids) if model_ids else [m.id for m in fleet.models if m.enabled]
    timeout_s = fleet.probes.timeout_s
    gate = asyncio.Semaphore(fleet.probes.concurrency)

    async def one(model_id: str) -> ProbeOutcome:
        async with gate:
            started = time.perf_counter()
            error: ProviderError | None = None
            latency: float | None = None
            method = "deep" if deep else "list"
            try:
                adapter = adapter_for(
                    fleet, model_id,
                    timeouts=Timeouts(connect_s=timeout_s, read_s=timeout_s, first_byte_s=timeout_s,
                                      stall_s=timeout_s, total_s=timeout_s),
                    # A probe reports what it sees; retrying would hide intermittent failures.
                    retry=RetryPolicy(max_retries=0),
                    transport=transport,
                )
                async with adapter:
                    async with asyncio.timeout(timeout_s):
                        result = await adapter.probe(deep=deep)
                error, latency, method = result.error, result.latency_ms, result.method
            except ProviderError as exc:
                error = exc
            except TimeoutError:
                error = ProviderError(ErrorKind.TIMEOUT, f"{model_id}: no answer within {timeout_s:g}s")
            if latency is None and error is not None and error.kind is ErrorKind.TIMEOUT:
                latency = (time.perf_counter() - started) * 1000
            status = probe_status(error, latency, timeout_s)
            record = ProbeRecord(
                model_id=model_id, status=status, latency_ms=None if error else latency,
                error_type=error.kind.value if error else None,
                message=str(error) if error else f"ok ({method})", deep=deep,
            )
            past = history(model_id) if history else []
            outcome = ProbeOutcome(model_id, record, model_status([record, *past]),
                                   str(error) if error else f"{latency:.0f} ms ({method})")
            if on_result:
                on_result(outcome)
            return outcome

    return list(await asyncio.gather(*(one(i) for i in ids)))
