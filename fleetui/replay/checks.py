"""What can be said of a replayed answer without a judge: did the model refuse, and did it keep
the form the request (or the current model's answer) had — JSON, a code block, an ending.
"""

from __future__ import annotations

import json
import re

# A refusal is short and says so early; a long answer that mentions "I can't" somewhere is not one.
_REFUSAL = re.compile(
    r"^\W*(?:(?:i'?m sorry|i am sorry|sorry|unfortunately|i apologi[sz]e)\b[^.!?\n]{0,40}?[,.!]?\s*)?"
    r"(?:but\s+|as an ai[^,.]{0,30}[,.]?\s*)?(?:"
    r"i (?:can(?:no|')t|won'?t|will not|am unable to|'?m unable to|am not able to|must decline to)"
    r" (?:help|assist|comply|provide|do|answer|fulfil|fulfill|create|write|share|support|engage)"
    r"|i must decline|i'?m not able to help|that'?s not something i can)",
    re.IGNORECASE,
)
_REFUSAL_FINISH = {"content_filter", "refusal"}
_FENCE = re.compile(r"```")
_JSON_WORD = re.compile(r"\bjson\b", re.IGNORECASE)


def is_refusal(answer: str, finish_reason: str | None = None) -> bool:
    if finish_reason in _REFUSAL_FINISH:
        return True
    head = answer.strip()[:300]
    return len(answer.strip()) < 600 and bool(_REFUSAL.search(head))


def format_failure(prompt: str, reference: str | None, answer: str, finish_reason: str | None) -> str | None:
    """Why `answer` fails the form expected of it, or None. `reference` is the current model's
    answer to the same prompt, when there is one: what it did is what the app is used to."""
    if not answer.strip():
        return "empty answer"
    if finish_reason == "length":
        return "cut off at the token limit"
    wants_json = bool(_JSON_WORD.search(prompt)) or (reference is not None and _parses_as_json(reference))
    if wants_json and not _contains_json(answer):
        return "no valid JSON"
    if reference is not None and _FENCE.search(reference) and not _FENCE.search(answer):
        return "no code block"
    return None


def _parses_as_json(text: str) -> bool:
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return False
    try:
        json.loads(stripped)
    except ValueError:
        return False
    return True


def _contains_json(text: str) -> bool:
    if _parses_as_json(text):
        return True
    for block in re.findall(r"```(?:json)?\s*\n(.*?)```", text, re.DOTALL | re.IGNORECASE):
        if _parses_as_json(block):
            return True
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[\[{]", text):
        try:
            value, end = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        # "see [1]" is not JSON output; an object, or a list of some size, is.
        if isinstance(value, dict) or isinstance(value, list) and end - match.start() > 10:
            return True
    return False
