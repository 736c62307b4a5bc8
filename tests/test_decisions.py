"""Routing decisions logged with `fleetui.log_decision`: queued on the app's thread, stored by the
recorder (or spooled while the database is locked), and read back by `fleetui decisions`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

import fleetui
from fleetui.cli import main
from fleetui.routing import Router
from fleetui.shim import configure
from fleetui.store import Store, spool
from tests.conftest import SAMPLE_FLEET

CODING = "Write a python function that parses ISO dates and handles time zones"


def test_every_decision_is_stored_and_summarised_per_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "app.db"
    recorder = configure(db_path=db, fleet_path=SAMPLE_FLEET, source="my-app", interval_s=0.05)
    try:
        router = Router.from_toml(SAMPLE_FLEET, on_decision=fleetui.log_decision)
        coding = [router.route(CODING, task="coding") for _ in range(30)]
        chat = [router.route("hi there", task="heartbeat") for _ in range(10)]
        pinned = router.route("hi there", task="heartbeat", override="gpt-4o-mini")
        assert recorder.flush(10)
    finally:
        recorder.close()

    assert main(["--db", str(db), "decisions", "--json", "--limit", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["decisions"] == 41 and out["overridden"] == 1
    assert out["escalated"] == sum(d.escalated for d in coding + chat + [pinned])
    rules = {r["rule"]: r for r in out["rules"]}
    assert rules["serious-coding"]["decisions"] == 30
    assert rules["serious-coding"]["models"] == {coding[0].model_id: 30}
    assert rules["heartbeats"]["decisions"] == 11 and rules["heartbeats"]["overridden"] == 1
    latest = out["latest"][0]
    assert latest["decision_id"] == pinned.decision_id and latest["model_id"] == "gpt-4o-mini"
    assert latest["override"] is True and latest["source"] == "my-app"
    assert latest["reason"] == pinned.reason and latest["fallbacks"] == list(pinned.fallbacks)
    assert (latest["provider"], latest["prompt_length"]) == ("openai", len("hi there"))
    assert out["alerts"] == []  # 41 decisions: too few to alert on
    stored_coding = main(["--db", str(db), "decisions", "--rule", "serious-coding", "--json", "--limit", "1"])
    assert stored_coding == 0
    [first] = json.loads(capsys.readouterr().out)["latest"]
    assert first["matched"] == list(coding[-1].matched) and first["matched"]  # what drove the estimate
    assert 0 < first["decision_us"] == pytest.approx(coding[-1].decision_us)

    assert main(["--db", str(db), "decisions"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("41 routing decisions since 24h: median ")
    assert "serious-coding" in text and "2.4% overridden" in text and "override" in text.split("latest (UTC):")[1]


def test_alerts_and_the_jsonl_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "app.db"
    recorder = configure(db_path=db, fleet_path=SAMPLE_FLEET, interval_s=0.05)
    try:
        router = Router.from_toml(SAMPLE_FLEET, on_decision=fleetui.log_decision)
        unsure = [router.route("Write a python function to parse dates", task="coding") for _ in range(60)]
        assert all(d.escalated for d in unsure)  # the estimate is unsure of this prompt: one tier up
        assert recorder.flush(10)
    finally:
        recorder.close()
    assert main(["--db", str(db), "decisions"]) == 0
    assert "! high escalation: 100% of decisions went one tier up (over 30%)" in capsys.readouterr().out

    out = tmp_path / "decisions.jsonl"
    assert main(["--db", str(db), "export", "decisions", "-o", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["decision_id"] for r in rows] == [d.decision_id for d in unsure]  # oldest first
    assert rows[0]["escalated"] is True and rows[0]["matched"] == list(unsure[0].matched)
    assert main(["--db", str(db), "export", "decisions", "--format", "json"]) == 2


def test_decisions_wait_out_a_locked_database(tmp_path: Path) -> None:
    db = tmp_path / "locked.db"
    Store.open(db).close()
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    recorder = configure(db_path=db, fleet_path=SAMPLE_FLEET, interval_s=0.05)
    router = Router.from_toml(SAMPLE_FLEET, on_decision=fleetui.log_decision)
    first = router.route(CODING, task="coding")
    assert not recorder.flush(1)  # cannot write: spooled
    assert any(first.decision_id in path.read_text() for path in spool.spool_files(db))
    holder.execute("COMMIT")
    holder.close()
    second = router.route("hi", task="heartbeat")
    assert recorder.flush(30)
    recorder.close()
    with Store.open(db) as store:
        rows = {r["decision_id"]: r for r in store.db.query("SELECT * FROM decisions")}
    assert set(rows) == {first.decision_id, second.decision_id}
    assert json.loads(rows[first.decision_id]["matched"]) == list(first.matched)
    assert not spool.pending(db)


def test_decisions_older_than_a_month_are_pruned_as_new_ones_arrive(tmp_path: Path) -> None:
    import time

    from fleetui.store.decisions import KEEP_DAYS

    db = tmp_path / "app.db"
    recorder = configure(db_path=db, fleet_path=SAMPLE_FLEET, interval_s=0.05)
    router = Router.from_toml(SAMPLE_FLEET)
    old, recent = router.route("hi", task="heartbeat"), router.route("hi", task="heartbeat")
    long_ago = time.time() - (KEEP_DAYS + 1) * 86400
    recorder.record(("decision", old.decision_id, (long_ago, old)))
    recorder.record(("decision", recent.decision_id, (time.time() - 86400, recent)))
    assert recorder.flush(10)  # the batch is stored, then the month-old one pruned
    recorder.close()
    with Store.open(db) as store:
        kept = [r[0] for r in store.db.execute("SELECT decision_id FROM decisions")]
    assert kept == [recent.decision_id]


def test_no_decisions_says_how_to_log_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(tmp_path / "empty.db"), "decisions"]) == 0
    assert "on_decision=fleetui.log_decision" in capsys.readouterr().out
    assert main(["--db", str(tmp_path / "empty.db"), "decisions", "--since", "soon"]) == 2
    assert "--since" in capsys.readouterr().err


def test_an_unknown_rule_is_named_not_reported_as_quiet(isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fleetui.cli import main

    assert main(["demo", "--calls", "500"]) == 0
    capsys.readouterr()
    assert main(["--demo", "decisions", "--rule", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "no rule 'nosuch'" in err and "serious-coding" in err and "since" not in err.split("(")[0]
