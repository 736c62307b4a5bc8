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

FEATURES_VERSION = 3
DEFAULT_BITS = 16  # 65,536 word buckets: collisions stay rare at a few thousand distinct words
# A call's category (its use case or task) is a feature of its own, at full weight whatever the
# prompt's length: folded into the words' normalisation it was worth 1/√(words) and a long prompt
# drowned it, while on graded sets a subject alone often says most of what a router can know.
CATEGORY_WEIGHT = 1.0
# Beyond this many characters a prompt's words add little and would make a decision slower.
MAX_CHARS = 2000

_WORD = re.compile(r"[a-z0-9_]{2,}")
_DIGIT = re.compile(r"[0-9]")
_CODE = re.compile(r"[{}()\[\];=<>]")
_ARITHMETIC = re.compile(r"[0-9]+\s*[-+*/^=]\s*[0-9x]")
_QUESTION_WORDS = frozenset("what who where when which how why is are can do does".split())
# Kinds of request, each a set of words: tested against the prompt's word set (one C-level set
# operation each), which keeps a decision within its budget where eleven regexes did not.
_KINDS = tuple(frozenset(words.split()) for words in (
    "write essay story poem blog article explain describe list ideas tips suggest",
    "code python function program javascript sql regex",
    "given following below",
    "brief briefly short concise sentence words",
    "summary summarize summarise tldr",
    "translate translation convert",
    "classify categorize categorise category identify extract",
    "prove proof calculate solve equation probability",
    "pretend imagine act role",
    "step steps guide advice recommend recommendation",
))
SHAPE_NAMES = ("log_chars", "log_words", "log_lines", "question", "digits", "code_chars", "asks_question",
               "arithmetic", *(f"kind_{i}" for i in range(len(_KINDS))))
N_SHAPE = len(SHAPE_NAMES)


def _shape(text: str, words: list[str]) -> list[float]:
    size = max(1, len(text))
    present = set(words)
    out = [math.log1p(len(text)) / 8, math.log1p(len(words)) / 6, math.log1p(text.count("\n")) / 4,
           1.0 if "?" in text else 0.0,
           len(_DIGIT.findall(text)) / size, len(_CODE.findall(text)) / size,  # findall runs in C
           1.0 if words and words[0] in _QUESTION_WORDS else 0.0,
           1.0 if _ARITHMETIC.search(text) else 0.0]
    out += [0.0 if present.isdisjoint(kind) else 1.0 for kind in _KINDS]
    return out


def tokens(text: str) -> list[str]:
    return _WORD.findall(text[:MAX_CHARS].lower())


def category_bucket(category: str, bits: int) -> int:
    """The bucket of a category, or -1 for none."""
    return zlib.crc32(f"__category={category.lower()}".encode()) & ((1 << bits) - 1) if category else -1


def one(text: str, category: str, bits: int) -> tuple[list[int], float, list[float], int]:
    """(word bucket indices, the weight of each, shape features, category bucket or -1) of one prompt.

    Word weights are binary and L2-normalised, so a long prompt does not predict more extreme
    qualities than a short one; the category counts CATEGORY_WEIGHT on its own."""
    words = tokens(text)
    mask = (1 << bits) - 1
    crc32 = zlib.crc32
    buckets = sorted({crc32(w.encode()) & mask for w in words})
    weight = 1.0 / math.sqrt(len(buckets)) if buckets else 0.0
    return buckets, weight, _shape(text[:MAX_CHARS], words), category_bucket(category, bits)


def matrix(texts: Sequence[str], categories: Sequence[str], bits: int) -> tuple[object, np.ndarray]:
    """Sparse word matrix (CSR, prompts × 2^bits) and dense shape features (prompts × N_SHAPE)."""
    from scipy.sparse import csr_matrix  # type: ignore[import-untyped]

    indptr = [0]
    indices: list[int] = []
    values: list[float] = []
    shapes = np.empty((len(texts), N_SHAPE))
    for i, (text, category) in enumerate(zip(texts, categories, strict=True)):
        buckets, weight, shape, cat = one(text, category, bits)
        indices += buckets
        values += [weight] * len(buckets)
        if cat >= 0:  # a bucket shared with a word is summed, as `one`'s users add it
            indices.append(cat)
            values.append(CATEGORY_WEIGHT)
        indptr.append(len(indices))
        shapes[i] = shape
    words = csr_matrix((np.asarray(values, dtype=np.float64), np.asarray(indices, dtype=np.int32),
                        np.asarray(indptr, dtype=np.int64)), shape=(len(texts), 1 << bits))
    return words, shapes
