"""Loopback servers that speak real provider wire formats, for tests."""

from tests.fakeproviders.server import CHUNKS, MODELS, REPLY, FakeProviders

__all__ = ["CHUNKS", "MODELS", "REPLY", "FakeProviders"]
