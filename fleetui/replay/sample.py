"""Which past prompts to replay: distinct ones, stratified by length so that a sample of 30 has
short, medium and long prompts in the proportions the traffic has them."""

from __future__ import annotations

import random
from collections.abc import Sequence

from fleetui.store.replays import PastPrompt

STRATA = 3


def stratified_sample(prompts: Sequence[PastPrompt], size: int, seed: int = 0) -> list[PastPrompt]:
    """`size` distinct prompts (all of them when there are fewer). Each length stratum gets a
    share of the sample proportional to the calls it had (largest remainder), and inside a
    stratum prompts are drawn at random, so a run with the same seed draws the same prompts."""
    if size >= len(prompts):
        return sorted(prompts, key=lambda p: p.prompt_hash)
    ordered = sorted(prompts, key=lambda p: (len(p.prompt), p.prompt_hash))
    strata = [list(ordered[i * len(ordered) // STRATA:(i + 1) * len(ordered) // STRATA]) for i in range(STRATA)]
    strata = [s for s in strata if s]
    calls = [sum(p.times for p in s) for s in strata]
    total = sum(calls)
    exact = [size * c / total for c in calls]
    shares = [min(int(x), len(s)) for x, s in zip(exact, strata, strict=True)]
    # Hand out what rounding left, to the strata that lost most to it and still have prompts.
    by_remainder = sorted(range(len(strata)), key=lambda i: exact[i] - int(exact[i]), reverse=True)
    while sum(shares) < size:
        for i in by_remainder:
            if sum(shares) < size and shares[i] < len(strata[i]):
                shares[i] += 1
    rng = random.Random(seed)
    chosen: list[PastPrompt] = []
    for stratum, share in zip(strata, shares, strict=True):
        chosen += rng.sample(stratum, share)
    return chosen
