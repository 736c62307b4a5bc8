"""Train a learned router on N prompts × M models: wall time and peak memory (goal: 100,000
prompts in ≤ 2 min and ≤ 1 GB on 2 cores).

    python benchmarks/bench_learned_train.py [--prompts 100000] [--models 2]

Prompts are made from the words of the AlpacaEval instructions when ../shared/data is there
(else a fixed vocabulary), 8–60 words each; which model does well depends on a few words and
the length, with noise, so the solver has real structure to find. Peak RSS is the process's
(resource.getrusage), which includes Python, numpy, scipy and scikit-learn (~150 MB at start).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
from pathlib import Path

DATA = Path(os.environ.get("FLEETUI_SHARED_DATA", Path(__file__).resolve().parent.parent.parent / "shared" / "data"))


def vocabulary() -> list[str]:
    prompts = DATA / "alpaca_eval" / "prompts.jsonl"
    if prompts.exists():
        words = {w for line in prompts.open(encoding="utf-8") for w in json.loads(line)["instruction"].lower().split()}
        return sorted(words)
    return [f"w{i}" for i in range(5000)]


def make(n: int, models: int, seed: int = 0) -> list[object]:
    from fleetui.routing.learned.samples import Sample

    rng = random.Random(seed)
    words = vocabulary()
    hard = set(rng.sample(words, 200))
    out: list[object] = []
    for i in range(n):
        prompt = " ".join(rng.choice(words) for _ in range(rng.randint(8, 60)))
        difficulty = min(1.0, sum(w in hard for w in prompt.split()) / 3 + len(prompt) / 2000)
        for m in range(models):
            skill = (m + 1) / models  # the last model is the strongest and the dearest
            quality = min(1.0, max(0.0, 0.9 - difficulty * (1 - skill) + rng.gauss(0, 0.1)))
            out.append(Sample(str(i), prompt, f"model-{m}", quality, 0.001 * 5 ** m * rng.uniform(0.8, 1.2)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=100_000)
    parser.add_argument("--models", type=int, default=2)
    args = parser.parse_args()
    from fleetui.routing.learned.fileformat import dumps
    from fleetui.routing.learned.train import train_router

    samples = make(args.prompts, args.models)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started, cpu = time.perf_counter(), time.process_time()
    saved = train_router(samples, name="bench")  # type: ignore[arg-type]
    wall, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    at95 = next(p for p in saved.meta["metrics"]["router"] if p["share"] == 0.95)
    print(f"{args.prompts:,} prompts × {args.models} models ({len(samples):,} calls), {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"train + calibrate + evaluate: {wall:.1f} s wall, {cpu_s:.1f} s CPU (goal ≤ 120 s)")
    print(f"peak RSS {peak:.0f} MB (before training, with the calls in memory: {before:.0f} MB; goal ≤ 1024 MB)")
    print(f"file {len(dumps(saved)) / 1024:.0f} KiB; held out at 95% of the strongest: cost {at95['cost_share']:.1%}, "
          f"quality {at95['quality_share']:.1%}")
    sys.exit(0 if wall <= 120 and peak <= 1024 else 1)


if __name__ == "__main__":
    main()
