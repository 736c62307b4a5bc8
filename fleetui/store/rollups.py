"""Daily rollups: what a set of calls adds to `rollup_daily`, and totals read back from it.

A rollup row holds sums per UTC day × model × use case × task. The sums are named once here,
in `Sums`; the column list, the upsert and the reader all derive from it, so a new sum is one
field and no reader can count a column by its position.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields

from fleetui.store import histogram
from fleetui.store.records import CallRecord

RollupKey = tuple[str, str, str, str]  # day, model_id, use_case, task; '' for none


@dataclass(slots=True)
class Sums:
    """The sums of one rollup row, by name (a delta while calls are added, moved or removed)."""

    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    priced_calls: int = 0
    unpriced_calls: int = 0
    latency_count: int = 0
    cost_usd: float = 0.0  # of priced calls only
    latency_ms_sum: float = 0.0
    feedback_sum: float = 0.0
    feedback_count: int = 0
    # Latency counts per histogram bucket, stored as the columns histogram.COLUMNS.
    latency_buckets: list[int] = field(default_factory=lambda: [0] * histogram.BUCKETS)

    def add(self, record: CallRecord) -> None:
        self.calls += 1
        if not record.success:
            self.errors += 1
        self.input_tokens += record.input_tokens or 0
        self.output_tokens += record.output_tokens or 0
        self.cached_input_tokens += record.cached_input_tokens or 0
        if record.cost_usd is None:
            self.unpriced_calls += 1
        else:
            self.priced_calls += 1
            self.cost_usd += record.cost_usd
        if record.latency_ms is not None:
            self.latency_count += 1
            self.latency_ms_sum += record.latency_ms
            self.latency_buckets[histogram.bucket_of(record.latency_ms)] += 1
        if record.feedback_score is not None:
            self.feedback_sum += record.feedback_score
            self.feedback_count += 1

    def values(self, sign: int = 1) -> list[float]:
        """The sums in `COLUMNS` order; sign -1 gives the delta that takes them away again."""
        return [sign * getattr(self, name) for name in _SCALARS] + [sign * n for n in self.latency_buckets]


_SCALARS: tuple[str, ...] = tuple(f.name for f in fields(Sums) if f.name != "latency_buckets")
COLUMNS: tuple[str, ...] = (*_SCALARS, *histogram.COLUMNS)
UPSERT = (
    f"INSERT INTO rollup_daily (day, model_id, use_case, task, {', '.join(COLUMNS)}) "
    f"VALUES ({', '.join('?' * (4 + len(COLUMNS)))}) "
    "ON CONFLICT(day, model_id, use_case, task) DO UPDATE SET "
    + ", ".join(f"{c} = {c} + excluded.{c}" for c in COLUMNS)
)


def key_of(day: str, record: CallRecord) -> RollupKey:
    return (day, record.model_id or "", record.use_case or "", record.task or "")


def delta_rows(sums: Mapping[RollupKey, Sums], sign: int = 1) -> list[list[object]]:
    """Parameters of `UPSERT`, one list per rollup row."""
    return [[*key, *acc.values(sign)] for key, acc in sums.items()]


@dataclass(frozen=True, slots=True)
class Totals:
    """Calls grouped by one key (a model, use case, task or day), read from rollups."""

    key: str | None
    calls: int
    errors: int
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cost_usd: float  # of priced calls only; see unpriced_calls
    priced_calls: int
    unpriced_calls: int
    latency_ms_sum: float
    latency_count: int
    p50_ms: float | None
    p95_ms: float | None
    feedback_sum: float = 0.0
    feedback_count: int = 0

    @property
    def success_rate(self) -> float | None:
        return (self.calls - self.errors) / self.calls if self.calls else None

    @property
    def mean_latency_ms(self) -> float | None:
        return self.latency_ms_sum / self.latency_count if self.latency_count else None

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def select_sums(wrap: str = "SUM({})") -> str:
    """The summed columns of a SELECT, in `COLUMNS` order (read back by `totals_of`)."""
    return ", ".join(wrap.format(c) for c in COLUMNS)


def totals_of(key: object, sums: Iterable[float | None]) -> Totals:
    """Totals from a key and the values of `select_sums()` (SQLite gives NULL for no rows)."""
    by_name: dict[str, float] = {name: value or 0 for name, value in zip(COLUMNS, sums, strict=True)}
    buckets = [int(by_name[c]) for c in histogram.COLUMNS]
    return Totals(
        key=None if key in ("", None) else str(key),
        calls=int(by_name["calls"]),
        errors=int(by_name["errors"]),
        input_tokens=int(by_name["input_tokens"]),
        output_tokens=int(by_name["output_tokens"]),
        cached_input_tokens=int(by_name["cached_input_tokens"]),
        priced_calls=int(by_name["priced_calls"]),
        unpriced_calls=int(by_name["unpriced_calls"]),
        latency_count=int(by_name["latency_count"]),
        cost_usd=float(by_name["cost_usd"]),
        latency_ms_sum=float(by_name["latency_ms_sum"]),
        p50_ms=histogram.quantile(buckets, 0.5),
        p95_ms=histogram.quantile(buckets, 0.95),
        feedback_sum=float(by_name["feedback_sum"]),
        feedback_count=int(by_name["feedback_count"]),
    )
