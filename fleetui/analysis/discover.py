"""Discover what people really ask: cluster prompts into use cases, stably across runs.

Two passes. The keyword rules give every unlabelled call a use case (fast, editable in the fleet
file), one distinct prompt at a time. Then the distinct prompts are clustered
(`fleetui.analysis.text_clusters`: TF-IDF, small k-means clusters merged by average linkage
under a size cap, so the data choose k), each cluster named by its distinctive terms and described
by example prompts, keywords, typical length and the models that served it. A re-run maps
clusters onto the use cases it found before (by overlap of their top terms); names a user gave,
merges and pins are kept, and clusters not found again are dropped unless the user kept them.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from fleetui.analysis.classify import classifier_for
from fleetui.config.schema import Fleet
from fleetui.store import Store

MAX_FIT = 20_000  # distinct prompts the vectoriser and k-means are fitted on
MATCH_OVERLAP = 0.3  # share of top terms two clusters need in common to be the same use case


@dataclass
class Cluster:
    id: str
    name: str
    keywords: list[str]
    examples: list[str]
    calls: int
    prompts: int
    typical_chars: int
    models: dict[str, int] = field(default_factory=dict)
    source: str = "cluster"
    pinned: bool = False
    prompt_hashes: list[str] = field(default_factory=list, repr=False)  # members, for measuring; not stored

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        del out["prompt_hashes"]
        return out


@dataclass
class Discovery:
    labelled: int  # calls given a use case by the keyword rules in this run
    k: int
    silhouette: float | None
    clusters: list[Cluster]
    seconds: float
    prompts: int = 0  # distinct prompts with text in the period (the most a --k can ask for)
    phases: dict[str, float] = field(default_factory=dict)  # seconds by phase, for the benchmark


def label_calls(fleet: Fleet, store: Store, since_ts: float | None) -> int:
    """The keyword pass: every call without a use case gets one (rollups follow). Logs repeat
    prompts (100,000 calls held 1,459 distinct in the benchmark): each is classified once."""
    classify = classifier_for(fleet.use_cases).classify
    return store.label_unlabelled({p: classify(p) for p in store.unlabelled_prompts(since_ts)}, since_ts)


def _name(keywords: list[str]) -> str:
    """The top three distinctive terms; a prompt known only by its shape is quoted whole."""
    return " / ".join(k if _TERM.fullmatch(k) else f"“{k}”" for k in keywords[:3]) or "misc"


# A word or a word pair, lower-case: a shape ("what is N% of N?") has its numbers as "N".
_TERM = re.compile(r"(?:(?!N)[^\W\d_])+(?: (?:(?!N)[^\W\d_])+)?")


def _slug(words: list[str]) -> str:
    return re.sub(r"[^a-z0-9]+", "_", "_".join(words[:2]).lower()).strip("_") or "misc"


def cluster_prompts(
    rows: list[tuple[str, str, int, dict[str, int]]], *, k: int | None = None, seed: int = 0
) -> tuple[list[Cluster], int, float | None]:
    """Cluster distinct prompts (hash, text, calls, calls per model) into use cases.

    A distinct prompt weighs the square root of its calls: counted once, a fixed prompt asked
    thousands of times ("ping: reply OK") was absorbed by any neighbour; weighed by its calls,
    a few such prompts pulled one cluster over half the log. The size cap does the rest."""
    import numpy as np

    from fleetui.analysis import text_clusters

    rows = rows[:MAX_FIT]
    texts = [r[1] for r in rows]
    calls = np.array([r[2] for r in rows], dtype=np.int64)
    vectors = text_clusters.vectorise(texts, [r[2] for r in rows])
    found = text_clusters.partition(vectors.matrix, np.sqrt(calls), k=k, seed=seed)
    if found is None:
        return [], 0, None
    labels = found.labels
    keywords_of = text_clusters.distinctive_terms(vectors.counts, labels, vectors.vocabulary)
    clusters = []
    for index in range(found.k):
        members = np.where(labels == index)[0]
        keywords = keywords_of[index]
        by_calls = members[np.argsort(-calls[members], kind="stable")]
        models: Counter[str] = Counter()
        for member in members:
            models.update(rows[member][3])
        chars = sorted(len(texts[m]) for m in members)
        clusters.append(Cluster(
            id=_slug(keywords) if index != found.other else "other",
            name=_name(keywords) if index != found.other else f"other (unlike the rest): {_name(keywords)}",
            keywords=keywords,
            examples=[texts[m] for m in by_calls[:3]], calls=int(calls[members].sum()), prompts=len(members),
            typical_chars=chars[len(chars) // 2], models=dict(models.most_common(5)),
            prompt_hashes=[rows[m][0] for m in members],
        ))
    clusters.sort(key=lambda c: (-c.calls, c.id))
    return clusters, found.k, found.silhouette


def match_existing(clusters: list[Cluster], existing: list[dict[str, Any]]) -> list[Cluster]:
    """Give each cluster the id (and user-given name) of the stored use case it overlaps most;
    a cluster matching a use case the user merged into another joins that one (followed through
    chains of merges), and clusters that end on the same id are folded into one."""
    rows = {r["id"]: r for r in existing}
    taken: set[str] = set()
    for cluster in clusters:
        mine = set(cluster.keywords)
        best_id, best_overlap = None, 0.0
        for row in existing:
            if row["id"] in taken:
                continue
            theirs = set(json.loads(row.get("keywords") or "[]"))
            if not mine or not theirs:
                continue
            overlap = len(mine & theirs) / len(mine | theirs)
            if overlap > best_overlap:
                best_id, best_overlap = row["id"], overlap
        if best_id is not None and best_overlap >= MATCH_OVERLAP:
            cluster.id = best_id
            # A found name stays while its terms are still among the cluster's: a few more
            # calls reorder the top terms, and a name that changes on every run is no name.
            before = str(rows[best_id].get("name") or "")
            if before and all(part.strip("“”") in cluster.keywords for part in before.split(" / ")):
                cluster.name = before
        while cluster.id in taken:
            cluster.id += "_2"
        taken.add(cluster.id)
    for cluster in clusters:
        seen = {cluster.id}
        while (into := (rows.get(cluster.id) or {}).get("merged_into")) and into not in seen:
            cluster.id = into
            seen.add(into)
        stored = rows.get(cluster.id)
        if stored and (stored.get("source") == "user" or stored.get("pinned")):
            cluster.name = stored["name"]
            cluster.pinned = bool(stored.get("pinned"))
    return _fold(clusters)


def _fold(clusters: list[Cluster]) -> list[Cluster]:
    """One cluster per id: the largest keeps its name, keywords and examples; counts add up."""
    by_id: dict[str, Cluster] = {}
    for cluster in sorted(clusters, key=lambda c: -c.calls):
        kept = by_id.get(cluster.id)
        if kept is None:
            by_id[cluster.id] = cluster
            continue
        kept.calls += cluster.calls
        kept.prompts += cluster.prompts
        kept.models = dict(Counter(kept.models) + Counter(cluster.models))
        kept.prompt_hashes = kept.prompt_hashes + cluster.prompt_hashes
    return sorted(by_id.values(), key=lambda c: (-c.calls, c.id))


def discover(fleet: Fleet, store: Store, since_ts: float | None, *, k: int | None = None) -> Discovery:
    started = mark = time.perf_counter()
    phases: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phases[name] = now - mark
        mark = now

    labelled = label_calls(fleet, store, since_ts)
    lap("label")
    rows = store.prompts_for_discovery(since_ts)
    lap("read")
    clusters, count, score = cluster_prompts(rows, k=k)
    lap("cluster")
    from fleetui.store import analytics

    clusters = match_existing(clusters, analytics.use_cases(store))
    analytics.save_discovered_use_cases(store, [c.as_json() for c in clusters], time.time())
    lap("save")
    return Discovery(labelled, count, score, clusters, time.perf_counter() - started, len(rows), phases)
