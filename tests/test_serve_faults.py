"""`fleetui serve` when things go wrong: bad requests, provider errors, hang-ups, keys, tokens."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from fleetui.cli import main
from fleetui.serve.server import ServeError, ServeOptions, check_bind
from tests.fakeproviders import FakeProviders
from tests.serve_support import Running, running_gateway, write_fleet

USER = [{"role": "user", "content": "hello"}]


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_OPENAI_KEY", "sk-fake-openai")
    monkeypatch.setenv("FAKE_ANTHROPIC_KEY", "sk-ant-fake")


@pytest.fixture
def gateway(tmp_path: Path, fake_providers: FakeProviders, keys: None) -> Iterator[Running]:
    with running_gateway(tmp_path, fake_providers) as running:
        yield running


def post(gateway: Running, path: str, body: object, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(gateway.url + path, content=content,
                      headers={"content-type": "application/json", **headers}, timeout=30)


@pytest.mark.parametrize(("body", "says"), [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object, not list"),
    ({"messages": USER}, "'model' is required"),
    ({"model": "small"}, "'messages' is required by /v1/chat/completions"),
    ({"model": "small", "messages": "hi"}, "'messages' must be a list, not a string"),
    ({"model": "small", "messages": USER, "stream": "yes"}, "'stream' must be true or false"),
])
def test_bad_requests_are_a_400_in_openai_format(gateway: Running, body: object, says: str) -> None:
    response = post(gateway, "/v1/chat/completions", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert says in error["message"] and error["type"] == "invalid_request_error"
    assert "Traceback" not in response.text


def test_bad_requests_are_a_400_in_anthropic_format(gateway: Running) -> None:
    response = post(gateway, "/v1/messages", {"model": "claude", "messages": USER}, **{"anthropic-version": "2023-06-01"})
    assert response.status_code == 400
    assert response.json() == {"type": "error", "error": {
        "type": "invalid_request_error", "message": "'max_tokens' is required by /v1/messages"}}
    with pytest.raises(anthropic.NotFoundError, match="not in the fleet"):
        anthropic.Anthropic(base_url=gateway.url, api_key="x", max_retries=0).messages.create(
            model="no-such", max_tokens=5, messages=USER)


def test_wrong_content_type_and_method_and_path(gateway: Running) -> None:
    form = httpx.post(gateway.url + "/v1/chat/completions", data={"model": "small"})
    assert form.status_code == 400 and "Content-Type: application/json" in form.json()["error"]["message"]
    assert httpx.get(gateway.url + "/v1/chat/completions").status_code == 405
    missing = httpx.get(gateway.url + "/v2/nothing")
    assert missing.status_code == 404 and "/v1/chat/completions" in missing.json()["error"]["message"]


def test_a_model_the_wire_format_cannot_reach_says_which_endpoint(gateway: Running) -> None:
    with pytest.raises(openai.BadRequestError, match="use the Anthropic /v1/messages endpoint"):
        openai.OpenAI(base_url=gateway.url + "/v1", api_key="x", max_retries=0).chat.completions.create(
            model="claude", messages=USER)


def test_upstream_errors_keep_their_status_and_body(gateway: Running) -> None:
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(model="broken", messages=USER)  # no fallback: 500 as the provider said it
    assert raised.value.status_code == 500 and raised.value.body["message"] == "Internal server error"
    assert raised.value.response.headers["x-fleetui-model"] == "broken"
    row = gateway.calls()[-1]
    assert (row["model_id"], row["success"], row["status_code"], row["error_type"]) == ("broken", 0, 500, "server_error")
    # A named model falls back along its first role: `limited` (429) to `large`, the other coder.
    raw = client.chat.completions.with_raw_response.create(model="fault-429", messages=USER)
    assert raw.headers["x-fleetui-model"] == "large"
    assert raw.headers["x-fleetui-route"] == "provider-model; fallback after limited 429"


def test_client_hangup_mid_stream_cancels_upstream_and_is_recorded(gateway: Running) -> None:
    body = json.dumps({"model": "stalling", "messages": USER, "stream": True}).encode()
    port = int(gateway.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                     + f"content-length: {len(body)}\r\n\r\n".encode() + body)
        received = b""
        while b"Hello" not in received:  # the first chunks came through before the stall
            received += sock.recv(65536)
    # The fake stalls for 1 s; the gateway must not wait for it to record the call.
    rows = gateway.calls()
    row = rows[-1]
    assert (row["model_id"], row["abandoned"], row["incomplete"], row["streamed"]) == ("stalling", 1, 1, 1)
    assert row["response"].startswith("Hello")


def test_client_hangup_while_waiting_is_recorded_as_abandoned(gateway: Running) -> None:
    body = json.dumps({"model": "slowpoke", "messages": USER}).encode()
    port = int(gateway.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                     + f"content-length: {len(body)}\r\n\r\n".encode() + body)
        time.sleep(0.2)
    row = gateway.calls()[-1]
    assert (row["model_id"], row["abandoned"], row["success"], row["error_type"]) == (
        "slowpoke", 1, 0, "client_disconnected")


def test_missing_key_is_a_503_that_says_what_to_do(tmp_path: Path, fake_providers: FakeProviders,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_OPENAI_KEY", "sk-fake-openai")
    with running_gateway(tmp_path, fake_providers) as gateway:
        response = post(gateway, "/v1/messages", {"model": "claude", "max_tokens": 5, "messages": USER},
                        **{"anthropic-version": "2023-06-01"})
    assert response.status_code == 503
    assert "fleetui key set FAKE_ANTHROPIC_KEY" in response.json()["error"]["message"]
    assert not [r for r in fake_providers.requests if r.provider == "anthropic"]


def test_a_token_is_required_when_set_and_never_forwarded(tmp_path: Path, fake_providers: FakeProviders,
                                                          keys: None) -> None:
    with running_gateway(tmp_path, fake_providers, token="gw-secret") as gateway:
        wrong = openai.OpenAI(base_url=gateway.url + "/v1", api_key="sk-real-looking", max_retries=0)
        with pytest.raises(openai.AuthenticationError, match="needs its token"):
            wrong.chat.completions.create(model="small", messages=USER)
        assert httpx.get(gateway.url + "/health").json() == {"status": "ok"}  # liveness only
        assert httpx.get(gateway.url + "/metrics").status_code == 401
        right = openai.OpenAI(base_url=gateway.url + "/v1", api_key="gw-secret", max_retries=0)
        assert right.chat.completions.create(model="small", messages=USER).choices[0].message.content
        claude = anthropic.Anthropic(base_url=gateway.url, api_key="gw-secret", max_retries=0)
        assert claude.messages.create(model="claude", max_tokens=5, messages=USER).content[0].text
    sent = [r.headers for r in fake_providers.requests]
    assert all("gw-secret" not in json.dumps(h) for h in sent)


def test_host_header_must_be_loopback(gateway: Running) -> None:
    response = post(gateway, "/v1/chat/completions", {"model": "small", "messages": USER}, host="evil.example:4141")
    assert response.status_code == 403 and "not this loopback gateway" in response.json()["error"]["message"]


def test_non_loopback_bind_without_token_is_refused(tmp_path: Path, fake_providers: FakeProviders,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ServeError, match="without a token"):
        check_bind(ServeOptions(host="0.0.0.0"))
    check_bind(ServeOptions(host="0.0.0.0", token="t"))
    check_bind(ServeOptions(host="::1"))
    fleet = write_fleet(tmp_path, fake_providers)
    assert main(["--config", str(fleet), "serve", "--host", "0.0.0.0", "--port", "4199"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fleetui: refusing to listen on 0.0.0.0 without a token") and "Traceback" not in err


def test_port_in_use_is_one_line(tmp_path: Path, fake_providers: FakeProviders,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    fleet = write_fleet(tmp_path, fake_providers)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--config", str(fleet), "serve", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err
