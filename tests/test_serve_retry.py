"""The gateway's upstream connections when the provider's side drops them before answering.

A raw TCP server on loopback plays the provider, so the test decides exactly what each
connection does: answer and then close while idle (a kept-alive connection gone stale), reset
a new connection without reading it (a full listen backlog), or never answer at all.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from fleetui.serve.upstream import Target, Upstreams
from fleetui.serve.wire import Wire

REPLY = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 12\r\n\r\n{"ok": true}'
UNSIZED = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"ok": true}'
# What each new connection does, by its number (0-based): "answer", "answer-once", "reset", "close",
# "unsized" (a reply without a length, ended by closing the connection).
Plan = Callable[[int], str]


def _read_request(conn: socket.socket) -> bool:
    data = b""
    while b"\r\n\r\n" not in data:
        more = conn.recv(65536)
        if not more:
            return False
        data += more
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(rest) < length:
        rest += conn.recv(65536)
    return True


@contextmanager
def provider(plan: Plan, tls: ssl.SSLContext | None = None) -> Iterator[tuple[str, list[str]]]:
    """A loopback provider (https with `tls`); yields its base URL and what it did with each connection."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    done: list[str] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            what = plan(len(done))
            done.append(what)
            if tls is not None:
                try:
                    conn = tls.wrap_socket(conn, server_side=True)
                except (OSError, ssl.SSLError):
                    continue
            with conn:
                if what == "reset":  # RST at once, request unread: what an overflowing backlog does
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    continue
                if what == "close":  # reads the request, closes without a word
                    _read_request(conn)
                    continue
                if what == "unsized":
                    _read_request(conn)
                    conn.sendall(UNSIZED)
                    continue
                answered = 0
                while _read_request(conn):
                    if what == "answer-once" and answered:
                        # The next request on the kept-alive connection meets the provider closing it
                        # (its idle timeout at that moment): closed unanswered, nothing said before.
                        break
                    conn.sendall(REPLY)
                    answered += 1

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{listener.getsockname()[1]}", done
    finally:
        listener.close()


def target(base_url: str) -> Target:
    return Target("m", "p", "p-model", base_url, Wire.OPENAI, None, True)


async def call(upstreams: Upstreams, base: str) -> int:
    response = await upstreams.send(upstreams.request(target(base), "/v1/chat/completions", b"{}", []))
    await response.aread()
    await response.aclose()
    return response.status_code


# The gateway's own client, and httpx's transport (what the gateway uses when given one).
CLIENTS = pytest.mark.parametrize("transport", [None, httpx.AsyncHTTPTransport], ids=["fleetui-client", "httpx"])


def upstreams_with(transport: type[httpx.AsyncHTTPTransport] | None) -> Upstreams:
    return Upstreams(transport=transport() if transport else None)


@CLIENTS
async def test_a_stale_kept_alive_connection_is_retried_on_a_fresh_one(transport: type[httpx.AsyncHTTPTransport] | None) -> None:
    with provider(lambda n: "answer-once") as (base, done):
        # One pool, so the second request is handed the first one's kept-alive connection.
        upstreams = upstreams_with(transport)
        assert await call(upstreams, base) == 200
        assert await call(upstreams, base) == 200
        assert done == ["answer-once", "answer-once"]  # the second request needed a new connection
        await upstreams.aclose()


@CLIENTS
async def test_a_connection_reset_before_it_was_read_is_retried_once(transport: type[httpx.AsyncHTTPTransport] | None) -> None:
    with provider(lambda n: "reset" if n == 0 else "answer") as (base, done):
        upstreams = upstreams_with(transport)
        assert await call(upstreams, base) == 200
        assert done == ["reset", "answer"]
        await upstreams.aclose()


@CLIENTS
async def test_a_provider_that_keeps_dropping_connections_is_tried_twice_then_reported(
        transport: type[httpx.AsyncHTTPTransport] | None) -> None:
    with provider(lambda n: "close") as (base, done):
        upstreams = upstreams_with(transport)
        with pytest.raises(httpx.RemoteProtocolError):
            await call(upstreams, base)
        assert done == ["close", "close"]  # once more, not a loop
        await upstreams.aclose()


@CLIENTS
async def test_connections_are_kept_alive(transport: type[httpx.AsyncHTTPTransport] | None) -> None:
    with provider(lambda n: "answer") as (base, done):
        upstreams = upstreams_with(transport)
        assert [await call(upstreams, base) for _ in range(3)] == [200, 200, 200]
        assert done == ["answer"]  # three calls, one connection
        await upstreams.aclose()


@CLIENTS
async def test_a_reply_without_a_length_ends_when_the_provider_closes(transport: type[httpx.AsyncHTTPTransport] | None) -> None:
    with provider(lambda n: "unsized") as (base, done):
        upstreams = upstreams_with(transport)
        response = await upstreams.send(upstreams.request(target(base), "/v1/chat/completions", b"{}", []))
        assert await response.aread() == b'{"ok": true}'
        await response.aclose()
        assert await call(upstreams, base) == 200 and len(done) == 2  # not kept: the provider closed it
        await upstreams.aclose()


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


async def test_https_providers_are_called_over_tls_with_the_certificate_checked(
        certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from fleetui.serve import upstream

    cert, key = certificate
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    with provider(lambda n: "answer", tls=server) as (base, done):
        # Without the certificate among its roots, the client refuses the provider.
        with pytest.raises(httpx.ConnectError):
            await call(Upstreams(), base)
        assert len(done) == 2  # a refused handshake is a connect error: tried once more, then reported
        trusting = ssl.create_default_context(cafile=str(cert))
        monkeypatch.setattr(upstream, "_tls", lambda: trusting)
        upstreams = Upstreams()
        assert await call(upstreams, base) == 200
        assert await call(upstreams, base) == 200
        assert len(done) == 3  # both calls on one kept-alive TLS connection
        await upstreams.aclose()
