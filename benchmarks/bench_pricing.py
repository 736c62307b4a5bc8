"""Microseconds to price one stored call: fleetui's Pricer against the genai-prices catalog.

    python benchmarks/bench_pricing.py

Pricer resolves each model once and then prices with arithmetic; the baseline asks the catalog
for every call, as a naive implementation would.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from genai_prices import Usage, calc_price

from fleetui.config.fleetfile import load_fleet
from fleetui.pricing import Pricer

SAMPLE = Path(__file__).resolve().parent.parent / "sample_fleet.toml"


def per_call_us(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(repeat):
            fn()
        runs.append((time.perf_counter() - started) / repeat * 1e6)
    return statistics.median(runs)


def main() -> None:
    fleet = load_fleet(SAMPLE)
    pricer = Pricer(fleet)
    pricer.cost("gpt-4", 1200, 300, 200)  # warm the cache, as a long-running process would be
    ours = per_call_us(lambda: pricer.cost("gpt-4", 1200, 300, 200), 200_000)
    usage = Usage(input_tokens=1200, output_tokens=300, cache_read_tokens=200)
    catalog = per_call_us(lambda: calc_price(usage, model_ref="gpt-4", provider_id="openai"), 2_000)
    print(f"cores: {os.cpu_count()}")
    print(f"Pricer.cost (warm cache):     {ours:8.2f} µs per call")
    print(f"genai_prices.calc_price:      {catalog:8.2f} µs per call")
    print(f"speed-up:                     {catalog / ours:8.0f}×")


if __name__ == "__main__":
    main()
