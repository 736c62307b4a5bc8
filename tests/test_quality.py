"""Quality per model: one mean over users' feedback and the replay judge's scores."""

from __future__ import annotations

import time
from pathlib import Path

from fleetui import clock
from fleetui.analysis.fleet_extras import quality_by_model
from fleetui.store import CallRecord, Store
from fleetui.store import replays as saved


def _answer(store: Store, prompt_hash: str, model_id: str, answer: str) -> None:
    saved.save_answer(store, run_id="r1", recommendation_id=None, prompt_hash=prompt_hash, model_id=model_id,
                      params_hash="p", model_version="v", answer=answer, input_tokens=1, output_tokens=1,
                      cost_usd=0.001, latency_ms=5.0, refusal=False, finish_reason="stop")


def _judge(store: Store, prompt_hash: str, a: str, b: str, scores: dict[str, object]) -> None:
    saved.save_judgment(store, prompt_hash=prompt_hash, answers_hash=saved.answers_hash(a, b), judge_model="j",
                        rubric_version="1", order_ab="ab", scores=scores, overall=50.0, raw="")


def test_quality_is_the_mean_of_feedback_and_judged_answers(tmp_path: Path) -> None:
    with Store.open(tmp_path / "q.db") as store:
        now = time.time()
        store.insert_calls([CallRecord(ts=now - 60, model_id="big", feedback_score=1.0),
                            CallRecord(ts=now - 60, model_id="big", feedback_score=0.5),
                            CallRecord(ts=now - 60, model_id="small")])  # no feedback: no label
        _answer(store, "p1", "big", "answer of big")
        _answer(store, "p1", "small", "answer of small")
        _judge(store, "p1", "answer of big", "answer of small", {"A": 90, "B": 30})
        # Both orders of a pair are judged: the answer's score is their mean.
        _judge(store, "p1", "answer of small", "answer of big", {"A": 50, "B": 70})
        problems: list[tuple[str, str]] = []
        _judge(store, "p2", "gone", "also gone", {"A": 10, "B": 10})  # its answers were never stored
        _answer(store, "p3", "big", "x")
        _answer(store, "p3", "small", "y")
        _judge(store, "p3", "x", "y", {"A": 250, "B": True})  # out of range, not a number
        judged = saved.judged_answers(store, None, problems)
        quality = quality_by_model(store, clock.window_start_day(30))

    by_model = {(a.prompt_hash, a.model_id): a for a in judged}
    assert by_model[("p1", "big")].score == 0.8 and by_model[("p1", "big")].judgments == 2
    assert by_model[("p1", "small")].score == 0.4
    assert ("p3", "big") not in by_model and ("p3", "small") not in by_model
    reasons = sorted(r for r, _ in problems)
    assert reasons[0] == "a judge score outside 0..100 (250)" and "a judgment whose answers are no longer stored" in reasons
    assert any(r.startswith("a judge score outside") and "True" in r for r in reasons)
    # big: feedback 1.0 and 0.5, judged 0.8 → (1.5 + 0.8) / 3; small: judged 0.4 only.
    assert quality["big"].rated == 2 and quality["big"].judged == 1
    assert abs((quality["big"].score or 0) - 2.3 / 3) < 1e-9
    assert quality["small"].score == 0.4 and quality["small"].rated == 0 and quality["small"].n == 1


def test_no_labels_is_no_quality(tmp_path: Path) -> None:
    with Store.open(tmp_path / "q.db") as store:
        store.insert_calls([CallRecord(ts=time.time() - 60, model_id="big")])
        assert quality_by_model(store, clock.window_start_day(30)) == {}
