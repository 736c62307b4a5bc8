"""Learned routing: training on labelled calls, held-out figures, the saved file, bad input."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from fleetui.cli import main
from fleetui.routing.learned import fileformat
from fleetui.routing.learned.samples import (
    DataError,
    Sample,
    SampleChecker,
    Table,
    read_calls,
)
from fleetui.routing.learned.train import train_router


def two_kinds(n: int = 300, seed: int = 1) -> list[dict[str, object]]:
    """Math prompts need the big model; on chat the small one is as good at a tenth of the cost."""
    rng = random.Random(seed)
    lines: list[dict[str, object]] = []
    for i in range(n):
        math_prompt = i % 2 == 0
        prompt = (f"solve the equation {rng.randint(2, 99)} x plus {rng.randint(2, 99)} integral derivative"
                  if math_prompt else f"say hello to my friend {rng.choice(['ann', 'bob', 'cy'])} nicely chat")
        for model, cost, quality in (("big", 0.01, 0.9), ("small", 0.001, 0.2 if math_prompt else 0.9)):
            lines.append({"prompt_id": i, "prompt": prompt, "model": model,
                          "quality": min(1.0, max(0.0, quality + rng.uniform(-0.05, 0.05))), "cost_usd": cost})
    return lines


def write(path: Path, lines: list[object]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def samples_of(lines: list[dict[str, object]]) -> list[Sample]:
    checker = SampleChecker("test")
    out = [s for row in lines if (s := checker.check(row, "x")) is not None]
    assert not checker.rejected
    return out


def noisy(seed: int, n: int = 400) -> list[Sample]:
    """Words decide, with noise and shared filler words, which of three models wins a prompt."""
    rng = random.Random(seed)
    hard = ["proof", "theorem", "compiler", "lemma", "induction", "optimise", "kernel", "algebra"]
    easy = ["hello", "recipe", "weather", "holiday", "garden", "music", "movie", "friend"]
    filler = ["please", "tell", "me", "about", "the", "some", "today", "quickly", "a", "and"]
    out = []
    for i in range(n):
        needs_strong = rng.random() < 0.5
        words = rng.sample(hard if needs_strong else easy, 2) + rng.sample(hard + easy, 1) + rng.sample(filler, 4)
        rng.shuffle(words)
        for model, cost, q in (("strong", 0.02, 0.5), ("weak", 0.002, 0.15 if needs_strong else 0.5),
                               ("tiny", 0.0005, 0.1)):
            noisy_q = min(1.0, max(0.0, q + rng.gauss(0, 0.2))) if model != "strong" else q
            out.append(Sample(str(i), " ".join(words), model, noisy_q, cost * rng.uniform(0.8, 1.2)))
    return out


def test_router_sends_only_the_prompts_that_need_it_to_the_big_model() -> None:
    saved = train_router(samples_of(two_kinds()), name="t")
    metrics = saved.meta["metrics"]
    assert metrics["reference"] == "big" and metrics["weak"] == "small"
    at95 = next(p for p in metrics["router"] if p["share"] == 0.95)
    assert at95["quality_share"] >= 0.95
    assert at95["cost_share"] < 0.65, "chat goes to the small model: about 55% of the all-big cost"
    assert metrics["random"][1]["cost_share"] > 0.85  # random mixing sends ~87% of calls to big
    assert metrics["oracle"][1]["cost_share"] <= at95["cost_share"] + 1e-9
    calibration = {c["share"]: c for c in saved.meta["calibration"]}
    low, high = calibration[0.95]["quality_share_ci"]
    assert low <= calibration[0.95]["quality"] / calibration[0.95]["reference_quality"] <= high
    assert saved.price_weight_for("big", 0.95) is not None


@pytest.mark.parametrize("seed", [0, 1])
def test_three_models_beats_random_and_stays_below_the_oracle(seed: int) -> None:
    metrics = train_router(noisy(seed), name="t", reference="strong", weak="weak", seed=seed).meta["metrics"]
    apgr = metrics["apgr"]
    assert apgr["router"] >= apgr["random"] + 0.1 and apgr["router"] <= apgr["oracle"] + 1e-9
    for router, rand in zip(metrics["router"], metrics["random"], strict=True):
        assert router["cost_share"] < rand["cost_share"]


def test_predicting_one_prompt_is_the_batch_prediction() -> None:
    saved = train_router(noisy(0), name="t")
    texts = ["a proof by induction please", "hello garden music", "", "x" * 5000]
    batch = saved.model.predict(texts, [""] * len(texts))
    for i, text in enumerate(texts):
        assert np.allclose(saved.model.predict_one(text), batch[i])
    assert ((batch >= 0) & (batch <= 1)).all()


def test_saved_file_round_trips_and_refuses_edits(tmp_path: Path) -> None:
    saved = train_router(noisy(0), name="t")
    path = tmp_path / "t.router.json"
    fileformat.save(path, saved)
    body = json.loads(path.read_text())
    assert body["format"] == "fleetui-learned-router" and body["checksum"].startswith("sha256:")
    assert body["models"] == ["strong", "tiny", "weak"] and body["data"]["test_prompts"] > 0
    assert path.stat().st_size < 200_000
    loaded = fileformat.load(path)
    texts = ["a proof by induction please", "hello garden music"]
    assert np.allclose(loaded.model.predict(texts, ["", ""]), saved.model.predict(texts, ["", ""]), atol=1e-3)
    assert loaded.meta["curves"] == saved.meta["curves"]
    body["intercept"][0] += 0.5
    path.write_text(json.dumps(body))
    with pytest.raises(fileformat.RouterFileError, match="checksum does not match"):
        fileformat.load(path)
    path.write_text(path.read_text()[:100])
    with pytest.raises(fileformat.RouterFileError, match="not JSON"):
        fileformat.load(path)
    with pytest.raises(fileformat.RouterFileError, match="no such router file; train it"):
        fileformat.load(tmp_path / "missing.router.json")
    path.write_text(json.dumps({"format": "fleetui-learned-router", "version": 99}))
    with pytest.raises(fileformat.RouterFileError, match="version 99"):
        fileformat.load(path)


def test_bad_values_are_counted_by_reason_and_ids_are_not_merged(tmp_path: Path) -> None:
    good = two_kinds(100)
    bad: list[object] = [
        {"prompt_id": 900, "prompt": "p", "model": "big", "quality": 5, "cost_usd": 0.01},
        {"prompt_id": 901, "prompt": "p", "model": "big", "quality": -1, "cost_usd": 0.01},
        '{"prompt_id": 902, "prompt": "p", "model": "big", "quality": NaN, "cost_usd": 0.01}',
        {"prompt_id": 903, "prompt": "p", "model": "big", "quality": True, "cost_usd": 0.01},
        {"prompt_id": 904, "prompt": "p", "model": "big", "quality": 0.5, "cost_usd": 0},
        {"prompt_id": 905, "prompt": "p", "model": "big", "quality": 0.5, "cost_usd": -0.01},
        {"prompt_id": 906, "prompt": "p", "model": "big", "quality": 0.5, "cost_usd": None},
        "not json",
        {"prompt_id": "7", "prompt": "other prompt", "model": "big", "quality": 0.5, "cost_usd": 0.01},
    ]
    path = write(tmp_path / "calls.jsonl", [*good, *bad])
    checker = SampleChecker(str(path))
    samples = read_calls(path, checker)
    assert len(samples) == len(good) + 1
    summary = checker.summary()
    assert summary.startswith("8 line(s) left out")
    assert "2 with quality outside 0..1 (first at line 201)" in summary
    assert "2 with quality is not a number" in summary and "2 with cost_usd is zero or negative" in summary
    assert "1 with no cost_usd" in summary and "1 with a line that is not JSON" in summary
    assert "appear both as a number and as text" in (checker.id_problem() or "")
    table = Table.of(samples)
    assert len(table.prompts) == 101  # "7" is its own prompt, not prompt 7's second text
    assert table.missing_by_model() == {"big": 0, "small": 1}


def test_cli_bench_routing_reports_and_never_tracebacks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write(tmp_path / "calls.jsonl", [*two_kinds(), {"prompt_id": 1, "prompt": "x", "model": "big",
                                                           "quality": 1.5, "cost_usd": 1}])
    assert main(["bench", "routing", "--calls", str(log), "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "warning: 1 line(s) left out" in out and "(seed 3)" in out
    assert "cost as a share of sending every prompt to big" in out
    assert "category table" in out and "oracle" in out and "APGR big vs small" in out
    assert "95% of big: λ =" in out
    assert main(["bench", "routing", "--calls", str(log), "--reference", "nope"]) == 1
    assert "--reference 'nope' is not among the models" in capsys.readouterr().err
    for content, message in (("", "no labelled calls"),
                              ('{"prompt_id": 1, "prompt": "hi", "model": "m", "quality": 1, "cost_usd": 0.1}',
                               "a router chooses among two or more"),
                              ('{"prompt_id": 1}', "no labelled calls to learn from (1 line(s) left out")):
        bad = write(tmp_path / "bad.jsonl", [content] if content else [])
        assert main(["bench", "routing", "--calls", str(bad)]) == 1
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    few = write(tmp_path / "few.jsonl", two_kinds(30))
    assert main(["bench", "routing", "--calls", str(few)]) == 1
    assert "too little data: 30 prompt(s) answered by every model" in capsys.readouterr().err
    assert main(["bench", "routing", "--calls", str(tmp_path / "none.jsonl")]) == 1
    assert "No such file" in capsys.readouterr().err


def test_too_few_calls_of_one_model_is_one_line() -> None:
    samples = samples_of(two_kinds(100)) + [Sample("x", "hi", "rare", 0.5, 0.1)]
    with pytest.raises(DataError, match=r"too little data: rare \(1\) labelled call"):
        train_router(samples, name="t")
    assert train_router(samples, name="t", models=["big", "small"]).model.models == ["big", "small"]


def test_train_from_the_stores_feedback_and_judge_scores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import hashlib
    import time

    from fleetui.replay.judge import answers_hash
    from fleetui.store import CallRecord, Store
    from fleetui.store import replays as saved

    db, fleet = tmp_path / "fleetui.db", tmp_path / "fleet.toml"
    fleet.write_text((Path(__file__).parent.parent / "sample_fleet.toml").read_text())
    rows = two_kinds(120)
    now = time.time()
    with Store.open(db) as store:
        records = [CallRecord(ts=now - 3600, model_id=str(r["model"]), prompt=str(r["prompt"]),
                              prompt_hash=hashlib.sha256(f"{r['prompt_id']}".encode()).hexdigest()[:16],
                              feedback_score=float(r["quality"]), cost_usd=float(r["cost_usd"]))  # type: ignore[arg-type]
                   for r in rows]
        records.append(CallRecord(ts=now - 3600, model_id="big", prompt=None, prompt_hash="nohash",
                                  feedback_score=0.5, cost_usd=0.01))
        store.insert_calls(records)
        by_prompt: dict[object, dict[str, dict[str, object]]] = {}
        for r in rows:
            by_prompt.setdefault(r["prompt_id"], {})[str(r["model"])] = r
        for pid, pair in by_prompt.items():
            prompt_hash = hashlib.sha256(f"{pid}".encode()).hexdigest()[:16]
            answers = {m: f"answer of {m} to {pid}" for m in pair}
            for m in pair:
                saved.save_answer(store, run_id="r1", recommendation_id=None, prompt_hash=prompt_hash, model_id=m,
                                  params_hash="p", model_version="v", answer=answers[m], input_tokens=1,
                                  output_tokens=1, cost_usd=float(pair[m]["cost_usd"]), latency_ms=1.0,  # type: ignore[arg-type]
                                  refusal=False, finish_reason="stop")
            a, b = answers["big"], answers["small"]
            scores = {"A": 100 * float(pair["big"]["quality"]), "B": 100 * float(pair["small"]["quality"])}  # type: ignore[arg-type]
            saved.save_judgment(store, prompt_hash=prompt_hash, answers_hash=answers_hash(a, b), judge_model="j",
                                rubric_version="1", order_ab="ab", scores=scores, overall=scores["B"], raw="")
    for quality in ("feedback", "judge"):
        out_file = tmp_path / f"{quality}.router.json"
        assert main(["--config", str(fleet), "--db", str(db), "router", "train", quality, "--quality", quality,
                     "--out", str(out_file)]) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        assert f"2 models (store ({quality})), trained on 102 prompts" in out and "measured on 18 held out" in out
        body = json.loads(out_file.read_text())
        assert body["data"]["source"] == f"store ({quality})" and body["models"] == ["big", "small"]
        assert body["data"]["since"] <= body["data"]["until"]
        assert body["metrics"]["router"][1]["cost_share"] < 0.8
        if quality == "feedback":
            assert "1 with no prompt text (the privacy setting kept none)" in out
    assert main(["--config", str(fleet), "--db", str(db), "router", "train", "x", "--quality", "field",
                 "--out", str(tmp_path / "f.json")]) == 1
    assert "no labelled calls to learn from" in capsys.readouterr().err
    assert main(["--config", str(fleet), "--db", str(db), "router", "train", "bad name!"]) == 1
    assert "router name 'bad name!'" in capsys.readouterr().err


def test_a_target_nothing_reaches_is_met_by_the_reference() -> None:
    """A cheap model that is never as good: no price weight reaches 99% of the big one."""
    import numpy as np

    from fleetui.routing.learned import calibrate

    samples = [Sample(str(i), f"prompt {i} words", m, q, c) for i in range(100)
               for m, q, c in (("big", 0.9, 1.0), ("small", 0.1, 0.1))]
    table = Table.of(samples)
    predicted = np.tile([0.9, 0.1], (100, 1))
    result = calibrate.calibrate(predicted, table, np.array([1.0, 0.1]), 0, 1.0, boots=50)
    assert result.price_weight is not None and result.cost_share == 1.0  # λ = 0: all to big
    predicted = np.tile([0.1, 0.9], (100, 1))  # a router that believes the wrong model
    result = calibrate.calibrate(predicted, table, np.array([1.0, 0.1]), 0, 0.99, boots=50)
    assert result.price_weight is None and result.quality == pytest.approx(0.9) and result.cost_share == 1.0
    assert result.quality_share_ci == (1.0, 1.0)


def by_category(n: int = 240, seed: int = 3) -> list[dict[str, object]]:
    """Long prompts of the same random words; only the category says which model is needed."""
    rng = random.Random(seed)
    vocabulary = [f"w{k}" for k in range(300)]
    lines: list[dict[str, object]] = []
    for i in range(n):
        hard = i % 2 == 0
        prompt = " ".join(rng.sample(vocabulary, 60))
        for model, cost, quality in (("big", 0.01, 0.9), ("small", 0.001, 0.2 if hard else 0.9)):
            lines.append({"prompt_id": i, "prompt": prompt, "model": model, "category": "math" if hard else "chat",
                          "quality": min(1.0, max(0.0, quality + rng.uniform(-0.05, 0.05))), "cost_usd": cost})
    return lines


@pytest.mark.parametrize("copies", [1, 3])  # 2 models: the Python path; 6: the numpy path
def test_a_category_routes_whatever_the_prompts_length(copies: int) -> None:
    from fleetui.config.schema import RoutingRule
    from fleetui.routing.learned.decide import LearnedTarget

    rows = [dict(r, model=f"{r['model']}-{k}", cost_usd=float(r["cost_usd"]) * (1 + k))  # type: ignore[arg-type]
            for r in by_category() for k in range(copies)]
    saved = train_router(samples_of(rows), name="c")
    target = LearnedTarget(RoutingRule(name="r", when="true", learned="c", price_weight=0.1), saved,
                           set(saved.model.models))
    prompt = " ".join(f"w{k}" for k in range(100, 160))  # never seen as a whole
    for category, first in (("math", "big-0"), ("chat", "small-0"), ("MATH", "big-0")):
        ordered, _ = target.choose(prompt, category, {"big-0", "small-0"}, 0)
        assert ordered[0] == first, category
        batch = saved.model.predict([prompt], [category])[0]
        assert np.allclose(saved.model.predict_one(prompt, category), batch)
        assert target.predict(prompt, category) == pytest.approx(
            list(batch[[saved.model.models.index(m) for m in target.models]]), abs=1e-6)  # float32 qualities, 60 words summed in another order
    assert target.predict(prompt, "never seen") == pytest.approx(target.predict(prompt, ""), abs=1e-6)
    assert saved.meta["metrics"]["router"][1]["cost_share"] < 0.75  # chat goes to the small model


def test_a_small_log_is_cross_fitted_and_a_large_one_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    from fleetui.routing.learned import train as train_module

    small = train_router(noisy(0), name="t").meta["data"]
    # Every prompt but the test half is calibrated on, each predicted without its own fold.
    assert small["cross_fitted_folds"] == 5
    assert small["calibration_prompts"] == small["train_prompts"] > 4 * small["test_prompts"]
    monkeypatch.setattr(train_module, "CROSS_FIT_BELOW", 0)
    large = train_router(noisy(0), name="t").meta["data"]
    assert large["cross_fitted_folds"] is None
    assert large["calibration_prompts"] + large["test_prompts"] + large["train_prompts"] == small["prompts"]


def test_links_follow_the_data_and_never_warn_or_overflow(recwarn: pytest.WarningsRecorder) -> None:
    from fleetui.routing.learned.fit import fit_links

    rng = np.random.default_rng(0)
    score = rng.normal(size=(2000, 1))
    truth = 1 / (1 + np.exp(-(3.0 * score[:, 0] - 0.5)))
    correct = (rng.random(2000) < truth).astype(float)
    soft = np.clip(truth + rng.normal(scale=0.05, size=2000), 0, 1)  # a judge's 0..1 scores, not 0/1
    backwards = 1.0 - correct  # a better score meaning worse quality: the link stays flat, never inverted
    raw = np.hstack([score, score, score, score])
    quality = np.column_stack([correct, soft, backwards, np.ones(2000)])
    quality[:500, 0] = np.nan  # a model that did not answer every prompt
    links = fit_links(raw, quality)
    assert links[0, 0] == pytest.approx(3.0, abs=0.5) and links[0, 1] == pytest.approx(-0.5, abs=0.3)
    assert links[1, 0] == pytest.approx(3.0, abs=0.3)
    assert links[2, 0] == 0.0
    model = train_router(noisy(0), name="t").model
    assert model.link is not None
    model.link = np.vstack([links[3], links[3], links[3]])  # an always-right model: a huge offset
    extreme = model.linked(np.array([[1e6, -1e6, 0.0]]))
    assert np.isfinite(extreme).all() and ((extreme >= 0) & (extreme <= 1)).all()
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_a_file_without_a_link_clips_its_scores(tmp_path: Path) -> None:
    saved = train_router(noisy(0), name="t")
    path = tmp_path / "t.router.json"
    fileformat.save(path, saved)
    loaded = fileformat.load(path)
    texts = ["a proof by induction please", "hello garden music"]
    assert loaded.model.link is not None
    assert np.allclose(loaded.model.predict(texts, ["", ""]), saved.model.predict(texts, ["", ""]), atol=1e-4)
    loaded.model.link = None
    raw = loaded.model.scores(texts, ["", ""])
    assert np.array_equal(loaded.model.predict(texts, ["", ""]), np.clip(raw, 0, 1))
