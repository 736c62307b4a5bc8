"""Turn MMLU-Pro's published per-question model outputs into graded `labels` JSONL.

    python benchmarks/graded_from_mmlu_pro.py ARCHIVE [-o mmlu_pro.jsonl] [--models a,b,...]
        [--common-only]

ARCHIVE is the `eval_results/` material of TIGER-AI-Lab/MMLU-Pro (Apache-2.0): a directory, a
.tar / .tar.gz, or a .zip that holds `model_outputs_<MODEL>_<N>shots.zip` files (each a zip of
one JSON list) or the JSON lists themselves. Each list entry is one MMLU-Pro test question:
`question_id`, `question`, `options` (up to 10), `answer` (letter), `category` (14 subjects:
biology … psychology, other), `src`, `pred` (the model's extracted letter, or null) and
`generated_text` (the model's CoT answer).

One output line per (question, model), the format `fleetui.importers.labels` reads:

    {"prompt_id": 70, "prompt": "<question + lettered options>", "model": "Mixtral-8x7B-Instruct-v0.1",
     "quality": 1.0, "cost_usd": 0.00012, "category": "business"}

quality = 1.0 when `pred == answer`, else 0.0 (no extracted answer counts as wrong).

Cost convention (as in ../shared/data/README.md): tokens ≈ characters / 4; input = the
question with its lettered options (the 5-shot CoT preamble the runs actually sent is NOT
counted, so real input costs were higher by a roughly constant amount per call), output = the
model's `generated_text`. USD per 1M tokens (input, output): list prices of the provider's own
API where there is one, else a typical hosted (Together/Fireworks-style) price for an open model
of that size, 2024:

    gemini-1.5-pro-002 1.25/5   gemini-1.5-flash-002 0.075/0.3   jamba-1.5-large 2/8
    c4ai-command-r-v01 0.5/1.5  DeepSeek-Coder-V2 0.14/0.28      Qwen1.5-110B 1.8/1.8
    Llama-2-70b / Meta-Llama-3-70B / Meta-Llama-3_1-70B(-Instruct), Qwen1.5-72B-Chat 0.9/0.9
    Yi-34B 0.8/0.8   Mixtral-8x7B(-Instruct) 0.6/0.6   Llama-2-13b 0.3/0.3
    Llama-3(.1)-8B(-Instruct), Mistral-7B*, mathstral-7B, Qwen1.5-7B-Chat, gemma-7b, Llama-2-7b 0.2/0.2
    Yi-6B, Yi-6b-Chat, Phi-3-mini-4k-instruct 0.1/0.1
    anything else: 0.5/0.5 (a warning names it)
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tarfile
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

PRICES = {  # USD per 1M tokens (input, output)
    "gemini-1.5-pro-002": (1.25, 5.0), "gemini-1.5-flash-002": (0.075, 0.3), "jamba-1.5-large": (2.0, 8.0),
    "c4ai-command-r-v01": (0.5, 1.5), "DeepSeek-Coder-V2": (0.14, 0.28), "Qwen1.5-110B": (1.8, 1.8),
    "Llama-2-70b-hf": (0.9, 0.9), "Meta-Llama-3-70B": (0.9, 0.9), "Meta-Llama-3-70B-Instruct": (0.9, 0.9),
    "Meta-Llama-3_1-70B": (0.9, 0.9), "Meta-Llama-3_1-70B-Instruct": (0.9, 0.9), "Qwen1.5-72B-Chat": (0.9, 0.9),
    "Yi-34B": (0.8, 0.8), "Mixtral-8x7B-v0.1": (0.6, 0.6), "Mixtral-8x7B-Instruct-v0.1": (0.6, 0.6),
    "Llama-2-13b-hf": (0.3, 0.3), "Meta-Llama-3-8B": (0.2, 0.2), "Meta-Llama-3-8B-Instruct": (0.2, 0.2),
    "Meta-Llama-3_1-8B": (0.2, 0.2), "Meta-Llama-3_1-8B-Instruct": (0.2, 0.2), "Mistral-7B-v0.1": (0.2, 0.2),
    "Mistral-7B-v0.2-hf": (0.2, 0.2), "Mistral-7B-Instruct-v0.1": (0.2, 0.2), "Mistral-7B-Instruct-v0.2": (0.2, 0.2),
    "mathstral-7B": (0.2, 0.2), "Qwen1.5-7B-Chat": (0.2, 0.2), "gemma-7b": (0.2, 0.2), "Llama-2-7b-hf": (0.2, 0.2),
    "Yi-6B": (0.1, 0.1), "Yi-6b-Chat": (0.1, 0.1), "Phi-3-mini-4k-instruct": (0.1, 0.1),
}
DEFAULT_PRICE = (0.5, 0.5)
NAME = re.compile(r"model_outputs_(?P<model>.+?)_\d+-?shots?(?:[_.].*)?$")
LETTERS = "ABCDEFGHIJKLMNOP"


def model_name(filename: str) -> str | None:
    match = NAME.match(Path(filename).name)
    return match.group("model") if match else None


def _lists_in_zip(data: bytes) -> Iterator[list]:
    with zipfile.ZipFile(io.BytesIO(data)) as inner:
        for info in inner.infolist():
            if info.filename.endswith(".json") and not info.is_dir():
                yield json.loads(inner.read(info))


def _from_member(name: str, data: bytes) -> Iterator[tuple[str, list]]:
    model = model_name(name)
    if model is None:
        return
    if name.endswith(".zip"):
        for rows in _lists_in_zip(data):
            yield model, rows
    elif name.endswith(".json"):
        yield model, json.loads(data)


def model_outputs(archive: Path) -> Iterator[tuple[str, list]]:
    """(model, list of question records) for every model_outputs_* file in the archive."""
    if archive.is_dir():
        for path in sorted(archive.rglob("model_outputs_*")):
            yield from _from_member(path.name, path.read_bytes())
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tar:
            for member in sorted(tar.getmembers(), key=lambda m: m.name):
                if member.isfile() and Path(member.name).name.startswith("model_outputs_"):
                    yield from _from_member(Path(member.name).name, tar.extractfile(member).read())
    elif zipfile.is_zipfile(archive):
        if model_name(archive.name):  # a single model's zip
            yield from _from_member(archive.name, archive.read_bytes())
            return
        with zipfile.ZipFile(archive) as outer:
            for info in sorted(outer.infolist(), key=lambda i: i.filename):
                if Path(info.filename).name.startswith("model_outputs_"):
                    yield from _from_member(Path(info.filename).name, outer.read(info))
    else:
        yield from _from_member(archive.name, archive.read_bytes())


def prompt_text(row: dict) -> str:
    options = "\n".join(f"{LETTERS[i]}. {option}" for i, option in enumerate(row.get("options") or []))
    return f"{row['question']}\n{options}" if options else row["question"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("archive", type=Path)
    parser.add_argument("-o", "--output", type=Path, default=Path("mmlu_pro.jsonl"))
    parser.add_argument("--models", help="comma-separated model names to keep (default: all)")
    parser.add_argument("--common-only", action="store_true",
                        help="keep only questions that every kept model answered")
    args = parser.parse_args(argv)
    keep = set(args.models.split(",")) if args.models else None

    answers: dict[str, dict[int, dict]] = {}
    for model, rows in model_outputs(args.archive):
        if keep is not None and model not in keep:
            continue
        per = answers.setdefault(model, {})
        for row in rows:
            if not isinstance(row, dict) or row.get("question_id") is None or not row.get("question"):
                continue  # one published file carries a few stray strings among its records
            per[int(row["question_id"])] = row  # a repeated id keeps the last record
    if not answers:
        print(f"no model_outputs_* files found in {args.archive}", file=sys.stderr)
        return 1
    ids = set.intersection(*(set(per) for per in answers.values())) if args.common_only else None

    written = 0
    stats: dict[str, list[float]] = defaultdict(list)
    with open(args.output, "w", encoding="utf-8") as out:
        for model in sorted(answers):
            if model not in PRICES:
                print(f"warning: no price for {model}; using {DEFAULT_PRICE}", file=sys.stderr)
            price_in, price_out = PRICES.get(model, DEFAULT_PRICE)
            for qid, row in sorted(answers[model].items()):
                if ids is not None and qid not in ids:
                    continue
                prompt = prompt_text(row)
                output = row.get("generated_text") or ""
                quality = 1.0 if row.get("pred") is not None and row.get("pred") == row.get("answer") else 0.0
                cost = (len(prompt) / 4 * price_in + len(output) / 4 * price_out) / 1e6
                out.write(json.dumps({"prompt_id": qid, "prompt": prompt, "model": model, "quality": quality,
                                      "cost_usd": round(cost, 8), "category": row.get("category") or "other"},
                                     ensure_ascii=False) + "\n")
                stats[model].append(quality)
                written += 1
    n_items = len(set().union(*(set(per) for per in answers.values()))) if ids is None else len(ids)
    print(f"wrote {written:,} rows: {n_items:,} questions x {len(answers)} models to {args.output}")
    for model in sorted(stats):
        values = stats[model]
        print(f"  {model:32s} n={len(values):6d}  mean quality={sum(values) / len(values):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
