"""The condition language: what it accepts, how it evaluates, how it says what is wrong, and that
the facts it derives for the rule index never hide a rule that matches."""

from __future__ import annotations

import itertools
import random
import tomllib
from typing import Any

import pytest

from fleetui.routing.conditions import ConditionError, compile_condition, parse_condition, validate_condition
from fleetui.config.fleetfile import FleetFileError, parse_fleet
from fleetui.routing.index import RuleIndex
from tests.conftest import SAMPLE_FLEET


def test_every_condition_of_the_sample_fleet_parses() -> None:
    rules = tomllib.loads(SAMPLE_FLEET.read_text())["rules"]
    assert len(rules) >= 6
    for rule in rules:
        assert validate_condition(rule["when"]) is None, rule["when"]


@pytest.mark.parametrize(("text", "request_", "expected"), [
    ('task == "coding" and complexity in ["medium", "complex"]', {"task": "coding", "complexity": "medium"}, True),
    ('task == "coding" and complexity in ["medium", "complex"]', {"task": "coding", "complexity": "simple"}, False),
    ('task == "coding" and complexity in ["medium", "complex"]', {"task": "chat", "complexity": "complex"}, False),
    ("prompt_length > 4000", {"prompt_length": 4001}, True),
    ("prompt_length > 4000", {"prompt_length": 4000}, False),
    ("prompt_length > 4000", {}, False),  # an absent number compares as false, not an error
    ("4000 < prompt_length", {"prompt_length": 4001}, True),  # a literal on the left turns round
    ('"vision" in tags', {"tags": ("vision", "x")}, True),
    ('"vision" in tags', {"tags": ()}, False),
    ('"vision" in tags', {}, False),
    ('"vision" not in tags and not (user == "batch")', {"tags": (), "user": "alice"}, True),
    ('"vision" not in tags and not (user == "batch")', {"tags": (), "user": "batch"}, False),
    ('user == "batch" or hour >= 22', {"user": "x", "hour": 23}, True),
    ('user == "batch" or hour >= 22', {"user": "x", "hour": 9}, False),
    ('use_case not in ["casual_chat", "food_dining"]', {"use_case": "technical_code"}, True),
    ("hour in [22, 23, 0]", {"hour": 0}, True),
    ('not task == "a" and not task == "b"', {"task": "c"}, True),
    ('task == "a" or task == "b" and user == "u"', {"task": "a", "user": "v"}, True),  # and binds tighter
    ('(task == "a" or task == "b") and user == "u"', {"task": "a", "user": "v"}, False),
    ("prompt_length >= 10.5", {"prompt_length": 11}, True),
    ("hour != 3", {"hour": 4}, True),
    ("prompt_length < hour", {"prompt_length": 1, "hour": 2}, True),  # attribute against attribute
    ("true", {}, True),  # a catch-all rule
    ("false", {"task": "x"}, False),
    ('user == "josé"', {"user": "josé"}, True),  # not mangled by escape decoding
    (r'user == "a\"b\\c"', {"user": 'a"b\\c'}, True),
    ("user == 'single'", {"user": "single"}, True),
])
def test_conditions_evaluate(text: str, request_: dict[str, Any], expected: bool) -> None:
    assert compile_condition(text)(request_) is expected


@pytest.mark.parametrize(("text", "column", "message"), [
    ('tsk == "coding"', 1, "unknown attribute 'tsk' (did you mean 'task'?)"),
    ('task == "a" and prompt_lenght > 3', 17, "did you mean 'prompt_length'"),
    ('model == "x"', 1, "known: task, use_case"),
    ('task == "a" AND user == "b"', 13, "expected 'and', 'or' or the end, found 'AND'"),
    ('prompt_length > "long"', 17, "> compares numbers; this is a str"),
    ('task < 3', 1, "< compares numbers; this is a str"),
    ('task == 3', 9, "cannot compare a str with a num"),
    ('task == true', 9, "cannot compare a str with a bool"),
    ('complexity == "complx"', 15, "complexity is one of simple, medium, complex, not 'complx' (did you mean 'complex'?)"),
    ('complexity in ["simple", "hard"]', 26, "not 'hard'"),
    ("hour == 25", 9, "hour is a whole number from 0 to 23"),
    ('task = "x"', 6, "unexpected character '='; use '==' to compare"),
    ('task == "a" && user == "b"', 13, "use 'and'"),
    ('task == "a', 9, "unterminated string"),
    (r'task == "a\qb"', 11, "unknown escape '\\q'"),
    ('task == "a" and', 16, "ends too early"),
    ('(task == "a"', 13, "expected ')'"),
    ('task in "abc"', 9, "needs a list"),
    ("5 in tags", 1, "tags holds strings, not a num"),
    ('tags in ["a"]', 1, "the left of 'in' is one value, not a list"),
    ('prompt_length in ["a"]', 18, "this list cannot hold a num"),
    ('task in ["a", 1]', 9, "strings or numbers, not both"),
    ('task in ["a" "b"]', 14, "expected ',' or ']'"),
    ('task in ["a"', 13, "expected ']' to close the list"),
    ("tags", 5, "'tags' is a list: test it with 'in'"),
    ("task", 5, "expected an operator after 'task'"),
    ('task not == "a"', 10, "expected 'in' after 'not'"),
    ('task == "a" task == "b"', 13, "expected 'and', 'or' or the end"),
    ("", 1, "empty condition"),
    ("   ", 4, "empty condition"),
    ('and task == "a"', 1, "expected an attribute or a value, found 'and'"),
])
def test_errors_name_the_column(text: str, column: int, message: str) -> None:
    with pytest.raises(ConditionError) as caught:
        compile_condition(text)
    assert caught.value.column == column, str(caught.value)
    assert message in str(caught.value)
    # The message shows the condition with a caret under the column.
    _, shown, caret = str(caught.value).split("\n")
    assert shown == f"  {text}" and caret == "  " + " " * (column - 1) + "^"


@pytest.mark.parametrize("text", [
    '__import__("os")',
    '__import__("os").system("ls")',
    "task.__class__",
    "().__class__.__bases__",
    "lambda: 1",
    'eval("1")',
    "task == task.upper()",
    "1 + 1 == 2",
    "[x for x in tags]",
    '"a" * 1000000',
])
def test_nothing_but_comparisons_runs(text: str) -> None:
    """Python syntax is not the language: anything beyond comparisons is a parse error."""
    with pytest.raises(ConditionError):
        compile_condition(text)


def test_validate_condition_gives_the_reason_and_column_for_fleet_checks() -> None:
    assert validate_condition('task == "coding"') is None
    assert validate_condition('tsk == "coding"') == "unknown attribute 'tsk' (did you mean 'task'?) at column 1"


def test_bad_condition_in_fleet_file_names_rule_line_and_column(sample_text: str) -> None:
    text = sample_text.replace('when = "prompt_length > 4000"', 'when = "prompt_lenght > 4000"')
    with pytest.raises(FleetFileError) as caught:
        parse_fleet(text, "f.toml")
    [problem] = caught.value.problems
    assert "rules[long-documents].when" in str(problem) and "column 1" in str(problem)
    assert "did you mean 'prompt_length'" in str(problem) and problem.line is not None


@pytest.mark.parametrize(("text", "requires", "min_length"), [
    ('task == "coding"', {("task", "coding")}, None),
    ('"vision" in tags', {("tags", "vision")}, None),
    ('use_case in ["a", "b"]', {("use_case", "a"), ("use_case", "b")}, None),
    ('task == "coding" and complexity in ["medium", "complex"]', {("task", "coding")}, None),  # the narrowest
    ('task == "a" or "b" in tags', {("task", "a"), ("tags", "b")}, None),
    ('task == "a" or prompt_length > 10', None, None),  # one branch needs no fact
    ('task != "a"', None, None),
    ('not task == "a"', None, None),
    ('"vision" not in tags', None, None),
    ("prompt_length > 4000", None, 4001),
    ("prompt_length >= 4000", None, 4000),
    ("prompt_length > 99.5", None, 100),
    ('prompt_length > 10 and task == "a"', {("task", "a")}, 11),
    ("prompt_length > 10 and prompt_length > 20", None, 21),
    ("prompt_length > 10 or prompt_length > 20", None, 11),
    ("prompt_length < 10", None, None),
    ("false", set(), None),
    ("true", None, None),
])
def test_required_facts_and_length(text: str, requires: set[tuple[str, str]] | None, min_length: int | None) -> None:
    condition = parse_condition(text)
    assert condition.requires == (None if requires is None else frozenset(requires))
    assert condition.min_length == min_length


_CONDITIONS = [
    'task == "coding"', 'task == "coding" and complexity in ["medium", "complex"]', '"vision" in tags',
    'task == "a" or "b" in tags', 'use_case in ["x", "y"] and complexity == "simple"', "prompt_length > 30",
    'prompt_length > 10 and (task == "a" or user == "u")', 'not (task == "a")', 'user == "u" or hour >= 12',
    '"vision" not in tags and prompt_length >= 5', 'complexity == "complex" or "b" in tags and task == "coding"',
    "false", "true", 'task == "a" and false', 'prompt_length > 20 or task == "b"',
]


def test_the_rule_index_never_hides_a_matching_rule() -> None:
    conditions = [parse_condition(text) for text in _CONDITIONS]
    index = RuleIndex(conditions)
    rng = random.Random(7)
    values = {
        "task": [None, "a", "b", "coding", "chat"], "use_case": [None, "x", "y", "z"],
        "complexity": ["simple", "medium", "complex"], "user": [None, "u", "v"],
    }
    skipped = 0
    for _ in range(3000):
        request: dict[str, Any] = {name: rng.choice(options) for name, options in values.items()}
        request["tags"] = tuple(rng.sample(["vision", "b", "web"], rng.randint(0, 2)))
        request["prompt_length"] = rng.randint(0, 60)
        request["hour"] = rng.randint(0, 23)
        mask = index.candidates(request["task"], request["use_case"], request["complexity"], request["user"],
                                request["tags"], request["prompt_length"])
        for position, condition in enumerate(conditions):
            if condition.evaluate(request):
                assert mask >> position & 1, (condition.text, request)
            elif not mask >> position & 1:
                skipped += 1
    assert skipped > 10_000, "the index should rule out most non-matching rules"


def test_every_operator_combination_parses_or_errors_cleanly() -> None:
    """No operand/operator pairing crashes the parser with anything but a ConditionError."""
    operands = ['task', 'tags', 'prompt_length', '"s"', '3', 'true', '["a"]', '[1, 2]']
    operators = ["==", "!=", "<", "<=", ">", ">=", "in", "not in"]
    for left, op, right in itertools.product(operands, operators, operands):
        text = f"{left} {op} {right}"
        try:
            predicate = compile_condition(text)
        except ConditionError:
            continue
        predicate({"task": "s", "tags": ("a",), "prompt_length": 3})  # and evaluates without raising
