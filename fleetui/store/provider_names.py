"""`calls.provider_name`: one vocabulary, OpenTelemetry's `gen_ai.provider.name`.

Writers know the provider in different words: the shim knows the SDK's wire format ("openai"
for any OpenAI-compatible server), the fleet its provider kind ("openai-compatible", "gemini"),
LiteLLM its own names ("azure", "vertex_ai", "bedrock"). The store keeps one: the provider
that served the call as the OTel GenAI conventions name it ("openai", "anthropic", "gcp.gemini",
"gcp.vertex_ai", "aws.bedrock", "azure.ai.openai", "groq", "mistral_ai", "x_ai", …; "ollama"
for Ollama, which the conventions do not list), decided by

1. the server the call went to, when it is a provider's known host (the best knowledge);
2. else the name given, translated from any of the vocabularies above;
3. else the name given, lower-cased (a provider nobody lists keeps its own name).

As the conventions say, an OpenAI-compatible server fleetui cannot name is "openai" (the API it
speaks); `server_address` tells which server it was. Every stored call passes through
`provider_name_of` (Store inserts, and schema step 10 for calls stored before).
"""

from __future__ import annotations

import functools
from urllib.parse import urlparse

# Hosts whose provider is certain, whatever name the writer gave.
_HOSTS = {
    "api.openai.com": "openai",
    "api.anthropic.com": "anthropic",
    "generativelanguage.googleapis.com": "gcp.gemini",
    "api.deepseek.com": "deepseek",
    "api.groq.com": "groq",
    "api.mistral.ai": "mistral_ai",
    "api.x.ai": "x_ai",
    "api.perplexity.ai": "perplexity",
    "api.cohere.com": "cohere",
    "api.cohere.ai": "cohere",
    # Not in the conventions' list: the names LiteLLM gives them.
    "openrouter.ai": "openrouter",
    "api.together.xyz": "together_ai",
    "api.fireworks.ai": "fireworks_ai",
}
# Host suffixes of providers that serve from many hosts (per region, per customer).
_HOST_SUFFIXES = (
    (".openai.azure.com", "azure.ai.openai"),
    (".services.ai.azure.com", "azure.ai.inference"),
    ("aiplatform.googleapis.com", "gcp.vertex_ai"),
    (".amazonaws.com", "aws.bedrock"),  # bedrock-runtime.<region>.amazonaws.com
)
# Names in the other vocabularies (fleet provider kinds, the shim's wire formats, LiteLLM's
# custom_llm_provider) and the OTel name each stands for.
_ALIASES = {
    "openai-compatible": "openai",
    "gemini": "gcp.gemini",
    "google": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "vertex_ai_beta": "gcp.vertex_ai",
    "bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "azure": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "x-ai": "x_ai",
    "cohere_chat": "cohere",
    "watsonx": "ibm.watsonx.ai",
    "ollama_chat": "ollama",
}


@functools.lru_cache(maxsize=1024)
def provider_name_of(given: str | None, server_address: str | None = None) -> str | None:
    """The stored provider name for a call that named `given` and went to `server_address`."""
    if server_address:
        host = (urlparse(server_address if "//" in server_address else f"//{server_address}").hostname or "").lower()
        if host in _HOSTS:
            return _HOSTS[host]
        for suffix, name in _HOST_SUFFIXES:
            if host.endswith(suffix) and (name != "aws.bedrock" or host.startswith("bedrock")):
                return name
    if given is None or not given.strip():
        return None
    word = given.strip().lower()
    return _ALIASES.get(word, word)
