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
    from fleetui.store.replays import judged_answers

    problems: list[tuple[str, str]] = []
    judged = judged_answers(store, since_ts, problems)
    for reason, place in problems:
        checker.reject(reason, place)
    texts = _prompt_texts(store, {a.prompt_hash for a in judged})
    out = []
    for answer in judged:
        place = f"prompt {answer.prompt_hash[:12]}"
        if answer.prompt_hash not in texts:
            checker.reject("no prompt text (the privacy setting kept none)", place)
            continue
        row = {"prompt_id": answer.prompt_hash, "prompt": texts[answer.prompt_hash], "model": answer.model_id,
               "quality": answer.score, "cost_usd": answer.cost_usd}
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
