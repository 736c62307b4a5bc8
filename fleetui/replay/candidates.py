"""Which cheaper models to try instead of the current one, in which order, and who judges.

Candidates come in price bands relative to the current model. The cheapest band is tried first;
when nothing there passes, the next, stronger (dearer) band gets its turn — at most three rounds,
so a verification never turns into a survey of the whole fleet. Inside a band, models are
ranked by fit for the use case: measured success and speed where the store has them, the
model's declared strengths, its saving.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from fleetui.config.schema import Fleet, Model
from fleetui.pricing import Pricer, estimate_tokens
from fleetui.store.replays import PastPrompt

# Upper bounds of each band, as the candidate's cost / the current model's cost.
BANDS: tuple[tuple[str, float], ...] = (("budget", 0.10), ("value", 0.35), ("near", 1.0))
MAX_ROUNDS = 3


@dataclass(frozen=True, slots=True)
class Candidate:
    model_id: str
    name: str
    band: str
    cost_ratio: float | None  # estimated cost per call / the current model's; None: unpriced
    fit: float
    reasons: tuple[str, ...] = field(default=())

    @property
    def saving_pct(self) -> float | None:
        return None if self.cost_ratio is None else 100 * (1 - self.cost_ratio)


def typical_tokens(prompts: Sequence[PastPrompt]) -> tuple[int, int]:
    """Median logged (input, output) tokens, or a guess from the prompt lengths."""
    tin = [p.input_tokens for p in prompts if p.input_tokens]
    tout = [p.output_tokens for p in prompts if p.output_tokens]
    guess_in = int(statistics.median([estimate_tokens(p.prompt) for p in prompts])) if prompts else 200
    return (int(statistics.median(tin)) if tin else max(1, guess_in),
            int(statistics.median(tout)) if tout else 300)


def cost_ratio(pricer: Pricer, model_id: str, current: str, tokens: tuple[int, int]) -> float | None:
    mine, theirs = pricer.cost(model_id, *tokens), pricer.cost(current, *tokens)
    if mine is None or not theirs:
        return None
    return mine / theirs


def rounds(
    fleet: Fleet,
    current: str,
    use_case: str | None,
    prompts: Sequence[PastPrompt],
    *,
    named: Sequence[str] | None = None,
    per_round: int = 2,
    min_saving_pct: float | None = None,
    health: Mapping[str, str] | None = None,
    measured: Mapping[str, Mapping[str, float]] | None = None,
    exclude: Sequence[str] = (),
) -> list[list[Candidate]]:
    """Candidates to replay, round by round. Named candidates are one round, in the order given.
    `health` is model id → probe status; `measured` is model id → ranking row for the use case
    (success_lcb, p50_ms, quality), when the store has one."""
    pricer = Pricer(fleet)
    tokens = typical_tokens(prompts)
    health = health or {}
    measured = measured or {}
    if named:
        return [[_candidate(fleet.model(m), pricer, current, tokens, use_case, measured.get(m), health.get(m))
                 for m in named]]
    floor = fleet.recommendations.min_saving_pct if min_saving_pct is None else min_saving_pct
    banded: dict[str, list[Candidate]] = {name: [] for name, _ in BANDS}
    for model in fleet.models:
        if model.id == current or model.id in exclude or not model.enabled or health.get(model.id) == "offline":
            continue
        candidate = _candidate(model, pricer, current, tokens, use_case, measured.get(model.id), health.get(model.id))
        if candidate.cost_ratio is None or candidate.saving_pct is None or candidate.saving_pct < floor:
            continue
        banded[candidate.band].append(candidate)
    out = []
    for name, _ in BANDS:
        ranked = sorted(banded[name], key=lambda c: (-c.fit, c.cost_ratio or 0.0, c.model_id))
        if ranked:
            out.append(ranked[:per_round])
    return out[:MAX_ROUNDS]


def _candidate(model: Model, pricer: Pricer, current: str, tokens: tuple[int, int], use_case: str | None,
               measured: Mapping[str, float] | None, status: str | None = None) -> Candidate:
    ratio = cost_ratio(pricer, model.id, current, tokens)
    band = next((name for name, upper in BANDS if ratio is not None and ratio <= upper), BANDS[-1][0])
    fit = 0.0
    reasons: list[str] = []
    if measured:
        # Measured beats declared: a lower bound on success and the median latency.
        success = measured.get("success_lcb") or 0.0
        fit += 2 * success
        reasons.append(f"success ≥ {100 * success:.0f}% on this use case")
        if measured.get("p50_ms"):
            fit += 0.5 / (1 + measured["p50_ms"] / 2000)
            reasons.append(f"p50 {measured['p50_ms']:.0f} ms")
    words = set((use_case or "").lower().replace("-", "_").split("_")) - {""}
    strengths = {s.lower() for s in model.capabilities.strengths}
    if words and any(w in s for s in strengths for w in words):
        fit += 0.5
        reasons.append("lists it among its strengths")
    if status in ("degraded", "rate_limited"):
        fit -= 0.5  # probes say it is struggling: try the healthy ones first
        reasons.append(f"probes: {status}")
    reasoning = model.capabilities.reasoning
    if reasoning is not None:
        fit += reasoning / 200  # 0–100 declared score: a tie-breaker, not a verdict
    if ratio is not None:
        fit += 0.25 * (1 - ratio)
        reasons.append(f"~{100 * (1 - ratio):.0f}% cheaper per call")
    return Candidate(model.id, model.name, band, ratio, round(fit, 4), tuple(reasons))


def choose_judge(fleet: Fleet, current: str, candidates: Sequence[str], explicit: str | None = None) -> str:
    """The judge: as given, else the fleet's `[recommendations] judge`, else the strongest
    enabled model other than the current model and any named candidate (a model grading
    itself is lenient), by declared reasoning then price."""
    if explicit:
        fleet.model(explicit)  # KeyError for an unknown id, reported by the caller
        return explicit
    if fleet.recommendations.judge:
        return fleet.recommendations.judge
    pricer = Pricer(fleet)
    others = [m for m in fleet.models if m.enabled and m.id != current and m.id not in candidates]
    pool = others or [m for m in fleet.models if m.enabled]
    if not pool:
        raise LookupError("no enabled model can judge; pass --judge MODEL")

    def strength(model: Model) -> tuple[float, float]:
        price = pricer.price_of(model.id)
        return (model.capabilities.reasoning or 0, price.output_per_mtok if price else 0.0)

    return max(pool, key=strength).id
