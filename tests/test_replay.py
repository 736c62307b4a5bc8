"""Replay and verify against the loopback provider servers: real HTTP, scripted answers, a
scripted judge that grades what it reads (with a position bias, as real judges have)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetui.cli import main
from fleetui.config.fleetfile import load_fleet
from fleetui.privacy import prompt_hash
from fleetui.providers import RetryPolicy
from fleetui.replay import Replayer, ReplayError, ReplaySettings
from fleetui.replay import judge as judge_module
from fleetui.store import CallRecord, Store
from fleetui.store import replays as saved
from tests.fakeproviders import FakeProviders

QUESTIONS = [f"Question {i}: what is {'the capital of country ' * (1 + i % 5)}number {i}?" for i in range(12)]


def _answer(label: str) -> callable:  # type: ignore[valid-type]
    return lambda messages: f"{label} answer to {messages[-1][:40]}"


def _grade(text: str) -> float:
    if "GOOD" in text:
        return 90.0
    if "OKAY" in text:
        return 87.0
    if "BAD" in text:
        return 40.0
    return 10.0


def scoring_judge(messages: list[str]) -> str:
    """Grades each answer by its label; answer A gets +6 for coming first (position bias)."""
    text = messages[0]
    a = re.search(r"<answer_A>\n(.*?)\n</answer_A>", text, re.DOTALL).group(1)  # type: ignore[union-attr]
    b = re.search(r"<answer_B>\n(.*?)\n</answer_B>", text, re.DOTALL).group(1)  # type: ignore[union-attr]
    sa, sb = min(100.0, _grade(a) + 6), _grade(b)
    return json.dumps({"A": dict.fromkeys(judge_module.CRITERIA, sa), "B": dict.fromkeys(judge_module.CRITERIA, sb)})


def chatty_judge(messages: list[str]) -> str:
    """Prose and a code fence around the JSON, scores as strings — the first time. Asked
    again, only the JSON."""
    if len(messages) == 1:
        return "Sure! Let me think.\n```json\n" + scoring_judge(messages).replace(": 90.0", ': "90/100"') + "\n```"
    return scoring_judge(messages[:1])


def broken_judge(messages: list[str]) -> str:
    return "Answer A is better, I think. Scores: A=high, B=lower."


FLEET = """
[[providers]]
id = "oa"
kind = "openai-compatible"
base_url = "{openai}"
key = "FAKE_OPENAI_KEY"
[[providers]]
id = "an"
kind = "anthropic"
base_url = "{anthropic}"
key = "FAKE_ANTHROPIC_KEY"

[[models]]
id = "big"
name = "Big Model"
provider = "oa"
model = "big-model"
price = {{ input = 10.0, output = 30.0 }}
[[models]]
id = "tiny-bad"
name = "Tiny Bad"
provider = "oa"
model = "tiny-bad"
price = {{ input = 0.05, output = 0.2 }}
capabilities = {{ reasoning = 90 }}
[[models]]
id = "tiny-good"
name = "Tiny Good"
provider = "oa"
model = "tiny-good"
price = {{ input = 0.1, output = 0.4 }}
[[models]]
id = "mid"
name = "Mid Model"
provider = "an"
model = "mid-model"
price = {{ input = 2.0, output = 6.0 }}
[[models]]
id = "refuser"
name = "Refuser"
provider = "oa"
model = "refuse"
price = {{ input = 0.1, output = 0.4 }}
[[models]]
id = "texty-refuser"
name = "Texty Refuser"
provider = "oa"
model = "texty-refuser"
price = {{ input = 0.1, output = 0.4 }}
[[models]]
id = "limited"
name = "Rate Limited"
provider = "oa"
model = "fault-429"
price = {{ input = 0.1, output = 0.4 }}
[[models]]
id = "flaky"
name = "Flaky"
provider = "oa"
model = "flaky-429"
price = {{ input = 0.1, output = 0.4 }}
[[models]]
id = "slowpoke"
name = "Slowpoke"
provider = "oa"
model = "slow"
price = {{ input = 0.1, output = 0.4 }}
[[models]]
id = "judge"
name = "Judge"
provider = "an"
model = "judge-model"
price = {{ input = 1.0, output = 5.0 }}
capabilities = {{ reasoning = 99 }}
enabled = {judge_enabled}
[[models]]
id = "chatty-judge"
name = "Chatty judge"
provider = "an"
model = "chatty-judge"
price = {{ input = 1.0, output = 5.0 }}
[[models]]
id = "broken-judge"
name = "Broken judge"
provider = "an"
model = "broken-judge"
price = {{ input = 1.0, output = 5.0 }}

[recommendations]
min_samples = 5
"""


@pytest.fixture
def fake(fake_providers: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviders]:
    monkeypatch.setenv("FAKE_OPENAI_KEY", fake_providers.keys["openai"])
    monkeypatch.setenv("FAKE_ANTHROPIC_KEY", fake_providers.keys["anthropic"])
    fake_providers.scripts.update({
        "big-model": _answer("GOOD"), "tiny-good": _answer("GOOD"), "tiny-bad": _answer("BAD"),
        "mid-model": _answer("OKAY"), "flaky-429": _answer("GOOD"), "slow": _answer("GOOD"),
        "texty-refuser": lambda m: "I'm sorry, but I can't help with that request.",
        "judge-model": scoring_judge, "chatty-judge": chatty_judge, "broken-judge": broken_judge,
    })
    yield fake_providers


@pytest.fixture
def fleet_path(tmp_path: Path, fake: FakeProviders) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text(FLEET.format(openai=fake.url("openai"), anthropic=fake.url("anthropic"), judge_enabled="true"))
    return path


def _log(store: Store, prompts: list[str] = QUESTIONS, *, response: bool = True, privacy: str = "full",
         model: str = "big", use_case: str = "qa") -> None:
    now = time.time()
    records = []
    for i, prompt in enumerate(prompts):
        for repeat in range(1 + i % 3):  # repeated prompts: deduplicated by the sampler
            records.append(CallRecord(
                ts=now - 3600 * (i + 1) - repeat, model_id=model, use_case=use_case,
                prompt=prompt if privacy == "full" else None, prompt_hash=prompt_hash(prompt),
                prompt_chars=len(prompt), response=f"GOOD logged answer to {prompt[:40]}" if response else None,
                input_tokens=400, output_tokens=200, cost_usd=0.01, latency_ms=900.0, success=True,
                finish_reason="stop",
            ))
    store.insert_calls(records)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "calls.db") as opened:
        _log(opened)
        yield opened


def _replay(fleet_path: Path, store: Store, retry: RetryPolicy | None = None, **settings: object):  # type: ignore[no-untyped-def]
    fleet = load_fleet(fleet_path)
    options = {"current": "big", "use_case": "qa", "judge": "judge", "sample": 8, "budget_usd": 5.0} | settings
    replayer = Replayer(fleet, store, ReplaySettings(**options), retry=retry or RetryPolicy(max_retries=1))  # type: ignore[arg-type]
    return asyncio.run(replayer.run())


def _requests(fake: FakeProviders, model: str) -> int:
    return sum(1 for r in fake.requests if isinstance(r.body, dict) and r.body.get("model") == model)


def test_an_equal_cheaper_model_is_verified_with_the_numbers(fleet_path: Path, store: Store, fake: FakeProviders) -> None:
    report = _replay(fleet_path, store, candidates=("tiny-good",))
    verdict = report.chosen
    assert verdict is not None and verdict.model_id == "tiny-good"
    assert verdict.n == 8 and verdict.attempted == 8
    # Same grade on both sides once the judge's +6 for answer A is averaged over both orders.
    assert verdict.quality_impact_pct == pytest.approx(0.0)
    assert verdict.ci_low_pct == pytest.approx(0.0) and verdict.ci_high_pct == pytest.approx(0.0)
    assert verdict.saving_pct is not None and verdict.saving_pct > 95
    assert report.sentence.startswith("Switching from Big Model to Tiny Good reduces cost by 9")
    assert "n=8" in report.sentence
    # The logged answers were reused: the current model was not called.
    assert _requests(fake, "big-model") == 0
    assert _requests(fake, "tiny-good") == 8
    assert _requests(fake, "judge-model") == 16  # both orders
    stored = saved.run(store, report.run_id)
    assert stored is not None and stored["status"] == "done" and stored["chosen_model"] == "tiny-good"
    assert stored["report"]["verified"] is True


def test_position_bias_is_cancelled_by_judging_both_orders(fleet_path: Path, store: Store) -> None:
    report = _replay(fleet_path, store, candidates=("mid",))
    verdict = report.rounds[0][0]
    # OKAY (87) against GOOD (90): 3 points lower whichever answer the judge read first; each
    # side's mean carries half the +6 the judge gives answer A (90 + 3 for the current model).
    assert verdict.quality_impact_pct == pytest.approx(100 * (87 - 90) / 93)
    assert verdict.passed


def test_worse_cheapest_band_moves_on_to_a_stronger_band(fleet_path: Path, store: Store, fake: FakeProviders) -> None:
    fleet = load_fleet(fleet_path)
    for model in fleet.models:  # only tiny-bad (budget band) and mid (value band) are candidates
        model.enabled = model.id in ("big", "tiny-bad", "mid", "judge")
    replayer = Replayer(fleet, store, ReplaySettings(current="big", use_case="qa", judge="judge", sample=6,
                                                     budget_usd=5.0), retry=RetryPolicy(max_retries=0))
    report = asyncio.run(replayer.run())
    assert [[v.model_id for v in r] for r in report.rounds] == [["tiny-bad"], ["mid"]]
    first = report.rounds[0][0]
    assert not first.passed and first.reason == "quality drop 53.8% > 5%"  # (40 − 90) / 93
    assert report.chosen is not None and report.chosen.model_id == "mid"


def test_refusals_are_detected_and_count_as_zero(fleet_path: Path, store: Store) -> None:
    report = _replay(fleet_path, store, candidates=("refuser", "texty-refuser"))
    for verdict in report.rounds[0]:
        assert verdict.refusal_pct == 100
        assert verdict.quality_impact_pct == pytest.approx(-100.0)
        assert not verdict.passed
    assert report.chosen is None
    assert "not recommended" in report.sentence


def test_judge_prose_and_fences_are_parsed_and_malformed_replies_are_retried_once(
    fleet_path: Path, store: Store, fake: FakeProviders
) -> None:
    report = _replay(fleet_path, store, candidates=("tiny-good",), judge="chatty-judge", sample=5)
    assert report.chosen is not None and report.rounds[0][0].judge_failures == 0
    # "90/100" in a fenced block parsed on the first try: one request per order.
    assert _requests(fake, "chatty-judge") == 10

    broken = _replay(fleet_path, store, candidates=("tiny-good",), judge="broken-judge", sample=5)
    verdict = broken.rounds[0][0]
    assert verdict.judge_failures == 5 and verdict.n == 0 and not verdict.passed
    assert "too few judged prompts" in verdict.reason
    assert _requests(fake, "broken-judge") == 5 * 2 * 2  # each order: the reply, then one reminder


def test_a_rate_limited_candidate_fails_as_unreliable_and_a_flaky_one_recovers(
    fleet_path: Path, store: Store, fake: FakeProviders
) -> None:
    report = _replay(fleet_path, store, candidates=("limited",), sample=5, retry=RetryPolicy(max_retries=0))
    verdict = report.rounds[0][0]
    assert verdict.error_pct == 100 and not verdict.passed
    assert "rate_limited" in verdict.reason

    started = time.perf_counter()
    recovered = _replay(fleet_path, store, candidates=("flaky",), sample=5, retry=RetryPolicy(max_retries=2))
    assert recovered.chosen is not None and recovered.rounds[0][0].error_pct == 0
    assert time.perf_counter() - started >= 0.9  # waited for Retry-After: 1


def test_a_slow_candidate_is_measured(fleet_path: Path, store: Store, fake: FakeProviders) -> None:
    report = _replay(fleet_path, store, candidates=("slowpoke",), sample=5, concurrency=5)
    verdict = report.rounds[0][0]
    assert verdict.candidate_p50_ms is not None and verdict.candidate_p50_ms >= fake.slow_s * 1000
    assert verdict.current_p50_ms == pytest.approx(900.0)


def test_budget_stop_then_continue_without_paying_twice(fleet_path: Path, store: Store, fake: FakeProviders) -> None:
    # Each call first reserves the most it could cost (a judgment: ~$0.0025 with 400 tokens
    # out) and then pays what it did (~$0.0004 a judgment here), so $0.004 buys a few prompts.
    stopped = _replay(fleet_path, store, candidates=("tiny-good",), budget_usd=0.004, concurrency=1)
    assert stopped.status == "budget" and stopped.chosen is None
    assert 0 < stopped.spent_usd <= 0.004
    assert any("budget" in note for note in stopped.notes)
    asked_before = {r.body["messages"][-1]["content"] for r in fake.requests
                    if isinstance(r.body, dict) and r.body.get("model") == "tiny-good"}
    assert 0 < len(asked_before) < 8

    finished = _replay(fleet_path, store, candidates=("tiny-good",), budget_usd=1.0, concurrency=1)
    assert finished.run_id == stopped.run_id  # the same command continued the same run
    assert finished.chosen is not None and finished.rounds[0][0].n == 8
    asked = [r.body["messages"][-1]["content"] for r in fake.requests
             if isinstance(r.body, dict) and r.body.get("model") == "tiny-good"]
    assert len(asked) == len(set(asked)) == 8  # no prompt was paid for twice
    assert finished.cache_hits >= len(asked_before)
    assert finished.verification_cost_usd == pytest.approx(stopped.spent_usd + finished.spent_usd)


def test_a_second_run_is_served_from_the_cache_until_the_rubric_changes(
    fleet_path: Path, store: Store, fake: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _replay(fleet_path, store, candidates=("tiny-good",), sample=5)
    calls = len(fake.requests)
    again = _replay(fleet_path, store, candidates=("tiny-good",), sample=5)
    assert len(fake.requests) == calls  # nothing paid for
    assert again.spent_usd == 0 and again.cache_hits == 5 + 10
    assert again.rounds[0][0].quality_impact_pct == first.rounds[0][0].quality_impact_pct

    monkeypatch.setattr(judge_module, "RUBRIC_VERSION", "pairwise-4c-v2")
    rescored = _replay(fleet_path, store, candidates=("tiny-good",), sample=5)
    assert _requests(fake, "tiny-good") == 5  # answers still cached
    assert _requests(fake, "judge-model") == 20  # scores asked again under the new rubric
    assert rescored.cache_hits == 5


def test_interrupted_run_keeps_what_it_paid_for_and_continues(fleet_path: Path, store: Store, fake: FakeProviders) -> None:
    fleet = load_fleet(fleet_path)
    settings = ReplaySettings(current="big", use_case="qa", candidates=("slowpoke",), judge="judge", sample=6,
                              budget_usd=5.0, concurrency=2)

    async def interrupt() -> None:
        task = asyncio.ensure_future(Replayer(fleet, store, settings).run())
        while _requests(fake, "judge-model") < 2:  # a couple of answers and scores are in
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(interrupt())
    runs = saved.runs(store)
    assert runs[0]["status"] == "stopped"
    paid = _requests(fake, "slow")
    assert paid >= 1
    report = asyncio.run(Replayer(fleet, store, settings).run())
    assert report.run_id == runs[0]["run_id"] and report.status == "done"
    assert report.rounds[0][0].n == 6
    assert report.cache_hits >= 1
    asked = [r.body["messages"][-1]["content"] for r in fake.requests
             if isinstance(r.body, dict) and r.body.get("model") == "slow"]
    # Only what was in flight when the run was cancelled (at most one per slot) is asked again.
    assert len(set(asked)) == 6 and len(asked) <= 6 + settings.concurrency
    assert paid <= len(asked)


def test_prompts_kept_only_as_hashes_cannot_be_replayed(fleet_path: Path, tmp_path: Path) -> None:
    with Store.open(tmp_path / "hashed.db") as hashed:
        _log(hashed, privacy="hash")
        with pytest.raises(ReplayError, match=r"12 distinct prompts are kept only as hashes"):
            _replay(fleet_path, hashed, candidates=("tiny-good",))


def test_unknown_model_is_named(fleet_path: Path, store: Store) -> None:
    with pytest.raises(ReplayError, match="no model 'gpt-9' in the fleet"):
        _replay(fleet_path, store, candidates=("gpt-9",))


def test_automatic_candidates_exclude_the_judge_and_dearer_models(fleet_path: Path, store: Store) -> None:
    fleet = load_fleet(fleet_path)
    replayer = Replayer(fleet, store, ReplaySettings(current="big", use_case="qa", sample=8))
    planned = replayer.plan()
    rounds, sample = planned.rounds, planned.sample
    assert planned.judge_id == "judge"  # the strongest declared reasoning
    ids = [c.model_id for r in rounds for c in r]
    assert "big" not in ids and "judge" not in ids and len(rounds) <= 3
    assert [c.band for c in rounds[0]] == ["budget"] * len(rounds[0])
    assert sample["distinct_prompts"] == 12 and sample["used"] == 8


def test_cli_replay_json_and_list(fleet_path: Path, store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(store.path)
    code = main(["--config", str(fleet_path), "--db", db, "replay", "--current", "big", "--use-case", "qa",
                 "--candidates", "tiny-good", "--judge", "judge", "--sample", "6", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["verified"] is True and out["chosen"] == "tiny-good"
    assert out["rounds"][0][0]["n"] == 6
    assert out["sentence"].startswith("Switching from Big Model to Tiny Good reduces cost by")

    assert main(["--config", str(fleet_path), "--db", db, "replay", "--current", "big", "--use-case", "qa",
                 "--candidates", "tiny-bad", "--judge", "judge", "--sample", "6"]) == 1
    text = capsys.readouterr().out
    assert "not recommended" in text and "✗ quality drop" in text and "Verification cost" in text

    assert main(["--config", str(fleet_path), "--db", db, "replay", "--list"]) == 0
    listing = capsys.readouterr().out
    assert "tiny-good" in listing and "verified" in listing


def test_cli_replay_bad_input(fleet_path: Path, store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(store.path)
    assert main(["--config", str(fleet_path), "--db", db, "replay"]) == 2
    assert "--current MODEL" in capsys.readouterr().err
    assert main(["--config", str(fleet_path), "--db", db, "replay", "--current", "big", "--candidates", " , "]) == 2
    assert "--candidates" in capsys.readouterr().err
    assert main(["--config", str(fleet_path), "--db", db, "replay", "--recommendation", "nope"]) == 2
    assert "no recommendation 'nope'" in capsys.readouterr().err
    assert main(["--config", str(fleet_path), "--db", db, "replay", "--current", "big", "--use-case", "none-such"]) == 1
    assert "no past prompts to replay for big on none-such" in capsys.readouterr().err


def test_models_without_keys_fail_fast_or_are_left_out(
    fleet_path: Path, store: Store, fake: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAKE_ANTHROPIC_KEY")
    with pytest.raises(ReplayError, match=r"the judge cannot be called: judge at http://127\.0\.0\.1:\d+/anthropic: "
                                          r"key FAKE_ANTHROPIC_KEY is not set"):
        _replay(fleet_path, store, candidates=("tiny-good",))
    assert fake.requests == []  # nothing was sent before the check

    monkeypatch.setenv("FAKE_ANTHROPIC_KEY", fake.keys["anthropic"])
    text = fleet_path.read_text().replace('model = "tiny-good"', 'model = "tiny-good"\nkey = "UNSET_KEY_FOR_TINY"')
    fleet_path.write_text(text)
    report = _replay(fleet_path, store, candidates=("tiny-good", "mid"))
    assert [v.model_id for v in report.rounds[0]] == ["mid"]
    assert any("key UNSET_KEY_FOR_TINY is not set" in note for note in report.notes)
    with pytest.raises(ReplayError, match="no named candidate can be called"):
        _replay(fleet_path, store, candidates=("tiny-good",))


def test_candidates_are_ranked_by_fit_and_health(fleet_path: Path, store: Store) -> None:
    from fleetui.replay.candidates import rounds
    from fleetui.store.replays import past_prompts

    fleet = load_fleet(fleet_path)
    prompts = past_prompts(store, "big", "qa", 0).prompts
    healthy = rounds(fleet, "big", "qa", prompts, exclude=("judge",), per_round=10)
    budget = [c.model_id for c in healthy[0]]
    assert budget[0] == "tiny-bad"  # declared reasoning 90 puts it first among equals
    hurt = rounds(fleet, "big", "qa", prompts, exclude=("judge",), per_round=10,
                  health={"tiny-bad": "degraded", "tiny-good": "offline"})
    ids = [c.model_id for c in hurt[0]]
    assert "tiny-good" not in ids and ids.index("tiny-bad") > 0
    assert "probes: degraded" in next(c for c in hurt[0] if c.model_id == "tiny-bad").reasons
    measured = rounds(fleet, "big", "qa", prompts, exclude=("judge",), per_round=10,
                      measured={"flaky": {"success_lcb": 0.99, "p50_ms": 300.0}})
    assert measured[0][0].model_id == "flaky"


@pytest.mark.slow
def test_ctrl_c_in_the_cli_keeps_what_was_paid_for(fleet_path: Path, store: Store, fake: FakeProviders) -> None:
    import os
    import signal
    import subprocess
    import sys

    command = [sys.executable, "-m", "fleetui", "--config", str(fleet_path), "--db", str(store.path), "replay",
               "--current", "big", "--use-case", "qa", "--candidates", "slowpoke", "--judge", "judge",
               "--sample", "8", "--concurrency", "1"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    deadline = time.monotonic() + 120  # generous: the child imports fleetui first, slowly under load

    def judged() -> int:  # answers and scores the child has stored: what Ctrl+C must keep
        return int(store.db.execute("SELECT COUNT(*) FROM replay_answers WHERE model_id = 'slowpoke'").fetchone()[0])

    # Wait on the state the test is about (something paid for is stored), not on request counts:
    # under load a judge request can be in flight long before its score is written.
    while judged() < 1:
        if time.monotonic() > deadline or child.poll() is not None:
            child.kill()
            pytest.fail(f"the replay did not get going: {child.communicate()[1][-500:]}")
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 130, err
    assert "run the same command again to continue" in err
    run = saved.runs(store)[0]
    assert run["status"] == "stopped"
    kept = store.db.execute("SELECT COUNT(*) FROM replay_answers WHERE model_id = 'slowpoke'").fetchone()[0]
    assert kept >= 1
    finished = subprocess.run(command + ["--json"], capture_output=True, text=True, timeout=180)
    report = json.loads(finished.stdout)
    assert report["run_id"] == run["run_id"] and report["cache_hits"] >= kept


def test_a_budget_stop_does_not_judge_the_next_candidate_on_nothing(fleet_path: Path, store: Store) -> None:
    stopped = _replay(fleet_path, store, candidates=("tiny-good", "mid"), budget_usd=0.004, concurrency=1)
    assert stopped.status == "budget"
    assert [v.model_id for r in stopped.rounds for v in r] == ["tiny-good"]
    assert "too few judged prompts" in stopped.rounds[0][0].reason


def test_verifying_a_recommendation_tries_the_model_it_proposes(
    fleet_path: Path, store: Store, fake: FakeProviders, capsys: pytest.CaptureFixture[str]
) -> None:
    _log(store, [f"Chit chat {i}: how are you doing today?" for i in range(6)], use_case="casual_chat")
    store.db["recommendations"].insert({
        "id": "rec-casual", "created_ts": time.time(), "updated_ts": time.time(), "kind": "expensive_on_casual",
        "severity": "medium", "title": "Route casual queries away from big", "sentence": "…",
        "use_case": "qa,casual_chat", "current_model": "big", "recommended_model": "mid", "numbers": "{}",
        "status": "new",
    })
    code = main(["--config", str(fleet_path), "--db", str(store.path), "replay", "--recommendation", "rec-casual",
                 "--judge", "judge", "--sample", "30", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and [v["model_id"] for r in report["rounds"] for v in r] == ["mid"]
    assert report["sample"]["distinct_prompts"] == 12 + 6  # both use cases of the recommendation
    assert report["recommendation_id"] == "rec-casual"
    from fleetui.store import analytics

    assert analytics.recommendation(store, "rec-casual")["verified_by"] == report["run_id"]  # type: ignore[index]


def test_the_replayer_reads_probe_health_and_rankings_from_the_store(fleet_path: Path, store: Store) -> None:
    from fleetui.store import ProbeRecord

    store.record_probe(ProbeRecord("tiny-good", "offline"))
    store.db["rankings"].insert({"use_case": "qa", "model_id": "flaky", "computed_ts": time.time(), "n": 50,
                                 "success_lcb": 0.99, "p50_ms": 300.0, "quality": 0.9})
    replayer = Replayer(load_fleet(fleet_path), store, ReplaySettings(current="big", use_case="qa", sample=8))
    ids = [c.model_id for c in replayer.plan().rounds[0]]
    assert "tiny-good" not in ids  # offline by its probes
    assert ids[0] == "flaky"  # measured best on qa


def test_an_unreachable_judge_is_not_cached_as_a_verdict(fleet_path: Path, store: Store) -> None:
    fleet_path.write_text(fleet_path.read_text().replace('model = "broken-judge"', 'model = "fault-429"'))
    report = _replay(fleet_path, store, candidates=("tiny-good",), judge="broken-judge", sample=5,
                     retry=RetryPolicy(max_retries=0))
    verdict = report.rounds[0][0]
    assert verdict.n == 0 and verdict.judge_failures == 5 and not verdict.passed
    assert store.db.execute("SELECT COUNT(*) FROM judgments").fetchone()[0] == 0  # asked again next time
    assert store.db.execute("SELECT COUNT(*) FROM replay_answers WHERE model_id = 'tiny-good'").fetchone()[0] == 5
    assert store.db.execute("SELECT DISTINCT finish_reason FROM replay_answers").fetchall() == [("stop",)]
