"""50 endpoints probed concurrently, in about the time of the slowest, vs one after another.

    python benchmarks/bench_probe.py [--endpoints 50]

Each endpoint is a loopback server (tests/fakeproviders) whose model list takes 50–500 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fleetui.config.fleetfile import parse_fleet  # noqa: E402
from fleetui.probes import probe_fleet  # noqa: E402
from tests.fakeproviders import FakeProviders  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoints", type=int, default=50)
    args = parser.parse_args()
    n = args.endpoints
    delays = [0.05 + 0.45 * i / max(1, n - 1) for i in range(n)]
    servers = [FakeProviders(keys={"openai": ""}, list_delay_s=d).start() for d in delays]
    text = "".join(
        f'[[providers]]\nid = "p{i}"\nkind = "openai-compatible"\nbase_url = "{s.url("openai")}"\n'
        f'[[models]]\nid = "m{i}"\nname = "M{i}"\nprovider = "p{i}"\nmodel = "fake-small"\n'
        for i, s in enumerate(servers)
    )
    try:
        for concurrency in (n, 1):
            fleet = parse_fleet(text + f"[probes]\ntimeout_s = 5\nconcurrency = {concurrency}\n")
            started = time.perf_counter()
            outcomes = asyncio.run(probe_fleet(fleet))
            elapsed = time.perf_counter() - started
            online = sum(o.status == "online" for o in outcomes)
            label = "concurrent" if concurrency > 1 else "one by one"
            print(f"{label:>11}: {n} endpoints in {elapsed:6.2f} s ({online} online)")
        print(f"slowest endpoint: {max(delays):.2f} s; sum of all: {sum(delays):.2f} s; cores: {os.cpu_count()}")
    finally:
        for s in servers:
            s.stop()


if __name__ == "__main__":
    main()
