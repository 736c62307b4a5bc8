"""`fleetui model add|set|enable|disable|remove`: the Add Model tab and the model actions, from a
shell. Every change is validated as a whole fleet, then saved atomically in place (comments
kept, the previous file as FILE.bak)."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext, CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "model",
        help="add, change, enable, disable or remove a model in the fleet file",
        description="Change one model of the fleet file, as the app's Add Model tab and model keys "
        "do: the new fleet is validated first (unknown provider or role, a key pasted where its "
        "name belongs, a model a rule still routes to), then written atomically with comments kept "
        "and FILE.bak, after showing the diff (remove asks first unless --yes). --dry-run shows the diff "
        "only. Check the connection with `fleetui test ID`.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a model")
    add.add_argument("id", help="the model's id in the fleet (letters, digits, . _ -)")
    add.add_argument("--provider", required=True, help="id of a [[providers]] entry")
    add.add_argument("--model", required=True, help="the provider's own model name, e.g. gpt-4o-mini")
    change = actions.add_parser("set", help="change fields of a model (the others stay as they are)")
    change.add_argument("id")
    change.add_argument("--provider", help="id of a [[providers]] entry")
    change.add_argument("--model", help="the provider's own model name")
    for sub in (add, change):
        sub.add_argument("--name", help="display name (default for add: the id)")
        sub.add_argument("--endpoint", help="base URL when it differs from the provider's")
        sub.add_argument("--key", metavar="NAME", help="key reference (keyring entry or env var name), "
                         "when it differs from the provider's; never the key itself")
        sub.add_argument("--context", type=int, metavar="TOKENS", help="context window")
        sub.add_argument("--price", type=float, nargs=2, metavar=("IN", "OUT"),
                         help="USD per 1M input and output tokens (default: the genai-prices catalog)")
        sub.add_argument("--role", action="append", metavar="ROLE[:PRIORITY]",
                         help="a role the model holds (repeatable; for set: replaces the roles)")
        sub.add_argument("--tag", action="append", metavar="TAG", help="a tag (repeatable; for set: replaces)")
    for name, text in (("enable", "route to the model again"), ("disable", "stop routing to the model"),
                       ("remove", "remove the model (refused while a rule or an A/B test names it)")):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("id")
    for sub in actions.choices.values():
        sub.add_argument("--dry-run", action="store_true", help="show the diff, write nothing")
        sub.add_argument("--yes", action="store_true", help="remove: do not ask")
        sub.add_argument("--json", action="store_true", help="print the model as saved, as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from pydantic import ValidationError

    from fleetui.config.schema import Fleet
    from fleetui.config.fleetfile import FleetFileError, fleet_data_problems, fleet_file_text
    from fleetui.config.change import Change
    from fleetui.config.writer import read_text

    source = ctx.own_fleet_source()
    fleet = ctx.fleet()
    data = fleet.model_dump()
    known = [m["id"] for m in data["models"]]
    if args.action == "add":
        if args.id in known:
            raise CliError(f"there is already a model {args.id!r}; change it with `fleetui model set {args.id} …`")
        data["models"].append(_fields(args, {"id": args.id, "name": args.name or args.id}))
    else:
        if args.id not in known:
            raise CliError(f"no model {args.id!r} in {source.path}; models: {', '.join(known) or '(none)'}")
        index = known.index(args.id)
        if args.action == "set":
            data["models"][index] = _fields(args, data["models"][index])
        elif args.action in ("enable", "disable"):
            data["models"][index]["enabled"] = args.action == "enable"
        else:
            del data["models"][index]
    try:
        new_fleet = Fleet.model_validate(data)
        old = read_text(source.path)
        change = Change(source.path, old, fleet_file_text(new_fleet, source.path, base=old), args.id)
    except ValidationError as exc:
        problems = "\n".join(f"  {problem}" for problem in fleet_data_problems(exc, data))
        raise CliError(f"not saved, the fleet would not be valid:\n{problems}") from None
    except FleetFileError as exc:
        raise CliError(str(exc)) from None
    # Removing is the one change that loses what the file said: it asks, as the app does.
    status = ctx.write_change(change, yes=args.yes or args.action != "remove", dry_run=args.dry_run,
                              show=not args.json)
    if status is not None:
        return status
    model = next((m for m in new_fleet.models if m.id == args.id), None)
    if args.json:
        ctx.print_json({"action": args.action, "path": source.path,
                        "model": model.model_dump(mode="json", exclude_none=True) if model else None})
    else:
        done = {"add": "added", "set": "changed", "enable": "enabled", "disable": "disabled", "remove": "removed"}
        print(f"{args.id} {done[args.action]} in {source.path} (previous version: {source.path.name}.bak)")
    return 0


def _fields(args: argparse.Namespace, model: dict[str, Any]) -> dict[str, Any]:
    """`model` (plain data) with the options given on the command line."""
    model = dict(model)
    for option, field in (("provider", "provider"), ("model", "model"), ("name", "name"),
                          ("endpoint", "endpoint"), ("key", "key"), ("context", "context_window")):
        value = getattr(args, option, None)
        if value is not None:
            model[field] = value
    if args.price is not None:
        model["price"] = {"input": args.price[0], "output": args.price[1]}
    if args.role is not None:
        model["roles"] = [_role(text) for text in args.role]
    if args.tag is not None:
        model["tags"] = list(args.tag)
    return model


def _role(text: str) -> dict[str, Any]:
    role, _, priority = text.partition(":")
    if not priority:
        return {"role": role}
    if not priority.isdigit():
        raise CliError(f"--role {text!r}: the priority after ':' is a whole number, e.g. {role}:2")
    return {"role": role, "priority": int(priority)}

