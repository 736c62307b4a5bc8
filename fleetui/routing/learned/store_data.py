"""Labelled calls from the store, by where their quality comes from.

- `feedback`: calls an app logged that a user rated (`feedback_score`, 0..1).
- `judge`: answers `fleetui replay` got from several models on the same past prompt, scored by
  the replay judge (0..100 per answer, kept in `judgments`; a pair is matched to its two answers
  by the same hash the runner keys it with). Every verification is labelled data.
- `field`: imported logs (`fleetui import`, source "import") whose quality column landed in
  `feedback_score`.

Rows without prompt text (privacy "hash" or "none") cannot teach a text router and are counted.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from fleetui.routing.learned.samples import Sample, SampleChecker

if TYPE_CHECKING:
    from fleetui.store import Store

SOURCES = ("feedback", "judge", "field")


def samples_from_store(store: Store, quality: str, since_ts: float, checker: SampleChecker) -> list[Sample]:
    checker.free_ok = True  # in the store a cost of 0 is a local model, not a mistake
    if quality == "judge":
        return _judged(store, since_ts, checker)
    imported = "=" if quality == "field" else "IS NOT"
    rows = store.db.execute(
        f"""SELECT call_id, prompt_hash, prompt, model_id, feedback_score, cost_usd, use_case, task
            FROM calls WHERE feedback_score IS NOT NULL AND ts >= ? AND source {imported} 'import'""",
        [since_ts],
    ).fetchall()
    out = []
    for call_id, prompt_hash, prompt, model_id, score, cost, use_case, task in rows:
        if prompt is None:
            checker.reject("no prompt text (the privacy setting kept none)", f"call {call_id}")
            continue
        row = {"prompt_id": prompt_hash or call_id, "prompt": prompt, "model": model_id, "quality": score,
               "cost_usd": cost, "category": use_case or task or ""}
        sample = checker.check(row, f"call {call_id}")
        if sample is not None:
            out.append(sample)
    return out


def _judged(store: Store, since_ts: float, checker: SampleChecker) -> list[Sample]:
    from fleetui.replay.judge import answers_hash

    answers: dict[str, list[tuple[str, str, float | None]]] = defaultdict(list)
    for prompt_hash, model_id, answer, cost in store.db.execute(
            "SELECT prompt_hash, model_id, answer, cost_usd FROM replays WHERE ts >= ? AND answer IS NOT NULL",
            [since_ts]).fetchall():
        answers[prompt_hash].append((model_id, answer, cost))
    pairs: dict[tuple[str, str], tuple[int, int]] = {}
    for prompt_hash, listed in answers.items():
        for i, a in enumerate(listed):
            for j, b in enumerate(listed):
                if i != j and a[0] != b[0]:
                    pairs[(prompt_hash, answers_hash(a[1], b[1]))] = (i, j)
    scores: dict[tuple[str, int], list[float]] = defaultdict(list)
    import json

    for prompt_hash, pair_hash, raw in store.db.execute(
            "SELECT prompt_hash, answers_hash, scores FROM judgments WHERE ts >= ? AND overall IS NOT NULL",
            [since_ts]).fetchall():
        found = pairs.get((prompt_hash, pair_hash))
        if found is None:
            checker.reject("a judgment whose answers are no longer stored", f"prompt {prompt_hash[:12]}")
            continue
        try:
            parsed = json.loads(raw)
            a_score, b_score = parsed["A"], parsed["B"]
        except (ValueError, KeyError, TypeError):
            checker.reject("a judgment without scores for both answers", f"prompt {prompt_hash[:12]}")
            continue
        for index, score in zip(found, (a_score, b_score), strict=True):
            if isinstance(score, int | float) and not isinstance(score, bool):
                scores[(prompt_hash, index)].append(float(score) / 100.0)  # the judge scores 0..100
    texts = _prompt_texts(store, {h for h, _ in scores})
    out = []
    for (prompt_hash, index), values in scores.items():
        model_id, _, cost = answers[prompt_hash][index]
        place = f"prompt {prompt_hash[:12]}"
        if prompt_hash not in texts:
            checker.reject("no prompt text (the privacy setting kept none)", place)
            continue
        row = {"prompt_id": prompt_hash, "prompt": texts[prompt_hash], "model": model_id,
               "quality": sum(values) / len(values), "cost_usd": cost}
        sample = checker.check(row, place)
        if sample is not None:
            out.append(sample)
    return out


def _prompt_texts(store: Store, hashes: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    listed = sorted(hashes)
    for start in range(0, len(listed), 500):  # SQLite caps the number of bound values
        chunk = listed[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for prompt_hash, prompt in store.db.execute(
                f"SELECT prompt_hash, prompt FROM calls WHERE prompt IS NOT NULL AND prompt_hash IN ({marks})",
                chunk).fetchall():
            out.setdefault(prompt_hash, prompt)
    return out
