"""A database locked for 30 s while 4 processes each record 1,000 calls/s: is anything lost?

    python benchmarks/bench_lock.py [--procs 4] [--rate 1000] [--seconds 40] [--lock 30]

Each worker process records `rate` calls a second for `seconds` through the shim, then exits
(the shim flushes at exit). A holder process takes an exclusive lock on the database from
second 5 for `lock` seconds. Afterwards one more process opens the store (draining any spool)
and the script prints calls stored, drops counted and calls unaccounted for (goal: 0 lost).
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_fleet.toml"

WORKER = """
import sys, time
sys.path.insert(0, sys.argv[5])
from fleetui.shim import configure
from fleetui.store import CallRecord
rec = configure(db_path=sys.argv[1], fleet_path=sys.argv[2], interval_s=0.2)
rate, seconds = int(sys.argv[3]), float(sys.argv[4])
start = time.monotonic()
sent = 0
while (now := time.monotonic() - start) < seconds:
    due = int(now * rate)
    while sent < due:
        rec.record(CallRecord(model_id="m", task="bench", input_tokens=10, output_tokens=20))
        sent += 1
    time.sleep(0.005)
print(sent)
"""

HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""

DRAIN = """
import sys
sys.path.insert(0, sys.argv[3])
from fleetui.shim import Recorder
rec = Recorder(sys.argv[1], fleet_path=sys.argv[2], interval_s=0.05)
print(rec.flush(300))
rec.close()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--lock", type=float, default=30)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fleetui-lock-"))
    db = folder / "lock.db"
    sys.path.insert(0, str(ROOT))
    from fleetui.store import Store

    Store.open(db).close()
    started = time.monotonic()
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(db), str(SAMPLE), str(args.rate),
                                 str(args.seconds), str(ROOT)], stdout=subprocess.PIPE, text=True)
               for _ in range(args.procs)]
    time.sleep(5)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), str(args.lock)])
    sent = sum(int(w.communicate()[0].strip() or 0) for w in workers)
    holder.wait()
    exited = time.monotonic() - started
    drained = subprocess.run([sys.executable, "-c", DRAIN, str(db), str(SAMPLE), str(ROOT)],
                             capture_output=True, text=True, check=False)
    conn = sqlite3.connect(db)
    stored = conn.execute("SELECT COUNT(*) FROM calls WHERE task = 'bench'").fetchone()[0]
    counters = dict(conn.execute("SELECT name, value FROM counters").fetchall())
    conn.close()
    dropped = counters.get("shim.dropped", 0)
    print(f"{args.procs} processes × {args.rate} calls/s for {args.seconds:.0f} s, database locked "
          f"{args.lock:.0f} s from second 5 ({time.strftime('%Y-%m-%d')})")
    print(f"  sent {sent:,}  stored {stored:,}  dropped (counted) {dropped:,}  "
          f"lost uncounted {sent - stored - dropped:,}")
    print(f"  workers done after {exited:.1f} s; final drain {drained.stdout.strip()} {drained.stderr.strip()[-200:]}")
    print(f"  other counters: { {k: v for k, v in counters.items() if k != 'shim.dropped'} }")


if __name__ == "__main__":
    main()
