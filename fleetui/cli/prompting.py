"""Options shared by the commands that send a prompt (`test`, `compare`)."""

from __future__ import annotations

import argparse
import sys

from fleetui.cli.context import CliError



def add_prompt_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--system", help="system prompt")
    parser.add_argument("--max-tokens", type=int, default=512, help="longest reply (default 512)")
    parser.add_argument("--temperature", type=float, help="sampling temperature")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def read_prompt(given: str | None) -> str:
    """The prompt argument, or stdin when it is '-' or missing and stdin is not a terminal."""
    if given not in (None, "-"):
        return given  # type: ignore[return-value]
    if sys.stdin.isatty():
        raise CliError("no prompt: give one as an argument or pipe it on stdin")
    text = sys.stdin.read().strip()
    if not text:
        raise CliError("the prompt read from stdin is empty")
    return text


def check_models(fleet_ids: set[str], wanted: list[str]) -> None:
    unknown = [m for m in wanted if m not in fleet_ids]
    if unknown:
        raise CliError(f"unknown model {', '.join(map(repr, unknown))}; the fleet has: {', '.join(sorted(fleet_ids))}")
