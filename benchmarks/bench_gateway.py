"""What `fleetui serve` adds to a call, against calling the upstream directly and against
LiteLLM's proxy serving fleetui's own LiteLLM export, in one run against the same upstream stub.

    python benchmarks/bench_gateway.py [--litellm /work/venvs/litellm/bin/litellm] [--quick]

Every server runs in its own process: the stub (`gateway_stub.py`), `fleetui serve`, and the
LiteLLM proxy started on `fleetui export --format litellm` of the same fleet. The load generator
(`gateway_load.py`) runs in its own process too, one per measurement. Both gateways check a
client token. Printed per scenario (concurrency 1 and 64, JSON and streamed): p50/p99 latency
to the last byte, time to first chunk for streams, requests/s and errors; then what each gateway
added (its p50/p99 minus direct's), the gateway's resident memory before and after, and whether
every request fleetui answered was stored.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
# A fresh client token per run (LiteLLM wants its master key to start with "sk-"): nothing that
# looks like a key is kept in the repository.
TOKEN = "sk-" + secrets.token_hex(24)
FLEET = """name = "gateway benchmark"

[[providers]]
id = "stub"
kind = "openai-compatible"
base_url = "http://127.0.0.1:{port}/v1"
key = "BENCH_STUB_KEY"

[[roles]]
id = "default"
name = "Default"

[[models]]
id = "bench"
name = "Bench"
provider = "stub"
model = "bench-model"
roles = [{{ role = "default", priority = 1 }}]
price = {{ input = 1.0, output = 2.0 }}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, timeout: float, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not come up within {timeout:.0f} s")


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load(port: int, model: str, stream: bool, concurrency: int, requests: int, warmup: int) -> dict:
    out = subprocess.run([sys.executable, str(HERE / "gateway_load.py"), "127.0.0.1", str(port), model,
                          "1" if stream else "0", str(concurrency), str(requests), str(warmup)],
                         capture_output=True, text=True, check=True, env={**os.environ, "BENCH_GATEWAY_TOKEN": TOKEN})
    try:
        return json.loads(out.stdout)
    except ValueError:
        kept = Path(tempfile.mkstemp(prefix="gateway-load-", suffix=".out")[1])
        kept.write_text(out.stdout + "\n--- stderr ---\n" + out.stderr, encoding="utf-8")
        raise SystemExit(f"the load generator's output for port {port} (stream={stream}, c={concurrency}) is not "
                         f"JSON; kept in {kept}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--litellm", default="/work/venvs/litellm/bin/litellm",
                        help="the litellm command of LiteLLM's own venv (skipped when missing)")
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run, not for the table)")
    parser.add_argument("--servers", action="store_true",
                        help="instead: the gateway under uvicorn (httptools+uvloop, h11+asyncio) and granian")
    parser.add_argument("--soak", type=float, metavar="SECONDS",
                        help="instead: fleetui alone under steady load (16 clients, JSON and streams) for this "
                             "long, its resident memory sampled every 30 s")
    args = parser.parse_args()
    if args.servers:
        return compare_servers(args.quick)
    if args.soak:
        return soak(args.soak)
    c1, c64 = (300, 1500) if args.quick else (2000, 10000)
    folder = Path(tempfile.mkdtemp(prefix="fleetui-bench-gateway-"))
    stub_port, fleetui_port, litellm_port = free_port(), free_port(), free_port()
    fleet = folder / "fleet.toml"
    fleet.write_text(FLEET.format(port=stub_port), encoding="utf-8")
    env = {**os.environ, "BENCH_STUB_KEY": "sk-bench-upstream", "FLEETUI_DATA_DIR": str(folder / "data"),
           "FLEETUI_SERVE_TOKEN": TOKEN, "LITELLM_MASTER_KEY": TOKEN, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "LITELLM_LOG": "ERROR"}
    db = folder / "gateway.db"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(subprocess.Popen([sys.executable, str(HERE / "gateway_stub.py"), str(stub_port)], env=env))
        gateway = subprocess.Popen([sys.executable, "-m", "fleetui", "--config", str(fleet), "--db", str(db), "serve",
                                    "--port", str(fleetui_port)], env=env, stderr=subprocess.DEVNULL)
        procs.append(gateway)
        targets = {"direct": (stub_port, "bench-model"), "fleetui": (fleetui_port, "bench")}
        litellm = Path(args.litellm)
        if litellm.exists():
            exported = folder / "litellm.yaml"
            subprocess.run([sys.executable, "-m", "fleetui", "--config", str(fleet), "export", "--format", "litellm",
                            "-o", str(exported)], env=env, check=True, capture_output=True)
            procs.append(subprocess.Popen([str(litellm), "--config", str(exported), "--port", str(litellm_port),
                                           "--num_workers", "1", "--telemetry", "False"], env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
            targets["litellm"] = (litellm_port, "bench")
        else:
            print(f"LiteLLM not found at {litellm}: measuring fleetui against direct only")
        wait_ready(f"http://127.0.0.1:{stub_port}/", 20)
        wait_ready(f"http://127.0.0.1:{fleetui_port}/health", 20)
        if "litellm" in targets:
            wait_ready(f"http://127.0.0.1:{litellm_port}/health/liveliness", 120)
        import fleetui

        print(f"fleetui {fleetui.__version__}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"load average {os.getloadavg()[0]:.1f} at start")
        memory_before = rss_mb(gateway.pid)
        sent = 0
        results: dict[tuple[int, bool], dict[str, dict]] = {}
        for concurrency, requests in ((1, c1), (64, c64)):
            for stream in (False, True):
                row: dict[str, dict] = {}
                for name, (port, model) in targets.items():
                    # LiteLLM is 10x slower: a tenth of the requests still gives a stable p50.
                    n = requests if name != "litellm" else max(200, requests // 5)
                    warmup = 50 if concurrency == 1 else 200
                    row[name] = load(port, model, stream, concurrency, n, warmup)
                    if name == "fleetui":
                        sent += n + warmup
                results[(concurrency, stream)] = row
                report(concurrency, stream, row)
        memory_after = rss_mb(gateway.pid)
        time.sleep(1.0)  # the recorder writes every 0.2 s
        import sqlite3

        with sqlite3.connect(db) as conn:
            stored = conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
            overheads = [r[0] for r in conn.execute("SELECT gateway_overhead_ms FROM calls WHERE gateway_overhead_ms IS NOT NULL")]
        print(f"\nfleetui stored {stored} of the {sent} calls it answered"
              + (f"; its own overhead per call (recorded): p50 {quantile(overheads, .5):.3f} ms, "
                 f"p99 {quantile(overheads, .99):.3f} ms" if overheads else ""))
        print(f"fleetui serve resident memory: {memory_before:.0f} MB before, {memory_after:.0f} MB after")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def soak(seconds: float) -> None:
    folder = Path(tempfile.mkdtemp(prefix="fleetui-bench-soak-"))
    stub_port, port = free_port(), free_port()
    fleet = folder / "fleet.toml"
    fleet.write_text(FLEET.format(port=stub_port), encoding="utf-8")
    db = folder / "gateway.db"
    env = {**os.environ, "BENCH_STUB_KEY": "sk-bench-upstream", "FLEETUI_DATA_DIR": str(folder / "data"),
           "FLEETUI_SERVE_TOKEN": TOKEN}
    stub = subprocess.Popen([sys.executable, str(HERE / "gateway_stub.py"), str(stub_port)], env=env)
    gateway = subprocess.Popen([sys.executable, "-m", "fleetui", "--config", str(fleet), "--db", str(db), "serve",
                                "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}/health", 20)
        print(f"soak: {seconds:.0f} s, 16 clients, {os.cpu_count()} cores, "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {os.getloadavg()[0]:.1f}")
        started = time.monotonic()
        sent = errors = 0
        next_sample = 0.0
        stream = False
        while (elapsed := time.monotonic() - started) < seconds:
            result = load(port, "bench", stream, 16, 1000, 0)
            sent, errors, stream = sent + 1000, errors + result["errors"], not stream
            if elapsed >= next_sample:
                print(f"  {elapsed:6.0f} s  RSS {rss_mb(gateway.pid):6.1f} MB  {sent:,} requests  {errors} errors  "
                      f"{result['rps']:.0f} req/s")
                next_sample += 30
        time.sleep(1.0)
        import sqlite3

        with sqlite3.connect(db) as conn:
            stored = conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
        print(f"  end: RSS {rss_mb(gateway.pid):.1f} MB; stored {stored:,} of {sent:,} calls; {errors} errors")
    finally:
        for proc in (gateway, stub):
            proc.terminate()
            proc.wait(10)


def compare_servers(quick: bool) -> None:
    """The same gateway app under each ASGI server, JSON replies at concurrency 1 and 64."""
    import shutil

    folder = Path(tempfile.mkdtemp(prefix="fleetui-bench-servers-"))
    stub_port = free_port()
    fleet = folder / "fleet.toml"
    fleet.write_text(FLEET.format(port=stub_port), encoding="utf-8")
    bin_dir = Path(sys.executable).parent
    variants: dict[str, list[str]] = {
        "uvicorn httptools+uvloop": [str(bin_dir / "uvicorn"), "--http", "httptools", "--loop", "uvloop"],
        "uvicorn h11+asyncio": [str(bin_dir / "uvicorn"), "--http", "h11", "--loop", "asyncio"],
    }
    granian = shutil.which("granian", path=str(bin_dir)) or shutil.which("granian")
    if granian:
        variants["granian (1 worker, uvloop)"] = [granian, "--interface", "asgi", "--loop", "uvloop",
                                                  "--log-level", "warning"]
    else:
        print("granian is not installed (pip install granian): not compared")
    n1, n64 = (300, 1500) if quick else (2000, 8000)
    stub = subprocess.Popen([sys.executable, str(HERE / "gateway_stub.py"), str(stub_port)])
    try:
        wait_ready(f"http://127.0.0.1:{stub_port}/", 20)
        print(f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"load average {os.getloadavg()[0]:.1f}")
        direct = {c: load(stub_port, "bench-model", False, c, n, 100) for c, n in ((1, n1), (64, n64))}
        for name, command in variants.items():
            port = free_port()
            env = {**os.environ, "BENCH_FLEET": str(fleet), "BENCH_DB": str(folder / f"{port}.db"),
                   "BENCH_PORT": str(port), "BENCH_STUB_KEY": "sk-bench-upstream", "FLEETUI_SERVE_TOKEN": TOKEN,
                   "FLEETUI_DATA_DIR": str(folder / "data")}
            flags = ["--host", "127.0.0.1", "--port", str(port)]
            server = subprocess.Popen([*command, *flags, "gateway_app:app"], cwd=HERE, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_ready(f"http://127.0.0.1:{port}/health", 30)
                parts = []
                for concurrency, n in ((1, n1), (64, n64)):
                    result = load(port, "bench", False, concurrency, n, 100)
                    added = quantile(result["latency_ms"], .5) - quantile(direct[concurrency]["latency_ms"], .5)
                    parts.append(f"c={concurrency}: p50 added {added:+.3f} ms, {result['rps']:.0f} req/s, "
                                 f"errors {result['errors']}")
                print(f"  {name:28} " + "; ".join(parts))
            finally:
                server.terminate()
                server.wait(10)
    finally:
        stub.terminate()
        stub.wait(10)


def report(concurrency: int, stream: bool, row: dict[str, dict]) -> None:
    kind = "streamed" if stream else "JSON"
    print(f"\nconcurrency {concurrency}, {kind}:")
    direct = row["direct"]
    for name, result in row.items():
        lat, ttft = result["latency_ms"], result["ttft_ms"]
        line = (f"  {name:8} p50 {quantile(lat, .5):8.3f} ms  p99 {quantile(lat, .99):8.3f} ms  "
                f"{result['rps']:8.0f} req/s  errors {result['errors']}")
        if stream:
            line += f"  TTFT p50 {quantile(ttft, .5):.3f} p99 {quantile(ttft, .99):.3f} ms"
        if name != "direct":
            key = "ttft_ms" if stream else "latency_ms"
            added50 = quantile(result[key], .5) - quantile(direct[key], .5)
            added99 = quantile(result[key], .99) - quantile(direct[key], .99)
            line += f"  added{' TTFT' if stream else ''} p50 {added50:+.3f} p99 {added99:+.3f} ms"
        print(line)


if __name__ == "__main__":
    main()
