"""kill -9 a process in the middle of fleet-file saves, N times; count what each kill left.

    python benchmarks/kill_writer.py [N]

Each round starts a process that saves a 200 KB file (with `.bak`) in a loop, kills it at a
random moment after its first save, checks that the file and its backup each hold one whole
version, counts the temp files left, then saves once more and counts what is still left.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleetui.config.writer import write_text  # noqa: E402

SAVER = """
import sys
from fleetui.config.writer import write_text
target, version = sys.argv[1], 0
while True:
    version += 1
    write_text(target, f"version {version}\\n" * 20000 + "end\\n", backup=True)
"""
FIRST = "version 0\n" * 20000 + "end\n"


def whole(path: Path) -> bool:
    lines = path.read_text().splitlines()
    return lines[-1] == "end" and len(set(lines[:-1])) == 1


def main() -> None:
    kills = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    folder = Path(tempfile.mkdtemp())
    target = folder / "fleet.toml"
    write_text(target, FIRST)
    rng = random.Random(1)
    left = still_left = broken = 0
    for _ in range(kills):
        saver = subprocess.Popen([sys.executable, "-c", SAVER, str(target)], cwd=ROOT)
        started = target.stat().st_mtime_ns
        while target.stat().st_mtime_ns == started:
            time.sleep(0.002)
        time.sleep(rng.random() * 0.05)
        saver.send_signal(signal.SIGKILL)
        saver.wait()
        broken += sum(not whole(path) for path in (target, folder / "fleet.toml.bak"))
        left += len(list(folder.glob(".*.tmp")))
        write_text(target, FIRST)
        still_left += len(list(folder.glob(".*.tmp")))
    print(f"{kills} kills: temp files left by the kills {left}, after the next save {still_left}, "
          f"broken files {broken}")


if __name__ == "__main__":
    main()
