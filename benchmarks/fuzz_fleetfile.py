"""Fuzz the fleet file loader and the rule-condition parser; count what escapes them.

    python benchmarks/fuzz_fleetfile.py [--files 10000] [--conditions 10000] [--seed 14]

Mutates `sample_fleet.toml` (cut, hostile values, hostile keys, deep nesting, huge numbers,
truncation) and generates conditions from the grammar's tokens plus a few hostile shapes, then
parses each. Conditions are only parsed, never evaluated. Prints:

- tracebacks: exceptions other than the project's own error type, grouped by where they came from;
- the share of reported problems that carry a line and a column.

Deterministic for a given seed, so runs before and after a change compare like for like.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleetui.config.fleetfile import FleetFileError, parse_fleet  # noqa: E402
from fleetui.routing.conditions import ConditionError, parse_condition  # noqa: E402

HOSTILE_VALUES = [
    '["m"]', "{ a = 1 }", "5", "3", '"x"', "true", "-1", "0", "1e400", "-1e400", "inf", "nan",
    "9" * 5000, "[" * 1000 + "]" * 1000, "{ a = " * 300 + "1" + " }" * 300, '"unclosed', "{}", "[]",
    "1979-05-27T07:32:00Z", '""', '"\u00e9\u6f22"', '"' + "x" * 5000 + '"', "[1, \"a\"]",
    "9223372036854775808", "-9223372036854775809", "0x7fffffffffffffffff", "1_000", "[[1], [2]]",
]
HOSTILE_KEYS = [
    "id", "name", "roles", "fallbacks", "model", "provider", "priority", "when", "arms", "per_model",
    "capabilities", "price", '"quoted key"', "ünï", "a.b.c", '"models"', "'lit'", "weights", "key",
]
SNIPPETS = [
    "\n[[models]]\n", "\n[[rules]]\n", "\n[budget]\n", "\n[ranking.weights]\n", "\n[[ab_tests]]\n",
    "\n[models.capabilities]\n", "\n[" + "a." * 500 + "b]\n", "\n" + "k." * 500 + "v = 1\n", "#",
    "\"", "'", "[", "]", "{", "}", "=", "\n", "\x00", "\ufeff", "\\", '"""', "'''",
]


def mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 3)):
        lines = text.split("\n")
        choice = rng.randrange(8)
        at = rng.randrange(len(text) + 1)
        if choice == 0 and text:  # cut a span
            text = text[:at] + text[at + rng.randint(1, 40):]
        elif choice == 1:  # a hostile value for an existing key
            keyed = [i for i, line in enumerate(lines) if " = " in line]
            if keyed:
                i = rng.choice(keyed)
                key = lines[i].split(" = ", 1)[0]
                lines[i] = f"{key} = {rng.choice(HOSTILE_VALUES)}"
                text = "\n".join(lines)
        elif choice == 2:  # a hostile key = value line after a table header
            headers = [i for i, line in enumerate(lines) if line.startswith("[")]
            i = rng.choice(headers) if headers else 0
            lines.insert(i + 1, f"{rng.choice(HOSTILE_KEYS)} = {rng.choice(HOSTILE_VALUES)}")
            text = "\n".join(lines)
        elif choice == 3:  # a snippet anywhere
            text = text[:at] + rng.choice(SNIPPETS) + text[at:]
        elif choice == 4 and len(lines) > 1:  # drop, duplicate or swap lines
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            op = rng.randrange(3)
            if op == 0:
                del lines[i]
            elif op == 1:
                lines.insert(j, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
        elif choice == 5:  # truncated, as by a full disk or a crashed editor
            text = text[:at]
        elif choice == 6:  # a random character
            text = text[:at] + chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x80, 0x3000)])) + text[at:]
        else:  # a rule's condition replaced by a generated one
            whens = [i for i, line in enumerate(lines) if line.startswith("when = ")]
            if whens:
                lines[rng.choice(whens)] = "when = '" + condition(rng).replace("'", '"') + "'"
                text = "\n".join(lines)
    return text


WORDS = ["task", "use_case", "complexity", "user", "prompt_length", "hour", "tags", "and", "or", "not",
         "in", "==", "!=", "<", "<=", ">", ">=", "(", ")", "[", "]", ",", '"coding"', "'simple'", "4000",
         "1.5", "-3", "true", "false", "Task", "AND", "=", "!", "&", "\"unterminated", "$", "é"]


def condition(rng: random.Random) -> str:
    shape = rng.randrange(10)
    if shape == 0:
        return "not " * rng.randint(100, 600) + "true"
    if shape == 1:
        depth = rng.randint(100, 600)
        return "(" * depth + 'task == "coding"' + ")" * depth
    if shape == 2:
        return "prompt_length > " + "9" * rng.randint(300, 6000) + rng.choice(["", ".5"])
    if shape == 3:
        return f"hour == {'9' * rng.randint(4300, 6000)}"
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 14)))


def where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "fleetui" in f.filename] or frames
    frame = (ours or [None])[-1]
    place = f"{Path(frame.filename).name}:{frame.lineno}" if frame else "?"
    return f"{type(exc).__name__} at {place}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--conditions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--examples", action="store_true", help="print one problem of each kind")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    sample = (ROOT / "sample_fleet.toml").read_text(encoding="utf-8")
    sys.setrecursionlimit(1000)

    crashes: collections.Counter[str] = collections.Counter()
    problems = with_line = with_column = with_advice = 0
    examples: dict[str, str] = {}
    started = time.perf_counter()
    for _ in range(args.files):
        text = mutate(sample, rng)
        try:
            parse_fleet(text, "fleet.toml")
        except FleetFileError as exc:
            for problem in exc.problems:
                problems += 1
                with_line += problem.line is not None
                with_column += getattr(problem, "column", None) is not None
                with_advice += "; " in problem.message
                examples.setdefault(problem.message[:25], str(problem)[:200])
        except Exception as exc:  # noqa: BLE001 - counting exactly these
            crashes[where(exc)] += 1
    files_s = time.perf_counter() - started

    condition_crashes: collections.Counter[str] = collections.Counter()
    started = time.perf_counter()
    for _ in range(args.conditions):
        try:
            parse_condition(condition(rng))
        except ConditionError:
            pass
        except Exception as exc:  # noqa: BLE001
            condition_crashes[where(exc)] += 1
    conditions_s = time.perf_counter() - started

    print(f"fleet files: {args.files:,} mutated in {files_s:.1f}s; tracebacks {sum(crashes.values()):,} "
          f"in {len(crashes)} places")
    for place, count in crashes.most_common():
        print(f"  {count:6,}  {place}")
    if problems:
        print(f"problems reported: {problems:,}; with a line {with_line:,} ({with_line / problems:.1%}), "
              f"with a column {with_column:,} ({with_column / problems:.1%}), "
              f"with '; what to do' {with_advice:,} ({with_advice / problems:.1%})")
        if "--examples" in sys.argv:
            print("\n".join(f"  {e}" for e in examples.values()))
    print(f"conditions: {args.conditions:,} generated in {conditions_s:.1f}s; tracebacks "
          f"{sum(condition_crashes.values()):,} in {len(condition_crashes)} places")
    for place, count in condition_crashes.most_common():
        print(f"  {count:6,}  {place}")


if __name__ == "__main__":
    main()
