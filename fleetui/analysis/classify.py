"""Put a prompt in a use case from keywords: the fast path used as calls are written.

Discovery (clustering) finds use cases nobody wrote rules for; these rules give every call a
sensible use case from its first day. They are editable in the fleet file (`[[use_cases]]`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from fleetui.config.schema import UseCaseRule

UNCLASSIFIED = "other"

BUILTIN_RULES: tuple[UseCaseRule, ...] = (
    UseCaseRule(id="heartbeat", name="Heartbeats & health checks", priority=5, keywords=[
        "ping", "health check", "healthcheck", "heartbeat", "are you alive", "if you are alive",
        "reply ok", "reply with ok",
    ]),
    UseCaseRule(id="food_dining", name="Food & dining", priority=10, keywords=[
        "menu", "restaurant", "calories", "recipe", "vegetarian", "vegan", "burrito", "pizza",
        "coffee", "lunch", "dinner", "breakfast", "chipotle", "starbucks", "takeout", "delivery",
    ]),
    UseCaseRule(id="quick_lookup", name="Quick lookup", priority=20, keywords=[
        "what time", "open on", "opening hours", "close today", "closes", "when does", "how tall",
        "how far", "how old", "capital of", "what is", "who is", "where is", "define",
    ]),
    UseCaseRule(id="debugging", name="Debugging", priority=30, keywords=[
        "error", "exception", "traceback", "stack trace", "bug", "debug", "crash", "segfault",
        "fails", "failing", "raise", "raises", "deadlock", "keyerror", "null pointer", "broken",
    ]),
    UseCaseRule(id="coding", name="Coding", priority=40, keywords=[
        "code", "function", "python", "typescript", "javascript", "rust", "golang", "java", "sql",
        "bash", "refactor", "unit test", "regex", "api", "class", "compile", "script", "implement",
    ]),
    UseCaseRule(id="analysis", name="Analysis", priority=50, keywords=[
        "analyze", "analyse", "analysis", "summarize", "summarise", "trend", "drivers", "metrics",
        "numbers", "data", "churn", "survey", "compare the results", "kpi", "stands out",
    ]),
    UseCaseRule(id="writing", name="Writing", priority=60, keywords=[
        "write", "draft", "rewrite", "email", "blog", "post", "cover letter", "announcement",
        "essay", "proofread", "tone", "friendlier", "release notes",
    ]),
    UseCaseRule(id="research", name="Research", priority=70, keywords=[
        "research", "state of the art", "papers", "reading list", "literature", "survey of",
        "compare the leading", "sources", "evidence",
    ]),
    UseCaseRule(id="translation", name="Translation", priority=15, keywords=[
        "translate", "translation", "in spanish", "in french", "in german", "in japanese",
        "how do you say",
    ]),
    UseCaseRule(id="math", name="Math", priority=25, keywords=[
        "solve", "equation", "integral", "derivative", "times", "percent", "% of", "probability",
        "calculate", "sum of",
    ]),
    UseCaseRule(id="casual_chat", name="Casual chat", priority=90, keywords=[
        "hey", "hello", "hi", "how's it going", "joke", "fun fact", "recommend a movie",
        "weekend", "good morning", "thanks",
    ]),
)


@dataclass(frozen=True)
class _Compiled:
    id: str
    priority: int
    pattern: re.Pattern[str]
    weights: dict[str, int]  # see _weight

    def score(self, text: str) -> int:
        return sum(self.weights[hit] for hit in self.pattern.findall(text))


_QUESTION_WORDS = ("what", "who", "where", "when", "how", "why", "which")


def _weight(keyword: str) -> int:
    """A phrase of n words counts n ("state of the art" beats "research"), but a question opener
    ("what is", "how do") counts 1: it says how someone asks, not what about."""
    words = keyword.lower().split()
    return 1 if words and words[0] in _QUESTION_WORDS else len(words)


class Classifier:
    """Keyword classifier; build once, then `classify` costs a few microseconds."""

    def __init__(self, rules: Sequence[UseCaseRule] = BUILTIN_RULES) -> None:
        self._rules = [
            _Compiled(
                rule.id,
                rule.priority,
                re.compile(
                    r"(?<![a-z0-9])(?:"
                    + "|".join(re.escape(k.lower()) for k in sorted(rule.keywords, key=len, reverse=True))
                    + r")(?![a-z0-9])"
                ),
                {k.lower(): _weight(k) for k in rule.keywords},
            )
            for rule in rules
        ]

    def scores(self, prompt: str) -> dict[str, int]:
        text = prompt.lower()
        return {r.id: n for r in self._rules if (n := r.score(text))}

    def classify(self, prompt: str) -> str:
        """The use case with the highest keyword score; ties go to the lower priority number."""
        text = prompt.lower()
        best_id, best_key = UNCLASSIFIED, (0, 0)
        for rule in self._rules:
            hits = rule.score(text)
            if hits and (hits, -rule.priority) > best_key:
                best_id, best_key = rule.id, (hits, -rule.priority)
        return best_id


def classifier_for(rules: Sequence[UseCaseRule]) -> Classifier:
    """The fleet's own rules when it has any, else the built-in set."""
    return Classifier(rules or BUILTIN_RULES)
