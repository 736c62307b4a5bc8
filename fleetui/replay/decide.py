"""From judged pairs to a verdict: the saving, the quality impact with its confidence interval,
the rates that matter beside them, and the sentence a person reads.

Quality impact is the candidate's mean score minus the current model's, over the prompts both
answered, relative to the current model's mean: −2.0% means answers scored 2% lower. The
interval is a paired t interval on the per-prompt differences (the same prompts on both sides
cancel most of the prompt-to-prompt variation), divided by the same mean.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from fleetui.config.schema import RecommendationThresholds

# A candidate that breaks the expected form this often is not a drop-in replacement,
# whatever its scores.
MAX_FORMAT_FAILURE_PCT = 10.0
# Replays that errored (after retries) above this share: the model is not reliable enough to judge.
MAX_ERROR_PCT = 20.0


@dataclass(frozen=True, slots=True)
class Pair:
    """One prompt as the current model and a candidate answered it."""

    current_score: float | None  # mean of both orders; None: not judged
    candidate_score: float | None
    current_cost: float | None
    candidate_cost: float | None
    current_latency_ms: float | None
    candidate_latency_ms: float | None
    refusal: bool
    format_failure: str | None
    error: str | None  # the candidate's replay failed: error kind
    judge_failed: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    model_id: str
    name: str
    attempted: int
    n: int  # pairs with both scores
    saving_pct: float | None
    quality_impact_pct: float | None
    ci_low_pct: float | None
    ci_high_pct: float | None
    refusal_pct: float
    format_failure_pct: float
    error_pct: float
    judge_failures: int
    candidate_p50_ms: float | None
    current_p50_ms: float | None
    candidate_cost_usd: float
    current_cost_usd: float
    passed: bool
    reason: str

    def as_json(self) -> dict[str, object]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def t_quantile(df: int) -> float:
    """Two-sided 95% Student t quantile."""
    if df <= 0:
        return math.inf
    try:
        from scipy.stats import t  # scikit-learn brings scipy; exact where it is installed

        return float(t.ppf(0.975, df))
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn
        return 1.96 + 2.5 / df  # within 2% of the exact value for df ≥ 3


def assess(model_id: str, name: str, pairs: Sequence[Pair], thresholds: RecommendationThresholds) -> Verdict:
    attempted = len(pairs)
    judged = [p for p in pairs if p.current_score is not None and p.candidate_score is not None]
    n = len(judged)
    answered = [p for p in pairs if p.error is None]
    both_priced = [p for p in answered if p.current_cost is not None and p.candidate_cost is not None]
    current_cost = sum(p.current_cost or 0.0 for p in both_priced)
    candidate_cost = sum(p.candidate_cost or 0.0 for p in both_priced)
    saving = 100 * (1 - candidate_cost / current_cost) if current_cost > 0 else None
    impact = low = high = None
    if n:
        current_mean = statistics.fmean(p.current_score for p in judged)  # type: ignore[misc]
        diffs = [p.candidate_score - p.current_score for p in judged]  # type: ignore[operator]
        if current_mean > 0:
            impact = 100 * statistics.fmean(diffs) / current_mean
            if n >= 2:
                half = t_quantile(n - 1) * statistics.stdev(diffs) / math.sqrt(n)
                low = 100 * (statistics.fmean(diffs) - half) / current_mean
                high = 100 * (statistics.fmean(diffs) + half) / current_mean
    rate = (lambda k: 100 * k / len(answered)) if answered else (lambda k: 0.0)
    refusal_pct = rate(sum(p.refusal for p in answered))
    format_pct = rate(sum(p.format_failure is not None for p in answered))
    error_pct = 100 * (attempted - len(answered)) / attempted if attempted else 0.0
    errors = Counter(p.error for p in pairs if p.error is not None)
    passed, reason = _decide(n, saving, impact, format_pct, error_pct, thresholds)
    if errors and not passed and error_pct > MAX_ERROR_PCT:
        reason += " (" + ", ".join(f"{kind} ×{count}" for kind, count in errors.most_common(3)) + ")"
    return Verdict(
        model_id=model_id, name=name, attempted=attempted, n=n, saving_pct=saving,
        quality_impact_pct=impact, ci_low_pct=low, ci_high_pct=high, refusal_pct=refusal_pct,
        format_failure_pct=format_pct, error_pct=error_pct,
        judge_failures=sum(p.judge_failed for p in pairs),
        candidate_p50_ms=_median([p.candidate_latency_ms for p in answered]),
        current_p50_ms=_median([p.current_latency_ms for p in answered]),
        candidate_cost_usd=candidate_cost, current_cost_usd=current_cost, passed=passed, reason=reason,
    )


def _decide(n: int, saving: float | None, impact: float | None, format_pct: float, error_pct: float,
            thresholds: RecommendationThresholds) -> tuple[bool, str]:
    if error_pct > MAX_ERROR_PCT:
        return False, f"{error_pct:.0f}% of replays failed (limit {MAX_ERROR_PCT:.0f}%)"
    if n < thresholds.min_samples:
        return False, f"too few judged prompts: n={n} < {thresholds.min_samples}"
    if saving is None:
        return False, "no saving can be computed (a model has no known price)"
    if saving < thresholds.min_saving_pct:
        return False, f"saving {saving:.1f}% < {thresholds.min_saving_pct:g}%"
    if impact is None:
        return False, "no quality can be computed (the current model scored 0)"
    if -impact > thresholds.max_quality_drop_pct:
        return False, f"quality drop {-impact:.1f}% > {thresholds.max_quality_drop_pct:g}%"
    if format_pct > MAX_FORMAT_FAILURE_PCT:
        return False, f"format failures {format_pct:.0f}% > {MAX_FORMAT_FAILURE_PCT:.0f}%"
    return True, "passes"


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _signed(value: float) -> str:
    return f"{value:+.1f}".replace("-", "−")


def sentence(current_name: str, verdict: Verdict) -> str:
    """"Switching from gpt-4o to GPT-4o Mini reduces cost by 96.5% with a 2.0% quality impact
    (95% CI −4.1…+0.3, n=30)", or why not."""
    v = verdict
    ci = (f"95% CI {_signed(v.ci_low_pct)}…{_signed(v.ci_high_pct)}, n={v.n}"
          if v.ci_low_pct is not None and v.ci_high_pct is not None else f"n={v.n}")
    if v.saving_pct is None or v.quality_impact_pct is None:
        return f"Switching from {current_name} to {v.name} could not be verified: {v.reason}."
    cost = (f"reduces cost by {v.saving_pct:.1f}%" if v.saving_pct >= 0
            else f"raises cost by {-v.saving_pct:.1f}%")
    impact = v.quality_impact_pct
    quality = (f"with a {abs(impact):.1f}% quality impact ({ci})" if impact < 0
               else f"with no quality loss ({_signed(impact)}%; {ci})")
    text = f"Switching from {current_name} to {v.name} {cost} {quality}"
    return text + ("." if v.passed else f": not recommended — {v.reason}.")
