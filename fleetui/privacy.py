"""What the store keeps of a prompt, by the fleet's privacy setting.

"full" keeps the text, "truncate:N" its first N characters, "hash" only a hash, "none" nothing
but the length. The hash is kept in every mode but "none" so that repeated prompts can still be
counted; it is a salted-free SHA-256 prefix, which identifies equal prompts, not their content.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KeptPrompt:
    text: str | None
    hash: str | None
    chars: int


def prompt_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def keep(text: str | None, mode: str) -> KeptPrompt:
    if text is None:
        return KeptPrompt(None, None, 0)
    if mode == "none":
        return KeptPrompt(None, None, len(text))
    digest = prompt_hash(text)
    if mode == "hash":
        return KeptPrompt(None, digest, len(text))
    if mode.startswith("truncate:"):
        return KeptPrompt(text[: int(mode.split(":", 1)[1])], digest, len(text))
    return KeptPrompt(text, digest, len(text))
