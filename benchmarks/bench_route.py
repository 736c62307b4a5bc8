"""One routing decision with 50 rules: median and p99 microseconds.

    python benchmarks/bench_route.py [--decisions 20000] [--litellm-python PY]

The fleet is the sample fleet plus 44 generated rules placed before and among the sample's own,
so 50 rules in all. Two sets of generated rules are timed:

- facts: `task == "job-i" and prompt_length > N or "tag-i" in tags`, the shape real rules have
  (they require a task or a tag, so the router's rule index skips them for other requests);
- lengths: `prompt_length > N and hour != H`, skipped by the index for prompts shorter than N;
- nothing indexable: `not (task == "job-i") and prompt_length < 3`, which no fact or length
  rules out, so all 44 are evaluated before a sample rule matches — the worst case.

Requests cycle through four prompts (a coding request, a question no rule matches, an analysis
request, a heartbeat), with the complexity estimated from the prompt, then given by the caller.

LiteLLM (never a fleetui dependency) is timed in the same run when this interpreter can import it,
or in the interpreter given by `--litellm-python`: its Router choosing among the same deployments
(`get_available_deployment`, simple-shuffle; `async_get_available_deployment`, simple-shuffle and
cost-based-routing). Without it the fleetui part runs alone and says so.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import fleetui
from fleetui.config.schema import Fleet
from fleetui.config.fleetfile import parse_fleet
from fleetui.routing import Router
from fleetui.routing.export_litellm import litellm_model
from fleetui.store import Store

SAMPLE = Path(__file__).resolve().parent.parent / "sample_fleet.toml"
PROMPTS = [("refactor this service step by step", "coding"), ("what time does the store close?", None),
           ("summarize the attached report", "analysis"), ("ping", "heartbeat")]
GIVEN_COMPLEXITY = {"coding": "medium", None: "simple", "analysis": "medium", "heartbeat": "simple"}


SHAPES = {
    "facts": lambda i: f'task == "job-{i}" and prompt_length > {i * 10} or "tag-{i}" in tags',
    "lengths": lambda i: f"prompt_length > {5000 + i * 10} and hour != {i % 24}",
    "nothing indexable": lambda i: f'not (task == "job-{i}") and prompt_length < 3',
}


def fleet_with_rules(extra: int, shape: str = "facts") -> str:
    when = SHAPES[shape]

    rules = "".join(
        f'\n[[rules]]\nname = "generated-{i}"\npriority = {i + 1}\nwhen = \'{when(i)}\'\nmodel = "gpt-4o-mini"\n'
        for i in range(extra)
    )
    return SAMPLE.read_text() + rules


def time_router(fleet: Fleet, decisions: int, *, given: bool, on_decision: Any = None) -> list[int]:
    router = Router(fleet, on_decision=on_decision)
    samples = []
    for i in range(decisions):
        prompt, task = PROMPTS[i % len(PROMPTS)]
        complexity = GIVEN_COMPLEXITY[task] if given else None
        started = time.perf_counter_ns()
        router.route(prompt, task=task, complexity=complexity, tags=("web",))
        samples.append(time.perf_counter_ns() - started)
    return sorted(samples)


def summary(samples: list[int]) -> str:
    return (f"median {statistics.median(samples) / 1000:.1f} µs, "
            f"p99 {samples[int(len(samples) * 0.99)] / 1000:.1f} µs")


def rounds_summary(runs: list[list[int]]) -> str:
    """All samples together, and each round's median: on a shared 2-core VM a round can run
    1.5–2× slower than the next, and that should show rather than hide in one figure."""
    every = sorted(x for run in runs for x in run)
    medians = "/".join(f"{statistics.median(run) / 1000:.1f}" for run in runs)
    return f"{summary(every)} (round medians {medians} µs)"


LITELLM = """
import asyncio, json, statistics, sys, time, warnings
warnings.filterwarnings("ignore")
import litellm
from litellm import Router
litellm.suppress_debug_info = True
deployments = json.loads(sys.argv[1])
n = int(sys.argv[2])
messages = [{"role": "user", "content": "refactor this service step by step"}]

def summary(samples):
    samples.sort()
    return f"median {statistics.median(samples) / 1000:.1f} µs, p99 {samples[int(len(samples) * 0.99)] / 1000:.1f} µs"

def router(strategy):
    return Router(model_list=[{"model_name": "fleet", "litellm_params": d} for d in deployments],
                  routing_strategy=strategy)

try:
    r = router("simple-shuffle")
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        r.get_available_deployment(model="fleet", messages=messages)
        samples.append(time.perf_counter_ns() - t0)
    print(f"LiteLLM Router.get_available_deployment (simple-shuffle): {summary(samples)}")
except Exception as exc:
    print(f"LiteLLM simple-shuffle: failed: {type(exc).__name__}: {str(exc)[:200]}")

async def timed(strategy):
    r = router(strategy)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        await r.async_get_available_deployment(model="fleet", messages=messages, request_kwargs={})
        samples.append(time.perf_counter_ns() - t0)
    return samples

for strategy in ("simple-shuffle", "cost-based-routing"):
    try:
        print(f"LiteLLM Router.async_get_available_deployment ({strategy}): {summary(asyncio.run(timed(strategy)))}")
    except Exception as exc:
        print(f"LiteLLM {strategy} (async): failed: {type(exc).__name__}: {str(exc)[:200]}")
"""


def litellm(python: str, fleet: Fleet, decisions: int) -> None:
    deployments = []
    for m in fleet.models:
        params = {"model": litellm_model(fleet, m)[0], "api_key": "not-used",
                  "api_base": fleet.base_url_of(m)}
        if m.price is not None:
            params |= {"input_cost_per_token": m.price.input / 1e6, "output_cost_per_token": m.price.output / 1e6}
        deployments.append(params)
    # LITELLM_LOCAL_MODEL_COST_MAP: the price map bundled with litellm, not a download.
    env = {**os.environ, "LITELLM_LOG": "ERROR", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run([python, "-c", LITELLM, json.dumps(deployments), str(decisions)],
                          capture_output=True, text=True, env=env)
    if done.stdout.strip():
        print(done.stdout.strip())
    if done.returncode:
        print(f"LiteLLM run stopped: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=20_000, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--litellm-python", help="a Python with litellm installed, for the comparison")
    args = parser.parse_args()
    fleets = {shape: parse_fleet(fleet_with_rules(44, shape)) for shape in SHAPES}
    print(f"cores: {os.cpu_count()}  rules: {len(fleets['facts'].rules)}  decisions: {args.rounds} × {args.decisions:,} per line")
    for shape, fleet in fleets.items():
        for given in (False, True):
            how = "complexity given" if given else "complexity estimated"
            runs = [time_router(fleet, args.decisions, given=given) for _ in range(args.rounds)]
            print(f"fleetui Router.route, 44 rules on {shape}, {how}: {rounds_summary(runs)}")
    with tempfile.TemporaryDirectory() as folder:
        # What logging every decision to the store (fleetui.log_decision) adds on the app's thread;
        # the recorder's thread writes them meanwhile, as it would in an app.
        recorder = fleetui.configure(db_path=Path(folder) / "decisions.db", source="bench-route")
        runs = [time_router(fleets["facts"], args.decisions, given=False, on_decision=fleetui.log_decision)
                for _ in range(args.rounds)]
        recorder.flush(30)
        with Store.open(recorder.db_path) as store:
            stored = store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
        print(f"fleetui Router.route, 44 rules on facts, complexity estimated, every decision logged: "
              f"{rounds_summary(runs)}; in this tight loop {stored:,} of {args.rounds * args.decisions:,} "
              f"stored, {recorder.dropped:,} dropped (the queue fills; the recorder drops rather than block)")
        # At an app's pace (a decision per LLM call) the writer keeps up: 2,000 decisions a second.
        dropped_before, router, paced = recorder.dropped, Router(fleets["facts"], on_decision=fleetui.log_decision), 10_000
        started = time.perf_counter()
        for i in range(paced):
            prompt, task = PROMPTS[i % len(PROMPTS)]
            router.route(prompt, task=task)
            time.sleep(max(0.0, started + (i + 1) / 2000 - time.perf_counter()))
        recorder.flush(30)
        with Store.open(recorder.db_path) as store:
            stored_paced = store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] - stored
        recorder.close()
        print(f"  at 2,000 decisions/s for {paced / 2000:.0f} s: {stored_paced:,} of {paced:,} stored, "
              f"{recorder.dropped - dropped_before:,} dropped")
    python = args.litellm_python
    if python is None and importlib.util.find_spec("litellm") is not None:
        python = sys.executable
    if python:
        litellm(python, fleets["facts"], min(args.decisions, 5_000))
    else:
        print("LiteLLM not compared: it is not importable here; pass --litellm-python PY "
              "(a separate venv with litellm installed)")


if __name__ == "__main__":
    main()
