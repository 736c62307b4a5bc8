"""A load generator light enough not to be what is measured: HTTP/1.1 keep-alive over raw asyncio
streams on uvloop, one connection per concurrent client, chunked replies parsed as they come.

    python benchmarks/gateway_load.py HOST PORT MODEL STREAM(0|1) CONCURRENCY REQUESTS [WARMUP]

Prints one JSON object: per-request latency (to the last byte) and time to first body chunk in
ms, errors (non-200 or broken replies), and requests per second over the timed part.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time


def request_bytes(host: str, port: int, model: str, stream: bool) -> bytes:
    body = json.dumps({"model": model, "stream": stream,
                       "messages": [{"role": "user", "content": "Say hello to the benchmark"}]}).encode()
    return (f"POST /v1/chat/completions HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
            f"authorization: Bearer {os.environ['BENCH_GATEWAY_TOKEN']}\r\ncontent-length: {len(body)}\r\n\r\n"
            ).encode() + body


async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[float, float, bool]:
    started = time.perf_counter()
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    ok = head.startswith(b"HTTP/1.1 200")
    lower = head.lower()
    first: float | None = None
    if b"transfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            await reader.readexactly(size + 2)
            if first is None:
                first = time.perf_counter()
    else:
        length = int(lower.split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
    ended = time.perf_counter()
    return (ended - started) * 1000, ((first or ended) - started) * 1000, ok


async def main(host: str, port: int, model: str, stream: bool, concurrency: int, requests: int, warmup: int) -> dict:
    request = request_bytes(host, port, model, stream)
    latencies: list[float] = []
    ttfts: list[float] = []
    errors = 0
    remaining = warmup + requests
    timed_from: list[float] = []

    async def client() -> None:
        nonlocal remaining, errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while remaining > 0:
                remaining -= 1
                warm = remaining >= requests
                if not warm and not timed_from:
                    timed_from.append(time.perf_counter())
                try:
                    latency, ttft, ok = await one(reader, writer, request)
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                if warm:
                    continue
                if not ok:
                    errors += 1
                latencies.append(latency)
                ttfts.append(ttft)
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - (timed_from[0] if timed_from else time.perf_counter())
    return {"latency_ms": latencies, "ttft_ms": ttfts, "errors": errors,
            "rps": len(latencies) / elapsed if elapsed > 0 else None}


if __name__ == "__main__":
    import uvloop

    host, port, model, stream, concurrency, requests = sys.argv[1:7]
    warmup = int(sys.argv[7]) if len(sys.argv) > 7 else 100
    result = uvloop.run(main(host, int(port), model, stream == "1", int(concurrency), int(requests), warmup))
    # The result is hundreds of kB; stdout (a pipe) was seen non-blocking by now, and the write cut
    # at 128 KiB without an error (the benchmark then read broken JSON). Blocking, it is whole.
    os.set_blocking(sys.stdout.fileno(), True)
    print(json.dumps(result))
