"""The gateway as an importable ASGI app, for running it under other servers than `fleetui serve`
does (bench_gateway.py --servers): `granian --interface asgi gateway_app:app`, `uvicorn
gateway_app:app --http h11 --loop asyncio`. Reads BENCH_FLEET, BENCH_DB and BENCH_PORT."""

from __future__ import annotations

import os
from pathlib import Path

from fleetui.config.fleetfile import load_fleet
from fleetui.serve.server import ServeOptions, build_gateway

_fleet = Path(os.environ["BENCH_FLEET"])
app = build_gateway(load_fleet(_fleet), ServeOptions(
    port=int(os.environ.get("BENCH_PORT", "4141")), token=os.environ.get("FLEETUI_SERVE_TOKEN"),
    fleet_path=_fleet, db_path=Path(os.environ["BENCH_DB"]), write_status_file=False))
