"""`fleetui router eval NAME --calls FILE | --since D`: a saved router routes prompts it never saw
with its saved price weights, and says whether it keeps the quality it promised at train time."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from fleetui.cli import main
from fleetui.store import CallRecord, Store
from tests.test_router_train import two_kinds, write


def _fleet(tmp_path: Path) -> Path:
    fleet = tmp_path / "fleet.toml"
    fleet.write_text((Path(__file__).parent.parent / "sample_fleet.toml").read_text())
    return fleet


def _renumbered(rows: list[dict[str, object]], offset: int) -> list[dict[str, object]]:
    return [dict(r, prompt_id=int(r["prompt_id"]) + offset) for r in rows]  # type: ignore[call-overload]


def test_a_router_keeps_its_promise_on_new_prompts_and_says_so(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    fleet = _fleet(tmp_path)
    base = ["--config", str(fleet)]
    train = write(tmp_path / "train.jsonl", two_kinds(300, seed=1))
    assert main([*base, "router", "train", "r", "--calls", str(train), "--reference", "big"]) == 0
    # The sample fleet has no big or small model: said on stderr, so --json stays one document.
    assert "note: big, small not in the fleet: rules cannot route to them" in capsys.readouterr().err
    fresh = write(tmp_path / "new.jsonl", _renumbered(two_kinds(200, seed=7), 10_000))
    assert main([*base, "router", "eval", "r", "--calls", str(fresh), "--check"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the lines wrap at the terminal's width
    assert "on 200 new prompts every one of its models answered (file new.jsonl)" in out
    assert out.count("keeps its promise") == 3 and "BELOW" not in out
    assert "random routing" in out and "oracle" in out
    assert main([*base, "router", "eval", "r", "--calls", str(fresh), "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["holds"] is True and body["prompts"] == 200 and body["reference"] == "big"
    at95 = next(t for t in body["targets"] if t["share"] == 0.95)
    # Chat goes to the small model: about half the prompts to big, at a fraction of all-big's cost.
    assert 0.4 <= at95["reached"]["to_reference"] <= 0.6 and at95["reached"]["cost_share"] < 0.7
    assert at95["reached"]["quality_share"] >= 0.95


def test_a_router_whose_world_changed_is_below_its_promise(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet = _fleet(tmp_path)
    base = ["--config", str(fleet)]
    assert main([*base, "router", "train", "r", "--calls", str(write(tmp_path / "t.jsonl", two_kinds(300))),
                 "--reference", "big"]) == 0
    # Since training, the small model got worse at chat too: routing chat to it no longer holds.
    changed = [dict(r, quality=0.1) if r["model"] == "small" else r for r in _renumbered(two_kinds(200, seed=5), 5000)]
    fresh = write(tmp_path / "new.jsonl", [*changed, {"prompt_id": 99_999, "prompt": "alone", "model": "big",
                                                      "quality": 0.9, "cost_usd": 0.01},
                                           {"prompt_id": 99_998, "prompt": "hi", "model": "other",
                                            "quality": 0.9, "cost_usd": 0.01}])
    capsys.readouterr()
    assert main([*base, "router", "eval", "r", "--calls", str(fresh)]) == 0  # without --check it only reports
    out = " ".join(capsys.readouterr().out.split())
    assert "BELOW its promise" in out and "retrain on recent calls" in out
    assert "1 prompt(s) some model did not answer" in out and "models it does not know (other)" in out
    assert main([*base, "router", "eval", "r", "--calls", str(fresh), "--check"]) == 1


def test_too_few_new_prompts_and_the_store_never_counts_calls_from_before_training(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet, db = _fleet(tmp_path), tmp_path / "fleetui.db"
    base = ["--config", str(fleet), "--db", str(db)]

    def store(rows: list[dict[str, object]], ts: float) -> None:
        with Store.open(db) as s:
            s.insert_calls([CallRecord(ts=ts, model_id=str(r["model"]), prompt=str(r["prompt"]),
                                       prompt_hash=hashlib.sha256(f"{r['prompt_id']}".encode()).hexdigest()[:16],
                                       feedback_score=float(r["quality"]), cost_usd=float(r["cost_usd"]))  # type: ignore[arg-type]
                            for r in rows])

    store(two_kinds(200), time.time() - 3600)
    assert main([*base, "router", "train", "s", "--reference", "big"]) == 0
    capsys.readouterr()
    # Every stored call is older than the router: it may have learned from them, so none counts.
    assert main([*base, "router", "eval", "s", "--since", "7d"]) == 1
    err = capsys.readouterr().err
    assert "store (feedback): too little data: 0 new prompt(s) answered by every model" in err
    assert "UTC, never count)" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    store(_renumbered(two_kinds(80, seed=9), 1000), time.time() + 1)
    assert main([*base, "router", "eval", "s", "--since", "7d", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["prompts"] == 80 and body["data"]["source"] == "store (feedback)"
    few = write(tmp_path / "few.jsonl", two_kinds(5))
    assert main([*base, "router", "eval", "s", "--calls", str(few)]) == 1
    assert "file few.jsonl: too little data: 5 new prompt(s)" in capsys.readouterr().err


def test_calls_of_models_the_router_does_not_know_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet = _fleet(tmp_path)
    base = ["--config", str(fleet)]
    assert main([*base, "router", "train", "r", "--calls", str(write(tmp_path / "t.jsonl", two_kinds(200)))]) == 0
    others = [dict(r, model=f"other-{r['model']}") for r in two_kinds(50)]
    capsys.readouterr()
    assert main([*base, "router", "eval", "r", "--calls", str(write(tmp_path / "o.jsonl", others))]) == 1
    err = capsys.readouterr().err
    assert "0 new prompt(s) answered by every model of router 'r' (big, small)" in err
    assert "the calls are of other-big, other-small, which it does not know" in err


def test_the_demo_trains_from_its_own_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`fleetui --demo router train` makes the demo store on first use, as every --demo command
    does, instead of saying there is no database yet."""
    out = tmp_path / "d.router.json"
    code = main(["--demo", "router", "train", "--models", "gpt-4,claude-sonnet", "--out", str(out)])
    captured = capsys.readouterr()
    assert "no database yet" not in captured.err and "Creating demo data" in captured.err
    assert code == 0 and out.exists() and "2 models (store (feedback))" in captured.out
