"""`fleetui validate [FILE]`: check a fleet file and report every problem with its line."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext
from fleetui.cli.output import plural


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a fleet file; print every problem with file, line, column and field",
        description="Check a fleet file. Each problem is one line, `file:line:column: field: what is wrong; "
        "what to do`. Exits 0 when the file is valid, 1 when it has problems. A valid file may still get "
        "warnings, e.g. several models sharing one endpoint and provider model name (the logging shim "
        "then records their calls as the first enabled one).",
    )
    parser.add_argument("file", nargs="?", help="fleet file (default: the one fleetui would use)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from pathlib import Path

    from fleetui.config.fleetfile import FleetFileError, format_path, load_fleet

    path = Path(args.file) if args.file else ctx.fleet_source().path
    try:
        fleet = load_fleet(path)
    except FleetFileError as exc:
        if args.json:
            ctx.print_json(
                {
                    "file": str(path),
                    "valid": False,
                    "problems": [
                        {"line": p.line, "column": p.column, "field": format_path(p.path),
                         "path": [str(x) for x in p.path], "message": p.message}
                        for p in exc.problems
                    ],
                }
            )
        else:
            print(exc)
        return 1
    learned_problems, learned_warnings = _learned_problems(fleet, path)
    if learned_problems:
        if args.json:
            ctx.print_json({"file": str(path), "valid": False,
                            "problems": [{"field": f, "message": m} for f, m in learned_problems]})
        else:
            for field, message in learned_problems:
                print(f"{path}: {field}: {message}")
        return 1
    from fleetui.shim.fleetmodels import ambiguous_pairs

    ambiguities = ambiguous_pairs(fleet)
    summary = {
        "file": str(path),
        "valid": True,
        "models": len(fleet.models),
        "providers": len(fleet.providers),
        "roles": len(fleet.roles),
        "rules": len(fleet.rules),
        "warnings": [
            {"endpoint": a.endpoint, "provider_model": a.provider_model, "models": list(a.model_ids),
             "chosen": a.chosen, "message": a.message()}
            for a in ambiguities
        ] + [{"message": w} for w in learned_warnings],
    }
    if args.json:
        ctx.print_json(summary)
    else:
        print(
            f"{path}: valid — {plural(len(fleet.models), 'model')}, {plural(len(fleet.providers), 'provider')}, "
            f"{plural(len(fleet.roles), 'role')}, {plural(len(fleet.rules), 'rule')}"
        )
        for ambiguity in ambiguities:
            print(f"{path}: warning: {ambiguity.message()}")
        for warning in learned_warnings:
            print(f"{path}: warning: {warning}")
    return 0


def _learned_problems(fleet: Any, path: Any) -> tuple[list[tuple[str, str]], list[str]]:
    """Learned rules whose router file is missing, fails its checksum, knows none of the
    fleet's models or cannot reach the rule's target, as (field, message); and warnings for
    routers that were trained on models the fleet does not have."""
    from fleetui.routing.learned.fileformat import RouterFileError

    problems, warnings = [], []
    for rule in fleet.rules:
        if rule.learned is None:
            continue
        from fleetui.routing.learned.decide import load_targets

        try:
            targets = load_targets([rule], path.parent, {m.id for m in fleet.models})
        except RouterFileError as exc:
            problems.append((f"rules[{rule.name}].learned", str(exc)))
            continue
        unknown = [m for m in targets[rule.name].saved_models if m not in {x.id for x in fleet.models}]
        if unknown:
            warnings.append(f"rules[{rule.name}].learned: learned router {rule.learned!r} was also trained on "
                            f"{', '.join(unknown)}, not in the fleet (its calibration assumed them); retrain it "
                            "with --models of this fleet")
    return problems, warnings
