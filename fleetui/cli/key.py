"""`fleetui key set|list|delete`: API keys in the OS keyring; values are never printed."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext, CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "key",
        help="store, check and delete API keys (OS keyring or env vars)",
        description="API keys live in the OS keyring or in env vars, never in the fleet file. "
        "A fleet file names each key (key = \"OPENAI_API_KEY\"); env vars win over the keyring.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    store = actions.add_parser("set", help="store a key in the OS keyring (read without echo)")
    store.add_argument("name", help="the key's name, as the fleet file references it")
    listing = actions.add_parser("list", help="which keys the fleet needs, and where each is found")
    listing.add_argument("--json", action="store_true", help="print as JSON")
    delete = actions.add_parser("delete", help="remove a key from the OS keyring")
    delete.add_argument("name")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui import secrets

    try:
        if args.action == "set":
            problem = secrets.keyring_problem()
            if problem:  # say so before asking for a secret that could not be kept
                raise CliError(f"cannot store {args.name}: {problem}")
            secrets.set_key(args.name, _read_value(args.name))
            print(f"stored {args.name} in the OS keyring")
        elif args.action == "delete":
            if secrets.delete_key(args.name):
                print(f"deleted {args.name} from the OS keyring")
            else:
                print(f"{args.name} was not in the OS keyring")
        else:
            return _list(args, ctx)
    except secrets.SecretsError as exc:
        raise CliError(str(exc)) from None
    return 0


def _read_value(name: str) -> str:
    import getpass
    import sys

    if sys.stdin.isatty():
        value = getpass.getpass(f"{name}: ")
    else:
        value = sys.stdin.readline().strip()
    if not value:
        raise CliError("no key given; nothing stored")
    return value


def _list(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui import secrets

    fleet = ctx.fleet()
    users: dict[str, list[str]] = {}
    for provider in fleet.providers:
        if provider.key:
            users.setdefault(provider.key, []).append(f"provider {provider.id}")
    for model in fleet.models:
        if model.key:
            users.setdefault(model.key, []).append(f"model {model.id}")
    statuses = secrets.key_status(sorted(users))
    problem = secrets.keyring_problem()
    if args.json:
        ctx.print_json(
            {
                "keyring": None if problem is None else problem,
                "keys": [
                    {"name": s.name, "resolves": s.resolves, "source": s.source, "used_by": users[s.name]}
                    for s in statuses
                ],
            }
        )
        return 0
    from fleetui.cli.output import Column, print_table, say

    if problem:
        say(f"note: {problem}")
        print()
    print_table((Column("KEY"), Column("WHERE"), Column("USED BY", wrap=True)),
                [(s.name, f"found ({s.source})" if s.resolves else "MISSING", ", ".join(users[s.name]))
                 for s in statuses])
    missing = [s.name for s in statuses if not s.resolves]
    if missing:
        print("\nSet a missing key with `fleetui key set NAME` or `export NAME=…`.")
    return 0
