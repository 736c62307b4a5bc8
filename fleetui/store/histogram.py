"""Latency histograms that rollups can add up, and quantiles read back from them.

Buckets are log-spaced, each √2 (~1.41×) wider than the previous: bucket 0 holds everything
under 10 ms, buckets 1..30 run from 10 ms to 327.68 s (~5.5 minutes), bucket 31 holds anything
slower. A quantile read from summed buckets lands in the same bucket as the true value, so it is
off by less than one bucket's width (at most 41%, typically a few percent) — good enough for
p50/p95 on a dashboard, and it lets p95 come from a few hundred rollup rows instead of a window
function over millions of calls.

These bounds are part of the stored data: changing them needs a migration that rebuilds the
rollups from the call log.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

BUCKETS = 32
_RATIO = math.sqrt(2)
_FIRST = 10.0  # ms; bucket 0 holds everything below this

# UPPER[i] is the exclusive upper bound of bucket i; the last bucket is open-ended.
UPPER: tuple[float, ...] = tuple(_FIRST * _RATIO**i for i in range(BUCKETS - 1))
COLUMNS: tuple[str, ...] = tuple(f"h{i:02d}" for i in range(BUCKETS))


def bucket_of(latency_ms: float) -> int:
    return bisect.bisect_right(UPPER, latency_ms)


def quantile(counts: Sequence[int], q: float) -> float | None:
    """The q-quantile (0..1) of the latencies counted in `counts`, interpolated in its bucket."""
    total = sum(counts)
    if total == 0:
        return None
    target = q * total
    running = 0
    for index, count in enumerate(counts):
        if count and running + count >= target:
            low = UPPER[index - 1] if index > 0 else 0.0
            high = UPPER[index] if index < len(UPPER) else UPPER[-1] * _RATIO
            fraction = (target - running) / count
            return low + (high - low) * fraction
        running += count
    return UPPER[-1] * _RATIO
