"""The TUI on a big store: time to first paint and to switch tabs.

    python benchmarks/bench_tui.py [--db FILE] [--calls 1000000]

Runs the app headless (Textual's run_test) at 120×40. First paint: from creating the app to
its first screen refresh. Tab switch: from the switch (what the tab's key runs) to the new tab
painted; its data then arrives from a worker, and the time until it is filled is printed too.
Each tab is visited three times; a tab loaded less than 10 s ago is not reloaded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from fleetui.demo import generate_demo
from fleetui.config.fleetfile import FleetSource, load_fleet
from fleetui.tui.app import FleetApp
from fleetui.tui.data import Session

SAMPLE = Path(__file__).resolve().parent.parent / "sample_fleet.toml"


async def measure(session: Session) -> None:
    from textual.worker import WorkerState

    started = time.perf_counter()
    app = FleetApp(session, refresh_s=0)
    painted: list[float] = []
    async with app.run_test(size=(120, 40)):
        app.call_after_refresh(lambda: painted.append(time.perf_counter()))
        await asyncio.sleep(0)
        while not painted:
            await asyncio.sleep(0.001)
        first_paint = painted[0] - started

        async def idle() -> float:
            t0 = time.perf_counter()
            while any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers):
                await asyncio.sleep(0.002)
            return time.perf_counter() - t0

        fleet_loaded = first_paint + await idle()
        switches: dict[str, list[float]] = {}
        loads: dict[str, list[float]] = {}
        for _ in range(3):
            for name in ("usage", "costs", "recommendations", "fleet"):
                marks: list[float] = []
                t0 = time.perf_counter()
                # What the tab's key binding runs; Pilot.press would also wait for the tab
                # underline's 0.3 s animation, which is not the app being busy.
                app.action_show_tab(name)
                app.call_after_refresh(lambda m=marks: m.append(time.perf_counter()))
                while not marks:
                    await asyncio.sleep(0.001)
                switches.setdefault(name, []).append((marks[0] - t0) * 1000)
                loads.setdefault(name, []).append((marks[0] - t0) * 1000 + await idle() * 1000)
    print(f"first paint: {first_paint * 1000:.0f} ms (goal ≤ 800 ms); fleet tab filled: {fleet_loaded * 1000:.0f} ms")
    for name in switches:
        print(f"switch to {name:<16} painted {statistics.median(switches[name]):6.1f} ms (goal ≤ 100 ms), "
              f"data filled {statistics.median(loads[name]):7.1f} ms (first visit {loads[name][0]:7.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--calls", type=int, default=1_000_000)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    db = args.db or Path(tmp.name) / "big.db"
    if not db.exists():
        print(f"generating {args.calls:,} demo calls …", flush=True)
        generate_demo(load_fleet(SAMPLE), db, calls=args.calls)
    print(f"cores: {os.cpu_count()}  db: {db}")
    asyncio.run(measure(Session(FleetSource(SAMPLE, "sample"), db, demo=True)))
    tmp.cleanup()


if __name__ == "__main__":
    main()
