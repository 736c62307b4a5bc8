"""Provider adapters against a loopback server speaking each provider's wire format."""

from __future__ import annotations

import time

import pytest

from fleetui.providers import ChatRequest, ErrorKind, ProviderError, RetryPolicy, StreamDone, TextDelta, Timeouts
from fleetui.providers.anthropic import AnthropicAdapter
from fleetui.providers.base import Adapter
from fleetui.providers.gemini import GeminiAdapter
from fleetui.providers.ollama import OllamaAdapter
from fleetui.providers.openai import OpenAIAdapter
from tests.fakeproviders import CHUNKS, REPLY, FakeProviders

ADAPTERS: dict[str, type[Adapter]] = {
    "openai": OpenAIAdapter, "anthropic": AnthropicAdapter, "gemini": GeminiAdapter, "ollama": OllamaAdapter,
}
FAST = Timeouts(connect_s=2, read_s=3, first_byte_s=0.5, stall_s=0.5, total_s=3)
NO_WAIT = RetryPolicy(max_retries=2, base_delay_s=0.01, max_delay_s=2)


def make(fake: FakeProviders, provider: str, model: str = "fake-small", *, key: str | None = "default",
         retry: RetryPolicy = NO_WAIT, timeouts: Timeouts = FAST) -> Adapter:
    api_key = fake.keys[provider] or None if key == "default" else key
    return ADAPTERS[provider](base_url=fake.url(provider), model=model, api_key=api_key, model_id=f"my-{model}",
                              timeouts=timeouts, retry=retry)


async def collect(adapter: Adapter, request: ChatRequest) -> tuple[list[str], StreamDone]:
    deltas, done = [], None
    async for event in adapter.stream(request):
        if isinstance(event, TextDelta):
            deltas.append(event.text)
        else:
            done = event
    assert done is not None
    return deltas, done


@pytest.mark.parametrize("provider", ADAPTERS)
async def test_chat_returns_text_and_usage(fake_providers: FakeProviders, provider: str) -> None:
    async with make(fake_providers, provider) as adapter:
        result = await adapter.chat(ChatRequest.of("say hello to me", system="be brief", max_tokens=20))
    assert result.text == REPLY and result.finish_reason == "stop"
    assert result.input_tokens is not None and result.input_tokens >= 4
    assert result.output_tokens == len(CHUNKS)
    assert result.latency_ms > 0 and result.response_model == "fake-small"
    sent = fake_providers.requests[-1]
    assert sent.method == "POST" and sent.body is not None


@pytest.mark.parametrize("provider", ADAPTERS)
async def test_stream_yields_text_as_it_arrives_then_usage(fake_providers: FakeProviders, provider: str) -> None:
    async with make(fake_providers, provider) as adapter:
        deltas, done = await collect(adapter, ChatRequest.of("say hello"))
    assert deltas == CHUNKS
    result = done.result
    assert result.text == REPLY and result.streamed
    assert result.output_tokens == len(CHUNKS) and result.input_tokens is not None
    assert result.ttft_ms is not None and 0 < result.ttft_ms <= result.latency_ms


async def test_openai_stream_asks_for_usage(fake_providers: FakeProviders) -> None:
    async with make(fake_providers, "openai") as adapter:
        await collect(adapter, ChatRequest.of("hi"))
    assert fake_providers.requests[-1].body["stream_options"] == {"include_usage": True}


async def test_anthropic_input_tokens_include_cache_reads(fake_providers: FakeProviders) -> None:
    async with make(fake_providers, "anthropic") as adapter:
        result = await adapter.chat(ChatRequest.of("one two three"))
    assert result.cached_input_tokens == 3 and result.input_tokens == 3 + 3


@pytest.mark.parametrize("provider", ADAPTERS)
async def test_list_models_and_probe(fake_providers: FakeProviders, provider: str) -> None:
    async with make(fake_providers, provider) as adapter:
        assert "fake-small" in [m.removesuffix(":latest") for m in await adapter.list_models()]
        probe = await adapter.probe()
        assert probe.ok and probe.listed and probe.latency_ms is not None
        deep = await adapter.probe(deep=True)
        assert deep.ok and deep.method == "deep"
    async with make(fake_providers, provider, "not-listed") as adapter:
        probe = await adapter.probe()
    assert not probe.ok and probe.error.kind is ErrorKind.UNKNOWN_MODEL and "not-listed" in str(probe.error)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
async def test_wrong_key_is_auth_error_naming_model_and_url(fake_providers: FakeProviders, provider: str) -> None:
    async with make(fake_providers, provider, key="wrong-key-123") as adapter:
        with pytest.raises(ProviderError) as caught:
            await adapter.chat(ChatRequest.of("hi"))
    error = caught.value
    assert error.kind is ErrorKind.AUTH and error.status == 401
    assert "my-fake-small" in str(error) and fake_providers.url(provider) in str(error)
    assert "wrong-key-123" not in str(error)
    assert len([r for r in fake_providers.requests if r.method == "POST"]) == 1, "auth errors are not retried"


@pytest.mark.parametrize("provider", ADAPTERS)
async def test_unknown_model_404(fake_providers: FakeProviders, provider: str) -> None:
    async with make(fake_providers, provider, "no-such-model") as adapter:
        with pytest.raises(ProviderError) as caught:
            await adapter.chat(ChatRequest.of("hi"))
    assert caught.value.kind is ErrorKind.UNKNOWN_MODEL and "does not exist" in str(caught.value)


@pytest.mark.parametrize("provider", ADAPTERS)
async def test_429_honours_retry_after_then_reports(fake_providers: FakeProviders, provider: str) -> None:
    retry = RetryPolicy(max_retries=1, base_delay_s=0.01, max_delay_s=2)
    started = time.perf_counter()
    async with make(fake_providers, provider, "fault-429", retry=retry) as adapter:
        with pytest.raises(ProviderError) as caught:
            await adapter.chat(ChatRequest.of("hi"))
    assert caught.value.kind is ErrorKind.RATE_LIMITED and caught.value.retry_after_s == pytest.approx(1, abs=0.01)
    assert time.perf_counter() - started >= 1.0, "waited Retry-After before the retry"
    assert len([r for r in fake_providers.requests if r.method == "POST"]) == 2


async def test_retry_after_longer_than_the_cap_is_reported_not_waited(fake_providers: FakeProviders) -> None:
    retry = RetryPolicy(max_retries=3, base_delay_s=0.01, max_delay_s=0.5)
    started = time.perf_counter()
    async with make(fake_providers, "openai", "fault-429", retry=retry) as adapter:
        with pytest.raises(ProviderError, match="429"):
            await adapter.chat(ChatRequest.of("hi"))
    assert time.perf_counter() - started < 0.9


@pytest.mark.parametrize("provider", ADAPTERS)
async def test_500_once_is_retried_and_succeeds(fake_providers: FakeProviders, provider: str) -> None:
    async with make(fake_providers, provider, "flaky-500") as adapter:
        result = await adapter.chat(ChatRequest.of("hi"))
    assert result.text == REPLY
    assert len([r for r in fake_providers.requests if r.method == "POST"]) == 2


async def test_persistent_500_is_server_error_after_retries(fake_providers: FakeProviders) -> None:
    async with make(fake_providers, "openai", "fault-500") as adapter:
        with pytest.raises(ProviderError) as caught:
            await adapter.chat(ChatRequest.of("hi"))
    assert caught.value.kind is ErrorKind.SERVER_ERROR and caught.value.status == 500
    assert len([r for r in fake_providers.requests if r.method == "POST"]) == 3


async def test_anthropic_529_is_overloaded(fake_providers: FakeProviders) -> None:
    async with make(fake_providers, "anthropic", "fault-529", retry=RetryPolicy(max_retries=0)) as adapter:
        with pytest.raises(ProviderError) as caught:
            await adapter.chat(ChatRequest.of("hi"))
    assert caught.value.kind is ErrorKind.OVERLOADED and caught.value.status == 529
    assert caught.value.provider_message == "Overloaded"


@pytest.mark.parametrize("provider", ADAPTERS)
async def test_slow_first_byte_times_out(fake_providers: FakeProviders, provider: str) -> None:
    async with make(fake_providers, provider, "slow", retry=RetryPolicy(max_retries=0)) as adapter:
        with pytest.raises(ProviderError) as caught:
            await collect(adapter, ChatRequest.of("hi"))
    assert caught.value.kind is ErrorKind.TIMEOUT


@pytest.mark.parametrize("provider", ADAPTERS)
async def test_stall_mid_stream_times_out_with_partial_text(fake_providers: FakeProviders, provider: str) -> None:
    seen: list[str] = []
    async with make(fake_providers, provider, "stall") as adapter:
        with pytest.raises(ProviderError) as caught:
            async for event in adapter.stream(ChatRequest.of("hi")):
                if isinstance(event, TextDelta):
                    seen.append(event.text)
    assert caught.value.kind is ErrorKind.TIMEOUT and "stalled" in str(caught.value)
    assert seen, "text that arrived before the stall reached the caller"


@pytest.mark.parametrize("provider", ADAPTERS)
async def test_dropped_connection_mid_stream(fake_providers: FakeProviders, provider: str) -> None:
    async with make(fake_providers, provider, "drop") as adapter:
        with pytest.raises(ProviderError) as caught:
            await collect(adapter, ChatRequest.of("hi"))
    assert caught.value.kind in (ErrorKind.CONNECTION, ErrorKind.BAD_RESPONSE)
    assert len([r for r in fake_providers.requests if r.method == "POST"]) == 1, "no retry after bytes arrived"


@pytest.mark.parametrize("provider", ADAPTERS)
async def test_malformed_json_is_bad_response(fake_providers: FakeProviders, provider: str) -> None:
    async with make(fake_providers, provider, "malformed") as adapter:
        with pytest.raises(ProviderError) as plain:
            await adapter.chat(ChatRequest.of("hi"))
        with pytest.raises(ProviderError) as streamed:
            await collect(adapter, ChatRequest.of("hi"))
    assert plain.value.kind is ErrorKind.BAD_RESPONSE and "not JSON" in str(plain.value)
    assert streamed.value.kind is ErrorKind.BAD_RESPONSE and "malformed" in str(streamed.value)


@pytest.mark.parametrize("provider", ADAPTERS)
async def test_truncated_stream_is_bad_response(fake_providers: FakeProviders, provider: str) -> None:
    async with make(fake_providers, provider, "truncated") as adapter:
        with pytest.raises(ProviderError) as caught:
            await collect(adapter, ChatRequest.of("hi"))
    assert caught.value.kind is ErrorKind.BAD_RESPONSE and "truncated" in str(caught.value)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
async def test_refusal_is_marked(fake_providers: FakeProviders, provider: str) -> None:
    async with make(fake_providers, provider, "refuse") as adapter:
        result = await adapter.chat(ChatRequest.of("something bad"))
        _, done = await collect(adapter, ChatRequest.of("something bad"))
    assert result.refused and done.result.refused


async def test_connection_refused_is_a_status_not_a_traceback() -> None:
    adapter = OpenAIAdapter(base_url="http://127.0.0.1:9/v1", model="m", model_id="local", timeouts=FAST,
                            retry=RetryPolicy(max_retries=0))
    async with adapter:
        probe = await adapter.probe()
    assert not probe.ok and probe.error.kind is ErrorKind.CONNECTION
    assert "127.0.0.1:9" in str(probe.error) and "is the server running" in str(probe.error)


async def test_key_goes_only_to_its_own_endpoint(fake_providers: FakeProviders) -> None:
    async with make(fake_providers, "openai") as openai, make(fake_providers, "ollama") as ollama:
        await openai.chat(ChatRequest.of("hi"))
        await ollama.chat(ChatRequest.of("hi"))
    to_ollama = [r for r in fake_providers.requests if r.provider == "ollama"]
    assert to_ollama and all("authorization" not in r.headers for r in to_ollama)
    to_openai = [r for r in fake_providers.requests if r.provider == "openai"]
    assert to_openai[0].headers["authorization"] == "Bearer sk-fake-openai"


async def test_openai_stream_without_finish_reason_is_not_taken_as_a_reply(fake_providers: FakeProviders) -> None:
    async with make(fake_providers, "openai", "no-finish") as adapter:
        with pytest.raises(ProviderError) as caught:
            await collect(adapter, ChatRequest.of("hi"))
    assert caught.value.kind is ErrorKind.BAD_RESPONSE and "finish_reason" in str(caught.value)
    assert caught.value.partial_text == REPLY
