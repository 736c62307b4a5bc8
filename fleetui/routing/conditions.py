"""The routing rules' condition language: small, safe, and fleetui's own (never `eval`).

    task == "coding" and complexity in ["medium", "complex"]
    prompt_length > 4000
    "vision" in tags and not (user == "batch")

Attributes: task, use_case, complexity, user (strings; complexity is one of simple, medium,
complex), prompt_length (characters), hour (the local hour, 0–23), tags (a list of strings).
Operators: == != < <= > >= in, not in, and, or, not, parentheses. Literals: "strings" or
'strings', numbers, true/false, lists [..]. A bare `true` is a condition that always holds (a
catch-all rule).

A condition is parsed once by a recursive-descent parser into nested closures: evaluating one is
a handful of Python calls and can do nothing but compare values. Mistakes — unknown attributes,
comparisons between a number and a string, an unknown complexity tier — are errors at parse time
that name the column. Each condition also says which facts it needs (`Condition.requires`), so
and which prompt length it needs at least (`Condition.min_length`), so that the router can skip,
without evaluating it, a rule that cannot match a request.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ATTRIBUTES: dict[str, str] = {
    "task": "str", "use_case": "str", "complexity": "str", "user": "str",
    "prompt_length": "num", "hour": "num", "tags": "list",
}
COMPLEXITY_TIERS = ("simple", "medium", "complex")
# Attributes a condition can require a value of: a request's value of them is a "fact" the
# router looks rules up by. Numbers are left out: `prompt_length == 100` is not worth indexing.
FACT_ATTRIBUTES = ("task", "use_case", "complexity", "user", "tags")

Predicate = Callable[[Mapping[str, Any]], bool]
# (attribute, value): the request's attribute equals the value, or for tags contains it.
Fact = tuple[str, Any]

_WORD_OPERATORS = {"and", "or", "not", "in"}
# What to do, for a condition that does not parse.
HELP = ('a condition compares task, use_case, complexity, user, prompt_length, hour or tags with '
        '== != < <= > >= in, joined by and / or / not, e.g. task == "coding" and prompt_length > 4000')
# Limits that keep hostile text cheap and safe to parse: far above any rule a person writes.
MAX_LENGTH = 4000  # characters in one condition
MAX_NESTING = 32  # `not` and parentheses inside each other
MAX_NUMBER_DIGITS = 18  # a literal fits a float exactly and an int64 comfortably
_TOKEN = re.compile(
    r"""(?P<num>-?\d+(?:\.\d+)?(?![A-Za-z_]))
      | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
      | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)""",
    re.VERBOSE,
)
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t"}
# What people type from other languages, and what to write instead.
_MISTAKES = {"=": "use '==' to compare", "!": "use 'not', or '!=' to compare", "&": "use 'and'",
             "|": "use 'or'"}


class ConditionError(ValueError):
    """A condition that does not parse, with the column (1-based) where it goes wrong."""

    def __init__(self, message: str, text: str, column: int) -> None:
        self.column = column
        self.text = text
        self.reason = message
        super().__init__(f"{message} at column {column}\n  {text}\n  {' ' * (column - 1)}^")


@dataclass(frozen=True, slots=True)
class Condition:
    text: str
    evaluate: Predicate
    # Whenever the condition holds, at least one of these facts holds; None when no finite set
    # says so (e.g. `prompt_length > 4000`). An empty set: the condition never holds.
    requires: frozenset[Fact] | None
    attributes: frozenset[str]  # the request attributes it reads
    min_length: int | None = None  # whenever the condition holds, prompt_length >= this


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # num, str, op, name, end
    value: Any
    column: int


@dataclass(frozen=True, slots=True)
class _Node:
    predicate: Predicate
    requires: frozenset[Fact] | None
    min_length: int | None = None


@dataclass(frozen=True, slots=True)
class _Operand:
    kind: str  # attr or lit
    value: Any  # the attribute's name, or the literal (a list literal is a tuple)
    token: _Token
    items: tuple[_Token, ...] = ()  # a list literal's element tokens, for their columns

    @property
    def type(self) -> str:
        if self.kind == "attr":
            return ATTRIBUTES[self.value]
        if isinstance(self.value, tuple):
            return "list"
        if isinstance(self.value, bool):
            return "bool"
        return "num" if isinstance(self.value, int | float) else "str"


def _string(raw: str, text: str, column: int) -> str:
    out: list[str] = []
    i = 1
    while i < len(raw) - 1:
        char = raw[i]
        if char == "\\":
            escaped = raw[i + 1]
            if escaped not in _ESCAPES:
                raise ConditionError(f"unknown escape '\\{escaped}' (known: \\\" \\' \\\\ \\n \\t)", text, column + i)
            out.append(_ESCAPES[escaped])
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _number(raw: str, text: str, column: int) -> int | float:
    if sum(c.isdigit() for c in raw) > MAX_NUMBER_DIGITS:
        raise ConditionError(f"a number of more than {MAX_NUMBER_DIGITS} digits; use a smaller number", text, column)
    return float(raw) if "." in raw else int(raw)


def _tokens(text: str) -> list[_Token]:
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"longer than {MAX_LENGTH:,} characters; split it into several rules", text,
                             MAX_LENGTH + 1)
    out: list[_Token] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            break
        match = _TOKEN.match(text, pos)
        if not match:
            char = text[pos]
            if char in "\"'":
                raise ConditionError("unterminated string", text, pos + 1)
            hint = _MISTAKES.get(char)
            raise ConditionError(f"unexpected character {char!r}" + (f"; {hint}" if hint else ""), text, pos + 1)
        kind = match.lastgroup or ""
        raw = match.group(kind)
        value: Any = raw
        if kind == "num":
            value = _number(raw, text, pos + 1)
        elif kind == "str":
            value = _string(raw, text, pos + 1)
        out.append(_Token(kind, value, pos + 1))
        pos = match.end()
    out.append(_Token("end", None, len(text) + 1))
    return out


class _Parser:
    """condition   := disjunction
    disjunction := conjunction ("or" conjunction)*
    conjunction := negation ("and" negation)*
    negation    := "not" negation | "(" disjunction ")" | comparison
    comparison  := operand (("==" | "!=" | "<" | "<=" | ">" | ">=" | ["not"] "in") operand)?
    operand     := attribute | string | number | true | false | "[" literal ("," literal)* "]"
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0
        self.depth = 0  # `not` and parentheses open around the current token
        self.attributes: set[str] = set()

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, message: str, token: _Token | None = None) -> ConditionError:
        return ConditionError(message, self.text, (token or self.current).column)

    def at_word(self, word: str) -> bool:
        return self.current.kind == "name" and self.current.value == word

    def at_op(self, op: str) -> bool:
        return self.current.kind == "op" and self.current.value == op

    def parse(self) -> Condition:
        if self.current.kind == "end":
            raise self.error("empty condition")
        node = self.disjunction()
        if self.current.kind != "end":
            raise self.error(f"expected 'and', 'or' or the end, found {self.current.value!r}")
        return Condition(self.text, node.predicate, node.requires, frozenset(self.attributes), node.min_length)

    # -- boolean structure -------------------------------------------------------------------

    def disjunction(self) -> _Node:
        parts = [self.conjunction()]
        while self.at_word("or"):
            self.take()
            parts.append(self.conjunction())
        if len(parts) == 1:
            return parts[0]
        requires: frozenset[Fact] | None = frozenset()
        for part in parts:  # one branch holds, so one of the branches' facts does
            requires = None if requires is None or part.requires is None else requires | part.requires
        lengths = [p.min_length for p in parts]
        min_length = None if None in lengths else min(x for x in lengths if x is not None)
        predicates = [p.predicate for p in parts]
        if len(predicates) == 2:  # the common case, without a generator per call
            first, second = predicates
            return _Node(lambda request: first(request) or second(request), requires, min_length)
        return _Node(lambda request: any(p(request) for p in predicates), requires, min_length)

    def conjunction(self) -> _Node:
        parts = [self.negation()]
        while self.at_word("and"):
            self.take()
            parts.append(self.negation())
        if len(parts) == 1:
            return parts[0]
        # Every part holds, so any part's facts are required: keep the narrowest.
        known = [p.requires for p in parts if p.requires is not None]
        requires = min(known, key=len) if known else None
        min_length = max((p.min_length for p in parts if p.min_length is not None), default=None)
        predicates = [p.predicate for p in parts]
        if len(predicates) == 2:
            first, second = predicates
            return _Node(lambda request: first(request) and second(request), requires, min_length)
        return _Node(lambda request: all(p(request) for p in predicates), requires, min_length)

    def negation(self) -> _Node:
        if not (self.at_word("not") or self.at_op("(")):
            return self.comparison()
        if self.depth >= MAX_NESTING:
            # Recursion depth is bounded here, so parsing (and evaluating) can never exhaust the stack.
            raise self.error(f"nested more than {MAX_NESTING} levels deep; simplify the condition")
        self.depth += 1
        try:
            if self.at_word("not"):
                self.take()
                inner = self.negation().predicate
                return _Node(lambda request: not inner(request), None)
            self.take()
            node = self.disjunction()
            if not self.at_op(")"):
                raise self.error("expected ')'")
            self.take()
            return node
        finally:
            self.depth -= 1

    # -- comparisons -------------------------------------------------------------------------

    def operand(self) -> _Operand:
        token = self.current
        if token.kind == "name":
            if token.value in ("true", "false"):
                self.take()
                return _Operand("lit", token.value == "true", token)
            if token.value in _WORD_OPERATORS:
                raise self.error(f"expected an attribute or a value, found {token.value!r}")
            if token.value not in ATTRIBUTES:
                raise self.error(f"unknown attribute {token.value!r}{_suggest(token.value, list(ATTRIBUTES))}")
            self.take()
            self.attributes.add(token.value)
            return _Operand("attr", token.value, token)
        if token.kind in ("num", "str"):
            self.take()
            return _Operand("lit", token.value, token)
        if self.at_op("["):
            return self.list_literal()
        if token.kind == "end":
            raise self.error("the condition ends too early")
        raise self.error(f"expected an attribute or a value, found {token.value!r}")

    def list_literal(self) -> _Operand:
        opening = self.take()
        items: list[_Token] = []
        while not self.at_op("]"):
            if self.current.kind not in ("num", "str"):
                if self.current.kind == "end":
                    raise self.error("expected ']' to close the list")
                raise self.error("a list holds strings or numbers")
            items.append(self.take())
            if self.at_op(","):
                self.take()
            elif self.current.kind == "end":
                raise self.error("expected ']' to close the list")
            elif not self.at_op("]"):
                raise self.error("expected ',' or ']' in the list")
        self.take()
        kinds = {t.kind for t in items}
        if len(kinds) > 1:
            raise self.error("a list holds strings or numbers, not both", opening)
        return _Operand("lit", tuple(t.value for t in items), opening, tuple(items))

    def comparison(self) -> _Node:
        left = self.operand()
        operator = self.current
        negate = False
        if self.at_word("not"):
            self.take()
            if not self.at_word("in"):
                raise self.error("expected 'in' after 'not'")
            negate = True
        if self.at_word("in"):
            self.take()
            return self.membership(left, self.operand(), negate)
        if operator.kind == "op" and operator.value in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            return self.compare(operator, left, self.operand())
        if left.kind == "lit" and left.type == "bool":
            value = left.value  # a bare `true` / `false`: a rule for every request, or none
            return _Node(lambda request: value, None if value else frozenset())
        if left.kind == "attr" and left.type == "list":
            raise self.error(f"{left.value!r} is a list: test it with 'in', e.g. \"vision\" in {left.value}")
        if left.kind == "attr":
            raise self.error(f"expected an operator after {left.value!r} (==, !=, <, >, in …)")
        raise self.error("expected a comparison operator (==, !=, <, >, in …)")

    def check_value(self, attribute: _Operand, literal: _Operand) -> None:
        """Values an attribute can never take are typos: say so now rather than never match."""
        tokens = literal.items or (literal.token,)
        values = literal.value if literal.items else (literal.value,)
        for token, value in zip(tokens, values, strict=True):
            if attribute.value == "complexity" and value not in COMPLEXITY_TIERS:
                raise self.error(
                    f"complexity is one of {', '.join(COMPLEXITY_TIERS)}, not {value!r}"
                    f"{_suggest(str(value), list(COMPLEXITY_TIERS))}", token)
            if attribute.value == "hour" and not (isinstance(value, int) and 0 <= value <= 23):
                raise self.error(f"hour is a whole number from 0 to 23, not {value!r}", token)

    def compare(self, operator: _Token, left: _Operand, right: _Operand) -> _Node:
        op = operator.value
        if op in ("<", "<=", ">", ">="):
            for side in (left, right):
                if side.type != "num":
                    raise self.error(f"{op} compares numbers; this is a {side.type}", side.token)
        elif left.type != right.type:
            raise self.error(f"cannot compare a {left.type} with a {right.type}", right.token)
        if left.kind == "lit" and right.kind == "attr":  # `"coding" == task`: turn it round
            left, right = right, left
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        if left.kind == "attr" and right.kind == "lit":
            if op in ("==", "!="):
                self.check_value(left, right)
            return self.against_literal(op, left.value, right.value)
        get_left, get_right = _getter(left), _getter(right)
        if op == "==":
            return _Node(lambda request: get_left(request) == get_right(request), None)
        if op == "!=":
            return _Node(lambda request: get_left(request) != get_right(request), None)
        ordered = _ORDER[op]

        def both(request: Mapping[str, Any]) -> bool:
            a, b = get_left(request), get_right(request)
            return a is not None and b is not None and ordered(a, b)

        return _Node(both, None)

    @staticmethod
    def against_literal(op: str, name: str, value: Any) -> _Node:
        # `attribute OP literal` is the shape nearly every rule has: one call, not three.
        if op == "==":
            requires = frozenset({(name, value)}) if name in FACT_ATTRIBUTES else None
            length = math.ceil(value) if name == "prompt_length" else None
            return _Node(lambda request: request.get(name) == value, requires, length)
        if op == "!=":
            return _Node(lambda request: request.get(name) != value, None)
        ordered = _ORDER[op]

        def against(request: Mapping[str, Any]) -> bool:
            got = request.get(name)
            return got is not None and ordered(got, value)

        # A length is a whole number of characters: `> 4000` needs 4001, `>= 4000.5` needs 4001.
        length = None
        if name == "prompt_length" and op in (">", ">="):
            length = math.floor(value) + 1 if op == ">" else math.ceil(value)
        return _Node(against, None, length)

    def membership(self, left: _Operand, right: _Operand, negate: bool) -> _Node:
        if right.type != "list":
            raise self.error("'in' needs a list on its right (e.g. tags, or [\"a\", \"b\"])", right.token)
        if left.type == "list":
            raise self.error("the left of 'in' is one value, not a list", left.token)
        if right.kind == "lit":
            element = {t.kind for t in right.items}
            wanted = {"str": "str", "num": "num"}.get(left.type)
            if element and wanted and element != {wanted}:
                raise self.error(f"this list cannot hold a {left.type}: its items are of another type", right.token)
        elif left.type != "str":
            raise self.error(f"{right.value} holds strings, not a {left.type}", left.token)
        if left.kind == "attr" and right.kind == "lit":  # `use_case in ["a", "b"]`: a set lookup
            self.check_value(left, right)
            name, options = left.value, frozenset(right.value)
            if negate:
                return _Node(lambda request: request.get(name) not in options, None)
            requires = frozenset((name, o) for o in options) if name in FACT_ATTRIBUTES else None
            return _Node(lambda request: request.get(name) in options, requires)
        if left.kind == "lit" and right.kind == "attr":  # `"vision" in tags`
            value, name = left.value, right.value
            if negate:
                return _Node(lambda request: value not in (request.get(name) or ()), None)
            return _Node(lambda request: value in (request.get(name) or ()), frozenset({(name, value)}))
        get_left, get_right = _getter(left), _getter(right)

        def member(request: Mapping[str, Any]) -> bool:
            return get_left(request) in (get_right(request) or ())

        if negate:
            return _Node(lambda request: not member(request), None)
        return _Node(member, None)


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _getter(operand: _Operand) -> Callable[[Mapping[str, Any]], Any]:
    if operand.kind == "attr":
        name = operand.value
        return lambda request: request.get(name)
    value = operand.value
    return lambda request: value


def _suggest(word: str, known: list[str]) -> str:
    if word.lower() in _WORD_OPERATORS:
        return f" (did you mean {word.lower()!r}? operators are lower-case)"
    hint = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else f"; known: {', '.join(known)}"


def parse_condition(text: str) -> Condition:
    """Parse `text` once; raises ConditionError naming the column."""
    return _Parser(text).parse()


def compile_condition(text: str) -> Predicate:
    return parse_condition(text).evaluate


def validate_condition(text: str) -> str | None:
    """None when `text` is a valid condition, else the error (with its column)."""
    try:
        parse_condition(text)
    except ConditionError as exc:
        wrong, _, advice = exc.reason.partition("; ")
        return f"{wrong} at column {exc.column}" + (f"; {advice}" if advice else "")
    return None
