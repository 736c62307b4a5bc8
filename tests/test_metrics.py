"""`fleetui metrics`: what a Prometheus/Grafana user reads, parsed with prometheus_client's own
parser — tokens by type, TTFT and latency histograms, calls/errors/cost by model, provider and
operation, and calls outside the fleet under the model they asked for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fleetui.analysis.metrics import collect, prometheus_text
from fleetui.cli import main
from fleetui.config.fleetfile import load_fleet
from fleetui.store import Store
from fleetui.store.metrics_totals import LATENCY_BOUNDS_MS
from fleetui.store.records import CallRecord
from tests.conftest import SAMPLE_FLEET

FLEET = "in_fleet"


def _calls() -> list[CallRecord]:
    calls = [
        # DeepSeek through the OpenAI SDK: recorded provider "openai", the fleet says deepseek.
        CallRecord(model_id="deepseek-v3", provider_name="openai", request_model="deepseek-chat", input_tokens=1000,
                   output_tokens=200, cached_input_tokens=300, latency_ms=800, ttft_ms=120, streamed=True,
                   cost_usd=0.0005),
        CallRecord(model_id="deepseek-v3", provider_name="openai", request_model="deepseek-chat", input_tokens=500,
                   output_tokens=100, latency_ms=2600, cost_usd=0.0002),
        CallRecord(model_id="deepseek-v3", provider_name="openai", success=False, error_type="rate_limited",
                   status_code=429, latency_ms=90),
        CallRecord(model_id="claude-sonnet", provider_name="anthropic", input_tokens=10, output_tokens=5,
                   latency_ms=1000, cost_usd=0.0001, finish_reason="refusal"),
        # Not in the fleet: kept under the model it asked for, not model="".
        CallRecord(model_id=None, provider_name="openai", request_model="gpt-5-preview", input_tokens=40,
                   output_tokens=4, latency_ms=400, ttft_ms=60, streamed=True),
        CallRecord(model_id=None, provider_name="openai", request_model="gpt-5-preview", operation_name="embeddings",
                   input_tokens=8, output_tokens=0, latency_ms=50),
        CallRecord(model_id=None, provider_name=None, request_model=None, response_model=None, latency_ms=None),
    ]
    return calls


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "calls.db"
    with Store.open(path) as store:
        assert store.insert_calls(_calls()) == 7
    return path


def _parse(text: str) -> dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """Family name → (sample name, labels) → value, as prometheus_client reads the text."""
    out: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for family in text_string_to_metric_families(text):
        samples = out.setdefault(f"{family.name}:{family.type}", {})
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _series(model: str, provider: str, operation: str = "chat", in_fleet: str = "true",
            **extra: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({"model": model, "provider": provider, "operation": operation, FLEET: in_fleet,
                         **extra}.items()))


def test_metrics_parse_with_prometheus_client_and_say_what_dashboards_need(db: Path) -> None:
    with Store.open(db) as store:
        text = prometheus_text(collect(store, load_fleet(SAMPLE_FLEET)))
    parsed = _parse(text)
    calls = parsed["fleetui_calls:counter"]
    deepseek = _series("deepseek-v3", "deepseek")
    assert calls[("fleetui_calls_total", deepseek)] == 3
    assert calls[("fleetui_calls_total", _series("gpt-5-preview", "openai", in_fleet="false"))] == 1
    assert calls[("fleetui_calls_total", _series("gpt-5-preview", "openai", "embeddings", "false"))] == 1
    assert calls[("fleetui_calls_total", _series("unknown", "unknown", in_fleet="false"))] == 1
    assert not any(dict(labels)["model"] == "" for _, labels in calls), "no call collapses into model=\"\""
    assert sum(calls.values()) == 7, "every stored call counted once"
    assert parsed["fleetui_errors:counter"][("fleetui_errors_total", deepseek)] == 1
    assert parsed["fleetui_refusals:counter"][("fleetui_refusals_total", _series("claude-sonnet", "anthropic"))] == 1
    cost = parsed["fleetui_cost_usd:counter"]
    assert cost[("fleetui_cost_usd_total", deepseek)] == pytest.approx(0.0007)
    # Unpriced calls are counted, and a series with no priced call shows no spend rather than $0.
    assert ("fleetui_cost_usd_total", _series("gpt-5-preview", "openai", in_fleet="false")) not in cost
    unpriced = parsed["fleetui_unpriced_calls:counter"]
    assert unpriced[("fleetui_unpriced_calls_total", deepseek)] == 1
    assert unpriced[("fleetui_unpriced_calls_total", _series("gpt-5-preview", "openai", in_fleet="false"))] == 1
    tokens = parsed["fleetui_tokens:counter"]
    assert tokens[("fleetui_tokens_total", _series("deepseek-v3", "deepseek", type="input"))] == 1500
    assert tokens[("fleetui_tokens_total", _series("deepseek-v3", "deepseek", type="cached_input"))] == 300
    assert tokens[("fleetui_tokens_total", _series("deepseek-v3", "deepseek", type="output"))] == 300

    latency = parsed["fleetui_latency_seconds:histogram"]
    buckets = {dict(labels)["le"]: value for (name, labels), value in latency.items()
               if name.endswith("_bucket") and dict(labels)["model"] == "deepseek-v3"}
    assert buckets["0.1"] == 1 and buckets["1.0"] == 2 and buckets["2.5"] == 2 and buckets["5.0"] == 3
    assert buckets["+Inf"] == 3 and len(buckets) == len(LATENCY_BOUNDS_MS) + 1
    assert latency[("fleetui_latency_seconds_sum", deepseek)] == pytest.approx(3.49)
    assert latency[("fleetui_latency_seconds_count", deepseek)] == 3
    ttft = parsed["fleetui_time_to_first_token_seconds:histogram"]
    assert ttft[("fleetui_time_to_first_token_seconds_count", deepseek)] == 1
    assert ttft[("fleetui_time_to_first_token_seconds_bucket", tuple(sorted((*deepseek, ("le", "0.1")))))] == 0
    assert ttft[("fleetui_time_to_first_token_seconds_bucket", tuple(sorted((*deepseek, ("le", "0.25")))))] == 1
    assert ("fleetui_time_to_first_token_seconds_count", _series("claude-sonnet", "anthropic")) not in ttft
    assert parsed["fleetui_shim_dropped:counter"][("fleetui_shim_dropped_total", ())] == 0


def test_names_follow_prometheus_conventions(db: Path) -> None:
    with Store.open(db) as store:
        families = collect(store, load_fleet(SAMPLE_FLEET))
    for family in families:
        assert family.name.startswith("fleetui_") and family.name == family.name.lower()
        if family.type == "counter":
            assert family.name.endswith("_total")
        else:
            assert family.name.endswith("_seconds")
    text = prometheus_text(families)
    assert text.count("# TYPE ") == len(families) == len({f.name for f in families})


def test_without_a_fleet_the_recorded_provider_is_used(db: Path) -> None:
    with Store.open(db) as store:
        parsed = _parse(prometheus_text(collect(store, None)))
    assert parsed["fleetui_calls:counter"][("fleetui_calls_total", _series("deepseek-v3", "openai"))] == 3


def test_a_label_value_with_quotes_and_newlines_is_escaped(tmp_path: Path) -> None:
    with Store.open(tmp_path / "odd.db") as store:
        store.insert_calls([CallRecord(request_model='we"ird\\model\nx', provider_name="p")])
        parsed = _parse(prometheus_text(collect(store, None)))
    [(_, labels)] = list(parsed["fleetui_calls:counter"])
    assert dict(labels)["model"] == 'we"ird\\model\nx'


def test_cli_metrics_text_and_json_agree(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(SAMPLE_FLEET), "--db", str(db), "metrics"]) == 0
    text = capsys.readouterr().out
    assert main(["--config", str(SAMPLE_FLEET), "--db", str(db), "metrics", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    from_json = {(s["name"], tuple(sorted(s["labels"].items()))): s["value"]
                 for f in document["metrics"] for s in f["samples"]}
    from_text = {key: value for samples in _parse(text).values() for key, value in samples.items()}
    assert from_json == pytest.approx(from_text)
    assert {f["name"]: f["type"] for f in document["metrics"]}["fleetui_time_to_first_token_seconds"] == "histogram"


def test_cli_metrics_without_a_fleet_file_still_counts(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "metrics", "--json"]) == 0
    captured = capsys.readouterr()
    assert "provider labels are the providers recorded" in captured.err
    calls = next(f for f in json.loads(captured.out)["metrics"] if f["name"] == "fleetui_calls_total")
    assert sum(s["value"] for s in calls["samples"]) == 7


def test_an_empty_store_gives_valid_metrics(tmp_path: Path) -> None:
    with Store.open(tmp_path / "empty.db") as store:
        text = prometheus_text(collect(store, None))
    parsed = _parse(text)
    assert parsed["fleetui_calls:counter"] == {} and parsed["fleetui_shim_dropped:counter"]


def _calls_total(store: Store) -> dict[tuple[tuple[str, str], ...], float]:
    [family] = [f for f in collect(store, None) if f.name == "fleetui_calls_total"]
    return {s.labels: s.value for s in family.samples}


def test_counters_add_only_new_calls_and_never_drop_when_old_calls_are_pruned(db: Path) -> None:
    with Store.open(db) as store:
        first = _calls_total(store)
        assert sum(first.values()) == 7
        assert _calls_total(store) == first, "collecting twice counts nothing twice"
        store.insert_calls(_calls()[:2])
        assert sum(_calls_total(store).values()) == 9
        # Pruning old calls (as a retention job does) must not lower a Prometheus counter.
        store.db.execute("DELETE FROM calls WHERE id <= 5")
        assert sum(_calls_total(store).values()) == 9
        store.insert_calls(_calls()[-1:])
        assert sum(_calls_total(store).values()) == 10


def test_catching_up_in_small_transactions_gives_the_same_totals(db: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from fleetui.store import metrics_totals

    with Store.open(db) as store:
        whole = prometheus_text(collect(store, None))
    other = tmp_path / "chunked.db"
    with Store.open(other) as store:
        store.insert_calls(_calls())
        monkeypatch.setattr(metrics_totals, "CATCH_UP_ROWS", 2)
        assert metrics_totals.catch_up(store) == 7
        assert prometheus_text(collect(store, None)) == whole


def test_two_collections_at_once_count_each_call_once(db: Path) -> None:
    import threading

    results: list[float] = []

    def scrape() -> None:
        with Store.open(db) as store:
            results.append(sum(_calls_total(store).values()))

    threads = [threading.Thread(target=scrape) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [7, 7, 7, 7]


def test_cli_metrics_on_a_store_it_cannot_write_says_so(db: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from fleetui.store import metrics_totals

    def read_only(store: Store) -> int:
        store.db.execute("PRAGMA query_only = ON")  # as a read-only file or mount behaves
        try:
            return real(store)
        finally:
            store.db.execute("PRAGMA query_only = OFF")

    real = metrics_totals.catch_up
    monkeypatch.setattr(metrics_totals, "catch_up", read_only)
    assert main(["--config", str(SAMPLE_FLEET), "--db", str(db), "metrics"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert captured.err.startswith(f"fleetui: {db}: cannot bring the metrics totals up to date")
    assert "readonly" in captured.err
    with Store.open(db) as store:
        assert store.db.execute("SELECT COUNT(*) FROM metrics_totals").fetchone()[0] == 0, "nothing half-written"


def test_promtool_accepts_the_metrics(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Prometheus's own linter, where it is installed (Debian: `apt-get install prometheus`).
    import shutil
    import subprocess

    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    assert main(["--config", str(SAMPLE_FLEET), "--db", str(db), "metrics"]) == 0
    text = capsys.readouterr().out
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == "" and checked.stderr.strip() == ""  # no lint remarks either
