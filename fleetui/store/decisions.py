"""Routing decisions as routers made them: stored in batches by the recorder, read by
`fleetui decisions`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetui.store.filters import calls_in
from fleetui.store.store import Store

_COLUMNS = ("decision_id", "ts", "model_id", "provider_model", "rule", "strategy", "reason", "confidence",
            "complexity", "escalated", "matched", "override", "decision_us", "ab_test", "use_case",
            "fallbacks", "source", "provider", "prompt_length")
INSERT = (f"INSERT OR IGNORE INTO decisions ({', '.join(_COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in _COLUMNS)})")


def save_decisions(store: Store, decisions: Iterable[Mapping[str, Any]], source: str | None = None) -> int:
    """Store decisions (RouteDecision fields plus `ts`); a decision stored before is skipped."""
    rows = decision_rows(decisions, source)
    store.write(lambda conn: conn.executemany(INSERT, rows))
    return len(rows)


def decision_rows(decisions: Iterable[Mapping[str, Any]], source: str | None) -> list[tuple[Any, ...]]:
    return [
        (d["decision_id"], d["ts"], d["model_id"], d.get("provider_model"), d.get("rule"), d.get("strategy"),
         d.get("reason"), d.get("confidence"), d.get("complexity"), int(bool(d.get("escalated"))),
         json.dumps(list(d.get("matched") or ())), int(bool(d.get("override"))), d.get("decision_us"),
         d.get("ab_test"), d.get("use_case"), json.dumps(list(d.get("fallbacks") or ())), source,
         d.get("provider"), d.get("prompt_length"))
        for d in decisions
    ]


KEEP_DAYS = 30  # decisions are a debugging trail, one row per routed request: a month is kept


def prune_decisions(store: Store, older_than_ts: float) -> int:
    """Delete decisions made before `older_than_ts`; returns how many."""
    deleted = 0

    def work(conn: Any) -> None:
        nonlocal deleted
        deleted = conn.execute("DELETE FROM decisions WHERE ts < ?", [older_than_ts]).rowcount

    store.write(work)
    return deleted


def _where(since_ts: float | None, rule: str | None) -> tuple[str, list[object]]:
    where = calls_in(since_ts=since_ts or None).when("COALESCE(rule, '') = ?", rule)
    return where.condition, where.params


@dataclass(frozen=True, slots=True)
class RuleDecisions:
    """The decisions of one rule (None: those no rule matched) and the models it chose."""

    rule: str | None
    decisions: int
    escalated: int
    overridden: int
    models: dict[str, int]  # model id → decisions, most chosen first
    mean_confidence: float


@dataclass(frozen=True, slots=True)
class DecisionSummary:
    """How many decisions, how fast (µs, None without decisions), how sure; per rule."""

    decisions: int
    escalated: int
    overridden: int
    mean_confidence: float | None
    p50_us: float | None
    p95_us: float | None
    rules: tuple[RuleDecisions, ...]


def decision_summary(store: Store, since_ts: float | None, rule: str | None = None) -> DecisionSummary:
    """How many decisions, how fast, how sure; per rule with the models it chose."""
    where, params = _where(since_ts, rule)
    total, escalated, overridden, mean_confidence = store.db.execute(
        f"SELECT COUNT(*), SUM(escalated), SUM(override), AVG(confidence) FROM decisions WHERE {where}", params,
    ).fetchone()
    if not total:
        return DecisionSummary(0, 0, 0, None, None, None, ())
    quantiles: list[float | None] = []
    for share in (0.5, 0.95):
        row = store.db.execute(
            f"SELECT decision_us FROM decisions WHERE {where} ORDER BY decision_us LIMIT 1 OFFSET ?",
            [*params, min(total - 1, int(share * total))],
        ).fetchone()
        quantiles.append(row[0] if row else None)
    by_rule: dict[str, _RuleSums] = {}
    for rule_name, model_id, count, confidence, escalated_n, overridden_n in store.db.execute(
        f"SELECT COALESCE(rule, ''), model_id, COUNT(*), AVG(confidence), SUM(escalated), SUM(override) "
        f"FROM decisions WHERE {where} GROUP BY 1, 2", params,
    ):
        sums = by_rule.setdefault(rule_name, _RuleSums())
        sums.decisions += count
        sums.confidence_sum += (confidence or 0.0) * count
        sums.escalated += escalated_n or 0
        sums.overridden += overridden_n or 0
        sums.models[model_id] = count
    rules = sorted(
        (RuleDecisions(rule=name or None, decisions=s.decisions, escalated=s.escalated, overridden=s.overridden,
                       models=dict(sorted(s.models.items(), key=lambda kv: -kv[1])),
                       mean_confidence=s.confidence_sum / s.decisions)
         for name, s in by_rule.items()),
        key=lambda r: -r.decisions,
    )
    return DecisionSummary(decisions=total, escalated=escalated or 0, overridden=overridden or 0,
                           mean_confidence=mean_confidence, p50_us=quantiles[0], p95_us=quantiles[1],
                           rules=tuple(rules))


@dataclass(slots=True)
class _RuleSums:
    decisions: int = 0
    confidence_sum: float = 0.0
    escalated: int = 0
    overridden: int = 0
    models: dict[str, int] = field(default_factory=dict)


def recent_decisions(store: Store, since_ts: float | None, limit: int, rule: str | None = None) -> list[dict[str, Any]]:
    where, params = _where(since_ts, rule)
    rows = store.db.query(f"SELECT * FROM decisions WHERE {where} ORDER BY ts DESC LIMIT ?", [*params, limit])
    return [_decoded(row) for row in rows]


def iter_decisions(store: Store, since_ts: float | None) -> Iterator[dict[str, Any]]:
    """Every stored decision of the period, oldest first (for `fleetui export decisions`)."""
    where, params = _where(since_ts, None)
    for row in store.db.query(f"SELECT * FROM decisions WHERE {where} ORDER BY ts", params):
        yield _decoded(row)


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    row["matched"] = json.loads(row["matched"] or "[]")
    row["fallbacks"] = json.loads(row["fallbacks"] or "[]")
    row["escalated"], row["override"] = bool(row["escalated"]), bool(row["override"])
    return row
