"""Saving a fleet edits the file in place: comments, order and layout of what did not change stay."""

from __future__ import annotations

import difflib
import random
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from fleetui.config.schema import Fleet
from fleetui.config.fleetfile import FleetFileError, dump_fleet, edit_fleet_text, load_fleet, parse_fleet, save_fleet
from fleetui.config.tomledit import update_toml

SAMPLE = Path(__file__).resolve().parent.parent / "sample_fleet.toml"

Edit = Callable[[dict[str, Any]], None]


@pytest.fixture
def fleet_file(tmp_path: Path) -> Path:
    target = tmp_path / "fleet.toml"
    target.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    return target


def edited(fleet: Fleet, edit: Edit) -> Fleet:
    """`fleet` changed through its plain data, validated as a whole (as the TUI's editors do)."""
    data = fleet.model_dump(mode="json", exclude_none=True)
    edit(data)
    return Fleet.model_validate(data)


def save(path: Path, edit: Edit) -> tuple[str, str, Fleet]:
    """Apply `edit` to the fleet in `path` and save it; (text before, text after, fleet saved)."""
    before = path.read_text(encoding="utf-8")
    fleet = edited(load_fleet(path), edit)
    save_fleet(fleet, path)
    after = path.read_text(encoding="utf-8")
    assert load_fleet(path) == fleet, "the saved file reads back as the fleet saved"
    return before, after, fleet


def changes(before: str, after: str) -> tuple[list[str], list[str]]:
    """Lines removed and added, as difflib sees them."""
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


def model(data: dict[str, Any], model_id: str) -> dict[str, Any]:
    return next(m for m in data["models"] if m["id"] == model_id)


def rule(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in data["rules"] if r["name"] == name)


# -- one edit at a time ----------------------------------------------------------------------------


def test_disabling_a_model_adds_one_line_and_keeps_every_comment(fleet_file: Path) -> None:
    before, after, _ = save(fleet_file, lambda d: model(d, "claude-haiku").update(enabled=False))
    removed, added = changes(before, after)
    assert removed == [] and added == ["enabled = false"]
    assert comments(after) == comments(before)
    # The new key sits with claude-haiku's other keys, not in its capabilities table.
    haiku = after[after.index('id = "claude-haiku"'):after.index("[models.capabilities]", after.index('id = "claude-haiku"'))]
    assert "enabled = false" in haiku


def test_enabling_again_changes_exactly_one_line(fleet_file: Path) -> None:
    save(fleet_file, lambda d: model(d, "claude-haiku").update(enabled=False))
    before, after, _ = save(fleet_file, lambda d: model(d, "claude-haiku").update(enabled=True))
    removed, added = changes(before, after)
    assert (removed, added) == (["enabled = false"], ["enabled = true"])


def test_an_unchanged_save_writes_nothing_and_keeps_the_real_previous_version(fleet_file: Path) -> None:
    backup = fleet_file.parent / "fleet.toml.bak"
    backup.write_text("the real previous version\n", encoding="utf-8")
    inode = fleet_file.stat().st_ino
    before, after, _ = save(fleet_file, lambda d: None)
    assert after == before and fleet_file.stat().st_ino == inode, "not even renamed over itself"
    assert backup.read_text(encoding="utf-8") == "the real previous version\n"


def test_editing_a_price_changes_only_that_value_and_keeps_its_header_comment(fleet_file: Path) -> None:
    before, after, fleet = save(fleet_file, lambda d: model(d, "local-llama")["price"].update(output=0.25))
    assert changes(before, after) == (["output = 0.0"], ["output = 0.25"])
    assert "[models.price]   # runs on your own machine" in after
    price = fleet.model("local-llama").price
    assert price is not None and price.output == 0.25


def test_adding_a_price_puts_a_price_table_in_that_model(fleet_file: Path) -> None:
    before, after, _ = save(fleet_file, lambda d: model(d, "gpt-4").update(price={"input": 30, "output": 60}))
    removed, added = changes(before, after)
    assert removed == []
    assert [line for line in added if line] == ["[models.price]", "input = 30.0", "output = 60.0"]
    gpt4 = after[after.index('id = "gpt-4"'):after.index('id = "gpt-4-turbo"')]
    assert "[models.price]" in gpt4


def test_a_whole_number_keeps_its_integer_spelling(fleet_file: Path) -> None:
    before, after, _ = save(fleet_file, lambda d: d["budget"].update(monthly_usd=750.0))
    assert changes(before, after) == (["monthly_usd = 500"], ["monthly_usd = 750"])


def test_removing_a_model_keeps_the_comments_on_the_others(fleet_file: Path) -> None:
    text = fleet_file.read_text(encoding="utf-8")
    # Comments of the user's own, right above the neighbours of the model that goes.
    text = text.replace('[[models]]\nid = "claude-sonnet"', '# sonnet: our main coder\n[[models]]\nid = "claude-sonnet"')
    text = text.replace('[[models]]\nid = "gpt-4"\n', '# gpt-4: being retired\n[[models]]\nid = "gpt-4"\n')
    text = text.replace('context_window = 8192', 'context_window = 8192  # small!')
    fleet_file.write_text(text, encoding="utf-8")

    before, after, _ = save(fleet_file, lambda d: d.update(models=[m for m in d["models"] if m["id"] != "claude-haiku"]))
    removed, added = changes(before, after)
    assert added == []
    assert 'id = "claude-haiku"' in removed and not any(line.startswith("#") for line in removed)
    assert comments(after) == comments(before)
    assert '# gpt-4: being retired\n[[models]]\nid = "gpt-4"\n' in after
    assert "context_window = 8192  # small!" in after


def test_removing_a_model_takes_its_own_comment_with_it(fleet_file: Path) -> None:
    text = fleet_file.read_text(encoding="utf-8")
    text = text.replace('[[models]]\nid = "gpt-4"\n', '# gpt-4: being retired\n[[models]]\nid = "gpt-4"\n')
    fleet_file.write_text(text, encoding="utf-8")
    before, after, _ = save(fleet_file, lambda d: d.update(models=[m for m in d["models"] if m["id"] != "gpt-4"]))
    assert comments(after) == [c for c in comments(before) if c != "# gpt-4: being retired"]
    assert 'id = "gpt-4"' not in after and 'id = "gpt-4-turbo"' in after


def test_removing_the_last_model_keeps_the_routing_rules_introduction(fleet_file: Path) -> None:
    def drop_local(d: dict[str, Any]) -> None:
        d["models"] = [m for m in d["models"] if m["id"] != "local-llama"]
        d["rules"] = [r for r in d["rules"] if r["name"] != "casual-to-local"]

    before, after, _ = save(fleet_file, drop_local)
    assert comments(after) == [c for c in comments(before) if "runs on your own machine" not in c]
    assert "# Routing rules, lowest priority number first." in after
    assert after.index("# Routing rules") < after.index("[[rules]]") and "local-llama" not in after


def test_removing_the_first_model_keeps_the_models_introduction(fleet_file: Path) -> None:
    before, after, _ = save(fleet_file, lambda d: d.update(models=d["models"][1:], budget={"monthly_usd": 500}))
    assert comments(after) == comments(before)
    intro = after.index("# Models. `model` is the provider's own name")
    assert intro < after.index('[[models]]\nid = "claude-sonnet"') and "claude-opus-4-1" not in after


def test_adding_a_model_appends_a_models_table_after_the_last_one(fleet_file: Path) -> None:
    new_model = {
        "id": "mistral-small", "name": "Mistral Small", "provider": "openai", "model": "mistral-small",
        "price": {"input": 0.2, "output": 0.6},
        "capabilities": {"coding": 70, "tools": True},
        "roles": [{"role": "fast-tasks", "priority": 3}],
        "tags": ["new"],
    }
    before, after, fleet = save(fleet_file, lambda d: d["models"].append(new_model))
    removed, added = changes(before, after)
    assert removed == [] and comments(after) == comments(before)
    assert added[:2] == ["[[models]]", 'id = "mistral-small"']
    assert 'roles = [{ role = "fast-tasks", priority = 3 }]' in added
    assert "[models.capabilities]" in added and "[models.price]" in added
    # Defaults are not spelled out: a new model gets what dump_fleet would write, no more.
    assert not any(line.startswith(("enabled", "vision", "json_mode")) for line in added)
    new_block = after[after.index('id = "mistral-small"'):]
    assert new_block.index("[models.price]") < after.index("# Routing rules") - after.index('id = "mistral-small"')
    assert fleet.model("mistral-small").capabilities.coding == 70


def test_editing_a_rules_condition_keeps_its_literal_quotes(fleet_file: Path) -> None:
    before, after, _ = save(fleet_file, lambda d: rule(d, "heartbeats").update(when='task == "ping"'))
    assert changes(before, after) == (["when = 'task == \"heartbeat\"'"], ["when = 'task == \"ping\"'"])


def test_adding_and_removing_rules(fleet_file: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["rules"] = [r for r in d["rules"] if r["name"] != "long-documents"]
        d["rules"].append({"name": "night-shift", "priority": 70, "when": "hour >= 22", "model": "local-llama"})

    before, after, fleet = save(fleet_file, edit)
    removed, added = changes(before, after)
    # (difflib may pair up the blank lines and headers either way, hence sorted)
    assert sorted(line for line in removed if line) == sorted([
        "[[rules]]", 'name = "long-documents"', "priority = 40", 'when = "prompt_length > 4000"',
        'model = "gemini-pro"', 'fallbacks = ["gpt-4-turbo"]',
    ])
    assert sorted(line for line in added if line) == sorted([
        "[[rules]]", 'name = "night-shift"', "priority = 70", 'when = "hour >= 22"', 'model = "local-llama"',
    ])
    assert comments(after) == comments(before)
    # The new rule is the last rule, above the budget section's introduction.
    assert after.index('name = "night-shift"') < after.index("# Budget: a monthly total")
    assert [r.name for r in fleet.rules][-1] == "night-shift"


def test_renaming_a_rule_edits_it_in_place(fleet_file: Path) -> None:
    before, after, _ = save(fleet_file, lambda d: rule(d, "heartbeats").update(name="pings"))
    assert changes(before, after) == (['name = "heartbeats"'], ['name = "pings"'])


def test_changing_roles(fleet_file: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        model(d, "claude-sonnet")["roles"][0]["priority"] = 3
        model(d, "kimi-k2.5")["roles"].append({"role": "general-assistant", "priority": 3})
        d["roles"] = [r for r in d["roles"] if r["id"] != "research-lead"]
        for m in d["models"]:
            m["roles"] = [a for a in m["roles"] if a["role"] != "research-lead"]
        d["roles"].append({"id": "translator", "name": "Translator"})

    before, after, fleet = save(fleet_file, edit)
    removed, added = changes(before, after)
    assert comments(after) == comments(before)
    # A multi-line array stays multi-line, with its own indent.
    assert '  { role = "primary-coder", priority = 3 },' in added
    assert '  { role = "general-assistant", priority = 2 },' not in added + removed
    assert 'roles = [{ role = "default", priority = 1 }, { role = "general-assistant", priority = 3 }]' in added
    assert 'id = "research-lead"' in removed and 'id = "translator"' in added
    assert after.index('id = "translator"') < after.index("# Models. `model`")
    assert [m.id for m in fleet.models_in_role("general-assistant")] == ["gpt-4o-mini", "claude-sonnet", "kimi-k2.5"]


def test_setting_and_clearing_an_optional_value(fleet_file: Path) -> None:
    before, after, _ = save(fleet_file, lambda d: d["recommendations"].update(judge="claude-sonnet"))
    assert changes(before, after) == ([], ['judge = "claude-sonnet"'])
    assert after.index('judge = "claude-sonnet"\n') < after.index("# judge =")
    before, after, _ = save(fleet_file, lambda d: d["recommendations"].pop("judge"))
    assert changes(before, after) == (['judge = "claude-sonnet"'], [])


def test_defaults_written_in_the_file_stay_written(fleet_file: Path) -> None:
    before, after, _ = save(fleet_file, lambda d: d["budget"].update(critical_pct=95))
    assert changes(before, after) == (["critical_pct = 90"], ["critical_pct = 95"])
    assert "warn_pct = 70" in after and "[privacy]\nprompts = \"full\"" in after


def test_renaming_a_model_keeps_its_place_and_comments(fleet_file: Path) -> None:
    def rename(d: dict[str, Any]) -> None:
        model(d, "gpt-4")["id"] = "gpt-4-classic"

    before, after, _ = save(fleet_file, rename)
    assert changes(before, after) == (['id = "gpt-4"'], ['id = "gpt-4-classic"'])


def test_reordering_models_moves_their_comments_along(fleet_file: Path) -> None:
    text = fleet_file.read_text(encoding="utf-8").replace(
        '[[models]]\nid = "gpt-4"\n', '# gpt-4: being retired\n[[models]]\nid = "gpt-4"\n'
    )
    fleet_file.write_text(text, encoding="utf-8")
    before, after, fleet = save(fleet_file, lambda d: d.update(models=list(reversed(d["models"]))))
    assert sorted(comments(after)) == sorted(comments(before))
    assert '# gpt-4: being retired\n[[models]]\nid = "gpt-4"\n' in after
    assert [m.id for m in fleet.models][0] == "local-llama"
    assert after.index("# Models. `model`") < after.index('id = "local-llama"')


def test_the_sample_without_comments_still_saves_in_place(tmp_path: Path) -> None:
    bare = "\n".join(
        line for line in SAMPLE.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#")
    )
    bare = re.sub(r"\s+#.*", "", bare) + "\n"
    target = tmp_path / "fleet.toml"
    target.write_text(bare, encoding="utf-8")
    before, after, _ = save(target, lambda d: model(d, "gpt-4").update(enabled=False, context_window=16384))
    assert changes(before, after) == (["context_window = 8192"], ["context_window = 16384", "enabled = false"])


def test_a_file_written_by_the_old_dump_saves_in_place(tmp_path: Path) -> None:
    target = tmp_path / "fleet.toml"
    target.write_text(dump_fleet(load_fleet(SAMPLE)), encoding="utf-8")
    before, after, _ = save(target, lambda d: rule(d, "hard-thinking").update(priority=65))
    assert changes(before, after) == (["priority = 60"], ["priority = 65"])


def test_a_new_file_gets_a_full_dump(tmp_path: Path) -> None:
    target = tmp_path / "new" / "fleet.toml"
    fleet = load_fleet(SAMPLE)
    save_fleet(fleet, target)
    assert target.read_text(encoding="utf-8").startswith("# fleetui fleet file.")
    assert load_fleet(target) == fleet


def test_an_edit_that_does_not_read_back_is_refused_and_writes_nothing(
    fleet_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fleetui.config.tomledit as tomledit

    def broken(text: str, data: Any, sparse: Any = None, notes: Any = None) -> str:
        return text.replace('name = "sample fleet"', 'name = "not what was asked"')

    monkeypatch.setattr(tomledit, "update_toml", broken)
    before = fleet_file.read_text(encoding="utf-8")
    fleet = edited(load_fleet(fleet_file), lambda d: d.update(name="renamed"))
    with pytest.raises(FleetFileError, match="would not read back as the fleet; nothing written"):
        save_fleet(fleet, fleet_file)
    assert fleet_file.read_text(encoding="utf-8") == before
    assert not (fleet_file.parent / "fleet.toml.bak").exists()


# -- the editor on its own ---------------------------------------------------------------------------


def test_update_toml_matches_entries_by_id_not_position() -> None:
    text = '[[t]]\nid = "a"\nx = 1  # a\n\n# about b\n[[t]]\nid = "b"\nx = 2  # b\n\n# about c\n[[t]]\nid = "c"\nx = 3  # c\n'
    out = update_toml(text, {"t": [{"id": "a", "x": 1}, {"id": "c", "x": 30}]})
    assert out == '[[t]]\nid = "a"\nx = 1  # a\n\n# about c\n[[t]]\nid = "c"\nx = 30  # c\n'


def test_update_toml_handles_an_empty_document() -> None:
    data = {"name": "x", "t": [{"id": "a", "sub": {"k": 1}}], "s": {"v": [1, 2]}}
    assert tomllib.loads(update_toml("", data)) == data


# -- many random edits ---------------------------------------------------------------------------------


def _random_edit(rng: random.Random, d: dict[str, Any]) -> None:
    models, rules = d["models"], d["rules"]
    choice = rng.randrange(12)
    target = rng.choice(models)
    if choice == 0:
        target["enabled"] = not target.get("enabled", True)
    elif choice == 1:
        target["price"] = {"input": round(rng.uniform(0, 20), 3), "output": rng.randrange(0, 80)}
    elif choice == 2:
        target.pop("price", None)
    elif choice == 3:
        target["capabilities"]["speed"] = rng.randrange(0, 101)
    elif choice == 4:
        target["tags"] = rng.sample(["a", "b", "c", "local", "standby"], rng.randrange(0, 4))
    elif choice == 5 and len(models) > 2:
        gone = target["id"]
        d["models"] = [m for m in models if m["id"] != gone]
        d["rules"] = [r for r in rules if r.get("model") != gone]
        for r in d["rules"]:
            r["fallbacks"] = [f for f in r.get("fallbacks", []) if f != gone]
        d["budget"]["per_model"].pop(gone, None)
        if d["recommendations"].get("judge") == gone:
            d["recommendations"].pop("judge")
    elif choice == 6:
        n = rng.randrange(1000)
        models.insert(rng.randrange(len(models) + 1), {
            "id": f"m{n}-{len(models)}", "name": f"Model {n}", "provider": "openai", "model": f"x-{n}",
            "roles": [{"role": rng.choice(d["roles"])["id"], "priority": rng.randrange(1, 4)}],
        })
    elif choice == 7 and rules:
        rng.choice(rules)["when"] = rng.choice(['task == "coding"', "prompt_length > 10", 'user == "ann"'])
    elif choice == 8:
        rules.append({"name": f"r{rng.randrange(10_000)}-{len(rules)}", "when": "hour < 6",
                      "model": rng.choice(models)["id"], "priority": rng.randrange(200)})
    elif choice == 9 and rules:
        rules.pop(rng.randrange(len(rules)))
    elif choice == 10:
        rng.shuffle(models)
    else:
        d["budget"]["monthly_usd"] = rng.choice([None, 10, 99.5, 500])
        if d["budget"]["monthly_usd"] is None:
            d["budget"].pop("monthly_usd")


@pytest.mark.parametrize("seed", range(12))
def test_random_edits_always_round_trip_and_keep_the_section_comments(fleet_file: Path, seed: int) -> None:
    rng = random.Random(seed)
    section_intros = [c for c in comments(fleet_file.read_text(encoding="utf-8")) if set(c) <= {"#", "-", " "}]
    for _ in range(8):
        fleet = load_fleet(fleet_file)
        data = fleet.model_dump(mode="json", exclude_none=True)
        for _ in range(rng.randrange(1, 4)):
            _random_edit(rng, data)
        new = Fleet.model_validate(data)
        text = edit_fleet_text(fleet_file.read_text(encoding="utf-8"), new)
        assert parse_fleet(text) == new
        save_fleet(new, fleet_file)
        saved = fleet_file.read_text(encoding="utf-8")
        assert saved == text, "the in-place edit was written, not a fallback dump"
        assert load_fleet(fleet_file) == new
    # The section rulers (# ----) are never lost, whatever happened to the entries under them.
    assert [c for c in comments(saved) if set(c) <= {"#", "-", " "}] == section_intros


def test_the_full_dump_and_the_edit_hold_the_same_data(fleet_file: Path) -> None:
    fleet = edited(load_fleet(fleet_file), lambda d: model(d, "gpt-4o-mini").update(enabled=False))
    edited_data = Fleet.model_validate(tomllib.loads(edit_fleet_text(fleet_file.read_text(encoding="utf-8"), fleet)))
    dumped = Fleet.model_validate(tomllib.loads(tomli_w.dumps(fleet.model_dump(mode="json", exclude_none=True))))
    assert edited_data == dumped == fleet


def test_a_table_split_over_the_file_is_edited_around_or_refused(tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    # Move [budget.per_model] to the very end, after [probes]: legal TOML, an odd layout.
    per_model = "[budget.per_model]\nclaude-opus = 100\n\n"
    target = tmp_path / "fleet.toml"
    target.write_text(text.replace(per_model, "") + "\n" + per_model, encoding="utf-8")
    before, after, _ = save(target, lambda d: rule(d, "heartbeats").update(priority=21))
    assert changes(before, after) == (["priority = 20"], ["priority = 21"])
    # Changing the split table itself is beyond an in-place edit: refused, nothing lost or written.
    kept = target.read_text(encoding="utf-8")
    fleet = edited(load_fleet(target), lambda d: d["budget"].update(monthly_usd=600))
    with pytest.raises(FleetFileError, match="'budget' is split over several places in the file.*nothing written"):
        save_fleet(fleet, target)
    assert target.read_text(encoding="utf-8") == kept


def test_the_tui_session_saves_in_place(fleet_file: Path, tmp_path: Path) -> None:
    from fleetui.config.fleetfile import FleetSource
    from fleetui.tui.data import Session

    session = Session(FleetSource(fleet_file, "--config"), tmp_path / "usage.db", demo=False)
    before = fleet_file.read_text(encoding="utf-8")
    fleet = session.fleet.model_copy(deep=True)
    fleet.model("deepseek-v3").enabled = False
    session.save(fleet)
    after = fleet_file.read_text(encoding="utf-8")
    assert changes(before, after) == ([], ["enabled = false"])
    assert session.fleet == load_fleet(fleet_file) == fleet
