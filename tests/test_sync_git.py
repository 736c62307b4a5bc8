"""`fleetui sync git` against a real git: a bare repository in a temp folder is the team's remote,
and two teammates with their own fleet files, stores and clones share through it."""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetui.store import Store
from fleetui.store.shared import last_sync, shared_models, shared_rankings
from fleetui.sync.merge import Prefer, merge_text
from tests.syncusers import Teammate, ann_fixture, bob_fixture, lookup_rule  # noqa: F401 - fixtures



@pytest.fixture(autouse=True)
def plain_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user or system git config leaks in; identities come from each teammate's env."""
    config = tmp_path / "gitconfig"
    config.write_text("[init]\n\tdefaultBranch = trunk\n[user]\n\tuseConfigOnly = true\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    path = tmp_path / "team.git"
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    return path


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def remote_file(repo: Path, path: str, branch: str = "main") -> str:
    return git(repo, "show", f"{branch}:{path}")


def test_a_push_writes_a_tree_that_reads_well(ann: Teammate, remote: Path) -> None:
    ann.record_calls("casual_chat", {"local-llama": (40, 900.0), "gpt-4o-mini": (30, 1500.0)})
    result = ann.run("sync", "git", "--repo", str(remote), "--push")
    assert result.code == 0, result.err
    assert "pushed to origin/main" in result.out
    files = set(git(remote, "ls-tree", "-r", "--name-only", "main").split())
    assert {"fleet.toml", "README.md", "recommendations.json", "rankings/casual_chat.json",
            "models/local-llama.json", "models/claude-opus.json"} <= files
    # The fleet file exactly as the user wrote it, comments and all.
    assert remote_file(remote, "fleet.toml") == ann.fleet_file.read_text()
    ranking = json.loads(remote_file(remote, "rankings/casual_chat.json"))
    assert [m["model"] for m in ranking["models"]] == ["local-llama", "gpt-4o-mini"]
    assert ranking["models"][0]["rank"] == 1 and ranking["models"][0]["n"] == 40
    local = json.loads(remote_file(remote, "models/local-llama.json"))
    assert local["price_per_mtok"] == {"input": 0.0, "output": 0.0, "cached": None, "source": "override"}
    assert local["usage_30d"]["calls"] == 40 and local["health"] is None  # never probed: unknown, not "ok"
    opus = json.loads(remote_file(remote, "models/claude-opus.json"))
    assert opus["price_per_mtok"]["source"] == "catalog" and opus["usage_30d"]["calls"] == 0
    readme = remote_file(remote, "README.md")
    assert "| casual_chat | local-llama |" in readme and "Llama 3.2 3B (local)" in readme
    subject = git(remote, "log", "-1", "--format=%s", "main")
    assert "casual_chat: local-llama" in subject and "+fleet.toml (11 models, 6 rules)" in subject
    with Store.open(ann.db) as store:
        sync = last_sync(store)
    assert sync is not None and sync.action == "push" and sync.target.startswith("origin/main")

    again = ann.run("sync", "git", "--repo", str(remote), "--push", "--json")
    assert again.code == 0 and json.loads(again.out)["committed"] is False  # nothing moved, nothing committed
    assert git(remote, "rev-list", "--count", "main").strip() == "1"


def test_the_commit_message_says_what_changed(ann: Teammate, remote: Path) -> None:
    ann.record_calls("casual_chat", {"local-llama": (40, 900.0), "gpt-4o-mini": (30, 1500.0)})
    assert ann.run("sync", "git", "--repo", str(remote), "--push").code == 0
    before = json.loads(remote_file(remote, "rankings/casual_chat.json"))["models"][0]["score"]
    ann.record_calls("casual_chat", {"gpt-4o-mini": (200, 300.0)}, seed=2)  # now fast and well tried
    ann.edit("[[rules]]\nname = \"vision-requests\"", lookup_rule("Ann").strip() + "\n\n[[rules]]\nname = \"vision-requests\"")
    result = ann.run("sync", "git", "--repo", str(remote), "--push")
    assert result.code == 0, result.err
    after = json.loads(remote_file(remote, "rankings/casual_chat.json"))["models"][0]
    message = git(remote, "log", "-1", "--format=%B", "main")
    assert "+rule lookups-local" in message
    assert f"casual_chat: local-llama {before:.1f} → gpt-4o-mini {after['score']:.1f}" in message


def test_two_teammates_share_through_the_remote_and_keep_each_others_comments(
    ann: Teammate, bob: Teammate, remote: Path
) -> None:
    ann.record_calls("casual_chat", {"local-llama": (40, 900.0), "gpt-4o-mini": (30, 1500.0)})
    assert ann.run("sync", "git", "--repo", str(remote), "--push").code == 0

    # Bob has the same starting fleet; his first pull takes Ann's tree and her rankings.
    joined = bob.run("sync", "git", "--repo", str(remote), "--pull", "--push")
    assert joined.code == 0, joined.err
    with Store.open(bob.db) as store:
        shared = shared_rankings(store, "casual_chat")
        models = {m["model_id"]: m for m in shared_models(store)}
    assert [(r["model_id"], r["rank"], r["n"]) for r in shared] == [("local-llama", 1, 40), ("gpt-4o-mini", 2, 30)]
    assert shared[0]["source"] == f"git:{remote}" and shared[0]["published_by"] == "Ann <ann@example.com>"
    assert models["local-llama"]["metadata"]["usage_30d"]["calls"] == 40
    status = bob.run("sync", "status")
    assert "git  push" in status.out and "to origin/main" in status.out
    assert "casual_chat        local-llama" in status.out and f"from git:{remote} (Ann <ann@example.com>)" in status.out
    ranked = bob.run("rank")  # teammates' rankings stand beside one's own
    assert f"shared from git:{remote} (Ann <ann@example.com>): 1. local-llama" in ranked.out
    as_json = json.loads(bob.run("rank", "--json").out)
    assert [r["model_id"] for r in as_json["shared"]["casual_chat"]] == ["local-llama", "gpt-4o-mini"]

    # Each edits a different part of the file, with comments; Bob pushes first.
    bob.edit("[[rules]]\nname = \"hard-thinking\"", "# Bob: deep thinking is rare\n[[rules]]\nname = \"hard-thinking\"")
    bob.fleet_file.write_text(bob.fleet_file.read_text() + lookup_rule("Bob"))
    assert bob.run("sync", "git", "--repo", str(remote), "--push").code == 0
    bobs_commit = git(remote, "rev-parse", "main").strip()
    ann.edit("priority = 20\n", "priority = 25  # Ann: after vision\n")

    refused = ann.run("sync", "git", "--repo", str(remote), "--push")
    assert refused.code == 1 and "has commits you have not pulled" in refused.err
    assert refused.err.count("\n") == 1 and "Traceback" not in refused.err

    merged = ann.run("sync", "git", "--repo", str(remote), "--pull", "--push")
    assert merged.code == 0, merged.err
    text = ann.fleet_file.read_text()
    assert "priority = 25  # Ann: after vision" in text  # her edit
    assert "# Bob: deep thinking is rare" in text and "# Bob: lookups are cheap" in text  # his, comments kept
    assert (ann.home / "fleet.toml.bak").read_text().count("Bob") == 0  # the version before the merge
    assert remote_file(remote, "fleet.toml") == text
    git(remote, "merge-base", "--is-ancestor", bobs_commit, "main")  # his commit is history, not replaced

    back = bob.run("sync", "git", "--repo", str(remote), "--pull")
    assert back.code == 0 and bob.fleet_file.read_text() == text  # both now hold both edits


def test_a_conflict_stops_says_where_and_writes_nothing(ann: Teammate, bob: Teammate, remote: Path) -> None:
    assert ann.run("sync", "git", "--repo", str(remote), "--push").code == 0
    assert bob.run("sync", "git", "--repo", str(remote), "--pull").code == 0
    ann.edit("priority = 50\n", "priority = 45\n")
    assert ann.run("sync", "git", "--repo", str(remote), "--push").code == 0
    bob.edit("priority = 50\n", "priority = 70\n")
    mine = bob.fleet_file.read_text()
    line = mine[: mine.index("priority = 70")].count("\n") + 1

    result = bob.run("sync", "git", "--repo", str(remote), "--pull", "--push")
    assert result.code == 1
    assert f"{bob.fleet_file}:{line} in [[rules]] casual-to-local" in result.err
    assert "--prefer" in result.err and result.err.count("\n") == 1
    assert bob.fleet_file.read_text() == mine and "<<<<<<<" not in mine
    assert "priority = 45" in remote_file(remote, "fleet.toml")  # Ann's push untouched

    settled = bob.run("sync", "git", "--repo", str(remote), "--pull", "--push", "--prefer", "ours")
    assert settled.code == 0, settled.err
    assert "priority = 70" in bob.fleet_file.read_text() and "priority = 70" in remote_file(remote, "fleet.toml")


def test_a_merge_that_would_break_the_fleet_writes_nothing(ann: Teammate, bob: Teammate, remote: Path) -> None:
    assert ann.run("sync", "git", "--repo", str(remote), "--push").code == 0
    assert bob.run("sync", "git", "--repo", str(remote), "--pull").code == 0
    # Ann retires gemini-pro's rule target; Bob adds a rule that needs it. Textually clean, invalid together.
    ann.edit('model = "gemini-pro"\n', 'model = "gpt-4-turbo"\n')
    text = ann.fleet_file.read_text()
    start = text.index('[[models]]\nid = "gemini-pro"')
    end = text.index("[[models]]", start + 10)
    ann.fleet_file.write_text(text[:start] + text[end:])
    assert ann.run("sync", "git", "--repo", str(remote), "--push").code == 0, "Ann's fleet is valid alone"
    bob.fleet_file.write_text(bob.fleet_file.read_text() + lookup_rule("Bob", model="gemini-pro"))
    mine = bob.fleet_file.read_text()
    result = bob.run("sync", "git", "--repo", str(remote), "--pull")
    assert result.code == 1 and "would make the fleet file invalid" in result.err and "gemini-pro" in result.err
    assert bob.fleet_file.read_text() == mine


def test_a_remote_that_is_not_a_repository(ann: Teammate, tmp_path: Path) -> None:
    result = ann.run("sync", "git", "--repo", str(tmp_path / "nowhere.git"), "--push")
    assert result.code == 1 and "is not a git repository you can reach" in result.err
    assert result.err.count("\n") == 1


def test_no_network(ann: Teammate) -> None:
    result = ann.run("sync", "git", "--repo", "http://127.0.0.1:9/team.git", "--pull")
    assert result.code == 1 and "cannot reach http://127.0.0.1:9/team.git" in result.err


class _AskForPassword(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="team"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def private_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AskForPassword)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/team.git"
    server.shutdown()
    server.server_close()


def test_wrong_credentials(ann: Teammate, private_server: str) -> None:
    before = ann.fleet_file.read_text()
    result = ann.run("sync", "git", "--repo", private_server, "--pull", "--push")
    assert result.code == 1 and "refused your git credentials" in result.err and "credential helper" in result.err
    assert ann.fleet_file.read_text() == before


def test_without_a_git_identity_it_says_how_to_set_one(remote: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fleetui.cli import main

    fleet = tmp_path / "fleet.toml"
    fleet.write_bytes((Path(__file__).resolve().parent.parent / "sample_fleet.toml").read_bytes())
    code = main(["--config", str(fleet), "--db", str(tmp_path / "x.db"), "sync", "git", "--repo", str(remote)])
    err = capsys.readouterr().err
    assert code == 1 and "git config --global user.name" in err


def test_the_remote_and_branch_come_from_the_fleet_file(ann: Teammate, remote: Path) -> None:
    ann.fleet_file.write_text(ann.fleet_file.read_text() + f'\n[sync]\ngit = "{remote}"\nbranch = "fleet"\n')
    assert ann.run("sync", "git", "--push").code == 0
    assert git(remote, "branch", "--list").split() == ["fleet"]


def test_no_remote_anywhere(ann: Teammate) -> None:
    result = ann.run("sync", "git")
    assert result.code == 2 and "no git remote: pass --repo" in result.err


def test_a_password_in_the_remote_url_is_refused_in_the_fleet_file(ann: Teammate) -> None:
    ann.fleet_file.write_text(ann.fleet_file.read_text() + '\n[sync]\ngit = "https://ann:hunter2@git.example.com/team.git"\n')
    result = ann.run("sync", "git")
    # A fleet file with a problem is exit 1 everywhere (`fleetui validate`, every command that loads it).
    assert result.code == 1 and "carries a password or token" in result.err and "hunter2" not in result.err


def test_merge_text_keeps_both_sides_and_reports_conflict_lines() -> None:
    base = "# top\n[a]\nx = 1\n\n[b]\ny = 2\n"
    ours = "# top, mine\n[a]\nx = 1\n\n[b]\ny = 3\n"
    theirs = "# top\n[a]\nx = 5\n\n[b]\ny = 2\n"
    assert merge_text(ours, base, theirs).text == "# top, mine\n[a]\nx = 5\n\n[b]\ny = 3\n"
    clash = merge_text(ours, base, "# top\n[a]\nx = 1\n\n[b]\ny = 4\n")
    assert clash.text is None and [(c.line, c.table) for c in clash.conflicts] == [(6, "[b]")]
    assert merge_text(ours, base, "# top\n[a]\nx = 1\n\n[b]\ny = 4\n", prefer=Prefer.THEIRS).text.endswith("y = 4\n")


def test_apply_syncs_when_the_fleet_file_asks(ann: Teammate, remote: Path) -> None:
    from fleetui.analysis.recommend import Recommendation, store_recommendations

    ann.fleet_file.write_text(ann.fleet_file.read_text() + f'\n[sync]\ngit = "{remote}"\nafter_apply = true\n')
    rec = Recommendation(kind="cheaper_model", severity="high", title="Route casual chat to the local model",
                         sentence="local-llama serves casual_chat as well for $0", numbers={},
                         use_case="casual_chat", current_model="gpt-4o-mini", recommended_model="local-llama")
    assert ann.run("sync", "git", "--push").code == 0
    with Store.open(ann.db) as store:
        store_recommendations(store, [rec])
    result = ann.run("apply", rec.id, "--yes")
    assert result.code == 0, result.err
    assert "sync to origin/main: " in result.err and "pushed to origin/main" in result.err
    message = git(remote, "log", "-1", "--format=%B", "main")
    assert "+rule use-local-llama-for-casual_chat" in message
    recs = json.loads(remote_file(remote, "recommendations.json"))["recommendations"]
    assert [(r["id"], r["status"]) for r in recs] == [(rec.id, "applied")]


def test_sync_now_reports_each_place(ann: Teammate, tmp_path: Path) -> None:
    ann.fleet_file.write_text(ann.fleet_file.read_text() + f'\n[sync]\ngit = "{tmp_path / "gone.git"}"\n')
    result = ann.run("sync", "now")
    assert result.code == 1 and "origin/main: " in result.err and "is not a git repository" in result.err
    ann.fleet_file.write_bytes((Path(__file__).resolve().parent.parent / "sample_fleet.toml").read_bytes())
    nowhere = ann.run("sync", "now")
    assert nowhere.code == 2 and "nowhere to sync" in nowhere.err


async def test_the_app_syncs_on_its_key_and_shows_the_last_sync(
    ann: Teammate, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textual.widgets import Static

    from fleetui.config.fleetfile import FleetSource
    from fleetui.tui.app import FleetApp
    from fleetui.tui.data import Session
    from tests.test_tui import SIZE, settle

    ann.fleet_file.write_text(ann.fleet_file.read_text() + f'\n[sync]\ngit = "{remote}"\n')
    Store.open(ann.db).close()
    for key in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(key, "Ann")
    for key in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(key, "ann@example.com")
    app = FleetApp(Session(FleetSource(ann.fleet_file, "--config"), ann.db, demo=False), refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "synced" not in str(app.query_one("#fleet-totals", Static).render())
        await pilot.press("y")
        await settle(app, pilot, timeout=60)
        assert "synced just now to origin/main" in str(app.query_one("#fleet-totals", Static).render())
    assert "+fleet.toml" in git(remote, "log", "-1", "--format=%s", "main")


def test_a_first_pull_merges_with_the_sample_both_started_from(ann: Teammate, bob: Teammate, remote: Path) -> None:
    ann.edit("priority = 50\n", "priority = 45  # Ann: before long documents\n")
    assert ann.run("sync", "git", "--repo", str(remote), "--push").code == 0
    # Bob has never synced; his fleet is the sample with one change of his own elsewhere.
    bob.edit("priority = 20\n", "priority = 21\n")
    result = bob.run("sync", "git", "--repo", str(remote), "--pull", "--push")
    assert result.code == 0, result.err
    text = bob.fleet_file.read_text()
    assert "priority = 45  # Ann: before long documents" in text and "priority = 21\n" in text
    assert remote_file(remote, "fleet.toml") == text


def test_a_token_in_the_remote_url_is_refused_and_kept_nowhere(ann: Teammate) -> None:
    result = ann.run("sync", "git", "--repo", "https://ann:s3cr3t-token@127.0.0.1:9/team.git", "--push")
    assert result.code == 1 and "carries a password or token" in result.err and "s3cr3t" not in result.err
    assert not (ann.home / "data" / "sync").exists()
    with Store.open(ann.db) as store:
        assert "s3cr3t" not in json.dumps(list(store.db.query("SELECT * FROM syncs")))
