"""How well `fleetui router train`'s router routes, on several labelled sets, over several seeds.

    python benchmarks/bench_learned_quality.py [--seeds 5] [--sets alpaca-pair,alpaca-all,graded-synthetic]

Sets:
- alpaca-pair: the real AlpacaEval 2.0 judgments (../shared/data), gpt4_1106_preview vs
  Mixtral-8x7B-Instruct-v0.1_concise, quality = win probability against GPT-4 Turbo.
- alpaca-all: the same data, all 17 models; the reference is the best model on training data.
- graded-synthetic: a *synthetic* graded benchmark (exact 0/1 correctness, two models, 20
  subjects of different difficulty, prompts whose words carry part of the difficulty and noise
  no router can see). No real graded set with per-prompt correctness of two models is in
  ../shared/data or in the PyPI packages looked at; this one checks the mechanism (does the
  router find what a subject table finds, and what the words add) — it says nothing about real
  benchmarks.

Real graded sets, when `--graded-dir DIR` holds the files the converters write (they need the
source repositories' published outputs, which nothing here downloads; see benchmarks/README.md):
- mmlu-pro-gemini-mixtral, mmlu-pro-llama70-8b: MMLU-Pro (TIGER-AI-Lab, Apache-2.0), 12,020
  questions, 14 subjects as categories, quality = the model's extracted answer is right (0/1);
  `mmlu_pro_4models.jsonl` from `graded_from_mmlu_pro.py`.
- mmlu-pro-4: the same, all four models.
- gsm8k-175b-6b: GSM8K test (openai/grade-school-math, MIT), 1,319 questions, GPT-3 175B with a
  verifier vs 6B fine-tuned, graded `is_correct`; `gsm8k_gpt3.jsonl` from
  `graded_from_grade_school_math.py`.
Pairs are run twice: with the converters' per-token prices (long chain-of-thought answers make the
weak model cost nearly as much as the strong one per call) and, marked "1:20", with every weak
call at 1/20 of the strong model's mean call cost — the ratio of GPT-4 to Mixtral list prices
RouteLLM's figures assume.

Each row: the router's cost at 95% of the reference's quality and the quality it reached on
the test half (λ calibrated without it), beside the per-category table, random routing and the
oracle, and the router's quality at the best single model's cost.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fleetui.routing.learned.samples import Sample  # noqa: E402
from fleetui.routing.learned.train import train_router  # noqa: E402

DATA = Path(os.environ.get("FLEETUI_SHARED_DATA", Path(__file__).resolve().parent.parent.parent / "shared" / "data")) / "alpaca_eval"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from alpaca_calls import PRICES  # noqa: E402

PAIR = ("gpt4_1106_preview", "Mixtral-8x7B-Instruct-v0.1_concise")


def alpaca(models: tuple[str, ...] | None) -> list[Sample]:
    prompts, datasets = {}, {}
    for line in open(DATA / "prompts.jsonl", encoding="utf-8"):
        row = json.loads(line)
        prompts[row["prompt_id"]], datasets[row["prompt_id"]] = row["instruction"], row["dataset"]
    out = []
    for line in open(DATA / "judgments.jsonl", encoding="utf-8"):
        row = json.loads(line)
        if models and row["model"] not in models:
            continue
        price_in, price_out = PRICES[row["model"]]
        text = prompts[row["prompt_id"]]
        cost = (len(text) / 4 * price_in + len(row["output"] or "") / 4 * price_out) / 1e6
        out.append(Sample(str(row["prompt_id"]), text, row["model"], float(row["win"]), cost,
                          datasets[row["prompt_id"]]))
    return out


def graded_synthetic(n: int = 4000, seed: int = 12345) -> list[Sample]:
    rng = random.Random(seed)
    words = sorted({w for line in open(DATA / "prompts.jsonl", encoding="utf-8")
                    for w in json.loads(line)["instruction"].lower().split() if w.isalpha() and len(w) > 3})
    subjects = [f"subject{i:02d}" for i in range(20)]
    subject_words = {s: rng.sample(words, 25) for s in subjects}
    subject_difficulty = {s: rng.gauss(0.0, 1.0) for s in subjects}
    hard = rng.sample(words, 40)  # words that make a question harder, whatever its subject
    out = []
    for i in range(n):
        s = rng.choice(subjects)
        body = rng.sample(subject_words[s], 6) + rng.sample(words, 8)
        marks = [w for w in hard if rng.random() < 0.03]
        body += marks
        rng.shuffle(body)
        difficulty = subject_difficulty[s] + 0.6 * len(marks) + rng.gauss(0.0, 1.0)
        text = "Question: " + " ".join(body) + "?"
        for model, skill, slope, price in (("strong", 2.0, 1.0, 20.0), ("weak", 0.9, 1.4, 1.0)):
            correct = rng.random() < 1 / (1 + math.exp(-(skill - slope * difficulty)))
            out.append(Sample(f"q{i}", text, model, 1.0 if correct else 0.0, price * 1e-4, s))
    return out


def graded(path: Path, models: tuple[str, ...] | None, ratio: float | None = None) -> list[Sample]:
    out = []
    for line in open(path, encoding="utf-8"):
        row = json.loads(line)
        if models and row["model"] not in models:
            continue
        out.append(Sample(str(row["prompt_id"]), row["prompt"], row["model"], float(row["quality"]),
                          float(row["cost_usd"]), row.get("category") or ""))
    if ratio is not None and models:
        strong = [x.cost for x in out if x.model == models[0]]
        flat = sum(strong) / len(strong)
        out = [Sample(x.prompt_id, x.prompt, x.model, x.quality, flat if x.model == models[0] else flat / ratio,
                      x.category) for x in out]
    return out


GRADED = {  # set → (file, models (reference first) or None for all, weak price ratio)
    "mmlu-pro-gemini-mixtral": ("mmlu_pro_4models.jsonl", ("gemini-1.5-pro-002", "Mixtral-8x7B-Instruct-v0.1"), None),
    "mmlu-pro-gemini-mixtral-1:20": ("mmlu_pro_4models.jsonl", ("gemini-1.5-pro-002", "Mixtral-8x7B-Instruct-v0.1"), 20.0),
    "mmlu-pro-llama70-8b": ("mmlu_pro_4models.jsonl", ("Meta-Llama-3_1-70B-Instruct", "Meta-Llama-3_1-8B-Instruct"), None),
    "mmlu-pro-llama70-8b-1:20": ("mmlu_pro_4models.jsonl", ("Meta-Llama-3_1-70B-Instruct", "Meta-Llama-3_1-8B-Instruct"), 20.0),
    "mmlu-pro-4": ("mmlu_pro_4models.jsonl", None, None),
    "gsm8k-175b-6b": ("gsm8k_gpt3.jsonl", ("gpt3-175b-verifier", "gpt3-6b-finetuned"), None),
    "gsm8k-175b-6b-1:20": ("gsm8k_gpt3.jsonl", ("gpt3-175b-verifier", "gpt3-6b-finetuned"), 20.0),
}

SETS = {
    "alpaca-pair": (lambda: alpaca(PAIR), PAIR[0]),
    "alpaca-all": (lambda: alpaca(None), None),
    "graded-synthetic": (graded_synthetic, "strong"),
}


def alone(metrics: dict) -> str:
    """'alone' when, at the best single model's cost, routing did not beat that model on the
    calibration prompts, so the router sends every prompt to it."""
    return "alone" if metrics["at_best_single_cost"]["price_weight"] is None else "routed"


def at95(rows: list[dict]) -> dict:
    return next(r for r in rows if abs(r["share"] - 0.95) < 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--sets", help="comma-separated (default: every set whose data is there)")
    parser.add_argument("--graded-dir", type=Path, help="folder of the graded converters' JSONL files")
    args = parser.parse_args()
    if args.graded_dir:
        for name, (file, models, ratio) in GRADED.items():
            if (args.graded_dir / file).exists():
                SETS[name] = ((lambda f=args.graded_dir / file, m=models, r=ratio: graded(f, m, r)),
                              models[0] if models else None)
    args.sets = args.sets or ",".join(SETS)
    print(f"{'set':<28} {'seed':>4} {'router cost':>11} {'its quality':>11} {'ranking':>7} {'category':>8} "
          f"{'random':>6} {'oracle':>6} {'q@best cost':>11} {'APGR':>5} {'sec':>5}")
    for name in args.sets.split(","):
        make, reference = SETS[name]
        samples = make()
        costs, qualities, rankings = [], [], []
        for seed in range(args.seeds):
            started = time.perf_counter()
            saved = train_router(samples, name="bench", reference=reference, seed=seed, boots=50)
            m = saved.meta["metrics"]
            r = at95(m["router"])
            costs.append(r["cost_share"])
            qualities.append(r["quality_share"])
            rankings.append(at95(m["router_ranking_only"])["cost_share"])
            apgr = m["apgr"]["router"] if m.get("apgr") else float("nan")
            print(f"{name:<28} {seed:>4} {r['cost_share']:>11.1%} {r['quality_share']:>11.1%} "
                  f"{at95(m['router_ranking_only'])['cost_share']:>7.1%} "
                  f"{at95(m['category_table'])['cost_share']:>8.1%} {at95(m['random'])['cost_share']:>6.1%} "
                  f"{at95(m['oracle'])['cost_share'] or float('nan'):>6.1%} "
                  f"{m['at_best_single_cost']['quality_share']:>5.1%}{alone(m):>6} {apgr:>5.3f} "
                  f"{time.perf_counter() - started:>5.1f}", flush=True)
        print(f"{name:<28} mean {statistics.mean(costs):>11.1%} {statistics.mean(qualities):>11.1%} "
              f"{statistics.mean(rankings):>7.1%} "
              f"(seeds missing 95%: {sum(q < 0.95 - 1e-9 for q in qualities)})", flush=True)


if __name__ == "__main__":
    main()
