"""Turn OpenAI grade-school-math's `example_model_solutions.jsonl` into graded `labels` JSONL.

    python benchmarks/graded_from_grade_school_math.py ARCHIVE [-o gsm8k_gpt3.jsonl]

ARCHIVE is `example_model_solutions.jsonl` itself, or a directory / .tar(.gz) / .zip holding it
(openai/grade-school-math, MIT licence, `grade_school_math/data/`). It has the 1,319 GSM8K test
questions, each with `question`, `ground_truth` (worked solution, `#### N` / `A: N` answer) and
one solution from each of four GPT-3 systems of the GSM8K paper (Cobbe et al. 2021,
arXiv 2110.14168), graded by OpenAI as `is_correct`:

    6b_finetuning      -> gpt3-6b-finetuned      (one sample of a fine-tuned 6B model)
    6b_verification    -> gpt3-6b-verifier       (best of 100 6B samples, picked by a 6B verifier)
    175b_finetuning    -> gpt3-175b-finetuned
    175b_verification  -> gpt3-175b-verifier

One output line per (question, system), the format `fleetui.importers.labels` reads:

    {"prompt_id": 0, "prompt": "Janet's ducks lay 16 eggs ...", "model": "gpt3-175b-verifier",
     "quality": 0.0, "cost_usd": 0.0123, "category": "math"}

quality = 1.0 if `is_correct` else 0.0. category = "math" for every question: the reference
solution's number of steps would say how hard a question is, but a router never has the answer
when it routes, so nothing of the solution reaches the file.

Cost convention (as in ../shared/data/README.md): tokens ≈ characters / 4, input = the question,
output = the shown solution. Prices, USD per 1M tokens (input = output), are OpenAI's 2021 GPT-3
list prices for the nearest model size: 175B ≈ davinci $60, 6B ≈ curie $6. A verifier system
samples 100 solutions and scores each with a verifier of the same size, so its cost is
100 × (input + output) generation plus 100 verifier reads of (input + output) at the same price,
i.e. 200 × a single call's tokens — the price of the better accuracy.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tarfile
import zipfile
from collections import defaultdict
from pathlib import Path

FILENAME = "example_model_solutions.jsonl"
SYSTEMS = {  # key in the file -> (model name, USD per 1M tokens, calls per answer)
    "6b_finetuning": ("gpt3-6b-finetuned", 6.0, 1),
    "6b_verification": ("gpt3-6b-verifier", 6.0, 200),
    "175b_finetuning": ("gpt3-175b-finetuned", 60.0, 1),
    "175b_verification": ("gpt3-175b-verifier", 60.0, 200),
}


def read_lines(archive: Path) -> list[str]:
    if archive.is_dir():
        path = next(archive.rglob(FILENAME), None)
        if path is None:
            raise SystemExit(f"no {FILENAME} under {archive}")
        return path.read_text(encoding="utf-8").splitlines()
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tar:
            member = next((m for m in tar.getmembers() if m.name.endswith(FILENAME)), None)
            if member is None:
                raise SystemExit(f"no {FILENAME} in {archive}")
            return tar.extractfile(member).read().decode("utf-8").splitlines()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            name = next((n for n in z.namelist() if n.endswith(FILENAME)), None)
            if name is None:
                raise SystemExit(f"no {FILENAME} in {archive}")
            return io.TextIOWrapper(z.open(name), encoding="utf-8").read().splitlines()
    return archive.read_text(encoding="utf-8").splitlines()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("archive", type=Path)
    parser.add_argument("-o", "--output", type=Path, default=Path("gsm8k_gpt3.jsonl"))
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in read_lines(args.archive) if line.strip()]
    stats: dict[str, list[float]] = defaultdict(list)
    with open(args.output, "w", encoding="utf-8") as out:
        for prompt_id, row in enumerate(rows):
            category = "math"
            for key, (model, price, calls) in SYSTEMS.items():
                answer = row.get(key)
                if not isinstance(answer, dict):
                    continue
                quality = 1.0 if answer.get("is_correct") else 0.0
                tokens = (len(row["question"]) + len(answer.get("solution") or "")) / 4
                out.write(json.dumps({"prompt_id": prompt_id, "prompt": row["question"], "model": model,
                                      "quality": quality, "cost_usd": round(tokens * price * calls / 1e6, 8),
                                      "category": category}, ensure_ascii=False) + "\n")
                stats[model].append(quality)
    print(f"wrote {sum(map(len, stats.values())):,} rows: {len(rows):,} questions x {len(stats)} models "
          f"to {args.output}")
    for model, values in stats.items():
        print(f"  {model:22s} n={len(values):5d}  mean quality={sum(values) / len(values):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
