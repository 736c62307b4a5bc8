"""Property tests: no fleet file and no condition makes the config layer raise anything but its
own error type, and every problem it reports says where and what to do.

At least 10,000 fleet files (built from generated values, and mutated from a small valid fleet)
and 10,000 conditions; each example checks several (every section of a generated document on its
own, every step of a mutation, every prefix of a token list), and the tests count them.
Conditions are only parsed: a hostile condition is never evaluated. Derandomized, so a run is
the same run every time; no deadline (the machine may be loaded).
"""

from __future__ import annotations

import re
import sys
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetui.config.fleetfile import FleetFileError, parse_fleet
from fleetui.routing.conditions import ConditionError, parse_condition, validate_condition

BASE = '''name = "small"

# Providers
[[providers]]
id = "openai"
kind = "openai-compatible"
key = "OPENAI_API_KEY"

[[roles]]
id = "fast"
name = "Fast"

# Models
[[models]]
id = "mini"
name = "Mini"
provider = "openai"
model = "gpt-4o-mini"
context_window = 128000
roles = [{ role = "fast", priority = 1 }]

[models.capabilities]
coding = 70
strengths = ["chat"]

[[models]]
id = "big"
name = "Big"
provider = "openai"
model = "gpt-4o"

[models.price]
input = 2.5
output = 10.0

# Rules
[[rules]]
name = "code"
priority = 10
when = 'task == "coding" and prompt_length > 4000'
model = "big"
fallbacks = ["mini"]

[[rules]]
name = "rest"
when = "true"
role = "fast"

[budget]
monthly_usd = 50
warn_pct = 70

[budget.per_model]
big = 40
'''

HOSTILE = [
    '["m"]', "{ a = 1 }", "5", "-1", "0", "1e400", "inf", "nan", "-inf", "9" * 5000, "[" * 1000 + "]" * 1000,
    "{ a = " * 200 + "1" + " }" * 200, '"unclosed', "{}", "[]", "1979-05-27T07:32:00Z", "07:32:00", '""',
    '"\u00e9\u6f22\U0001f600"', '"' + "x" * 3000 + '"', '[1, "a"]', "9223372036854775808", "0x7fffffffffffffffff",
    "true", "'not not (task == \"x\")'", "'" + "not " * 400 + "true'", "'" + "(" * 400 + "true" + ")" * 400 + "'",
    "'prompt_length > " + "9" * 400 + ".5'", "'hour == " + "9" * 5000 + "'", '"""multi\nline"""',
]
KEYS = ["id", "name", "roles", "fallbacks", "model", "provider", "priority", "when", "arms", "per_model", "key",
        "capabilities", "price", '"quoted key"', '"ünï"', "a.b.c", "weights", "role", "enabled", "kind", "prompts"]
SNIPPETS = ["\n[[models]]\n", "\n[[rules]]\n", "\n[budget]\n", "\n[ranking.weights]\n", "\n[[ab_tests]]\n",
            "\n[models.capabilities]\n", "\n[" + "a." * 300 + "b]\n", "\n" + "k." * 300 + "v = 1\n", "#", '"', "'",
            "[", "]", "{", "}", "=", "\n", "\x00", "\ufeff", "\\", '"""', "'''", ".", ",", " = ", "\r"]
PROBLEM = re.compile(r"^fleet\.toml(:\d+:\d+)?: .+; .+", re.S)


checked = {"files": 0, "conditions": 0}


def check(text: str) -> None:
    checked["files"] += 1
    try:
        parse_fleet(text, "fleet.toml")
    except FleetFileError as exc:
        assert exc.problems
        for problem in exc.problems:
            shown = str(problem)
            assert PROBLEM.match(shown), shown
            assert problem.line is not None and problem.column is not None, shown


# -- generated files ------------------------------------------------------------------------------

scalars = st.one_of(
    st.booleans(), st.integers(), st.floats(), st.text(max_size=20), st.datetimes(),
    st.sampled_from(["openai", "mini", "big", "fast", "true", 'task == "coding"', "", "a" * 100]),
)
values = st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(st.sampled_from(KEYS), scalars, max_size=3))
entries = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)
SECTIONS = ["name", "providers", "roles", "models", "rules", "ab_tests", "budget", "ranking", "privacy",
            "recommendations", "probes", "use_cases"]
documents = st.dictionaries(st.sampled_from(SECTIONS), st.lists(entries, max_size=3) | entries | values, max_size=5)
def bounded(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _toml(data: dict[str, Any]) -> str | None:
    try:
        return tomli_w.dumps(data)
    except (TypeError, ValueError):
        return None  # e.g. a list mixing tables and values, which TOML cannot say


@bounded(1_700)
@given(documents)
def generated_files(data: dict[str, Any]) -> None:
    for document in [data, *({key: value} for key, value in data.items())]:
        text = _toml(document)
        if text is not None:
            check(text)


# -- mutated files --------------------------------------------------------------------------------

LINES = BASE.split("\n")
KEYED = [i for i, line in enumerate(LINES) if " = " in line]
HEADERS = [i for i, line in enumerate(LINES) if line.startswith("[")]
mutation = st.one_of(
    st.tuples(st.just("value"), st.sampled_from(KEYED), st.sampled_from(HOSTILE)),
    st.tuples(st.just("key"), st.sampled_from(HEADERS), st.sampled_from(KEYS), st.sampled_from(HOSTILE)),
    st.tuples(st.just("snippet"), st.integers(0, len(BASE)), st.sampled_from(SNIPPETS)),
    st.tuples(st.just("cut"), st.integers(0, len(BASE)), st.integers(1, 60)),
    st.tuples(st.just("char"), st.integers(0, len(BASE)), st.characters()),
    st.tuples(st.just("truncate"), st.integers(0, len(BASE))),
    st.tuples(st.just("line"), st.sampled_from(range(len(LINES))), st.sampled_from(range(len(LINES)))),
)


def mutate(steps: list[tuple[Any, ...]]) -> str:
    text = BASE
    for kind, *args in steps:
        lines = text.split("\n")
        if kind == "value":
            index, value = args
            if index < len(lines) and " = " in lines[index]:
                lines[index] = lines[index].split(" = ", 1)[0] + " = " + value
        elif kind == "key":
            index, key, value = args
            lines.insert(min(index + 1, len(lines)), f"{key} = {value}")
        elif kind == "line":
            a, b = (min(i, len(lines) - 1) for i in args)
            lines[a], lines[b] = lines[b], lines[a]
        else:
            at = min(args[0], len(text))
            if kind == "snippet" or kind == "char":
                text = text[:at] + args[1] + text[at:]
            elif kind == "cut":
                text = text[:at] + text[at + args[1]:]
            else:
                text = text[:at]
            continue
        text = "\n".join(lines)
    return text


@bounded(1_200)
@given(st.lists(mutation, min_size=1, max_size=5))
def mutated_files(steps: list[tuple[Any, ...]]) -> None:
    for taken in range(1, len(steps) + 1):
        check(mutate(steps[:taken]))


def test_fleet_files_raise_only_fleet_file_errors_with_a_position() -> None:
    before = checked["files"]
    generated_files()
    mutated_files()
    assert checked["files"] - before >= 10_000


def test_the_base_of_the_mutations_is_valid() -> None:
    fleet = parse_fleet(BASE, "fleet.toml")
    assert [r.name for r in fleet.rules] == ["code", "rest"]


# -- conditions -----------------------------------------------------------------------------------

WORDS = ["task", "use_case", "complexity", "user", "prompt_length", "hour", "tags", "and", "or", "not", "in",
         "==", "!=", "<", "<=", ">", ">=", "(", ")", "[", "]", ",", '"coding"', "'simple'", "4000", "1.5", "-3",
         "true", "false", "Task", "AND", "=", "!", "&", '"unterminated', "$", "é", "\\", "'a\\q'"]
hostile_conditions = st.one_of(
    st.integers(1, 600).map(lambda n: "not " * n + "true"),
    st.integers(1, 600).map(lambda n: "(" * n + 'task == "coding"' + ")" * n),
    st.tuples(st.integers(1, 6000), st.sampled_from(["", ".5"])).map(
        lambda t: "prompt_length > " + "9" * t[0] + t[1]),
    st.integers(1, 6000).map(lambda n: f"hour == {'9' * n}"),
    st.integers(1, 3000).map(lambda n: " or ".join(['task == "a"'] * n)),
)
def check_condition(text: str) -> None:
    checked["conditions"] += 1
    try:
        condition = parse_condition(text)  # parsed only: never evaluated
    except ConditionError as exc:
        assert 1 <= exc.column <= len(text) + 1
        assert validate_condition(text) is not None
    else:
        assert condition.text == text and validate_condition(text) is None


@bounded(1_200)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=14), hostile_conditions, st.text(max_size=40))
def generated_conditions(words: list[str], hostile: str, text: str) -> None:
    for taken in range(1, len(words) + 1):
        check_condition(" ".join(words[:taken]))
    check_condition(hostile)
    check_condition(text)


def test_conditions_raise_only_condition_errors_with_a_column() -> None:
    before = checked["conditions"]
    generated_conditions()
    assert checked["conditions"] - before >= 10_000


def test_the_limits_hold_at_the_recursion_limit() -> None:
    # Deeper than Python's stack would allow without the limits: each is a clear error instead.
    depth = min(sys.getrecursionlimit() + 10, 990)  # under the 4,000-character limit
    for text in ("not " * depth + "true", "(" * depth + "true" + ")" * depth):
        assert "nested more than 32 levels deep" in (validate_condition(text) or "")
    assert "more than 18 digits" in (validate_condition("prompt_length > " + "9" * 400 + ".5") or "")
