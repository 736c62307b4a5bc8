"""What replay and verification keep: paid-for answers and judge scores (a cache that is never
paid for twice), the past prompts to replay, and one row per replay run (what verifies a switch).

Rows are written one at a time, as soon as they are paid for, so that a run stopped by Ctrl+C
or a budget keeps everything it bought and the next run starts from there.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from fleetui.clock import window_start_day
from fleetui.store.store import Store

# The latest calls are what to sample from (the traffic as it is now), and enough of them: 5,000
# calls hold hundreds of distinct prompts for a sample of 30. The bound keeps the query to
# 0.1–0.6 s on a million-call store, where 50,000 took 4–10 s.
_RECENT_CALLS = 5_000


@dataclass(frozen=True, slots=True)
class PastPrompt:
    """A distinct prompt the current model answered, with its most recent logged answer."""

    prompt_hash: str
    prompt: str
    times: int  # how often it was asked in the scanned window
    response: str | None  # the full logged answer, when the privacy setting kept it whole
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    latency_ms: float | None


@dataclass(frozen=True, slots=True)
class PromptPool:
    prompts: list[PastPrompt]
    hashed_only: int  # distinct prompts kept as hashes: they cannot be replayed
    truncated: int  # distinct prompts kept cut short: replaying them would ask something else


def past_prompts(store: Store, model_id: str, use_case: str | None, since_ts: float) -> PromptPool:
    """Distinct successful prompts of `model_id` (in `use_case`) since `since_ts`."""
    cases = use_cases_of(use_case)
    where = "model_id = ? AND ts >= ? AND success = 1" + _in("use_case", cases)
    params: list[Any] = [model_id, since_ts, *cases]
    rows = store.db.execute(
        f"""SELECT prompt_hash, prompt, prompt_chars, response, response_chars, input_tokens,
                   output_tokens, cost_usd, latency_ms, finish_reason
            FROM calls WHERE {where} ORDER BY ts DESC LIMIT {_RECENT_CALLS}""",
        params,
    ).fetchall()
    seen: dict[str, list[Any]] = {}
    hashed: set[str] = set()
    truncated: set[str] = set()
    for (digest, prompt, chars, response, response_chars, tin, tout, cost, latency, finish) in rows:
        if prompt is None:
            if digest:
                hashed.add(digest)
            continue
        if chars is not None and chars > len(prompt):
            truncated.add(digest or prompt)
            continue
        key = digest or prompt
        if key in seen:
            seen[key][2] += 1
            continue
        whole = response is not None and (response_chars is None or response_chars == len(response))
        complete = whole and finish in (None, "stop")
        seen[key] = [key, prompt, 1, response if complete else None, tin, tout, cost, latency]
    prompts = [PastPrompt(*row) for row in seen.values()]
    return PromptPool(prompts, len(hashed), len(truncated))


def monthly_volume(store: Store, model_id: str, use_case: str | None, now: float | None = None) -> tuple[int, float]:
    """(calls, cost) of `model_id` on `use_case` over the last 30 days, from the rollups."""
    if now is None:
        from fleetui import clock

        now = clock.now()
    since = window_start_day(30, now)
    cases = use_cases_of(use_case)
    where = "model_id = ? AND day >= ?" + _in("use_case", cases)
    params: list[Any] = [model_id, since, *cases]
    calls, cost = store.db.execute(
        f"SELECT COALESCE(SUM(calls), 0), COALESCE(SUM(cost_usd), 0) FROM rollup_daily WHERE {where}", params
    ).fetchone()
    return int(calls), float(cost)


def use_cases_of(use_case: str | None) -> list[str]:
    """One use case, or several separated by commas ("casual_chat,quick_lookup")."""
    return [c.strip() for c in (use_case or "").split(",") if c.strip()]


def _in(column: str, values: list[str]) -> str:
    return f" AND {column} IN ({', '.join('?' for _ in values)})" if values else ""


# -- the answer and score cache ------------------------------------------------------------

def cached_answer(store: Store, prompt_hash: str, model_id: str, params_hash: str,
                  model_version: str) -> dict[str, Any] | None:
    row = store.db.execute(
        """SELECT answer, input_tokens, output_tokens, cost_usd, latency_ms, refusal, finish_reason
           FROM replay_answers WHERE prompt_hash = ? AND model_id = ? AND params_hash = ? AND model_version = ?""",
        [prompt_hash, model_id, params_hash, model_version],
    ).fetchone()
    if row is None:
        return None
    keys = ("answer", "input_tokens", "output_tokens", "cost_usd", "latency_ms", "refusal", "finish_reason")
    return dict(zip(keys, row, strict=True))


def save_answer(store: Store, *, run_id: str, recommendation_id: str | None, prompt_hash: str, model_id: str,
                params_hash: str, model_version: str, answer: str, input_tokens: int | None,
                output_tokens: int | None, cost_usd: float | None, latency_ms: float, refusal: bool,
                finish_reason: str | None) -> None:
    # Only answers that were paid for are kept: a failed call is tried again next time.
    store.write(lambda conn: conn.execute(
            """INSERT OR REPLACE INTO replay_answers (run_id, recommendation_id, ts, prompt_hash, model_id,
                   params_hash, model_version, answer, input_tokens, output_tokens, cost_usd,
                   latency_ms, refusal, finish_reason)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [run_id, recommendation_id, time.time(), prompt_hash, model_id, params_hash, model_version,
             answer, input_tokens, output_tokens, cost_usd, latency_ms, int(refusal), finish_reason],
        ))


def cached_judgment(store: Store, prompt_hash: str, answers_hash: str, judge_model: str,
                    rubric_version: str, order_ab: str) -> dict[str, Any] | None:
    row = store.db.execute(
        """SELECT scores, overall, raw FROM judgments WHERE prompt_hash = ? AND answers_hash = ?
           AND judge_model = ? AND rubric_version = ? AND order_ab = ?""",
        [prompt_hash, answers_hash, judge_model, rubric_version, order_ab],
    ).fetchone()
    if row is None:
        return None
    return {"scores": json.loads(row[0]), "overall": row[1], "raw": row[2]}


def save_judgment(store: Store, *, prompt_hash: str, answers_hash: str, judge_model: str, rubric_version: str,
                  order_ab: str, scores: dict[str, Any], overall: float | None, raw: str) -> None:
    store.write(lambda conn: conn.execute(
            """INSERT OR REPLACE INTO judgments (ts, prompt_hash, answers_hash, judge_model,
                   rubric_version, order_ab, scores, overall, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [time.time(), prompt_hash, answers_hash, judge_model, rubric_version, order_ab,
             json.dumps(scores), overall, raw],
        ))


# -- replay runs -----------------------------------------------------------------------------

def save_run(store: Store, run_id: str, **fields: Any) -> None:
    """Create or update a run's row; `report` may be given as a dict."""
    now = time.time()
    if isinstance(fields.get("report"), dict):
        fields["report"] = json.dumps(fields["report"])
    row = {"run_id": run_id, "updated_ts": now, **fields}
    columns = list(row)

    def work(conn: Any) -> None:
        # One statement: a run created by another process in the meantime is updated, not doubled.
        conn.execute(
            f"INSERT INTO replay_runs ({', '.join(columns)}, created_ts) VALUES "
            f"({', '.join('?' * len(columns))}, ?) ON CONFLICT(run_id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in columns if c != "run_id"),
            [*(row[c] for c in columns), now],
        )

    store.write(work)


def run(store: Store, run_id: str) -> dict[str, Any] | None:
    row = store.db.execute("SELECT * FROM replay_runs WHERE run_id = ?", [run_id]).fetchone()
    return _run_row(store, row)


def runs(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    rows = store.db.execute("SELECT * FROM replay_runs ORDER BY updated_ts DESC LIMIT ?", [limit]).fetchall()
    return [r for r in (_run_row(store, row) for row in rows) if r is not None]


def unfinished_run(store: Store, settings_key: str) -> dict[str, Any] | None:
    """The latest run with the same settings that did not finish: running again continues it."""
    row = store.db.execute(
        """SELECT * FROM replay_runs WHERE status IN ('running', 'stopped')
           AND json_extract(report, '$.settings_key') = ? ORDER BY updated_ts DESC LIMIT 1""",
        [settings_key],
    ).fetchone()
    return _run_row(store, row)


def _run_row(store: Store, row: tuple[Any, ...] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    out = dict(zip([c.name for c in store.db["replay_runs"].columns], row, strict=True))
    out["report"] = json.loads(out["report"] or "{}")
    return out


def link_recommendation(store: Store, recommendation_id: str, run_id: str) -> bool:
    changed = 0

    def work(conn: Any) -> None:
        nonlocal changed
        changed = conn.execute(
            "UPDATE recommendations SET verified_by = ?, updated_ts = ? WHERE id = ?",
            [run_id, time.time(), recommendation_id],
        ).rowcount

    store.write(work)
    return changed > 0


def open_recommendation_for(store: Store, current_model: str, use_case: str | None) -> str | None:
    """The id of a not-dismissed recommendation to move `current_model`'s traffic elsewhere."""
    row = store.db.execute(
        """SELECT id FROM recommendations WHERE current_model = ? AND COALESCE(use_case, '') = ?
           AND kind IN ('cheaper_model', 'expensive_on_casual') AND status != 'dismissed'
           ORDER BY updated_ts DESC LIMIT 1""",
        [current_model, use_case or ""],
    ).fetchone()
    return row[0] if row else None


def answers_hash(answer_a: str, answer_b: str) -> str:
    """Identifies an ordered pair of answers (the order is a separate key): what a judgment is
    stored under, so a judgment can be matched back to the two answers it scored."""
    digest = hashlib.sha256()
    for part in (answer_a, answer_b):
        encoded = part.encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "big") + encoded)
    return digest.hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class JudgedAnswer:
    """One replayed answer with the judge's mean score for it (0..1; the judge scores 0..100)."""

    prompt_hash: str
    model_id: str
    score: float
    cost_usd: float | None
    judgments: int  # how many judgments the score averages (both orders of a pair count)


def judged_answers(store: Store, since_ts: float | None = None,
                   problems: list[tuple[str, str]] | None = None) -> list[JudgedAnswer]:
    """Every judged replay answer since `since_ts`, by model: the judge's labelled data.

    A judgment is matched to its two answers by `answers_hash`; one whose answers are no longer
    stored, or that lacks a score for either, is left out and, when `problems` is given, listed
    there as (reason, where)."""
    since = since_ts or 0.0
    answers: dict[str, list[tuple[str, str, float | None]]] = defaultdict(list)
    for prompt_hash, model_id, answer, cost in store.db.execute(
            "SELECT prompt_hash, model_id, answer, cost_usd FROM replay_answers WHERE ts >= ? AND answer IS NOT NULL",
            [since]).fetchall():
        answers[prompt_hash].append((model_id, answer, cost))
    pairs: dict[tuple[str, str], tuple[int, int]] = {}
    for prompt_hash, listed in answers.items():
        for i, a in enumerate(listed):
            for j, b in enumerate(listed):
                if i != j and a[0] != b[0]:
                    pairs[(prompt_hash, answers_hash(a[1], b[1]))] = (i, j)
    scores: dict[tuple[str, int], list[float]] = defaultdict(list)
    for prompt_hash, pair_hash, raw in store.db.execute(
            "SELECT prompt_hash, answers_hash, scores FROM judgments WHERE ts >= ? AND overall IS NOT NULL",
            [since]).fetchall():
        found = pairs.get((prompt_hash, pair_hash))
        place = f"prompt {prompt_hash[:12]}"
        if found is None:
            if problems is not None:
                problems.append(("a judgment whose answers are no longer stored", place))
            continue
        try:
            parsed = json.loads(raw)
            pair_scores = (parsed["A"], parsed["B"])
        except (ValueError, KeyError, TypeError):
            if problems is not None:
                problems.append(("a judgment without scores for both answers", place))
            continue
        for index, score in zip(found, pair_scores, strict=True):
            if isinstance(score, int | float) and not isinstance(score, bool) and 0 <= score <= 100:
                scores[(prompt_hash, index)].append(float(score) / 100.0)
            elif problems is not None:
                problems.append((f"a judge score outside 0..100 ({score!r})", place))
    out = []
    for (prompt_hash, index), values in scores.items():
        model_id, _, cost = answers[prompt_hash][index]
        out.append(JudgedAnswer(prompt_hash, model_id, sum(values) / len(values), cost, len(values)))
    return out
