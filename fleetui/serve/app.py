"""The gateway as a raw ASGI application: no framework between the socket and the relay.

Per LLM request: read and check the JSON body, resolve the model name to a chain of fleet
models, send the body on with the provider's model name and the fleet's key, and relay the reply
— a stream chunk by chunk as it arrives, never buffered. A 429, a 5xx, a timeout or a refused
connection before the first byte moves on to the next model of the chain. Every attempt is
handed to the recorder as the shim's Exchange (parsed on the recorder's thread), with the
client's x-fleetui-* attributes and the time the gateway itself took. A client that hangs up
cancels the upstream request, and the call is still recorded, marked abandoned.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import httpx

from fleetui.providers.anthropic import API_VERSION
from fleetui.routing.router import Router
from fleetui.serve.recording import GatewayExchange
from fleetui.serve.resolve import AUTO, ModelNames, Plan
from fleetui.serve.status import GatewayStats, write_status
from fleetui.serve.upstream import MissingKey, Target, Upstreams
from fleetui.serve.wire import (
    ENDPOINTS,
    BadRequest,
    Endpoint,
    Wire,
    error_body,
    parse_body,
)
from fleetui.shim.exchange import READ_TO_END
from fleetui.shim.exchange import _prompt as prompt_of
from fleetui.shim.recorder import Recorder
from fleetui.store.records import new_call_id

log = logging.getLogger("fleetui.serve")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

MAX_BODY = 32 * 1024 * 1024
FALLBACK_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
# Upstream reply headers a client may rely on (content type, rate limits, request ids); the rest
# (cookies, connection handling, the provider's own server details) stay with the gateway.
_RELAYED = ("content-type", "retry-after", "x-request-id", "request-id", "openai-processing-ms", "cache-control")
_RELAYED_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-")
_ATTRIBUTE_HEADERS = {b"x-fleetui-app": "source", b"x-fleetui-task": "task", b"x-fleetui-user": "user_id",
                      b"x-fleetui-session": "session_id", b"x-fleetui-tags": "tags"}
_FEEDBACK = re.compile(r"^/v1/fleetui/calls/([0-9a-f]{32})/feedback$")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
_JSON = [(b"content-type", b"application/json")]


@dataclass
class GatewaySettings:
    token: str | None = None  # clients must send it (Bearer or x-api-key) when set
    loopback: bool = True  # bound to loopback: the Host header must name loopback too (DNS rebinding)
    source: str = "fleetui-serve"  # the source of calls whose client sent no x-fleetui-app
    status_every_s: float = 5.0
    write_status_file: bool = True


class Gateway:
    def __init__(self, router: Router, upstreams: Upstreams, recorder: Recorder, settings: GatewaySettings,
                 stats: GatewayStats, *, db_path: Any = None) -> None:
        self.router = router
        self.upstreams = upstreams
        self.recorder = recorder
        self.settings = settings
        self.stats = stats
        self.names = ModelNames(router, upstreams)
        self.db_path = db_path
        self._token = settings.token.encode() if settings.token else None
        self._status_task: asyncio.Task[None] | None = None

    # -- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                for problem in self.upstreams.warm(self.router.fleet):
                    log.warning("fleetui serve: %s", problem)
                if self.router.fleet.otel.endpoint:
                    from fleetui import otel

                    if not otel.installed():
                        log.warning(otel.MISSING)
                if self.settings.write_status_file:
                    self._status_task = asyncio.create_task(self._write_status_every())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def aclose(self) -> None:
        if self._status_task is not None:
            self._status_task.cancel()
            self._status_task = None
        await self.upstreams.aclose()
        await asyncio.to_thread(self.recorder.flush, 10.0)

    async def _write_status_every(self) -> None:
        while True:
            try:
                write_status(self.stats.snapshot())
            except OSError as exc:
                log.warning("fleetui serve: cannot write the status file (%s)", exc)
            await asyncio.sleep(self.settings.status_every_s)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        arrived = time.perf_counter()
        path: str = scope["path"]
        headers = dict(scope["headers"])
        endpoint = ENDPOINTS.get(path)
        wire = endpoint.wire if endpoint else (Wire.ANTHROPIC if b"anthropic-version" in headers else Wire.OPENAI)
        reply = _Reply(send)
        try:
            self._check_host(headers)
            if path == "/health" and not self._authorised(headers):
                return await reply.json(200, {"status": "ok"})
            if not self._authorised(headers):
                raise BadRequest("this gateway needs its token: send it as the API key (Authorization: Bearer "
                                 "TOKEN, or x-api-key); provider keys stay with the gateway", status=401)
            method = scope["method"]
            if endpoint is not None:
                _expect(method, "POST", path)
                await self._relay(endpoint, headers, receive, reply, arrived)
            elif path == "/v1/models":
                _expect(method, "GET", path)
                await reply.json(200, self._models(wire))
            elif path == "/route":
                await reply.json(200, await self._route(method, scope, receive))
            elif path == "/metrics":
                _expect(method, "GET", path)
                await reply.send(200, [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")],
                                 (await asyncio.to_thread(self._metrics)).encode())
            elif path == "/health":
                _expect(method, "GET", path)
                await reply.json(200, await asyncio.to_thread(self._health))
            elif match := _FEEDBACK.match(path):
                _expect(method, "POST", path)
                await reply.json(200, self._feedback(match.group(1), await _read(receive)))
            else:
                raise BadRequest(f"no endpoint {path}; the gateway serves /v1/chat/completions, /v1/responses, "
                                 "/v1/embeddings, /v1/models, /v1/messages, /v1/messages/count_tokens, /route, "
                                 "/metrics, /health and /v1/fleetui/calls/ID/feedback", status=404)
        except BadRequest as exc:
            if not reply.started:
                await reply.send(exc.status, _JSON, error_body(wire, exc.status, str(exc), code=exc.code, param=exc.param))
        except _ClientGone:
            pass
        except Exception:
            log.exception("fleetui serve: internal error on %s", path)
            if not reply.started:
                await reply.send(500, _JSON, error_body(wire, 500, "internal gateway error (logged by fleetui serve)"))
        finally:
            self.stats.count(reply.status or 499, reply.overhead_ms)

    def _check_host(self, headers: dict[bytes, bytes]) -> None:
        if not self.settings.loopback:
            return
        host = headers.get(b"host", b"").decode("latin-1")
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        if name not in _LOOPBACK_HOSTS:
            raise BadRequest(f"Host {host!r} is not this loopback gateway (a browser page on another site?); "
                             "use http://127.0.0.1", status=403)

    def _authorised(self, headers: dict[bytes, bytes]) -> bool:
        if self._token is None:
            return True
        sent = headers.get(b"x-api-key") or headers.get(b"authorization", b"").removeprefix(b"Bearer ")
        return hmac.compare_digest(sent, self._token)

    # -- the relay ---------------------------------------------------------------------------

    async def _relay(self, endpoint: Endpoint, headers: dict[bytes, bytes], receive: Receive, reply: _Reply,
                     arrived: float) -> None:
        if b"application/json" not in headers.get(b"content-type", b""):
            raise BadRequest("send the request body as JSON with Content-Type: application/json")
        body = parse_body(await _read(receive), endpoint)
        attributes = _client_attributes(headers, self.settings.source)
        name = body["model"]
        plan = self.names.plan(
            name, endpoint.wire, prompt=(prompt_of(body) or "") if name == AUTO else "",
            task=attributes.get("task"), user=attributes.get("user_id"), tags=attributes.get("tags", ()),
        )
        stream = body.get("stream") is True
        if stream and endpoint.path == "/v1/chat/completions" and "stream_options" not in body:
            # Without it an OpenAI stream carries no token counts, and the call could not be priced.
            body["stream_options"] = {"include_usage": True}
        forwarded = [(b"content-type", b"application/json")]
        if endpoint.wire is Wire.ANTHROPIC:
            # The client's API version, else the one fleetui's own adapter speaks.
            forwarded.append((b"anthropic-version", headers.get(b"anthropic-version") or API_VERSION.encode()))
            if b"anthropic-beta" in headers:
                forwarded.append((b"anthropic-beta", headers[b"anthropic-beta"]))
        call = _Call(self, endpoint, plan, body, forwarded, attributes, reply, arrived, stream)
        await call.run(receive)

    # -- the other endpoints ------------------------------------------------------------------

    def _models(self, wire: Wire) -> dict[str, Any]:
        fleet = self.router.fleet
        targets = self.upstreams.targets(fleet)
        served = [t for t in targets.values() if t.enabled and t.wire is wire]
        roles = [r.id for r in fleet.roles if any(m.id in {t.model_id for t in served}
                                                   for m in fleet.models_in_role(r.id))]
        names = [AUTO, *(t.model_id for t in served), *roles]
        if wire is Wire.ANTHROPIC:
            data = [{"type": "model", "id": n, "display_name": n, "created_at": "1970-01-01T00:00:00Z"} for n in names]
            return {"data": data, "has_more": False, "first_id": names[0], "last_id": names[-1]}
        owners = {t.model_id: t.provider_id for t in served}
        return {"object": "list", "data": [{"id": n, "object": "model", "created": 0,
                                            "owned_by": owners.get(n, "fleetui")} for n in names]}

    async def _route(self, method: str, scope: Scope, receive: Receive) -> dict[str, Any]:
        if method == "GET":
            from urllib.parse import parse_qs

            query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
            tags = [t for t in query.get("tags", "").split(",") if t]
            given: dict[str, Any] = {**query, "tags": tags}
        elif method == "POST":
            try:
                given = json.loads(await _read(receive) or b"{}")
            except ValueError as exc:
                raise BadRequest(f"/route takes a JSON object ({exc})") from None
            if not isinstance(given, dict):
                raise BadRequest("/route takes a JSON object: {\"prompt\": …, \"task\": …}")
        else:
            raise BadRequest(f"/route takes GET or POST, not {method}", status=405)
        prompt = given.get("prompt")
        if not isinstance(prompt, str):
            raise BadRequest("/route needs 'prompt' (a string)", param="prompt")
        from fleetui.routing.router import NoRoute

        try:
            decision = self.router.route(prompt, task=given.get("task"), use_case=given.get("use_case"),
                                         complexity=given.get("complexity"), tags=tuple(given.get("tags") or ()),
                                         user=given.get("user"))
        except NoRoute as exc:
            raise BadRequest(str(exc), status=503) from None
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return decision.as_json()

    def _metrics(self) -> str:
        from fleetui.analysis.metrics import collect, prometheus_text
        from fleetui.store import Store

        with Store.open(self.db_path) as store:  # the same families as `fleetui metrics`
            text = prometheus_text(collect(store, self.router.fleet))
        status = self.stats.snapshot()
        lines = [
            "# HELP fleetui_gateway_requests_total Requests this gateway process answered.",
            "# TYPE fleetui_gateway_requests_total counter",
            f"fleetui_gateway_requests_total {status.requests_total}",
            "# HELP fleetui_gateway_errors_total Replies with status 400 or more.",
            "# TYPE fleetui_gateway_errors_total counter",
            f"fleetui_gateway_errors_total {status.errors_total}",
            "# HELP fleetui_gateway_overhead_seconds Time the gateway added to a call, last minute.",
            "# TYPE fleetui_gateway_overhead_seconds gauge",
        ]
        for quantile, value in (("0.5", status.overhead_p50_ms), ("0.99", status.overhead_p99_ms)):
            if value is not None:
                lines.append(f'fleetui_gateway_overhead_seconds{{quantile="{quantile}"}} {value / 1000:.6f}')
        return text + "\n".join(lines) + "\n"

    def _health(self) -> dict[str, Any]:
        from fleetui.probes import fleet_health
        from fleetui.store import Store

        fleet = self.router.fleet
        try:
            with Store.open(self.db_path) as store:
                models = fleet_health(fleet, store.recent_probes)
        except Exception as exc:  # the gateway is alive even when the store is not readable
            return {"status": "ok", "models": {m.id: "unknown" for m in fleet.models}, "store": f"unreadable: {exc}"}
        status = self.stats.snapshot()
        return {"status": "ok", "models": models, "requests_total": status.requests_total,
                "requests_per_minute": status.requests_per_minute,
                "overhead_p50_ms": status.overhead_p50_ms, "overhead_p99_ms": status.overhead_p99_ms}

    def _feedback(self, call_id: str, raw: bytes) -> dict[str, Any]:
        try:
            given = json.loads(raw or b"null")
        except ValueError as exc:
            raise BadRequest(f"feedback takes a JSON object ({exc})") from None
        score = given.get("score") if isinstance(given, dict) else None
        if not isinstance(score, (int, float)) or isinstance(score, bool) or not 0 <= score <= 1:
            raise BadRequest("feedback needs 'score', a number from 0 (bad) to 1 (good)", param="score")
        comment = given.get("comment")
        if comment is not None and not isinstance(comment, str):
            raise BadRequest("'comment' must be a string", param="comment")
        self.recorder.record(("feedback", call_id, (float(score), comment)))
        return {"call_id": call_id, "score": float(score), "recorded": True}


class _Call:
    """One client request through the gateway, with its attempts along the chain."""

    def __init__(self, gateway: Gateway, endpoint: Endpoint, plan: Plan, body: dict[str, Any],
                 forwarded: list[tuple[bytes, bytes]], attributes: dict[str, Any], reply: _Reply,
                 arrived: float, stream: bool) -> None:
        self.gateway = gateway
        self.endpoint = endpoint
        self.plan = plan
        self.body = body
        self.forwarded = forwarded
        self.attributes = attributes
        self.reply = reply
        self.arrived = arrived
        self.stream = stream
        self.attempts: list[GatewayExchange] = []
        self.upstream_s = 0.0  # time spent waiting on providers: not the gateway's overhead
        self.overhead_ms: float | None = None
        self.tried: list[str] = []  # "model-id 429", for the route header
        self.disconnected = False
        self.finished = False

    async def run(self, receive: Receive) -> None:
        task = asyncio.current_task()
        watcher = asyncio.ensure_future(receive())

        def hung_up(done: asyncio.Future[Any]) -> None:
            # Once the reply is complete the server reports a disconnect at once: not a hang-up.
            if done.cancelled() or self.finished or self.reply.completing:
                return
            if done.exception() is None and done.result().get("type") == "http.disconnect" and task is not None:
                self.disconnected = True
                task.cancel()

        watcher.add_done_callback(hung_up)
        try:
            await self._attempts()
        except asyncio.CancelledError:
            if not self.disconnected:
                raise
            if task is not None:
                task.uncancel()
        finally:
            self.finished = True
            watcher.cancel()
            self._record()

    async def _attempts(self) -> None:
        targets = self.plan.targets
        notes: list[str] = []
        for index, target in enumerate(targets):
            last = index == len(targets) - 1
            try:
                self.gateway.upstreams.headers(target)
            except MissingKey as exc:
                notes.append(str(exc))
                self.tried.append(f"{target.model_id} no-key")
                if last:
                    raise BadRequest("; ".join(notes), status=503) from None
                continue
            if await self._attempt(target, index, last, notes):
                return
        # Every model failed before it could answer (connection refused, timeouts).
        timed_out = all(a.error == "timeout" for a in self.attempts)
        status = 504 if timed_out else 502
        raise BadRequest("no model of the chain answered: " + "; ".join(notes), status=status)

    async def _attempt(self, target: Target, index: int, last: bool, notes: list[str]) -> bool:
        """One try; True when the client got its reply (or an error to keep), False to go on."""
        body = self.body
        body["model"] = target.provider_model
        content = json.dumps(body).encode()
        call_id = new_call_id()
        exchange = GatewayExchange(
            url=target.base_url + self.endpoint.upstream, request_body=content, started=time.time(),
            started_perf=time.perf_counter(), attributes=self._record_attributes(target, call_id),
            operation=self.endpoint.operation)
        self.attempts.append(exchange)
        upstreams = self.gateway.upstreams
        sent = time.perf_counter()
        request = upstreams.request(target, self.endpoint.upstream, content, self.forwarded)
        try:
            response = await upstreams.send(request)
        except httpx.TimeoutException:
            exchange.error, exchange.ended_perf = "timeout", time.perf_counter()
            self.upstream_s += exchange.ended_perf - sent
            notes.append(f"{target.model_id}: timed out")
            self.tried.append(f"{target.model_id} timeout")
            return False
        except httpx.HTTPError as exc:
            exchange.error, exchange.ended_perf = "connection", time.perf_counter()
            self.upstream_s += exchange.ended_perf - sent
            notes.append(f"{target.model_id}: cannot connect to {target.base_url} ({type(exc).__name__})")
            self.tried.append(f"{target.model_id} unreachable")
            return False
        try:
            exchange.status = response.status_code
            exchange.headers = {k.lower(): v for k, v in response.headers.items()}
            if response.status_code in FALLBACK_STATUSES and not last:
                exchange.chunks = [await response.aread()]
                self.upstream_s += _read_to_end(exchange) - sent
                notes.append(f"{target.model_id}: HTTP {response.status_code}")
                self.tried.append(f"{target.model_id} {response.status_code}")
                return False
            route = self.plan.route + (f"; fallback after {', '.join(self.tried)}" if self.tried else "")
            start = self._start_headers(response, target, route, exchange)
            if self.stream and response.status_code < 400:
                await self._relay_stream(response, exchange, start, sent)
            else:
                data = await response.aread()
                exchange.chunks = [data]
                self.upstream_s += _read_to_end(exchange) - sent
                start.append((b"content-length", str(len(data)).encode()))
                await self.reply.send(response.status_code, start, data)
                self.overhead_ms = self.reply.overhead_ms = (time.perf_counter() - self.arrived - self.upstream_s) * 1000
            return True
        except (httpx.TimeoutException, httpx.HTTPError) as exc:
            # The reply broke off after it began: the client has what was relayed, and the call
            # is recorded as the failure it was.
            exchange.error = "timeout" if isinstance(exc, httpx.TimeoutException) else "connection"
            exchange.ended_perf = time.perf_counter()
            if not self.reply.started:
                raise BadRequest(f"{target.model_id}: the reply broke off ({type(exc).__name__})", status=502) from None
            await self.reply.end()
            return True
        finally:
            await response.aclose()

    async def _relay_stream(self, response: httpx.Response, exchange: GatewayExchange,
                            start: list[tuple[bytes, bytes]], sent: float) -> None:
        await self.reply.start(response.status_code, start)
        chunks = exchange.chunks
        async for chunk in response.aiter_raw():
            now = time.perf_counter()
            if not chunks:
                self.upstream_s += now - sent
            chunks.append(chunk)
            exchange.chunk_perf.append(now)  # the recorder finds the first content delta's time
            exchange.last_read_perf = now
            await self.reply.body(chunk)
            if self.overhead_ms is None:  # to the first chunk: what a streaming client waits for
                self.overhead_ms = self.reply.overhead_ms = (time.perf_counter() - self.arrived - self.upstream_s) * 1000
        exchange.end, exchange.ended_perf = READ_TO_END, time.perf_counter()
        await self.reply.end()

    def _start_headers(self, response: httpx.Response, target: Target, route: str,
                       exchange: GatewayExchange) -> list[tuple[bytes, bytes]]:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()
                   if k in _RELAYED or k.startswith(_RELAYED_PREFIXES)]
        headers += [(b"x-fleetui-model", target.model_id.encode()), (b"x-fleetui-route", route.encode("ascii", "replace")),
                    (b"x-fleetui-call-id", exchange.attributes["call_id"].encode())]
        return headers

    def _record_attributes(self, target: Target, call_id: str) -> dict[str, Any]:
        return {**self.attributes, **self.plan.attributes, "call_id": call_id, "model_id": target.model_id,
                "provider_name": target.provider_id}

    def _record(self) -> None:
        if not self.attempts:
            return
        final = self.attempts[-1]
        if self.overhead_ms is None and final.ended_perf is None:
            final.ended_perf = time.perf_counter()
        if len(self.attempts) > 1:
            group = self.attempts[0].attributes["call_id"]
            for number, attempt in enumerate(self.attempts, start=1):
                attempt.attributes.update(app_call_id=group, attempt=number)
        final.attributes["gateway_overhead_ms"] = self.overhead_ms
        if self.disconnected:
            final.attributes["abandoned"] = True
            if not final.chunks and final.error is None:
                final.error = "client_disconnected"
        if self.endpoint.recorded:
            for attempt in self.attempts:
                self.gateway.recorder.record(attempt)


class _Reply:
    """The client's side of one exchange: what was sent so far."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False
        self.completing = False  # the last part of the reply is being sent
        self.status: int | None = None
        self.overhead_ms: float | None = None

    async def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.started, self.status = True, status
        await self._send({"type": "http.response.start", "status": status, "headers": headers})

    async def body(self, data: bytes) -> None:
        await self._send({"type": "http.response.body", "body": data, "more_body": True})

    async def end(self) -> None:
        self.completing = True
        await self._send({"type": "http.response.body", "body": b"", "more_body": False})

    async def send(self, status: int, headers: list[tuple[bytes, bytes]], data: bytes) -> None:
        await self.start(status, headers)
        self.completing = True
        await self._send({"type": "http.response.body", "body": data, "more_body": False})

    async def json(self, status: int, value: Any) -> None:
        await self.send(status, _JSON, json.dumps(value).encode())


class _ClientGone(Exception):
    """The client hung up before it had sent its request."""


async def _read(receive: Receive) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise BadRequest(f"the request body is over {MAX_BODY // (1024 * 1024)} MiB", status=413)
        parts.append(chunk)
        if not message.get("more_body"):
            return parts[0] if len(parts) == 1 else b"".join(parts)


def _expect(method: str, allowed: str, path: str) -> None:
    if method != allowed:
        raise BadRequest(f"{path} takes {allowed}, not {method}", status=405)


def _client_attributes(headers: dict[bytes, bytes], default_source: str) -> dict[str, Any]:
    found: dict[str, Any] = {"source": default_source}
    for header, field in _ATTRIBUTE_HEADERS.items():
        value = headers.get(header)
        if value:
            text = value.decode("utf-8", "replace").strip()
            found[field] = [t.strip() for t in text.split(",") if t.strip()] if field == "tags" else text
    return found


def _read_to_end(exchange: GatewayExchange) -> float:
    """A whole body read at once: it ends, and the call's latency ends, now (returned)."""
    now = time.perf_counter()
    exchange.chunk_perf = [now] * len(exchange.chunks)
    exchange.end, exchange.ended_perf, exchange.last_read_perf = READ_TO_END, now, now
    return now
