"""`fleetui bench routing`: a router learned from logs, measured on prompts it never saw."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from fleetui.cli import main
from fleetui.routing.learned import (
    PRICE_WEIGHTS,
    KnnRouter,
    RidgeRouter,
    Sample,
    Table,
    evaluate,
    prompt_shape,
    read_calls,
    strong_weak,
)


def synthetic_log(path: Path, n: int = 300) -> None:
    """Two kinds of prompts: the cheap model is as good on chat, only the big one does math."""
    rng = random.Random(1)
    lines = []
    for i in range(n):
        math_prompt = i % 2 == 0
        prompt = (f"solve the equation {rng.randint(2, 99)} x plus {rng.randint(2, 99)} integral derivative"
                  if math_prompt else f"say hello to my friend {rng.choice(['ann', 'bob', 'cy'])} nicely chat")
        for model, cost, quality in (("big", 0.01, 0.9), ("small", 0.001, 0.2 if math_prompt else 0.9)):
            lines.append({"prompt_id": i, "prompt": prompt, "model": model,
                          "quality": min(1.0, max(0.0, quality + rng.uniform(-0.05, 0.05))), "cost_usd": cost})
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")


@pytest.mark.parametrize("router", ["ridge", "knn"])
def test_router_learns_which_prompts_need_the_big_model(tmp_path: Path, router: str) -> None:
    log = tmp_path / "calls.jsonl"
    synthetic_log(log)

    result = evaluate(read_calls(log), strong="big", weak="small", router=router)
    assert result["router"] == router
    assert result["best_single_model_on_train"] == "big"
    cheaper = [p for p in result["router_curve"] if p["cost_usd"] < result["best_single"]["cost_usd"] * 0.7]
    assert any(p["quality"] >= 0.98 * result["best_single"]["quality"] for p in cheaper), \
        "sending chat to the small model keeps quality at a fraction of the cost"
    sw = result["strong_weak"]
    assert sw["router"]["apgr"] > 0.7 > sw["random_apgr"] - 0.2
    assert sw["router"]["apgr"] <= sw["oracle"]["apgr"] + 1e-9


def noisy_log(seed: int, n: int = 400) -> list[Sample]:
    """Words decide, with noise and a shared vocabulary, which of three models wins a prompt.

    "strong" wins on prompts about proofs and compilers, "weak" ties it elsewhere, "tiny" is cheap
    and mediocre; every prompt also carries filler words common to all kinds."""
    rng = random.Random(seed)
    hard = ["proof", "theorem", "compiler", "lemma", "induction", "optimise", "kernel", "algebra"]
    easy = ["hello", "recipe", "weather", "holiday", "garden", "music", "movie", "friend"]
    filler = ["please", "tell", "me", "about", "the", "some", "today", "quickly", "a", "and"]
    out = []
    for i in range(n):
        needs_strong = rng.random() < 0.5
        words = rng.sample(hard if needs_strong else easy, 2) + rng.sample(hard + easy, 1) + rng.sample(filler, 4)
        rng.shuffle(words)
        prompt = " ".join(words)
        weak_q = 0.15 if needs_strong else 0.5
        for model, cost, q in (("strong", 0.02, 0.5), ("weak", 0.002, weak_q), ("tiny", 0.0005, 0.1)):
            noisy = min(1.0, max(0.0, q + rng.gauss(0, 0.2))) if model != "strong" else q
            out.append(Sample(str(i), prompt, model, noisy, cost * rng.uniform(0.8, 1.2)))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ridge_router_beats_random_and_stays_below_the_oracle(seed: int) -> None:
    result = evaluate(noisy_log(seed), seed=seed, strong="strong", weak="weak")
    sw = result["strong_weak"]
    assert sw["router"]["apgr"] >= sw["random_apgr"] + 0.1, sw
    assert sw["router"]["apgr"] <= sw["oracle"]["apgr"] + 1e-9
    assert 0.3 <= sw["random_apgr"] <= 0.7
    # CPT: the router needs no fewer strong calls than the oracle to recover a share of the gap
    for x in ("50%", "80%"):
        assert sw["router"]["cpt_share_of_strong_calls"][x] >= sw["oracle"]["cpt_share_of_strong_calls"][x]
    # the quality/cost curve: a higher price weight never buys a dearer mix, and it spans the range
    curve = result["router_curve"]
    assert [p["price_weight"] for p in curve] == list(PRICE_WEIGHTS)
    costs = [p["cost_usd"] for p in curve]
    assert all(b <= a + 1e-6 for a, b in zip(costs, costs[1:])), costs
    assert costs[0] > costs[-1]
    single = result["single_models"]
    assert curve[0]["quality"] >= single["weak"]["quality"] - 1e-9
    assert curve[-1]["cost_usd"] <= single["weak"]["cost_usd"], "at the top price weight the cheapest model wins"


def test_ridge_beats_knn_when_only_the_prompt_form_matters() -> None:
    """No word repeats between prompts; only their form (a short sum vs. a long request) decides."""
    rng = random.Random(3)
    samples = []
    for i in range(300):
        short = i % 2 == 0
        token = lambda: "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(7))  # noqa: E731
        prompt = (f"{rng.randint(10, 99)} + {rng.randint(10, 99)} = ?" if short
                  else " ".join(token() for _ in range(rng.randint(25, 40))) + ".")
        for model, q in (("S", 0.5), ("W", 0.5 if short else 0.0)):
            samples.append(Sample(str(i), prompt, model, min(1.0, max(0.0, q + rng.gauss(0, 0.1))), 0.01))
    ridge = evaluate(samples, strong="S", weak="W")["strong_weak"]
    knn = evaluate(samples, strong="S", weak="W", router="knn")["strong_weak"]
    # the oracle also orders prompts by the judge's noise; the router can only find the long ones
    assert ridge["router"]["cpt_share_of_strong_calls"]["95%"] <= ridge["oracle"]["cpt_share_of_strong_calls"]["95%"] + 0.02
    assert ridge["router"]["apgr"] > knn["router"]["apgr"] + 0.05 > ridge["random_apgr"] + 0.1


def test_routers_predict_every_model_from_training_prompts_only() -> None:
    table = Table.of(noisy_log(0, n=120))
    train, test = table.rows(np.arange(80)), table.rows(np.arange(80, 120))
    for router in (RidgeRouter(train), KnnRouter(train)):
        predicted = router.predict(test.texts)
        assert predicted.shape == (40, len(table.models))
        assert np.isfinite(predicted).all()
        # changing the held-out prompts' qualities cannot change what the router predicts for them
        test.quality[:] = 0.0
        assert np.array_equal(router.predict(test.texts), predicted)
        picks = router.choose(predicted, 0.0, allowed=[table.models.index("tiny")])
        assert (picks == table.models.index("tiny")).all()


def test_prompt_shape_features() -> None:
    shape = prompt_shape(["What is 2 + 2?", "Write a long story about a dragon.\n\nMake it brief.", ""])
    assert shape.shape[0] == 3 and np.isfinite(shape).all()
    assert shape[0, 5] == 1.0 and shape[1, 5] == 0.0  # question mark
    assert shape[1, 4] == 1.0  # a blank line: an instruction with an input below it
    assert shape[1, 0] > shape[0, 0]  # longer
    assert prompt_shape([]).shape == (0, shape.shape[1])


def test_a_tiny_log_still_evaluates() -> None:
    samples = [Sample(str(i), f"prompt {i}", m, q, c) for i in range(6)
               for m, q, c in (("S", 0.9, 1.0), ("W", 0.2 if i % 2 else 0.8, 0.1))]
    for router in ("ridge", "knn"):
        result = evaluate(samples, strong="S", weak="W", router=router, test_fraction=0.5)
        assert result["test_prompts"] == 3 and result["strong_weak"]["router"]["apgr"] is not None
    with pytest.raises(ValueError):
        evaluate(samples, router="nope")


def test_apgr_of_random_and_oracle_scores() -> None:
    samples = [Sample(str(i), f"p{i}", m, q, c) for i in range(100)
               for m, q, c in (("S", 1.0 if i < 50 else 0.5, 1.0), ("W", 0.5, 0.1))]
    table = Table.of(samples)
    s, w = table.models.index("S"), table.models.index("W")
    perfect = strong_weak(table, table.quality, s, w)
    assert perfect["oracle"]["apgr"] == pytest.approx(perfect["router"]["apgr"])
    assert perfect["oracle"]["apgr"] > 0.74  # all the gain comes from the first half of the calls
    assert perfect["oracle"]["cpt_share_of_strong_calls"]["95%"] <= 0.5
    curve = {round(p["share_to_strong"], 1): p for p in perfect["pgr_curve"]}
    assert curve[0.0]["oracle_pgr"] == 0 and curve[0.5]["oracle_pgr"] == 1 == curve[1.0]["oracle_pgr"]
    assert curve[0.2]["oracle_pgr"] == pytest.approx(0.4)  # 20 of the 50 prompts that gain
    assert perfect["share_of_oracle_gain"] == pytest.approx(1.0)
    backwards = strong_weak(table, -table.quality, s, w)  # sends the prompts that gain nothing first
    assert backwards["pgr_curve"][5]["router_pgr"] == 0 and backwards["share_of_oracle_gain"] < -0.9


def test_cli_bench_routing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "calls.jsonl"
    synthetic_log(log)
    assert main(["bench", "routing", "--calls", str(log), "--strong", "big", "--weak", "small"]) == 0
    out = capsys.readouterr().out
    assert "best single model" in out and "APGR router" in out
    assert "router beside the oracle" in out and "of what the oracle gains over random routing" in out
    assert "PGR router  PGR oracle" in out and "CPT(50/80/95%)" in out
    assert "router: ridge" in out
    assert main(["bench", "routing", "--calls", str(log), "--strong", "big", "--weak", "small", "--router", "knn",
                 "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "router: knn" in out and "(seed 3)" in out
    assert main(["bench", "routing", "--calls", str(log)]) == 0  # the pair defaults to the strongest and cheapest
    out = capsys.readouterr().out
    assert "big (strong) vs small (weak) (the strongest and the cheapest on the training prompts)" in out
    assert main(["bench", "routing", "--calls", str(log), "--strong", "nope"]) == 2
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["bench", "routing", "--calls", str(empty)]) == 2
    assert "no calls in the file" in capsys.readouterr().err
    one = tmp_path / "one.jsonl"
    one.write_text('{"prompt_id": 1, "prompt": "hi", "model": "m", "quality": 1, "cost_usd": 0.1}\n')
    assert main(["bench", "routing", "--calls", str(one)]) == 2
    assert "1 prompt(s) answered by every model" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt_id": 1}\n')
    assert main(["bench", "routing", "--calls", str(bad)]) == 2
    assert f"{bad}:1" in capsys.readouterr().err
