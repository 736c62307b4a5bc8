"""What a learned router sees of a prompt: hashed words and a few features of its form.

Hashing (no vocabulary) keeps the saved file small and the same at train and route time;
crc32 is used rather than `hash()` because Python salts string hashes per process. One
featuriser serves both sides: training calls `matrix` on many prompts, the router calls
`one` on each request, so what was learned is exactly what is applied (≤ 50 µs a prompt,
`benchmarks/bench_learned_route.py`).
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Sequence

import numpy as np

FEATURES_VERSION = 1
DEFAULT_BITS = 16  # 65,536 word buckets: collisions stay rare at a few thousand distinct words
# Beyond this many characters a prompt's words add little and would make a decision slower.
MAX_CHARS = 2000

_WORD = re.compile(r"[a-z0-9_]{2,}")
_SHAPE_PATTERNS = tuple(re.compile(p) for p in (
    r"^\s*(what|who|where|when|which|how|why|is|are|can|do|does)\b",
    r"\b(write|essay|story|poem|blog|article|explain|describe|list|ideas|tips|suggest)\b",
    r"\b(code|python|function|program|javascript|sql|regex)\b",
    r"\b(given|following|below)\b",
    r"\b(brief|briefly|short|concise|one word|one sentence|in a sentence|few words)\b",
    r"\b(summar\w*|tl;?dr)\b",
    r"\b(translate|translation|convert)\b",
    r"[0-9]+\s*[-+*/^=]\s*[0-9x]",
    r"\b(classify|categor\w*|identify|extract|which of)\b",
    r"\b(prove|proof|calculate|solve|equation|probability)\b",
    r"\b(you are|act as|pretend|imagine|role)\b",
))
SHAPE_NAMES = ("log_chars", "log_words", "log_lines", "question", "digits", "code_chars",
               *(f"pattern_{i}" for i in range(len(_SHAPE_PATTERNS))))
N_SHAPE = len(SHAPE_NAMES)


def _shape(text: str, lower: str, words: int) -> list[float]:
    size = max(1, len(text))
    # str.count runs in C: ten of them beat one Python loop over the characters.
    digits = sum(map(text.count, "0123456789"))
    code = sum(map(text.count, "{}()[];=<>"))
    return [math.log1p(len(text)) / 8, math.log1p(words) / 6, math.log1p(text.count("\n")) / 4,
            float("?" in text), digits / size, code / size,
            *(1.0 if p.search(lower) else 0.0 for p in _SHAPE_PATTERNS)]


def tokens(text: str, category: str = "") -> tuple[str, list[str]]:
    lower = text[:MAX_CHARS].lower()
    words = _WORD.findall(lower)
    if category:
        words.append(f"__category={category.lower()}")
    return lower, words


def one(text: str, category: str, bits: int) -> tuple[list[int], list[float], list[float]]:
    """(word bucket indices, their weights, shape features) of one prompt.

    Word weights are binary and L2-normalised, so a long prompt does not predict more extreme
    qualities than a short one."""
    lower, words = tokens(text, category)
    mask = (1 << bits) - 1
    buckets = sorted({zlib.crc32(w.encode()) & mask for w in words})
    weight = 1.0 / math.sqrt(len(buckets)) if buckets else 0.0
    return buckets, [weight] * len(buckets), _shape(text[:MAX_CHARS], lower, len(words))


def matrix(texts: Sequence[str], categories: Sequence[str], bits: int) -> tuple[object, np.ndarray]:
    """Sparse word matrix (CSR, prompts × 2^bits) and dense shape features (prompts × N_SHAPE)."""
    from scipy.sparse import csr_matrix  # type: ignore[import-untyped]

    indptr = [0]
    indices: list[int] = []
    values: list[float] = []
    shapes = np.empty((len(texts), N_SHAPE))
    for i, (text, category) in enumerate(zip(texts, categories, strict=True)):
        buckets, weights, shape = one(text, category, bits)
        indices += buckets
        values += weights
        indptr.append(len(indices))
        shapes[i] = shape
    words = csr_matrix((np.asarray(values, dtype=np.float64), np.asarray(indices, dtype=np.int32),
                        np.asarray(indptr, dtype=np.int64)), shape=(len(texts), 1 << bits))
    return words, shapes
