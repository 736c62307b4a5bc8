"""The routing rules' condition language: small, safe, and fleetui's own (never `eval`).

    task == "coding" and complexity in ["medium", "complex"]
    prompt_length > 4000
    "vision" in tags and not (user == "batch")

Attributes: task, use_case, complexity, user (strings), prompt_length, hour (numbers), tags (a
list of strings). Operators: == != < <= > >= in, not in, and, or, not, parentheses. Literals:
"strings" or 'strings', numbers, true/false, lists [..]. A condition compiles once into nested
closures; evaluating one is a handful of Python calls. Errors name the column.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ATTRIBUTES: dict[str, str] = {
    "task": "str", "use_case": "str", "complexity": "str", "user": "str",
    "prompt_length": "num", "hour": "num", "tags": "list",
}

Predicate = Callable[[Mapping[str, Any]], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>-?\d+(?:\.\d+)?)
      | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


class ConditionError(ValueError):
    def __init__(self, message: str, text: str, column: int) -> None:
        self.column = column
        self.text = text
        self.reason = message
        super().__init__(f"{message} at column {column}\n  {text}\n  {' ' * (column - 1)}^")


@dataclass(frozen=True)
class _Token:
    kind: str  # num, str, op, name, end
    value: Any
    column: int


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            column = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
            raise ConditionError(f"unexpected character {text[column - 1]!r}", text, column)
        kind = match.lastgroup or ""
        raw = match.group(kind)
        column = match.start(kind) + 1
        if kind == "num":
            value: Any = float(raw) if "." in raw else int(raw)
        elif kind == "str":
            value = bytes(raw[1:-1], "utf-8").decode("unicode_escape")
        else:
            value = raw
        out.append(_Token(kind, value, column))
        pos = match.end()
    out.append(_Token("end", None, len(text) + 1))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, message: str, token: _Token | None = None) -> ConditionError:
        return ConditionError(message, self.text, (token or self.current).column)

    def is_word(self, word: str) -> bool:
        return self.current.kind == "name" and self.current.value == word

    def parse(self) -> Predicate:
        if self.current.kind == "end":
            raise self.error("empty condition")
        predicate = self.disjunction()
        if self.current.kind != "end":
            raise self.error(f"expected 'and', 'or' or the end, found {self.current.value!r}")
        return predicate

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.is_word("or"):
            self.take()
            parts.append(self.conjunction())
        if len(parts) == 1:
            return parts[0]
        if len(parts) == 2:  # the common case, without a generator per call
            first, second = parts
            return lambda request: first(request) or second(request)
        return lambda request: any(p(request) for p in parts)

    def conjunction(self) -> Predicate:
        parts = [self.negation()]
        while self.is_word("and"):
            self.take()
            parts.append(self.negation())
        if len(parts) == 1:
            return parts[0]
        if len(parts) == 2:
            first, second = parts
            return lambda request: first(request) and second(request)
        return lambda request: all(p(request) for p in parts)

    def negation(self) -> Predicate:
        if self.is_word("not"):
            self.take()
            inner = self.negation()
            return lambda request: not inner(request)
        if self.current.kind == "op" and self.current.value == "(":
            self.take()
            inner = self.disjunction()
            if not (self.current.kind == "op" and self.current.value == ")"):
                raise self.error("expected ')'")
            self.take()
            return inner
        return self.comparison()

    def operand(self) -> tuple[str, Any, _Token]:
        """('attr', name, token) or ('lit', value, token)."""
        token = self.current
        if token.kind == "name":
            if token.value in ("true", "false"):
                self.take()
                return "lit", token.value == "true", token
            if token.value not in ATTRIBUTES:
                hint = difflib.get_close_matches(token.value, list(ATTRIBUTES), n=1)
                suffix = f" (did you mean {hint[0]!r}?)" if hint else f"; known: {', '.join(ATTRIBUTES)}"
                raise self.error(f"unknown attribute {token.value!r}{suffix}")
            self.take()
            return "attr", token.value, token
        if token.kind in ("num", "str"):
            self.take()
            return "lit", token.value, token
        if token.kind == "op" and token.value == "[":
            self.take()
            items: list[Any] = []
            while not (self.current.kind == "op" and self.current.value == "]"):
                if self.current.kind not in ("num", "str"):
                    raise self.error("a list holds strings or numbers")
                items.append(self.take().value)
                if self.current.kind == "op" and self.current.value == ",":
                    self.take()
                elif not (self.current.kind == "op" and self.current.value == "]"):
                    raise self.error("expected ',' or ']' in the list")
            self.take()
            return "lit", tuple(items), token
        raise self.error(f"expected an attribute or a value, found {token.value!r}" if token.kind != "end"
                         else "the condition ends too early")

    def comparison(self) -> Predicate:
        left_kind, left, left_token = self.operand()
        token = self.current
        negate = False
        if self.is_word("not"):
            self.take()
            if not self.is_word("in"):
                raise self.error("expected 'in' after 'not'")
            negate = True
        if self.is_word("in"):
            self.take()
            right_kind, right, right_token = self.operand()
            return self._membership(left_kind, left, left_token, right_kind, right, right_token, negate)
        if token.kind == "op" and token.value in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            right_kind, right, right_token = self.operand()
            return self._compare(token, left_kind, left, left_token, right_kind, right, right_token)
        if left_kind == "attr" and ATTRIBUTES[left] != "list":
            raise self.error(f"expected an operator after {left!r} (==, !=, <, >, in …)")
        raise self.error("expected a comparison")

    def _value(self, kind: str, value: Any) -> Callable[[Mapping[str, Any]], Any]:
        if kind == "attr":
            return lambda request: request.get(value)
        return lambda request: value

    def _type(self, kind: str, value: Any) -> str:
        if kind == "attr":
            return ATTRIBUTES[value]
        if isinstance(value, tuple):
            return "list"
        if isinstance(value, bool):
            return "bool"
        return "num" if isinstance(value, int | float) else "str"

    def _compare(self, op: _Token, lk: str, lv: Any, lt: _Token, rk: str, rv: Any, rt: _Token) -> Predicate:
        ltype, rtype = self._type(lk, lv), self._type(rk, rv)
        if op.value in ("<", "<=", ">", ">="):
            for kind, typ, tok in ((lk, ltype, lt), (rk, rtype, rt)):
                if typ != "num":
                    raise self.error(f"{op.value} compares numbers; this is a {typ}", tok)
        elif ltype != rtype and "bool" not in (ltype, rtype):
            raise self.error(f"cannot compare a {ltype} with a {rtype}", rt)
        # Specialised closures for `attribute OP literal`, the shape nearly every rule has: one
        # call per comparison instead of three.
        if lk == "attr" and rk == "lit":
            name, value = lv, rv
            if op.value == "==":
                return lambda request: request.get(name) == value
            if op.value == "!=":
                return lambda request: request.get(name) != value
            ordered = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}[op.value]
            bound = float(value)

            def against_literal(request: Mapping[str, Any]) -> bool:
                got = request.get(name)
                return got is not None and ordered(float(got), bound)

            return against_literal
        left, right = self._value(lk, lv), self._value(rk, rv)
        compare = {
            "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
            "<": lambda a, b: a is not None and b is not None and a < b,
            "<=": lambda a, b: a is not None and b is not None and a <= b,
            ">": lambda a, b: a is not None and b is not None and a > b,
            ">=": lambda a, b: a is not None and b is not None and a >= b,
        }[op.value]
        return lambda request: bool(compare(left(request), right(request)))

    def _membership(self, lk: str, lv: Any, lt: _Token, rk: str, rv: Any, rt: _Token, negate: bool) -> Predicate:
        if self._type(rk, rv) != "list":
            raise self.error("'in' needs a list on its right (e.g. tags, or [\"a\", \"b\"])", rt)
        if lk == "attr" and rk == "lit":  # `use_case in ["a", "b"]`: a frozenset lookup
            name, options = lv, frozenset(rv)
            if negate:
                return lambda request: request.get(name) not in options
            return lambda request: request.get(name) in options
        if lk == "lit" and rk == "attr":  # `"vision" in tags`
            value, name = lv, rv
            if negate:
                return lambda request: value not in (request.get(name) or ())
            return lambda request: value in (request.get(name) or ())
        left, right = self._value(lk, lv), self._value(rk, rv)

        def member(request: Mapping[str, Any]) -> bool:
            container = right(request) or ()
            return left(request) in container

        if negate:
            return lambda request: not member(request)
        return member


def compile_condition(text: str) -> Predicate:
    return _Parser(text).parse()


def validate_condition(text: str) -> str | None:
    """None when `text` is a valid condition, else the error (with its column)."""
    try:
        compile_condition(text)
    except ConditionError as exc:
        return f"{exc.reason} at column {exc.column}"
    return None
