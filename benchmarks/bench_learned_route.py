"""One routing decision by a learned rule, featurisation included: median and p99 µs (goal ≤ 50).

    python benchmarks/bench_learned_route.py [--decisions 20000] [--models 2|17]

Trains a router on the AlpacaEval call log (benchmarks/alpaca_calls.py, from ../shared/data)
over the first N models by cost rank (2: the best and the cheapest; 17: all), writes a fleet of
those models whose one rule is `learned = "bench"`, and routes the 805 real instructions in turn
through `Router.from_toml`. In the same run: the same fleet with a plain `model = ...` rule, so
the figure beside it is what the learned part adds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def fleet_text(models: list[str], prices: dict[str, tuple[float, float]], rule: str) -> str:
    parts = ['name = "bench"\n[[providers]]\nid = "p"\nkind = "openai-compatible"\nbase_url = "https://x.example/v1"\n']
    for m in models:
        i, o = prices[m]
        parts.append(f'[[models]]\nid = "{m}"\nname = "{m}"\nprovider = "p"\nmodel = "{m}"\n'
                     f"price = {{ input = {i}, output = {o} }}\n")
    parts.append(f'[[rules]]\nname = "r"\nwhen = "true"\n{rule}\n')
    return "\n".join(parts)


def timed(router: object, prompts: list[str], n: int) -> list[float]:
    route = router.route  # type: ignore[attr-defined]
    for p in prompts[:200]:
        route(p, complexity="simple")  # warm-up
    out = []
    for k in range(n):
        started = time.perf_counter()
        route(prompts[k % len(prompts)], complexity="simple")
        out.append((time.perf_counter() - started) * 1e6)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--models", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from alpaca_calls import PRICES

    from fleetui.routing import Router
    from fleetui.routing.learned.fileformat import save
    from fleetui.routing.learned.samples import read_calls
    from fleetui.routing.learned.train import train_router

    with tempfile.TemporaryDirectory() as folder:
        calls = Path(folder) / "calls.jsonl"
        subprocess.run([sys.executable, str(HERE / "alpaca_calls.py"), "-o", str(calls)], check=True,
                       stdout=subprocess.DEVNULL)
        samples = read_calls(calls)
        ranked = sorted(PRICES, key=lambda m: -sum(PRICES[m]))
        models = [ranked[0], ranked[-1]] if args.models == 2 else ranked[: args.models]
        saved = train_router(samples, name="bench", models=models, boots=20)
        save(Path(folder) / "bench.router.json", saved)
        prompts = list(dict.fromkeys(s.prompt for s in samples))
        fleet = Path(folder) / "fleet.toml"
        results = {}
        for label, rule in (("learned rule", 'learned = "bench"'), ("plain rule", f'model = "{models[0]}"')):
            fleet.write_text(fleet_text(models, PRICES, rule))
            router = Router.from_toml(fleet)
            results[label] = sorted(timed(router, prompts, args.decisions))
    print(f"{args.decisions:,} decisions over {len(prompts)} AlpacaEval instructions "
          f"(median {statistics.median(len(p) for p in prompts):.0f} characters), {len(models)} models, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    for label, values in results.items():
        p99 = values[int(len(values) * 0.99)]
        print(f"  {label:<13} median {statistics.median(values):6.1f} µs   p99 {p99:6.1f} µs")
    print("goal: ≤ 50 µs per learned decision, featurisation included")


if __name__ == "__main__":
    main()
