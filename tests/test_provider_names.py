"""`calls.provider_name` holds one vocabulary (OTel's gen_ai.provider.name) whichever writer
stored the call: the shim's wire format, the fleet's provider kind, LiteLLM's names; and a store
written before (schema 9) is migrated to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetui.store import CallRecord, Store
from fleetui.store.migrations import STEPS
from fleetui.store.provider_names import provider_name_of


@pytest.mark.parametrize(("given", "server", "stored"), [
    # The server is the best knowledge, whatever the writer called the provider.
    ("openai", "https://api.groq.com/openai/v1", "groq"),
    ("openai-compatible", "https://api.deepseek.com", "deepseek"),
    (None, "https://api.anthropic.com", "anthropic"),
    ("azure", "https://my-team.openai.azure.com", "azure.ai.openai"),
    ("bedrock", "https://bedrock-runtime.eu-west-1.amazonaws.com", "aws.bedrock"),
    ("openai", "https://gateway.example.amazonaws.com", "openai"),  # Amazon, but not Bedrock
    ("openai", "api.mistral.ai", "mistral_ai"),  # a bare host, as some logs give it
    # An unknown server: the name given, in the one vocabulary.
    ("openai", "http://127.0.0.1:8080", "openai"),  # the OpenAI SDK at a local server
    ("openai-compatible", "http://localhost:8000/v1", "openai"),  # a fleet kind
    ("gemini", None, "gcp.gemini"),
    ("ollama", "http://localhost:11434", "ollama"),
    ("vertex_ai", None, "gcp.vertex_ai"),  # LiteLLM's names
    ("xai", None, "x_ai"),
    ("Together_AI ", None, "together_ai"),  # nobody's list: its own name, lower-cased
    ("", None, None),
    (None, None, None),
])
def test_every_vocabulary_becomes_the_stored_one(given: str | None, server: str | None, stored: str | None) -> None:
    assert provider_name_of(given, server) == stored


def test_the_store_normalises_every_insert() -> None:
    store = Store.memory()
    store.insert_calls([
        CallRecord(call_id="sdk", provider_name="openai", server_address="https://api.openai.com"),
        CallRecord(call_id="fleet", provider_name="openai-compatible", server_address="https://api.openai.com"),
        CallRecord(call_id="litellm", provider_name="gemini"),
    ])
    store.insert_new_calls([CallRecord(call_id="import", provider_name="vertex_ai_beta")], checked=True)
    stored = {r["call_id"]: r["provider_name"] for r in store.db.query("SELECT call_id, provider_name FROM calls")}
    assert stored == {"sdk": "openai", "fleet": "openai", "litellm": "gcp.gemini", "import": "gcp.vertex_ai"}


def test_step_10_migrates_stored_calls_and_the_metrics_totals(tmp_path: Path) -> None:
    import sqlite_utils

    path = tmp_path / "v9.db"
    db = sqlite_utils.Database(path)
    for step in STEPS[:9]:
        step(db)
    db.execute("PRAGMA user_version = 9")
    rows = [("a", "openai-compatible", "https://api.groq.com/openai/v1"), ("b", "vertex_ai", None),
            ("c", "openai", "http://127.0.0.1:8080"), ("d", None, None), ("e", "anthropic", "https://api.anthropic.com")]
    db.table("calls").insert_all(
        {"call_id": c, "ts": 1.7e9, "day": "2023-11-14", "success": 1, "provider_name": p, "server_address": s}
        for c, p, s in rows
    )
    # `fleetui metrics` had counted some calls under two of the old names for one provider.
    db.table("metrics_totals").insert_all([
        {"model": "m", "provider": "gemini", "operation": "chat", "in_fleet": 1, "calls": 2, "cost_usd": 0.5},
        {"model": "m", "provider": "google", "operation": "chat", "in_fleet": 1, "calls": 3, "cost_usd": 0.25},
        {"model": "n", "provider": "", "operation": "chat", "in_fleet": 0, "calls": 1, "cost_usd": 0.0},
    ])
    db.conn.commit()
    db.close()
    with Store.open(path) as store:
        assert store.schema_version >= 10
        stored = {r["call_id"]: r["provider_name"] for r in store.db.query("SELECT call_id, provider_name FROM calls")}
        totals = [(r["model"], r["provider"], r["calls"], r["cost_usd"]) for r in store.db.query(
            "SELECT model, provider, calls, cost_usd FROM metrics_totals ORDER BY model")]
    assert stored == {"a": "groq", "b": "gcp.vertex_ai", "c": "openai", "d": None, "e": "anthropic"}
    assert totals == [("m", "gcp.gemini", 5, 0.75), ("n", "", 1, 0.0)]
