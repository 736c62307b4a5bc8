"""Import speed: `fleetui import` of a big llm logs.db and a big LiteLLM spend-log JSONL, against
storing the same, already-read calls with Store.insert_new_calls (the part no importer can skip).

    python benchmarks/bench_import.py [--turns 20000] [--rows 100000]

The llm database starts as one the installed `llm` writes with its echo model (pip install llm
llm-echo); its turns, messages and parts are then copied under new ids to the size asked, so the
schema and its indexes are llm's own. The spend-log rows are the committed LiteLLM fixture rows
under new request ids.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fleetui.cli import main
from fleetui.importers import Found, read
from fleetui.store import Store

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "data" / "litellm"


def make_llm_db(folder: Path, turns: int) -> Path:
    env = {**os.environ, "LLM_USER_PATH": str(folder)}
    llm = [sys.executable, "-m", "llm"]
    subprocess.run([*llm, "-m", "echo", "-s", "be terse", "what is a fleet of models?"], env=env, check=True,
                   capture_output=True)
    subprocess.run([*llm, "-c", "and why keep one?"], env=env, check=True, capture_output=True)
    logs = folder / "logs.db"
    with sqlite3.connect(logs) as conn:
        seed = conn.execute("SELECT count(*) FROM turns").fetchone()[0]
        for copy in range(1, turns // seed):
            tag = f"c{copy}:"
            conn.execute("INSERT INTO messages (hash, parent_hash, role, provider_metadata) SELECT ? || hash, "
                         "CASE WHEN parent_hash IS NULL THEN NULL ELSE ? || parent_hash END, role, provider_metadata "
                         "FROM messages WHERE hash NOT LIKE 'c%'", (tag, tag))
            conn.execute("INSERT INTO parts (message_hash, position, type, tool_name, text, payload) SELECT ? || "
                         "message_hash, position, type, tool_name, text, payload FROM parts WHERE message_hash NOT LIKE "
                         "'c%'", (tag,))
            conn.execute("INSERT INTO threads (id, name, tip_message_hash, datetime_utc) SELECT ? || id, name, "
                         "? || tip_message_hash, datetime_utc FROM threads WHERE id NOT LIKE 'c%'", (tag, tag))
            conn.execute("INSERT INTO turns (id, thread_id, parent_message_hash, tip_message_hash, model, input_tokens, "
                         "output_tokens, duration_ms, datetime_utc) SELECT ? || id, ? || thread_id, ? || "
                         "parent_message_hash, ? || tip_message_hash, model, input_tokens, output_tokens, duration_ms, "
                         "datetime_utc FROM turns WHERE id NOT LIKE 'c%'", (tag, tag, tag, tag))
        return logs


def make_spend_logs(folder: Path, rows: int) -> Path:
    seed = json.loads((FIXTURES / "spend_logs.json").read_text())
    out = folder / "spend.jsonl"
    with open(out, "w") as handle:
        for n in range(rows):
            handle.write(json.dumps({**seed[n % len(seed)], "request_id": f"bench-{n}"}) + "\n")
    return out


def timed_import(path: Path, db: Path) -> float:
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        main(["--db", str(db), "import", str(path)])
    return time.perf_counter() - start


def timed_store_only(path: Path, db: Path) -> tuple[float, int]:
    calls = [row.call for row in read(path) if isinstance(row, Found)]
    start = time.perf_counter()
    with Store.open(db) as store:
        store.insert_new_calls(calls)
    return time.perf_counter() - start, len(calls)


def main_bench() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.chdir(folder)  # no ./fleet.toml: imports run without a fleet, as a new user's would
        for name, path in (("llm logs.db", make_llm_db(folder, args.turns)),
                           ("LiteLLM spend JSONL", make_spend_logs(folder, args.rows))):
            whole = timed_import(path, folder / f"{name}-import.db")
            store_only, n = timed_store_only(path, folder / f"{name}-store.db")
            print(f"{name}: {n:,} calls; fleetui import {whole:.2f} s = {n / whole:,.0f} calls/s; "
                  f"storing the read calls alone {store_only:.2f} s = {n / store_only:,.0f} calls/s")


if __name__ == "__main__":
    main_bench()
