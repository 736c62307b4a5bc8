"""A fast guess at how hard a request is: simple, medium or complex, with a confidence.

Signals: length, code, several questions, and words that ask for depth ("step by step", "prove",
"design", "refactor", "trade-offs") or mark a light request ("hi", "thanks", "what time"). The
confidence is how far the score sits from the tier boundaries; routing escalates one tier when
it is low. The estimate runs on every routed request, so it costs a few microseconds: one regex
pass over the head of the prompt and substring tests for code.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from fleetui.routing.conditions import COMPLEXITY_TIERS as TIERS

# One pass over the lower-cased prompt finds both kinds of words: group 1 asks for depth,
# group 2 marks a light request. (Case-insensitive matching of two patterns was 4× slower.)
_WORDS = re.compile(
    r"\b(?:(step by step|prove|proof|derive|design|architect\w*|refactor|optimi[sz]e|trade-?offs?|"
    r"compare|analy[sz]e|explain why|in depth|detailed|debug|root cause|strategy|plan)"
    r"|(hi|hello|thanks|what time|open|close|menu|define|what is|who is|translate))\b"
)
# Plain substring tests: a regex such as `\w+\(\)` backtracks inside every word (130 µs on a
# 1,000-character prompt); these run at memchr speed.
def _has_code(prompt: str) -> bool:
    return ("```" in prompt or "def " in prompt or "class " in prompt or "function" in prompt
            or "()" in prompt or ";\n" in prompt or "{\n" in prompt or "=>" in prompt
            or "import " in prompt or "#include" in prompt or "</" in prompt)


# Past this many characters length alone makes a prompt complex; keyword hits in the rest of it
# would change only the confidence, so the words are looked for in the head.
_SCANNED = 1600

# Boundaries between the tiers, on the score below.
_LOW, _HIGH = 1.5, 4.0


class Estimate(NamedTuple):
    tier: str
    confidence: float
    signals: tuple[str, ...]  # what drove the score: "long", "code", "questions", the words


def estimate_complexity(prompt: str) -> Estimate:
    length = len(prompt)
    score = length / 400 if length < _SCANNED else 4.0
    signals: tuple[str, ...] = ("long",) if length >= _SCANNED else ()
    found = _WORDS.findall(prompt[:_SCANNED].lower() if length > _SCANNED else prompt.lower())
    if found:
        words = [heavy or light for heavy, light in found]
        deep = len([heavy for heavy, _ in found if heavy])
        score += 1.5 * min(deep, 3) - min(len(found) - deep, 2)
        signals += tuple(words)
    if _has_code(prompt):
        score += 2.0
        signals += ("code",)
    questions = prompt.count("?")
    if questions > 1:
        score += 0.5 * (questions - 1)
        signals += ("questions",)
    if score < _LOW:
        tier, distance = "simple", _LOW - score
    elif score < _HIGH:
        tier, distance = "medium", min(score - _LOW, _HIGH - score)
    else:
        tier, distance = "complex", score - _HIGH
    confidence = 0.5 + 0.5 * min(1.0, distance / 1.5)
    return Estimate(tier, confidence, signals)


def one_tier_up(tier: str) -> str:
    index = TIERS.index(tier)
    return TIERS[min(index + 1, len(TIERS) - 1)]
