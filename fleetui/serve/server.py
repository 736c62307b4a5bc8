"""Put the gateway on a socket: uvicorn with httptools and uvloop (`benchmarks/bench_gateway.py`
measures it against the alternatives), one process, the socket bound here first so that a port
in use is one clear error instead of a server log."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetui.config.schema import Fleet


class ServeError(Exception):
    """The gateway cannot start; the message says why and what to do."""


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 4141
    token: str | None = None
    fleet_path: Path | None = None  # re-read when it changes; None: the fleet as given
    db_path: Path | None = None
    write_status_file: bool = True


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(options: ServeOptions) -> None:
    if not is_loopback(options.host) and not options.token:
        raise ServeError(
            f"refusing to listen on {options.host} without a token: anyone who can reach it could spend "
            "the fleet's keys. Set one with --token or $FLEETUI_SERVE_TOKEN, or stay on 127.0.0.1")


def build_gateway(fleet: Fleet, options: ServeOptions, *, transport: Any = None) -> Any:
    """The ASGI app, its router and recorder wired together (also what the tests serve)."""
    from fleetui import locations
    from fleetui.routing.router import Router
    from fleetui.serve.app import Gateway, GatewaySettings
    from fleetui.serve.status import GatewayStats
    from fleetui.serve.upstream import Upstreams
    from fleetui.shim.recorder import Recorder

    db_path = options.db_path or locations.default_db()
    recorder = Recorder(db_path, fleet_path=options.fleet_path, source="fleetui-serve")

    def log_decision(decision: Any) -> None:
        import time

        recorder.record(("decision", decision.decision_id, (time.time(), decision)))

    if options.fleet_path is not None:
        router = Router.from_toml(options.fleet_path, on_decision=log_decision)
    else:
        router = Router(fleet, on_decision=log_decision)
    router.watch_health(db_path)  # probes by `fleetui probe --watch` or the app; none yet is fine
    router.watch_budget(db_path)  # past warn or critical, learned rules step down to cheaper models
    settings = GatewaySettings(token=options.token, loopback=is_loopback(options.host),
                               write_status_file=options.write_status_file)
    url = f"http://{options.host}:{options.port}"
    return Gateway(router, Upstreams(transport=transport), recorder, settings, GatewayStats(url), db_path=db_path)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
                         "is another gateway running? Choose another port with --port") from None
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: Any, **extra: Any) -> Any:
    import uvicorn

    # timeout_keep_alive: uvicorn's 5 s default is exactly httpx's (the openai and anthropic SDKs')
    # own keep-alive expiry, so a client would hand a request to a connection the gateway closes
    # at that same moment (a reset, the client's ReadError: seen in the loopback load test). A
    # server must keep idle connections longer than its clients do; Go's default is 90 s.
    return uvicorn.Config(app, loop="uvloop", http="httptools", lifespan="on", access_log=False,
                          log_level="warning", server_header=False, timeout_keep_alive=120,
                          timeout_graceful_shutdown=5, **extra)  # a stream left open must not hold up Ctrl-C


def serve(fleet: Fleet, options: ServeOptions, *, on_ready: Any = None) -> None:
    """Run until interrupted (Ctrl-C, SIGTERM)."""
    import uvicorn

    check_bind(options)
    sock = bind(options.host, options.port)
    app = build_gateway(fleet, options)
    server = uvicorn.Server(uvicorn_config(app))
    if on_ready is not None:
        on_ready()
    server.run(sockets=[sock])
