"""`fleetui serve`: the local gateway for apps in any language."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from fleetui.cli.context import CliContext, CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the local gateway: OpenAI and Anthropic endpoints that route and record every call",
        description=(
            "Serve /v1/chat/completions, /v1/responses, /v1/embeddings, /v1/models, /v1/messages and "
            "/v1/messages/count_tokens in the providers' own wire formats, so that any app or agent "
            "that takes a base URL is routed by the fleet's rules and recorded in fleetui's store:\n"
            "  OPENAI_BASE_URL=http://127.0.0.1:4141/v1   ANTHROPIC_BASE_URL=http://127.0.0.1:4141\n"
            "A model may be named by fleet model id, role, provider model name, or fleetui/auto. "
            "Clients send the gateway token (if any) as their API key; the fleet's own keys (keyring "
            "or env) go only to their providers. Also: /route, /metrics, /health, "
            "/v1/fleetui/calls/ID/feedback. Headers x-fleetui-app, -task, -user, -session and -tags "
            "are recorded with the call."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; any other needs a token)")
    parser.add_argument("--port", type=int, default=4141, help="port (default 4141)")
    parser.add_argument("--token", help="the token clients must send as their API key (default: "
                                        "$FLEETUI_SERVE_TOKEN; prefer the env var: options show in `ps`)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.serve import ServeError, ServeOptions, serve

    if not 0 < args.port < 65536:
        raise CliError(f"--port {args.port}: choose a port from 1 to 65535", exit_code=1)
    source = ctx.fleet_source()
    fleet = ctx.fleet()
    options = ServeOptions(
        host=args.host, port=args.port, token=args.token or os.environ.get("FLEETUI_SERVE_TOKEN") or None,
        fleet_path=None if source.is_sample else source.path, db_path=ctx.db_path(),
    )
    host = f"[{args.host}]" if ":" in args.host else args.host

    def ready() -> None:
        base = f"http://{host}:{args.port}"
        print(f"fleetui serve: {base}  (fleet {source.path}, store {options.db_path})", file=sys.stderr)
        print(f"  OPENAI_BASE_URL={base}/v1  ANTHROPIC_BASE_URL={base}"
              + ("  (clients send the token as their API key)" if options.token else ""), file=sys.stderr)

    try:
        serve(fleet, options, on_ready=ready)
    except ServeError as exc:
        raise CliError(str(exc), exit_code=1) from None
    return 0
