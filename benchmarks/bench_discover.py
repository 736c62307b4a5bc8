"""`discover` on 100,000 prompts: keyword labels for every call, then clustering.

    python benchmarks/bench_discover.py [--calls 100000] [--no-real]

Prompts come from the demo generator's templates (freshly filled, so many repeat, as in real
logs) plus the 805 real AlpacaEval instructions in ../shared/data when present. Calls start
without a use case, so the keyword pass labels all of them (moving their rollups too).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

from fleetui.analysis.discover import discover
from fleetui.config.fleetfile import load_fleet
from fleetui.demo import _USE_CASES, _fill
from fleetui.privacy import prompt_hash
from fleetui.store import CallRecord, Store

ROOT = Path(__file__).resolve().parent.parent
# The shared data sit beside the checkouts: /work/shared from /work/main or /work/wt/<name>.
ALPACA = next((p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared")
               if (p / "data").is_dir()), ROOT.parent / "shared") / "data" / "alpaca_eval" / "prompts.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--no-real", action="store_true", help="the generator's prompts only, no AlpacaEval")
    args = parser.parse_args()
    rng = random.Random(1)
    real = [json.loads(line)["instruction"] for line in ALPACA.open()] if ALPACA.exists() and not args.no_real else []
    now = time.time()
    calls = []
    truth: dict[str, str] = {}  # prompt hash -> the demo generator's use case
    for i in range(args.calls):
        if real and rng.random() < 0.1:
            prompt = rng.choice(real)
        else:
            use_case = rng.choices(_USE_CASES, weights=[u.share for u in _USE_CASES])[0]
            prompt = _fill(rng.choice(use_case.templates), rng)
            truth[prompt_hash(prompt)] = use_case.id
        calls.append(CallRecord(ts=now - rng.random() * 29 * 86400, model_id="gpt-4", prompt=prompt,
                                prompt_hash=prompt_hash(prompt), cost_usd=0.001, latency_ms=500.0))
    with tempfile.TemporaryDirectory() as tmp:
        with Store.open(Path(tmp) / "d.db") as store:
            store.insert_calls(calls)
            distinct = len({c.prompt_hash for c in calls})
            started = time.perf_counter()
            result = discover(load_fleet(ROOT / "sample_fleet.toml"), store, now - 30 * 86400)
            elapsed = time.perf_counter() - started
    # scikit-learn's adjusted Rand index: a reference implementation, for the measure only.
    from sklearn.metrics import adjusted_rand_score

    found = {h: c.id for c in result.clusters for h in c.prompt_hashes if h in truth}
    agreement = adjusted_rand_score([truth[h] for h in found], list(found.values()))
    per_call = [(truth[c.prompt_hash], found[c.prompt_hash]) for c in calls if c.prompt_hash in found]
    by_calls = adjusted_rand_score([t for t, _ in per_call], [f for _, f in per_call])
    print(f"cores: {os.cpu_count()} (shared)  calls: {args.calls:,}  distinct prompts: {distinct:,}"
          f" ({len(real)} real AlpacaEval instructions mixed in at 10%)")
    print(f"agreement with the generator's {len(set(truth.values()))} use cases over its {len(found):,} distinct "
          f"prompts: adjusted Rand index {agreement:.3f}, over its {len(per_call):,} calls {by_calls:.3f} "
          "(1 = the same partition, 0 = chance)")
    print("largest clusters: " + "; ".join(f"{c.name} ({c.calls:,})" for c in result.clusters[:5]))
    print(f"discover: {elapsed:.2f} s  ({result.labelled:,} calls labelled by keywords, "
          f"{result.k} clusters, silhouette {result.silhouette:.2f})  goal ≤ 5 s")
    print("by phase: " + ", ".join(f"{name} {s:.2f} s" for name, s in result.phases.items()))


if __name__ == "__main__":
    main()
