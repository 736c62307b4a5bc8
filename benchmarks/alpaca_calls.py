"""Turn ../shared/data/alpaca_eval into call logs with a quality value for `fleetui bench routing`.

    python benchmarks/alpaca_calls.py [-o alpaca_calls.jsonl]

Each (prompt, model) answer is one past call: quality = its AlpacaEval win probability against
gpt4_1106_preview; cost by the data's convention (tokens ≈ characters / 4; its price table).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

DATA = Path(os.environ.get("FLEETUI_SHARED_DATA", Path(__file__).resolve().parent.parent.parent / "shared" / "data")) / "alpaca_eval"
PRICES = {  # USD per 1M tokens (input, output), from ../shared/data/README.md
    "gpt4_1106_preview": (10, 30), "text_davinci_003": (20, 20), "claude-2": (8, 24), "claude-2.1": (8, 24),
    "gpt-3.5-turbo-0301": (2, 2), "gpt-3.5-turbo-1106": (1, 2), "claude-instant-1.2": (0.8, 2.4),
    "Mixtral-8x7B-Instruct-v0.1_concise": (0.6, 0.6), "Qwen-14B-Chat": (0.3, 0.3),
    "OpenHermes-2.5-Mistral-7B": (0.2, 0.2), "gemma-7b-it": (0.2, 0.2), "vicuna-7b-v1.5": (0.2, 0.2),
    "alpaca-7b": (0.2, 0.2), "FuseChat-Llama-3.1-8B-Instruct": (0.18, 0.18), "gemma-2b-it": (0.1, 0.1),
    "phi-2": (0.1, 0.1), "FuseChat-Llama-3.2-1B-Instruct": (0.06, 0.06),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, default=Path("alpaca_calls.jsonl"))
    args = parser.parse_args()
    prompts, datasets = {}, {}
    for line in open(DATA / "prompts.jsonl", encoding="utf-8"):
        row = json.loads(line)
        prompts[row["prompt_id"]] = row["instruction"]
        datasets[row["prompt_id"]] = row["dataset"]
    written = 0
    with open(args.output, "w", encoding="utf-8") as out:
        for line in open(DATA / "judgments.jsonl", encoding="utf-8"):
            row = json.loads(line)
            price_in, price_out = PRICES[row["model"]]
            prompt = prompts[row["prompt_id"]]
            cost = (len(prompt) / 4 * price_in + len(row["output"] or "") / 4 * price_out) / 1e6
            out.write(json.dumps({"prompt_id": row["prompt_id"], "prompt": prompt, "model": row["model"],
                                  "quality": row["win"], "cost_usd": cost,
                                  "category": datasets[row["prompt_id"]]}) + "\n")
            written += 1
    print(f"wrote {written:,} calls to {args.output}")


if __name__ == "__main__":
    main()
