"""A gateway on a loopback port in front of the fake providers, for the `fleetui serve` tests."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetui.config.fleetfile import load_fleet
from fleetui.serve.server import ServeOptions, build_gateway, uvicorn_config
from fleetui.store import Store
from tests.fakeproviders import FakeProviders

FLEET = '''
name = "gateway test"

[[providers]]
id = "oa"
kind = "openai-compatible"
base_url = "{openai}"
key = "FAKE_OPENAI_KEY"

[[providers]]
id = "an"
kind = "anthropic"
base_url = "{anthropic}"
key = "FAKE_ANTHROPIC_KEY"

[[roles]]
id = "default"
name = "Default"

[[roles]]
id = "coder"
name = "Coder"

[[roles]]
id = "writer"
name = "Writer"

[[models]]
id = "small"
name = "Small"
provider = "oa"
model = "fake-small"
roles = [{{ role = "default", priority = 1 }}]
price = {{ input = 1.0, output = 2.0 }}

[[models]]
id = "large"
name = "Large"
provider = "oa"
model = "fake-large"
roles = [{{ role = "coder", priority = 2 }}]
price = {{ input = 10.0, output = 30.0 }}

[[models]]
id = "limited"
name = "Rate limited"
provider = "oa"
model = "fault-429"
roles = [{{ role = "coder", priority = 1 }}]

[[models]]
id = "broken"
name = "Always 500"
provider = "oa"
model = "fault-500"

[[models]]
id = "stalling"
name = "Stalls mid-stream"
provider = "oa"
model = "stall"

[[models]]
id = "slowpoke"
name = "Slow to answer"
provider = "oa"
model = "slow"

[[models]]
id = "claude"
name = "Claude"
provider = "an"
model = "fake-small"
roles = [{{ role = "writer", priority = 2 }}]
price = {{ input = 3.0, output = 15.0 }}

[[models]]
id = "claude-busy"
name = "Claude, overloaded"
provider = "an"
model = "fault-529"
roles = [{{ role = "writer", priority = 1 }}]

[[rules]]
name = "coding"
priority = 10
when = 'task == "coding"'
role = "coder"
'''


@dataclass
class Running:
    url: str
    fake: FakeProviders
    db: Path
    gateway: Any

    def calls(self, wait_for: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The stored calls, oldest first, once at least `wait_for` of them are in."""
        deadline = time.monotonic() + timeout
        while True:
            self.gateway.recorder.flush(5.0)
            with Store.open(self.db) as store:
                rows = [dict(r) for r in store.db.query("SELECT * FROM calls ORDER BY ts, rowid")]
            if len(rows) >= wait_for or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)

    def call(self, call_id: str) -> dict[str, Any]:
        for row in self.calls():
            if row["call_id"] == call_id:
                return row
        raise AssertionError(f"call {call_id} not stored")


def write_fleet(folder: Path, fake: FakeProviders, extra: str = "") -> Path:
    path = folder / "fleet.toml"
    path.write_text(FLEET.format(openai=fake.url("openai"), anthropic=fake.url("anthropic").rstrip("/")) + extra,
                    encoding="utf-8")
    return path


@contextmanager
def running_gateway(folder: Path, fake: FakeProviders, *, token: str | None = None,
                    host: str = "127.0.0.1", extra: str = "") -> Iterator[Running]:
    """`extra`: TOML appended to the fleet file (an [otel] table, …)."""
    import uvicorn

    fleet_path = write_fleet(folder, fake, extra)
    db = folder / "gateway.db"
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    options = ServeOptions(host=host, port=port, token=token, fleet_path=fleet_path, db_path=db)
    app = build_gateway(load_fleet(fleet_path), options)
    server = uvicorn.Server(uvicorn_config(app))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the gateway did not start")
        time.sleep(0.01)
    try:
        yield Running(f"http://127.0.0.1:{port}", fake, db, app)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
