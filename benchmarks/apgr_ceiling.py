"""How high APGR can go on AlpacaEval's strong/weak pair, from signals no router has.

    python benchmarks/apgr_ceiling.py [--data ../shared/data/alpaca_eval]

Ranks all 805 prompts by each signal (most in need of the strong model first) and prints the
APGR that ranking reaches for gpt4_1106_preview / Mixtral-8x7B-Instruct-v0.1_concise, measured
exactly as `fleetui bench routing` measures a router (fleetui.routing.learned.strong_weak): the
oracle, the true ratio of the two answers' lengths, the weak answer's length, the prompt's
source dataset, and how the other 15 models actually fared on the prompt.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from fleetui.routing.learned.evaluation import apgr
from fleetui.routing.learned.samples import Sample, Table

STRONG, WEAK = "gpt4_1106_preview", "Mixtral-8x7B-Instruct-v0.1_concise"
DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "alpaca_eval"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    prompts = {row["prompt_id"]: row for row in map(json.loads, (args.data / "prompts.jsonl").open())}
    outputs: dict[tuple[str, str], str] = {}
    samples = []
    for row in map(json.loads, (args.data / "judgments.jsonl").open()):
        pid = str(row["prompt_id"])
        outputs[(pid, row["model"])] = row["output"] or ""
        samples.append(Sample(pid, prompts[row["prompt_id"]]["instruction"], row["model"], float(row["win"]), 0.0))
    table = Table.of(samples)
    table = table.rows(np.where(~np.isnan(table.quality).any(axis=1))[0])  # prompts every model answered
    s, w = table.models.index(STRONG), table.models.index(WEAK)
    others = [j for j in range(len(table.models)) if j not in (s, w)]

    def length(model: str) -> np.ndarray:
        return np.log1p([len(outputs[(pid, model)]) for pid in table.prompts])

    by_dataset: dict[str, list[float]] = defaultdict(list)
    datasets = [prompts[int(pid)]["dataset"] for pid in table.prompts]
    for name, q in zip(datasets, table.quality[:, w]):
        by_dataset[name].append(q)
    signals = {
        "oracle (the weak model's true win)": -table.quality[:, w],
        "true ratio of the two answers' lengths": length(STRONG) - length(WEAK),
        "the weak answer's length (a cascade's view)": -length(WEAK),
        "the prompt's source dataset (its mean weak win)": -np.array([np.mean(by_dataset[d]) for d in datasets]),
        "the other 15 models' true mean win": -np.mean(table.quality[:, others], axis=1),
    }
    print(f"{STRONG} vs {WEAK}, all {len(table.prompts)} prompts; APGR of random routing is about 0.5")
    for label, score in signals.items():
        predicted = np.zeros_like(table.quality)
        predicted[:, s] = score  # apgr ranks by predicted[:, s] - predicted[:, w]
        print(f"  {label:<50} APGR {apgr(table, predicted, s, w)['router']:.3f}")
    best = max(
        (apgr(table, _column(table, j, s), s, w)["router"], table.models[j]) for j in others
    )
    print(f"  {'the best single other model: ' + best[1]:<50} APGR {best[0]:.3f}")


def _column(table: Table, j: int, s: int) -> np.ndarray:
    predicted = np.zeros_like(table.quality)
    predicted[:, s] = -table.quality[:, j]
    return predicted


if __name__ == "__main__":
    main()
