"""Graded prompts in the labelled-routing format: `fleetui import` reads them (detected), and
`router train --quality field` learns from what it stored."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from fleetui.cli import main
from fleetui.store import Store
from tests.conftest import SAMPLE_FLEET


def _graded_set(path: Path, prompts: int = 300) -> None:
    rng = random.Random(3)
    rows = []
    for i in range(prompts):
        hard = i % 3 == 0
        prompt = f"prove theorem {i} about primes and lattices" if hard else f"what is the capital of country {i}"
        category = "math" if hard else "lookup"
        rows.append({"prompt_id": i, "prompt": prompt, "model": "gpt-4", "quality": float(rng.random() < 0.95),
                     "cost_usd": 0.02, "category": category})
        small_ok = rng.random() < (0.3 if hard else 0.93)
        rows.append({"prompt_id": i, "prompt": prompt, "model": "gpt-4o-mini", "quality": float(small_ok),
                     "cost_usd": 0.001, "category": category})
    rows += [
        {"prompt_id": "0", "prompt": "the string id 0 is another prompt", "model": "gpt-4", "quality": 1.0,
         "cost_usd": 0.02},
        {"prompt_id": 1, "prompt": "x", "model": "gpt-4", "quality": 5, "cost_usd": 0.01},
        {"prompt_id": 2, "prompt": "x", "model": "gpt-4", "quality": True, "cost_usd": 0.01},
        {"prompt_id": 3, "prompt": "x", "model": "gpt-4", "quality": 0.5, "cost_usd": -1},
        {"prompt_id": 4, "prompt": "x", "model": "gpt-4", "quality": 0.5, "score": 1},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n")


def test_a_graded_set_imports_once_and_trains_a_router(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet = tmp_path / "fleet.toml"
    shutil.copy(SAMPLE_FLEET, fleet)
    graded, db = tmp_path / "graded.jsonl", tmp_path / "calls.db"
    _graded_set(graded)
    base = ["--config", str(fleet), "--db", str(db)]
    assert main([*base, "import", str(graded)]) == 1  # the good rows are stored; the bad ones make it exit 1
    captured = capsys.readouterr()
    said = captured.out + captured.err
    assert "(labels): 601 calls read, 601 stored" in said
    for number, reason in ((602, "quality must be between 0 and 1, not 5"),
                           (603, "quality must be a finite number, not True"),
                           (604, "cost_usd must be ≥ 0"), (605, "unknown key(s) score"), (606, "not JSON")):
        assert f"{graded}:{number}: {reason}" in said
    assert main([*base, "import", str(graded)]) == 1
    assert "0 stored, 601 already there" in capsys.readouterr().out
    with Store.open(db) as store:
        rows = list(store.db.query("SELECT model_id, feedback_score, use_case, prompt_hash FROM calls"))
    assert {r["model_id"] for r in rows} == {"gpt-4", "gpt-4o-mini"}  # mapped onto the fleet's models
    assert {r["use_case"] for r in rows} == {"math", "lookup", None}
    by_prompt = {r["prompt_hash"] for r in rows if r["model_id"] == "gpt-4"}
    assert len(by_prompt) == 301  # 300 numbered prompts and the string id "0"

    assert main([*base, "router", "train", "graded", "--quality", "field", "--since", "1d"]) == 0
    out = capsys.readouterr().out
    assert "2 models (store (field)), trained on" in out
    body = json.loads((tmp_path / "graded.router.json").read_text())
    assert body["models"] == ["gpt-4", "gpt-4o-mini"]

    # A router trained beside the fleet file that no rule uses yet is itself a recommendation.
    assert main([*base, "recommend"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert 'learned router graded: a rule with learned = "graded"' in said and "not used by any rule yet" in said
    assert main([*base, "savings", "--json"]) == 0
    entry = next(e for e in json.loads(capsys.readouterr().out)["learned_routers"] if e["router"] == "graded")
    assert entry["in_use"] is False
    assert entry["recommendation"] is None or entry["recommendation"]["share"] >= 0.95
