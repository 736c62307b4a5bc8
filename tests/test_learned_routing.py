"""`fleetui bench routing`: a router learned from logs, measured on prompts it never saw."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from fleetui.cli import main
from fleetui.routing.learned import Sample, Table, evaluate, strong_weak


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


def test_router_learns_which_prompts_need_the_big_model(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    synthetic_log(log)
    from fleetui.routing.learned import read_calls

    result = evaluate(read_calls(log), strong="big", weak="small")
    assert result["best_single_model_on_train"] == "big"
    cheaper = [p for p in result["router_curve"] if p["cost_usd"] < result["best_single"]["cost_usd"] * 0.7]
    assert any(p["quality"] >= 0.98 * result["best_single"]["quality"] for p in cheaper), \
        "sending chat to the small model keeps quality at a fraction of the cost"
    sw = result["strong_weak"]
    assert sw["router"]["apgr"] > 0.7 > sw["random_apgr"] - 0.2
    assert sw["router"]["apgr"] <= sw["oracle"]["apgr"] + 1e-9


def test_apgr_of_random_and_oracle_scores() -> None:
    samples = [Sample(str(i), f"p{i}", m, q, c) for i in range(100)
               for m, q, c in (("S", 1.0 if i < 50 else 0.5, 1.0), ("W", 0.5, 0.1))]
    table = Table.of(samples)
    s, w = table.models.index("S"), table.models.index("W")
    perfect = strong_weak(table, table.quality, s, w)
    assert perfect["oracle"]["apgr"] == pytest.approx(perfect["router"]["apgr"])
    assert perfect["oracle"]["apgr"] > 0.74  # all the gain comes from the first half of the calls
    assert perfect["oracle"]["cpt_share_of_strong_calls"]["95%"] <= 0.5


def test_cli_bench_routing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "calls.jsonl"
    synthetic_log(log)
    assert main(["bench", "routing", "--calls", str(log), "--strong", "big", "--weak", "small"]) == 0
    out = capsys.readouterr().out
    assert "best single model" in out and "APGR router" in out
    assert main(["bench", "routing", "--calls", str(log), "--strong", "nope"]) == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt_id": 1}\n')
    assert main(["bench", "routing", "--calls", str(bad)]) == 2
    assert f"{bad}:1" in capsys.readouterr().err
