"""What the logging shim costs an app.

    python benchmarks/bench_shim.py [--calls 20000] [--writer-rows 100000] [--sdk-calls 300]

1. Caller-thread cost of one recorded call (`with track(...) as call: call.record(...)`),
   median and p99, against the same call with no recording and against inserting the row
   synchronously with sqlite3.
2. Sustained calls/s the background writer stores (value checks, pricing, privacy, rollups
   and counters included) against plain sqlite3 executemany of the same rows into the same
   schema, alternated over --rounds.
3. Added time per non-streaming openai SDK call with instrument(), on a loopback server.
4. Caller-thread cost of the SDK hook alone: one streamed response (40 SSE chunks) through the
   wrapped transport and read to its end, against the bare transport, in memory (no network,
   so the hook's few microseconds are not lost in a loopback round trip's noise).
   `--parts 4` runs just this part (to compare two checkouts of the code).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fleetui.shim import Recorder, configure, track  # noqa: E402
from fleetui.store import CallRecord, Store  # noqa: E402
from fleetui.store.records import CALL_COLUMNS  # noqa: E402
from fleetui.store.store import _INSERT_CALL, utc_day  # noqa: E402

SAMPLE = Path(__file__).resolve().parent.parent / "sample_fleet.toml"
PROMPT = "What time does the Starbucks on 5th close today, and do they have oat milk? " * 3
REPLY = "They close at 9 pm on weekdays and 8 pm on Sundays; oat milk is available at no charge. " * 5


def quantiles(samples_ns: list[int]) -> tuple[float, float]:
    ordered = sorted(samples_ns)
    return statistics.median(ordered) / 1000, ordered[int(len(ordered) * 0.99)] / 1000


def app_call() -> str:
    return REPLY  # stands for the app's own work; the shim's cost is what is added around it


def caller_cost(calls: int, folder: Path) -> None:
    rec = configure(db_path=folder / "caller.db", fleet_path=SAMPLE, max_queue=calls * 2, interval_s=3600)
    plain, tracked, synchronous = [], [], []
    conn = sqlite3.connect(folder / "sync.db", isolation_level=None)
    Store.open(folder / "sync.db").close()
    clock = time.perf_counter_ns
    # Each variant in its own loop, so that one's cache traffic does not count against another.
    for _ in range(calls):
        t0 = clock()
        app_call()
        plain.append(clock() - t0)
    for _ in range(calls):
        t0 = clock()
        with track(model="gpt-4o-mini", task="chat", prompt=PROMPT) as call:
            call.record(response=app_call(), input_tokens=60, output_tokens=120)
        tracked.append(clock() - t0)
    tags = CALL_COLUMNS.index("tags")
    for _ in range(calls):
        t0 = clock()
        record = CallRecord(request_model="gpt-4o-mini", task="chat", prompt=PROMPT, response=app_call(),
                            input_tokens=60, output_tokens=120)
        row = [getattr(record, c) for c in CALL_COLUMNS]
        row[tags] = None
        conn.execute(_INSERT_CALL, [*row, utc_day(record.ts)])
        synchronous.append(clock() - t0)
    print(f"1. caller-thread cost per call ({calls:,} calls)")
    for name, samples in (("no recording", plain), ("with track()", tracked), ("sync sqlite3 insert", synchronous)):
        median, p99 = quantiles(samples)
        print(f"   {name:<20} median {median:7.2f} µs   p99 {p99:8.2f} µs")
    rec.close()


def writer_throughput(rows: int, folder: Path, rounds: int = 3) -> None:
    """The recorder (value checks, pricing, privacy, rollups, counters) against plain executemany
    of the same rows into the same schema, alternated `rounds` times so that a busy neighbour
    on a shared machine weighs on both; medians of each."""
    size = len(PROMPT) + len(REPLY)
    ours_rates, plain_rates = [], []
    # CPU seconds too: on a shared machine wall time mostly measures the neighbours. The app's
    # thread only waits in flush(), so the process's CPU time is the writer's.
    ours_cpu, plain_cpu = [], []
    for number in range(rounds):
        records = [CallRecord(request_model="gpt-4o-mini", provider_name="openai",
                              server_address="https://api.openai.com", prompt=PROMPT, response=REPLY,
                              input_tokens=60, output_tokens=120, latency_ms=800.0) for _ in range(rows)]
        rec = Recorder(folder / f"writer{number}.db", fleet_path=SAMPLE, max_queue=rows + 1, interval_s=3600)
        rec.record(CallRecord(request_model="gpt-4o-mini"))
        assert rec.flush(60)  # the first batch loads the fleet and the price catalog: not timed
        for r in records:
            rec.record(r)
        started, cpu = time.perf_counter(), time.process_time()
        assert rec.flush(600)
        ours_rates.append(rows / (time.perf_counter() - started))
        ours_cpu.append(rows / (time.process_time() - cpu))
        rec.close()
        plain_db = folder / f"plain{number}.db"
        Store.open(plain_db).close()
        conn = sqlite3.connect(plain_db, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        fresh = [CallRecord(request_model="gpt-4o-mini", prompt=PROMPT, response=REPLY, input_tokens=60,
                            output_tokens=120, latency_ms=800.0) for _ in range(rows)]
        started, cpu = time.perf_counter(), time.process_time()
        tags = CALL_COLUMNS.index("tags")
        for offset in range(0, rows, 1000):
            batch = []
            for record in fresh[offset : offset + 1000]:
                row = [getattr(record, c) for c in CALL_COLUMNS]
                row[tags] = None
                row.append(utc_day(record.ts))
                batch.append(row)
            conn.execute("BEGIN")
            conn.executemany(_INSERT_CALL, batch)
            conn.execute("COMMIT")
        plain_rates.append(rows / (time.perf_counter() - started))
        plain_cpu.append(rows / (time.process_time() - cpu))
        conn.close()
    ours, plain = statistics.median(ours_rates), statistics.median(plain_rates)
    print(f"2. writer throughput ({rows:,} rows of {size} bytes of text, median of {rounds} alternated rounds)")
    print(f"   recorder (checks + enrich + rollups) {ours:10,.0f} rows/s   rounds: "
          + ", ".join(f"{r:,.0f}" for r in ours_rates))
    print(f"   plain sqlite3 executemany            {plain:10,.0f} rows/s   rounds: "
          + ", ".join(f"{r:,.0f}" for r in plain_rates))
    print(f"   → {ours / plain:.2f}× plain; per round "
          + ", ".join(f"{o / p:.2f}×" for o, p in zip(ours_rates, plain_rates, strict=True)))
    ours_c, plain_c = statistics.median(ours_cpu), statistics.median(plain_cpu)
    print(f"   per CPU second: recorder {ours_c:,.0f} rows, plain {plain_c:,.0f} rows → {ours_c / plain_c:.2f}× plain; "
          "per round " + ", ".join(f"{o / p:.2f}×" for o, p in zip(ours_cpu, plain_cpu, strict=True)))


def sdk_overhead(calls: int, folder: Path) -> None:
    import openai

    from fleetui.shim import instrument
    from tests.fakeproviders import FakeProviders

    server = FakeProviders(keys={"openai": ""}).start()
    rec = configure(db_path=folder / "sdk.db", fleet_path=SAMPLE, interval_s=0.2)
    try:
        bare = openai.OpenAI(base_url=server.url("openai"), api_key="x", max_retries=0)
        hooked = instrument(openai.OpenAI(base_url=server.url("openai"), api_key="x", max_retries=0))
        messages = [{"role": "user", "content": "hello"}]
        timings: dict[str, list[float]] = {"without": [], "with": []}
        for _ in range(calls):
            for name, client in (("without", bare), ("with", hooked)):
                t0 = time.perf_counter()
                client.chat.completions.create(model="fake-small", messages=messages)  # type: ignore[arg-type]
                timings[name].append((time.perf_counter() - t0) * 1e6)
        without, with_ = statistics.median(timings["without"]), statistics.median(timings["with"])
        print(f"3. openai SDK call on loopback ({calls} calls each, medians)")
        print(f"   without instrument() {without:8.0f} µs")
        print(f"   with instrument()    {with_:8.0f} µs   added {with_ - without:+.0f} µs")
    finally:
        rec.close()
        server.stop()


def hook_cost(calls: int, folder: Path) -> None:
    import httpx2

    from fleetui.shim import sdk

    events = [f'data: {{"choices": [{{"index": 0, "delta": {{"content": "word{i} "}}}}]}}\n\n'.encode()
              for i in range(40)] + [b"data: [DONE]\n\n"]

    class Body(httpx2.SyncByteStream):
        def __iter__(self):  # type: ignore[no-untyped-def]
            yield from events

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=Body())

    rec = configure(db_path=folder / "hook.db", fleet_path=SAMPLE, max_queue=calls * 4, interval_s=3600)
    bare = httpx2.MockTransport(handler)
    wrapped = sdk._SyncTransport(httpx2.MockTransport(handler))
    request = httpx2.Request("POST", "https://api.openai.com/v1/chat/completions",
                             json={"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": PROMPT}]},
                             headers={"x-stainless-retry-count": "0"})
    timings: dict[str, list[int]] = {"bare": [], "wrapped": []}
    clock = time.perf_counter_ns
    for name, transport in (("bare", bare), ("wrapped", wrapped), ("bare", bare), ("wrapped", wrapped)):
        for _ in range(calls // 2):
            t0 = clock()
            response = transport.handle_request(request)
            for _chunk in response.stream:
                pass
            response.stream.close()
            timings[name].append(clock() - t0)
    rec._queue.clear()  # the benchmark measures the caller's side only
    rec.close()
    b50, b99 = quantiles(timings["bare"])
    w50, w99 = quantiles(timings["wrapped"])
    print(f"4. SDK hook, one 40-chunk stream read to its end ({calls} responses each, in memory)")
    print(f"   bare transport     median {b50:6.1f} µs   p99 {b99:6.1f} µs")
    print(f"   wrapped transport  median {w50:6.1f} µs   p99 {w99:6.1f} µs   added {w50 - b50:+.1f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--writer-rows", type=int, default=100_000)
    parser.add_argument("--sdk-calls", type=int, default=300)
    parser.add_argument("--hook-calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3, help="alternated writer rounds")
    parser.add_argument("--parts", default="1,2,3,4", help="which measurements, e.g. 2 or 1,2 (4: the SDK hook)")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        parts = set(args.parts.split(","))
        if "1" in parts:
            caller_cost(args.calls, folder)
        if "2" in parts:
            writer_throughput(args.writer_rows, folder, args.rounds)
        if "3" in parts:
            sdk_overhead(args.sdk_calls, folder)
        if "4" in parts:
            hook_cost(args.hook_calls, folder)


if __name__ == "__main__":
    main()
