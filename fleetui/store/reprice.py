"""Recompute stored costs after a price change, with the rollups moved in the same transaction.

Which calls are repriced: every call in the period (and of the model) whose cost fleetui
computed — cost_source "fleet" or "catalog…", or no cost at all (an unpriced call may be
priceable now). Never a cost the provider or a proxy reported (cost_source "provider"), nor a
cost recorded before costs kept their source (cost_source NULL) by an importer of someone
else's figures (`source` litellm or import): those are kept as they were reported.

Each changed call moves its old cost out of its rollup row and its new cost in (cost_usd,
priced_calls, unpriced_calls), in the one transaction that updates the calls, so the rollups
keep equalling the call log; a rollup row that is missing aborts the whole change.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fleetui.pricing import PROVIDER_REPORTED, Cost
from fleetui.store.filters import calls_in
from fleetui.store.records import CallRecord

if TYPE_CHECKING:
    from fleetui.store.store import Store

PriceOf = Callable[[CallRecord], Cost]
# Importers whose cost column is the other tool's figure (before cost_source existed).
REPORTED_BY_IMPORT = ("litellm", "import")

_SELECT = (
    "SELECT id, day, model_id, use_case, task, provider_name, request_model, response_model, "
    "server_address, input_tokens, output_tokens, cached_input_tokens, cost_usd, cost_source, source FROM calls"
)
_UPDATE_CALL = "UPDATE calls SET cost_usd = ?, cost_source = ? WHERE id = ?"
_MOVE_ROLLUP = (
    "UPDATE rollup_daily SET cost_usd = cost_usd + ?, priced_calls = priced_calls + ?, "
    "unpriced_calls = unpriced_calls - ? WHERE day = ? AND model_id = ? AND use_case = ? AND task = ?"
)


class RepriceError(Exception):
    """The change was not made; the message says why."""


@dataclass
class ModelChange:
    """The calls of one model whose cost changed: how many, and their totals before and after."""

    model_id: str | None
    calls: int = 0
    old_usd: float | None = None  # None: none of them was priced
    new_usd: float | None = None

    def add(self, old: float | None, new: float | None) -> None:
        self.calls += 1
        if old is not None:
            self.old_usd = (self.old_usd or 0.0) + old
        if new is not None:
            self.new_usd = (self.new_usd or 0.0) + new


@dataclass
class Repricing:
    considered: int = 0  # calls in the period whose cost fleetui computes
    changed: int = 0  # of those, calls whose cost changed
    relabelled: int = 0  # same cost, source now recorded (or changed, e.g. a newer catalog)
    kept_reported: int = 0  # reported costs, never touched
    applied: bool = False
    by_model: dict[str | None, ModelChange] = field(default_factory=dict)
    # Where the costs of all calls in scope come from once repriced ("unpriced" for None).
    by_source: dict[str, int] = field(default_factory=dict)

    def count_source(self, source: str | None) -> None:
        key = source or "unpriced"
        self.by_source[key] = self.by_source.get(key, 0) + 1

    def models(self) -> list[ModelChange]:
        return sorted(self.by_model.values(), key=lambda m: (-m.calls, m.model_id or ""))


def _reported(cost: float | None, source: str | None, importer: str | None) -> bool:
    if source == PROVIDER_REPORTED:
        return True
    return source is None and cost is not None and importer in REPORTED_BY_IMPORT


def reprice(store: Store, price_of: PriceOf, *, since_ts: float | None = None, model_id: str | None = None,
            dry_run: bool = False) -> Repricing:
    """Reprice the calls in scope with `price_of` (the recorder's pricing); with dry_run, only say
    what would move."""
    where = calls_in(since_ts=since_ts, model_id=model_id)
    sql = _SELECT + where.sql
    result = Repricing()

    def work(conn: sqlite3.Connection) -> None:
        nonlocal result
        result = Repricing()
        updates: list[tuple[float | None, str | None, int]] = []
        moves: dict[tuple[str, str, str, str], list[float]] = {}
        for (row_id, day, model, use_case, task, provider, request_model, response_model, server, tokens_in,
             tokens_out, cached, old, source, importer) in conn.execute(sql, where.params):
            if _reported(old, source, importer):
                result.kept_reported += 1
                result.count_source(PROVIDER_REPORTED if source is None else source)
                continue
            result.considered += 1
            new = price_of(CallRecord(
                model_id=model, provider_name=provider, request_model=request_model, response_model=response_model,
                server_address=server, input_tokens=tokens_in, output_tokens=tokens_out, cached_input_tokens=cached,
            ))
            result.count_source(new.source)
            if new.usd == old and new.source == source:
                continue
            updates.append((new.usd, new.source, row_id))
            if new.usd == old:
                result.relabelled += 1
                continue
            result.changed += 1
            result.by_model.setdefault(model, ModelChange(model)).add(old, new.usd)
            move = moves.setdefault((day, model or "", use_case or "", task or ""), [0.0, 0])
            move[0] += (new.usd or 0.0) - (old or 0.0)
            move[1] += (new.usd is not None) - (old is not None)
        if dry_run:
            return
        conn.executemany(_UPDATE_CALL, updates)
        for (day, model, use_case, task), (cost, priced) in moves.items():
            moved = conn.execute(_MOVE_ROLLUP, [cost, priced, priced, day, model, use_case, task]).rowcount
            if moved != 1:
                raise RepriceError(
                    f"{store.path}: no rollup row for {day} / {model or '(none)'} / {use_case or '(none)'} / "
                    f"{task or '(none)'} although calls are stored there; nothing was changed"
                )
        result.applied = True

    if dry_run:
        work(store.db.conn)
    else:
        store.write(work)  # the store's one transaction helper: BEGIN IMMEDIATE, lock retries
    return result
