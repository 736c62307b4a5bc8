"""Use-case discovery: keyword labels, clusters, stability and the user's curation."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest

from fleetui.analysis.classify import Classifier
from fleetui.analysis.discover import discover
from fleetui.cli import main
from fleetui.config.fleetfile import load_fleet
from fleetui.privacy import prompt_hash
from fleetui.store import CallRecord, Store, analytics
from tests.conftest import SAMPLE_FLEET

FAMILIES = {
    "food": ["what is on the {} menu?", "is {} open on sunday?", "vegetarian options at {}?"],
    "code": ["write a python function to {}", "refactor this python module to {}", "unit test for code that {}"],
    "joke": ["tell me a joke about {}", "a funny joke about {} please", "joke about {} for my team"],
}
FILL = {"food": ["chipotle", "panera", "sweetgreen", "nandos", "pret"],
        "code": ["parse csv files", "retry requests", "read json config", "stream big files", "paginate results"],
        "joke": ["cats", "kubernetes", "accountants", "mondays", "coffee"]}


def seeded_store(n: int = 600, use_case: bool = False) -> Store:
    rng = random.Random(4)
    store = Store.memory()
    calls = []
    for i in range(n):
        family = list(FAMILIES)[i % 3]
        prompt = rng.choice(FAMILIES[family]).format(rng.choice(FILL[family]))
        calls.append(CallRecord(ts=time.time() - i, model_id=rng.choice(["gpt-4", "gpt-4o-mini"]), prompt=prompt,
                                prompt_hash=prompt_hash(prompt), use_case=family if use_case else None, cost_usd=0.01))
    store.insert_calls(calls)
    return store


def test_keyword_classifier_is_quick_and_editable() -> None:
    classifier = Classifier()
    assert classifier.classify("What's on the Chipotle menu?") == "food_dining"
    assert classifier.classify("Why does my python script raise KeyError?") == "debugging"
    assert classifier.classify("zzz qqq") == "other"
    from fleetui.config.schema import UseCaseRule

    custom = Classifier([UseCaseRule(id="billing", keywords=["invoice", "refund"])])
    assert custom.classify("where is my refund?") == "billing"


@pytest.mark.slow
def test_keyword_pass_labels_calls_and_rollups_follow() -> None:
    store = seeded_store()
    result = discover(load_fleet(SAMPLE_FLEET), store, None)
    assert result.labelled == 600
    assert store.db.execute("SELECT COUNT(*) FROM calls WHERE use_case IS NULL").fetchone()[0] == 0
    by_case = {t.key: t.calls for t in store.totals("use_case")}
    assert sum(by_case.values()) == 600 and None not in by_case
    assert by_case["coding"] == 200
    # "is X open on sunday?" reads as a quick lookup to the keyword rules, the menus as food
    assert by_case["food_dining"] + by_case["quick_lookup"] >= 200
    assert by_case["casual_chat"] >= 150


def test_clusters_find_the_families_and_are_stable_across_runs() -> None:
    store = seeded_store(use_case=True)
    fleet = load_fleet(SAMPLE_FLEET)
    first = discover(fleet, store, None, k=3)
    assert len(first.clusters) == 3
    family_of = {t.format(x): f for f, templates in FAMILIES.items() for t in templates for x in FILL[f]}
    for cluster in first.clusters:
        families = {family_of[e] for e in cluster.examples}
        assert len(families) == 1, f"{cluster.id} mixes {families}"
        assert cluster.calls == 200 and sum(cluster.models.values()) == 200
    target = first.clusters[0].id
    analytics.rename_use_case(store, target, "My favourite")
    again = discover(fleet, store, None, k=3)
    assert {c.id for c in again.clusters} == {c.id for c in first.clusters}
    assert next(c for c in again.clusters if c.id == target).name == "My favourite"


def test_prompts_kept_only_as_hashes_cannot_be_clustered(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with Store.open(db) as store:
        store.insert_calls([CallRecord(model_id="m", prompt_hash=f"{i:016x}") for i in range(50)])
    assert main(["--config", str(SAMPLE_FLEET), "--db", str(db), "discover"]) == 0
    assert "cannot be clustered" in capsys.readouterr().out


def test_cli_discover_and_curate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "d.db"
    source = seeded_store(use_case=True)
    with Store.open(db) as store:
        store.insert_calls(source.iter_calls())
    args = ["--config", str(SAMPLE_FLEET), "--db", str(db)]
    assert main([*args, "discover", "--k", "3", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    ids = [c["id"] for c in found["use_cases"]]
    assert len(ids) == 3
    assert main([*args, "usecase", "merge", ids[1], ids[0]]) == 0
    assert main([*args, "usecase", "pin", ids[0]]) == 0
    assert main([*args, "usecase", "rename", "nope", "x"]) == 2
    capsys.readouterr()
    assert main([*args, "usecase", "list"]) == 0
    listing = capsys.readouterr().out
    assert f"merged into {ids[0]}" in listing and "[pinned]" in listing


# Families that share the filler words ("does", "write", "open") which once named one cluster
# "does_open — does / open / write" and put cover letters with library hours.
MIXED = {
    "cover_letter": ["Write a cover letter for a {job} job at {company}.", "Can you write me a cover letter for the {job} opening at {company}?",
                     "Draft a short cover letter for a {job} role."],
    "library_hours": ["When does the {library} library open?", "Does the {library} library open on Sunday?",
                      "What are the opening hours of the {library} library?"],
    "code_errors": ["Why does my {language} code fail with {error}?", "How do I fix {error} in {language}?",
                    "Write a {language} test that reproduces {error}."],
}
SLOTS = {"job": ["nurse", "barista", "data analyst", "teacher", "welder", "pilot"],
         "company": ["Acme", "Globex", "Initech", "Umbrella"],
         "library": ["Boston public", "county", "university", "Carnegie", "main street"],
         "language": ["Python", "Rust", "Go", "Java"],
         "error": ["KeyError", "a segfault", "a deadlock", "'too many open files'"]}


def mixed_store(seed: int = 5) -> tuple[Store, dict[str, str]]:
    rng = random.Random(seed)
    family_of: dict[str, str] = {}
    calls = []
    for i in range(1500):
        family = list(MIXED)[i % 3]
        prompt = rng.choice(MIXED[family])
        while "{" in prompt:
            slot = prompt[prompt.index("{") + 1 : prompt.index("}")]
            prompt = prompt.replace("{" + slot + "}", rng.choice(SLOTS[slot]), 1)
        family_of[prompt_hash(prompt)] = family
        calls.append(CallRecord(ts=time.time() - i, model_id="m", prompt=prompt, prompt_hash=prompt_hash(prompt), use_case=family))
    for i in range(300):  # a fixed prompt asked often, sharing no word with the rest
        calls.append(CallRecord(ts=time.time() - i, model_id="m", prompt="ping: reply OK if you are alive",
                                prompt_hash=prompt_hash("ping: reply OK if you are alive"), use_case="heartbeat"))
    family_of[prompt_hash("ping: reply OK if you are alive")] = "heartbeat"
    store = Store.memory()
    store.insert_calls(calls)
    return store, family_of


def test_different_families_never_share_a_cluster_and_names_are_not_filler() -> None:
    from fleetui.analysis.text_clusters import STOPWORDS

    store, family_of = mixed_store()
    found = discover(load_fleet(SAMPLE_FLEET), store, None)
    assert found.clusters
    for cluster in found.clusters:
        families = {family_of[h] for h in cluster.prompt_hashes}
        assert len(families) == 1, f"{cluster.name!r} mixes {families}"
        for part in cluster.name.split(" / "):
            assert not set(part.split()) <= STOPWORDS, f"{cluster.name!r} is named by filler"
        assert not {"does", "write", "open"} & set(cluster.name.split(" / ")), f"{cluster.name!r} has a bare filler word"
    covered = {family_of[h] for c in found.clusters for h in c.prompt_hashes}
    assert covered == {"cover_letter", "library_hours", "code_errors", "heartbeat"}
    # and cover letters are named for what they are
    letters = max((c for c in found.clusters if family_of[c.prompt_hashes[0]] == "cover_letter"), key=lambda c: c.calls)
    assert "cover letter" in letters.keywords[:3], letters.keywords


def test_a_rerun_of_unchanged_prompts_keeps_ids_and_names_and_folds_merges(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "m.db"
    source, _ = mixed_store()
    with Store.open(db) as store:
        store.insert_calls(source.iter_calls())
    args = ["--config", str(SAMPLE_FLEET), "--db", str(db)]

    def run_discover() -> list[dict[str, object]]:
        capsys.readouterr()
        assert main([*args, "discover", "--json"]) == 0
        cases: list[dict[str, object]] = json.loads(capsys.readouterr().out)["use_cases"]
        return cases

    first = run_discover()
    assert [(c["id"], c["name"]) for c in run_discover()] == [(c["id"], c["name"]) for c in first]
    a, c = str(first[0]["id"]), str(first[1]["id"])
    # the sequence: rename a to b, then act on b by its new name
    assert main([*args, "usecase", "rename", a, "Job applications"]) == 0
    assert main([*args, "usecase", "pin", "job applications"]) == 0
    assert f"pinned {a}" in capsys.readouterr().out
    assert main([*args, "usecase", "merge", c, "Job applications"]) == 0
    assert f"merged {c} into {a}" in capsys.readouterr().out
    again = run_discover()
    ids = [x["id"] for x in again]
    assert len(ids) == len(set(ids)) and c not in ids
    kept = next(x for x in again if x["id"] == a)
    assert kept["name"] == "Job applications" and kept["pinned"] is True
    assert kept["calls"] == first[0]["calls"] + first[1]["calls"]
    assert main([*args, "usecase", "pin", "no such thing"]) == 2
    assert "no use case 'no such thing'" in capsys.readouterr().err


def test_clusters_not_found_again_are_dropped_unless_the_user_kept_them() -> None:
    store = seeded_store(use_case=True)
    fleet = load_fleet(SAMPLE_FLEET)
    ids = [c.id for c in discover(fleet, store, None, k=3).clusters]
    analytics.pin_use_case(store, ids[0])
    found = {c.id for c in discover(fleet, store, None, k=2).clusters}
    stored = {r["id"] for r in analytics.use_cases(store)}
    assert stored == found | {ids[0]}


def test_prompts_sharing_no_word_stand_alone_or_go_to_other_never_into_a_family() -> None:
    from fleetui.analysis.discover import cluster_prompts

    rows: list[tuple[str, str, int, dict[str, int]]] = []
    for f, templates in FAMILIES.items():
        for t in templates:
            for x in FILL[f]:
                rows.append((f"{f}:{t.format(x)}", t.format(x), 3, {"m": 3}))
    rows.append(("hey", "hey, how's it going?", 900, {"m": 900}))  # asked often, shares no word
    rows += [(f"tail{i}", text, 1, {"m": 1}) for i, text in enumerate(["zebra quartz", "violin harbour", "N/A"])]
    rows += [(f"math{i}", f"what is {i} + {i + 1}?", 2, {"m": 2}) for i in range(6)]  # no content word
    clusters, _, _ = cluster_prompts(sorted(rows, key=lambda r: -r[2]))
    where = {h: c for c in clusters for h in c.prompt_hashes}
    assert where["hey"].prompt_hashes == ["hey"] and where["hey"].name == "hey"
    assert {h for h in where["tail0"].prompt_hashes} == {"tail0", "tail1", "tail2"}
    assert where["tail0"].id == "other" and where["tail0"].name.startswith("other (unlike the rest)")
    assert set(where["math0"].prompt_hashes) == {f"math{i}" for i in range(6)}
    assert where["math0"].name == "“what is N + N?”"
    for family in FAMILIES:
        assert {h.split(":")[0] for h in where[next(h for h in where if h.startswith(family))].prompt_hashes} == {family}


def test_more_calls_of_the_same_kinds_keep_ids_and_names() -> None:
    store, _ = mixed_store()
    fleet = load_fleet(SAMPLE_FLEET)
    before = {c.id: c.name for c in discover(fleet, store, None).clusters}
    more, _ = mixed_store(seed=6)
    store.insert_calls([c for i, c in enumerate(more.iter_calls()) if i % 10 == 0])  # +10%
    after = {c.id: c.name for c in discover(fleet, store, None).clusters}
    assert after == before


def test_a_k_above_the_distinct_prompts_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "k.db"
    with Store.open(db) as store:
        store.insert_calls(seeded_store(use_case=True).iter_calls())
    assert main(["--config", str(SAMPLE_FLEET), "--db", str(db), "discover", "--k", "500"]) == 0
    out = capsys.readouterr().out
    assert "--k 500 asks for as many clusters as the period has distinct prompts with text (45)" in out
