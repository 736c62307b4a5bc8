"""The shared tree: what a fleet looks like in a git repository or a bucket.

```
fleet.toml                 the fleet file, byte for byte as the user wrote it
README.md                  the fleet at a glance (generated)
rankings/<use_case>.json   models ranked for one use case, with the numbers behind each score
models/<id>.json           metadata, price with its source, health, 30-day usage
recommendations.json       open and decided recommendations with their numbers
```

Every file is a pure function of the fleet and the store (sorted keys, rounded figures, no
timestamps of the sync itself), so a sync where nothing changed changes nothing, and a diff in
a pull request shows only what moved. Reading a teammate's tree goes through pydantic models:
it came over the network and is checked like any input.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from fleetui.config.schema import Fleet
from fleetui.store import Store
from fleetui.sync import SyncError

FLEET_FILE = "fleet.toml"
README = "README.md"
RECOMMENDATIONS = "recommendations.json"
RANKINGS_DIR = "rankings/"
MODELS_DIR = "models/"
USAGE_DAYS = 30
FORMAT = 1

Tree = dict[str, str]  # path in the tree → text


def _json(value: Any) -> str:
    return json.dumps(_tidy(value), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _tidy(value: Any) -> Any:
    """Figures to 6 significant digits: enough to read, and a diff shows only real movement."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: _tidy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tidy(v) for v in value]
    return value


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def build_tree(fleet_text: str, fleet: Fleet, store: Store) -> Tree:
    """The whole tree for this fleet file (its text and its parsed fleet) and this store."""
    from fleetui import clock
    from fleetui.analysis.ranking import rank_use_cases
    from fleetui.store import analytics

    until = clock.utc_today()
    since = clock.window_start_day(USAGE_DAYS)
    tree: Tree = {FLEET_FILE: fleet_text}
    ranking = rank_use_cases(fleet, store, since)
    for use_case, models in ranking.items():
        tree[f"{RANKINGS_DIR}{use_case}.json"] = _json({
            "format": FORMAT, "use_case": use_case, "days": USAGE_DAYS,
            "weights": fleet.ranking.weights.model_dump(), "min_samples": fleet.ranking.min_samples,
            "models": [m.as_json() for m in models],
        })
    for model in _model_files(fleet, store, since, until):
        tree[f"{MODELS_DIR}{model['id']}.json"] = _json(model)
    recs = [
        {k: r[k] for k in ("id", "kind", "severity", "title", "sentence", "use_case", "role", "current_model",
                           "recommended_model", "numbers", "status", "verified_by")}
        for r in analytics.recommendations(store)
    ]
    tree[RECOMMENDATIONS] = _json({"format": FORMAT, "recommendations": sorted(recs, key=lambda r: r["id"])})
    tree[README] = _readme(fleet, tree)
    return tree


def _model_files(fleet: Fleet, store: Store, since: str, until: str) -> list[dict[str, Any]]:
    from fleetui.analysis.overview import fleet_overview

    overview = {m["id"]: m for m in fleet_overview(fleet, store)["models"]}
    usage = {t.key: t for t in store.totals("model", since=since, until=until)}
    files = []
    for model in fleet.models:
        seen, used = overview[model.id], usage.get(model.id)
        probe = seen["last_probe"]
        files.append({
            "format": FORMAT,
            "id": model.id, "name": model.name, "provider": model.provider,
            "provider_kind": str(fleet.provider_of(model).kind), "model": model.model,
            "endpoint": fleet.base_url_of(model), "context_window": model.context_window,
            "capabilities": model.capabilities.model_dump(), "roles": seen["roles"],
            "enabled": model.enabled, "tags": model.tags,
            # None is "unpriced": the catalog does not know this model and the fleet sets no price.
            "price_per_mtok": seen["price_per_mtok"],
            "health": None if probe is None else {"status": probe["status"], "last_probe_at": probe["at"],
                                                  "latency_ms": _round(probe["latency_ms"], 1)},
            f"usage_{USAGE_DAYS}d": {
                "calls": used.calls if used else 0,
                "errors": used.errors if used else 0,
                "success_rate": _round(used.success_rate) if used else None,
                "p50_ms": _round(used.p50_ms, 1) if used else None,
                "p95_ms": _round(used.p95_ms, 1) if used else None,
                "cost_usd": _round(used.cost_usd, 6) if used else 0.0,
                "unpriced_calls": used.unpriced_calls if used else 0,
            },
        })
    return files


def _readme(fleet: Fleet, tree: Tree) -> str:
    lines = [f"# {fleet.name}", "",
             f"Shared by fleetui: {len(fleet.models)} models, {len(fleet.rules)} routing rules. "
             f"Edit `{FLEET_FILE}`; the other files are written by `fleetui sync` from the sharer's store.", "",
             f"| model | provider | roles | $/1M in / out | health | calls ({USAGE_DAYS} d) |",
             "|---|---|---|---|---|---|"]
    for path in sorted(p for p in tree if p.startswith(MODELS_DIR)):
        m = json.loads(tree[path])
        price = m["price_per_mtok"]
        shown = "unpriced" if price is None else f"${price['input']:g} / ${price['output']:g} ({price['source']})"
        health = (m["health"] or {}).get("status", "not probed")
        roles = ", ".join(r["name"] for r in m["roles"]) or "—"
        lines.append(f"| {m['name']} (`{m['id']}`) | {m['provider']} | {roles} | {shown} | {health} "
                     f"| {m[f'usage_{USAGE_DAYS}d']['calls']:,} |")
    best = [(p, _top(json.loads(tree[p]))) for p in sorted(p for p in tree if p.startswith(RANKINGS_DIR))]
    if best:
        lines += ["", "## Best model per use case", "", "| use case | model | score | calls |", "|---|---|---|---|"]
        for path, top in best:
            use_case = path.removeprefix(RANKINGS_DIR).removesuffix(".json")
            lines.append(f"| {use_case} | {top[0]} | {top[1]:.1f} | {top[2]:,} |" if top
                         else f"| {use_case} | not enough calls to rank | — | — |")
    return "\n".join(lines) + "\n"


def _top(ranking: Mapping[str, Any]) -> tuple[str, float, int] | None:
    for m in ranking.get("models", []):
        if m.get("rank") == 1 and m.get("score") is not None:
            return m["model"], float(m["score"]), int(m["n"])
    return None


# -- what changed ----------------------------------------------------------------------------------


def describe_changes(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """What moved between two trees, as a commit message says it: "casual_chat: local-llama
    92.5 → 93.1", "+rule casual-to-local", "~model gpt-4o". Empty when nothing changed."""
    changes: list[str] = []
    changes += _fleet_changes(old.get(FLEET_FILE), new.get(FLEET_FILE))
    for path in sorted(p for p in set(old) | set(new) if p.startswith(RANKINGS_DIR)):
        changes += _ranking_change(path, old.get(path), new.get(path))
    changes += _recommendation_changes(old.get(RECOMMENDATIONS), new.get(RECOMMENDATIONS))
    # A model added or removed says so above; here, the files of models that stayed and moved.
    moved = sorted(p for p in set(old) & set(new) if p.startswith(MODELS_DIR) and old[p] != new[p])
    if moved:
        changes.append("updated " + ", ".join(p.removeprefix(MODELS_DIR).removesuffix(".json") for p in moved)
                       + " (price, health or usage)")
    return changes


def _entries(text: str | None, section: str, key: str) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}
    return {str(e.get(key)): e for e in data.get(section, []) if isinstance(e, dict)}


def _fleet_changes(old: str | None, new: str | None) -> list[str]:
    if old == new:
        return []
    if old is None or new is None:
        models, rules = (len(_entries(new or old, section, key)) for section, key in (("models", "id"), ("rules", "name")))
        return [f"{'+' if old is None else '-'}{FLEET_FILE} ({models} models, {rules} rules)"]
    changes = []
    for section, key, word in (("models", "id", "model"), ("rules", "name", "rule"), ("roles", "id", "role")):
        before, after = _entries(old, section, key), _entries(new, section, key)
        changes += [f"+{word} {n}" for n in after if n not in before]
        changes += [f"-{word} {n}" for n in before if n not in after]
        changes += [f"~{word} {n}" for n in after if n in before and after[n] != before[n]]
    return changes or [f"edited {FLEET_FILE} (comments or settings)"]


def _ranking_change(path: str, old: str | None, new: str | None) -> list[str]:
    use_case = path.removeprefix(RANKINGS_DIR).removesuffix(".json")
    before = _top(json.loads(old)) if old else None
    after = _top(json.loads(new)) if new else None
    if new is None:
        return [f"-ranking {use_case}"]
    if after is None or before == after:
        return []
    if before is None:
        return [f"{use_case}: {after[0]} {after[1]:.1f}"]
    if before[0] == after[0]:
        return [] if f"{before[1]:.1f}" == f"{after[1]:.1f}" else [f"{use_case}: {after[0]} {before[1]:.1f} → {after[1]:.1f}"]
    return [f"{use_case}: {before[0]} {before[1]:.1f} → {after[0]} {after[1]:.1f}"]


def _recommendation_changes(old: str | None, new: str | None) -> list[str]:
    def by_id(text: str | None) -> dict[str, dict[str, Any]]:
        return {r["id"]: r for r in json.loads(text)["recommendations"]} if text else {}

    before, after = by_id(old), by_id(new)
    changes = []
    added = [i for i in after if i not in before]
    if added:
        changes.append(f"+{len(added)} recommendation{'s' if len(added) != 1 else ''}")
    changes += [f"{i} {after[i]['status']}" for i in after if i in before and after[i]["status"] != before[i]["status"]]
    return changes


def commit_message(changes: list[str], *, limit: int = 72) -> str:
    """A subject line that fits `limit` ("; +N more" when it does not), then every change."""
    subject = ""
    for index, change in enumerate(changes):
        more = f"; +{len(changes) - index} more"
        candidate = f"{subject}; {change}" if subject else change
        rest = len(changes) - index - 1
        if len(candidate) + (len(f"; +{rest} more") if rest else 0) > limit and subject:
            subject += more
            break
        subject = candidate
    body = "\n".join(f"- {c}" for c in changes)
    return f"{subject or 'fleetui sync'}\n\n{body}\n" if len(changes) > 1 else (subject or "fleetui sync") + "\n"


# -- reading a teammate's tree ---------------------------------------------------------------------


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SharedRankedModel(_Loose):
    model: str
    n: int
    rank: int | None = None
    score: float | None = None
    success_rate: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    cost_per_call: float | None = None
    quality: float | None = None


class SharedRanking(_Loose):
    use_case: str
    models: list[SharedRankedModel]


class SharedModel(_Loose):
    id: str
    name: str | None = None
    provider: str | None = None
    model: str | None = None


_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.json$")


def read_shared(tree: Mapping[str, str], where: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(ranking rows, model metadata) of a teammate's tree, checked; `where` names it in errors."""
    rankings: list[dict[str, Any]] = []
    models: list[dict[str, Any]] = []
    for path in sorted(tree):
        folder, _, name = path.rpartition("/")
        if f"{folder}/" not in (RANKINGS_DIR, MODELS_DIR) or not _SAFE_NAME.match(name):
            continue
        try:
            data = json.loads(tree[path])
            if folder + "/" == RANKINGS_DIR:
                ranking = SharedRanking.model_validate(data)
                rankings += [{"use_case": ranking.use_case, "model_id": m.model,
                              **m.model_dump(exclude={"model"})} for m in ranking.models]
            else:
                SharedModel.model_validate(data)
                models.append(data)
        except (ValueError, ValidationError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SyncError(f"{where}/{path}: not a fleetui {folder.rstrip('s')} file ({first}); nothing imported") from None
    return rankings, models
