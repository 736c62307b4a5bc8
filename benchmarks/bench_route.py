"""One routing decision with 50 rules: median and p99 microseconds.

    python benchmarks/bench_route.py [--decisions 20000]

The fleet is the sample fleet plus 44 generated rules placed before the sample's own, so a
typical request evaluates most of the 50 conditions before one matches. (The issue's comparison
with LiteLLM's Router is not in this script yet.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from fleetui.fleetfile import parse_fleet
from fleetui.routing import Router

SAMPLE = Path(__file__).resolve().parent.parent / "sample_fleet.toml"


def fleet_with_rules(extra: int) -> str:
    text = SAMPLE.read_text()
    rules = "".join(
        f'\n[[rules]]\nname = "generated-{i}"\npriority = {i + 1}\n'
        f'when = \'task == "job-{i}" and prompt_length > {i * 10} or "tag-{i}" in tags\'\nmodel = "gpt-4o-mini"\n'
        for i in range(extra)
    )
    return text + rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=20_000)
    args = parser.parse_args()
    fleet = parse_fleet(fleet_with_rules(44))
    router = Router(fleet)
    prompts = [("refactor this service step by step", "coding"), ("what time does the store close?", None),
               ("summarize the attached report", "analysis"), ("ping", "heartbeat")]
    samples = []
    for i in range(args.decisions):
        prompt, task = prompts[i % len(prompts)]
        started = time.perf_counter_ns()
        router.route(prompt, task=task, tags=("web",))
        samples.append(time.perf_counter_ns() - started)
    samples.sort()
    print(f"cores: {os.cpu_count()}  rules: {len(fleet.rules)}  decisions: {args.decisions:,}")
    print(f"fleetui Router.route: median {statistics.median(samples) / 1000:.1f} µs, "
          f"p99 {samples[int(len(samples) * 0.99)] / 1000:.1f} µs")


if __name__ == "__main__":
    main()
