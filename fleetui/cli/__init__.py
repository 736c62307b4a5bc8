"""The `fleetui` command.

Each subcommand lives in its own module in this package and is found by discovery: a module
that defines ``register(subparsers)`` adds its parser there and sets ``run`` as the handler
(``run(args, ctx) -> int``). Modules import anything heavy inside ``run`` so that
``fleetui --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from fleetui import __version__
from fleetui.cli.context import CliContext, CliError

_NOT_COMMANDS = {"context", "output", "prompting"}


def _command_modules() -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_COMMANDS]
    return sorted(names)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleetui",
        description=(
            "Manage a fleet of LLM models: health, usage, costs, rankings and routing.\n"
            "With no command: the terminal app in a terminal, `fleetui status` otherwise."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `fleetui COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"fleetui {__version__}")
    _add_global_options(parser, defaults=True)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name in _command_modules():
        module = importlib.import_module(f"fleetui.cli.{name}")
        module.register(subparsers)
    # The global options work after the command too (`fleetui status --demo`); SUPPRESS keeps a
    # subcommand from resetting a value given before it.
    for sub in set(subparsers.choices.values()):
        _add_global_options(sub, defaults=False)
    _remember_parsers(parser)
    return parser


def _remember_parsers(parser: argparse.ArgumentParser) -> None:
    """Each (sub)command's parser leaves itself in the namespace, so that an unknown option is
    reported with the usage of the command it was typed after, not the top-level one."""
    parser.set_defaults(usage_parser=parser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in set(action.choices.values()):
                _remember_parsers(sub)


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    args, extras = parser.parse_known_args(argv)
    if extras:
        args.usage_parser.error(f"unrecognized arguments: {' '.join(extras)}")
    return args


def _add_global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    group = parser.add_argument_group("global options")
    unset = {} if defaults else {"default": argparse.SUPPRESS}
    options: list[tuple[str, dict[str, object]]] = [
        ("--config", {"metavar": "FILE", "help": "fleet file to use (default: $FLEETUI_CONFIG, ./fleet.toml, "
                                                 "then the user config folder)"}),
        ("--db", {"metavar": "FILE", "help": "SQLite store to use (default: $FLEETUI_DB, then the data folder)"}),
        ("--demo", {"action": "store_true", "help": "use the demo database (created with demo traffic on first "
                                                    "use) and, when no fleet file is found, the sample fleet"}),
    ]
    for flag, settings in options:
        # A command may give an option its own meaning after the command (`dryrun --config
        # CANDIDATE`); before the command it is still the global one.
        if flag not in parser._option_string_actions:
            group.add_argument(flag, **settings, **unset)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = _parse(parser, argv)
    if args.command is None:
        # In a terminal, the app; piped or scripted, the plain fleet table.
        default = "tui" if sys.stdout.isatty() and sys.stdin.isatty() else "status"
        args = _parse(parser, [*(argv if argv is not None else sys.argv[1:]), default])
    ctx = CliContext.from_args(args)
    try:
        return int(args.run(args, ctx) or 0)
    except CliError as exc:
        print(f"fleetui: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("fleetui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a file or folder the command needed: said in one line, not a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"fleetui: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
