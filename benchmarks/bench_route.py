"""One routing decision with 50 rules: median and p99 microseconds.

    python benchmarks/bench_route.py [--decisions 20000]

The fleet is the sample fleet plus 44 generated rules placed before the sample's own, so a
typical request evaluates most of the 50 conditions before one matches.

With `--litellm-python PY` (a Python with litellm installed — never a fleetui dependency), the
same run times LiteLLM's Router choosing among the same deployments
(`get_available_deployment`, simple-shuffle and cost-based-routing) in that interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
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


LITELLM = """
import json, statistics, sys, time, warnings
warnings.filterwarnings("ignore")
from litellm import Router
deployments = json.loads(sys.argv[1])
n = int(sys.argv[2])
for strategy in ("simple-shuffle", "cost-based-routing"):
  try:
    router = Router(model_list=[{"model_name": "fleet", "litellm_params": d} for d in deployments],
                    routing_strategy=strategy)
    messages = [{"role": "user", "content": "refactor this service step by step"}]
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        router.get_available_deployment(model="fleet", messages=messages)
        samples.append(time.perf_counter_ns() - t0)
    samples.sort()
    print(f"LiteLLM Router ({strategy}): median {statistics.median(samples) / 1000:.1f} µs, "
          f"p99 {samples[int(len(samples) * 0.99)] / 1000:.1f} µs")
  except Exception as exc:
    print(f"LiteLLM Router ({strategy}): failed: {type(exc).__name__}: {str(exc)[:200]}")
"""


def litellm(python: str, fleet: object, decisions: int) -> None:
    from fleetui.routing.export import _LITELLM_PREFIX

    deployments = [
        {"model": f"{_LITELLM_PREFIX[fleet.provider_of(m).kind]}/{m.model}", "api_key": "not-used",  # type: ignore[attr-defined]
         "api_base": fleet.base_url_of(m)}  # type: ignore[attr-defined]
        for m in fleet.models  # type: ignore[attr-defined]
    ]
    done = subprocess.run([python, "-c", LITELLM, json.dumps(deployments), str(decisions)],
                          capture_output=True, text=True, env={**os.environ, "LITELLM_LOG": "ERROR"})
    if done.stdout.strip():
        print(done.stdout.strip())
    if done.returncode:
        print(f"LiteLLM run stopped: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--litellm-python", help="a Python with litellm installed, for the comparison")
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
    if args.litellm_python:
        litellm(args.litellm_python, fleet, min(args.decisions, 5_000))
    else:
        print("(LiteLLM not compared: pass --litellm-python PY)")


if __name__ == "__main__":
    main()
