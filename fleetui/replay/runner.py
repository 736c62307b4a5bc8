"""Replay past prompts on cheaper candidates, judge the answers, decide — within a budget.

Every paid answer and score is written to the store the moment it arrives, keyed so it is
never bought twice: a run stopped by Ctrl+C or by its budget keeps what it paid for, and the
same command run again picks the same prompts (they are kept with the run) and continues.

Before each paid call the runner reserves the most it can cost — the prompt's tokens counted
generously and the full max_tokens of output — and refuses the call if that would pass the
budget; the actual cost replaces the reservation when the reply comes. So a run never spends
more than its budget, at the price of stopping a little early.
Prompts are worked on in order, a few at a time, so a budget stop leaves the first prompts
complete rather than every prompt half done.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from fleetui.config.schema import Fleet
from fleetui.pricing import Pricer, estimate_tokens
from fleetui.providers import ChatRequest, ProviderError, RetryPolicy, adapter_for
from fleetui.providers.base import Adapter
from fleetui.providers.factory import key_problem
from fleetui.providers.types import Message
from fleetui.replay import candidates as candidate_selection
from fleetui.replay import checks, judge
from fleetui.replay.decide import Pair, Verdict, assess, sentence
from fleetui.replay.sample import stratified_sample
from fleetui.probes import fleet_health
from fleetui.store import Store, analytics
from fleetui.store import replays as saved
from fleetui.store.replays import PastPrompt


JUDGE_MAX_TOKENS = 400  # the scores JSON is ~60 tokens; room for a judge that explains first


class ReplayError(ValueError):
    """A replay that cannot start: nothing to replay, an unknown model, no judge."""


@dataclass(frozen=True)
class ReplaySettings:
    current: str
    use_case: str | None = None
    candidates: tuple[str, ...] | None = None  # None: choose automatically
    sample: int = 30
    budget_usd: float | None = None  # None: the fleet's verification budget
    judge: str | None = None
    max_tokens: int = 1024
    temperature: float = 0.0
    since_days: float = 30
    concurrency: int = 4
    seed: int = 0
    replay_current: bool = False  # pay to answer again rather than reuse logged answers
    recommendation_id: str | None = None

    def key(self) -> str:
        """Identifies "the same command": a run with this key that did not finish is continued."""
        fields = [self.current, self.use_case, self.candidates, self.sample, self.judge, self.max_tokens,
                  self.temperature, self.seed, self.replay_current]
        return hashlib.sha256(json.dumps(fields, default=list).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ReplayPlan:
    """What a run will do, known before anything is sent."""

    prompts: list[PastPrompt]  # the sample, in the order it is replayed
    rounds: list[list[candidate_selection.Candidate]]  # cheapest band first
    judge_id: str
    sample: dict[str, int]  # requested, distinct_prompts, used, hashed_only, truncated


@dataclass(frozen=True)
class Progress:
    round: int
    candidate: str
    done: int  # prompts finished for this candidate
    total: int
    spent_usd: float
    budget_usd: float
    cache_hits: int


@dataclass
class _Answer:
    text: str
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    latency_ms: float | None
    finish_reason: str | None
    refusal: bool


class _BudgetStop(Exception):
    pass


@dataclass
class _Budget:
    limit: float
    spent: float = 0.0
    reserved: float = 0.0
    stopped: bool = False

    def reserve(self, estimate: float) -> None:
        if self.spent + self.reserved + estimate > self.limit + 1e-12:
            self.stopped = True
            raise _BudgetStop
        self.reserved += estimate

    def settle(self, estimate: float, actual: float | None) -> None:
        self.reserved -= estimate
        # An unpriced reply is charged at its estimate: better to stop early than overspend.
        self.spent += estimate if actual is None else actual


@dataclass
class Report:
    run_id: str
    status: str  # done, budget, interrupted
    current: str
    current_name: str
    use_case: str | None
    judge: str
    sample: dict[str, int]
    rounds: list[list[Verdict]] = field(default_factory=list)
    chosen: Verdict | None = None
    spent_usd: float = 0.0  # this invocation
    verification_cost_usd: float = 0.0  # every invocation of this run
    cache_hits: int = 0
    monthly_calls: int = 0
    monthly_cost_usd: float = 0.0
    recommendation_id: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def best(self) -> Verdict | None:
        """The chosen candidate, or else the one that came closest (most judged, least drop)."""
        if self.chosen:
            return self.chosen
        tried = [v for r in self.rounds for v in r if v.n]
        return max(tried, key=lambda v: (v.quality_impact_pct or -math.inf)) if tried else None

    @property
    def sentence(self) -> str:
        best = self.best
        if best is None:
            tried = [v for r in self.rounds for v in r]
            why = "; ".join(f"{v.model_id}: {v.reason}" for v in tried[:3]) or "no candidate was tried"
            return f"No candidate for {self.current_name} could be verified ({why})."
        return sentence(self.current_name, best)

    @property
    def projected_monthly_saving_usd(self) -> float | None:
        best = self.best
        if best is None or best.saving_pct is None:
            return None
        return self.monthly_cost_usd * best.saving_pct / 100

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "status": self.status, "current": self.current, "use_case": self.use_case,
            "judge": self.judge, "sample": self.sample,
            "rounds": [[v.as_json() for v in r] for r in self.rounds],
            "chosen": self.chosen.model_id if self.chosen else None,
            "verified": self.chosen is not None, "sentence": self.sentence,
            "projected_monthly_saving_usd": _round(self.projected_monthly_saving_usd),
            "monthly_calls": self.monthly_calls, "monthly_cost_usd": round(self.monthly_cost_usd, 4),
            "spent_usd": round(self.spent_usd, 6), "verification_cost_usd": round(self.verification_cost_usd, 6),
            "cache_hits": self.cache_hits, "recommendation_id": self.recommendation_id, "notes": self.notes,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _reserved_input_tokens(text: str) -> int:
    """Input tokens to reserve budget for, over- rather than underestimated: the usual estimate
    with a third more (dense text runs nearer 3 characters a token), plus the chat template's few."""
    return estimate_tokens(text) * 4 // 3 + 16


class Replayer:
    def __init__(
        self,
        fleet: Fleet,
        store: Store,
        settings: ReplaySettings,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.fleet = fleet
        self.store = store
        self.settings = settings
        self.on_progress = on_progress
        self.transport = transport
        self.retry = retry or RetryPolicy(max_retries=3)
        self.pricer = Pricer(fleet)
        limit = settings.budget_usd if settings.budget_usd is not None else fleet.recommendations.verification_budget_usd
        self.budget = _Budget(limit)
        self.cache_hits = 0
        self._adapters: dict[str, Adapter] = {}
        self._model_slots: dict[str, asyncio.Semaphore] = {}
        self._current_answers: dict[str, asyncio.Task[_Answer | None]] = {}
        self._params_hash = hashlib.sha256(json.dumps(
            {"max_tokens": settings.max_tokens, "temperature": settings.temperature, "system": None}
        ).encode()).hexdigest()[:16]
        self.run_id = ""
        self.skipped: dict[str, str] = {}  # candidate model id → why it was left out
        self._planned: ReplayPlan | None = None

    # -- planning ------------------------------------------------------------------------------

    def plan(self) -> ReplayPlan:
        """What the run will do; raises ReplayError when the replay cannot start. Computed once."""
        if self._planned is None:
            self._planned = self._make_plan()
        return self._planned

    def _make_plan(self) -> ReplayPlan:
        s = self.settings
        model_ids = {m.id for m in self.fleet.models}
        for model_id in (s.current, *(s.candidates or ()), *([s.judge] if s.judge else [])):
            if model_id not in model_ids:
                raise ReplayError(f"no model {model_id!r} in the fleet; known: {', '.join(sorted(model_ids))}")
        pool = saved.past_prompts(self.store, s.current, s.use_case, time.time() - s.since_days * 86400)
        where = f"{s.current}" + (f" on {s.use_case}" if s.use_case else "")
        if not pool.prompts:
            hint = []
            if pool.hashed_only:
                hint.append(f"{pool.hashed_only} distinct prompts are kept only as hashes (privacy.prompts = "
                            "\"hash\") and cannot be replayed; set privacy.prompts = \"full\" to keep them")
            if pool.truncated:
                hint.append(f"{pool.truncated} were kept cut short (privacy.prompts = \"truncate:N\")")
            raise ReplayError(f"no past prompts to replay for {where} in the last {s.since_days:g} days"
                              + (": " + "; ".join(hint) if hint else ""))
        previous = saved.unfinished_run(self.store, s.key())
        chosen: list[PastPrompt] = []
        if previous:
            self.run_id = previous["run_id"]
            by_hash = {p.prompt_hash: p for p in pool.prompts}
            chosen = [by_hash[h] for h in previous["report"].get("sample_hashes", []) if h in by_hash]
        if not chosen:
            chosen = stratified_sample(pool.prompts, s.sample, s.seed)
        self.run_id = self.run_id or f"rv-{uuid.uuid4().hex[:10]}"
        # The judge first, and never among the automatic candidates: a model grading its own
        # answers is lenient with them.
        judge_id = candidate_selection.choose_judge(self.fleet, s.current, s.candidates or (), s.judge)
        if problem := key_problem(self.fleet, judge_id):
            raise ReplayError(f"the judge cannot be called: {problem}; or choose another with --judge MODEL")
        needs_current = s.replay_current or any(p.response is None for p in chosen)
        if needs_current and (problem := key_problem(self.fleet, s.current)):
            raise ReplayError(f"the current model must answer again (no logged answers to reuse) but cannot "
                              f"be called: {problem}")
        # Models without a key are left out up front rather than failing every replay.
        unreachable = {m.id: problem for m in self.fleet.models if (problem := key_problem(self.fleet, m.id))}
        self.skipped = {m: unreachable[m] for m in (s.candidates or ()) if m in unreachable}
        named = tuple(m for m in s.candidates if m not in unreachable) if s.candidates else None
        if s.candidates and not named:
            raise ReplayError("no named candidate can be called: " + "; ".join(self.skipped.values()))
        # Fit from what the store knows: probe health, and the rankings of the use case(s).
        rounds = candidate_selection.rounds(
            self.fleet, s.current, s.use_case, chosen, named=named,
            health=fleet_health(self.fleet, self.store.recent_probes),
            measured=analytics.measured_in_use_cases(self.store, saved.use_cases_of(s.use_case)),
            exclude=(judge_id, *unreachable))
        if not s.candidates:
            self.skipped = {m: p for m, p in unreachable.items()
                            if m != s.current and m != judge_id and self.fleet.model(m).enabled}
        sample = {"requested": s.sample, "distinct_prompts": len(pool.prompts), "used": len(chosen),
                  "hashed_only": pool.hashed_only, "truncated": pool.truncated}
        return ReplayPlan(chosen, rounds, judge_id, sample)

    # -- running -------------------------------------------------------------------------------

    async def run(self) -> Report:
        s = self.settings
        planned = self.plan()
        prompts, rounds, judge_id, sample = planned.prompts, planned.rounds, planned.judge_id, planned.sample
        if not rounds:
            left_out = (f" ({len(self.skipped)} left out for want of a key: {', '.join(self.skipped)})"
                        if self.skipped else "")
            raise ReplayError(
                f"no candidate is at least {self.fleet.recommendations.min_saving_pct:g}% cheaper than "
                f"{s.current} among the fleet's enabled, priced, callable models{left_out}; name some with "
                "--candidates A,B")
        previous = saved.run(self.store, self.run_id)
        earlier_cost = previous["cost_usd"] or 0.0 if previous else 0.0
        recommendation_id = s.recommendation_id or saved.open_recommendation_for(self.store, s.current, s.use_case)
        current_name = self.fleet.model(s.current).name
        calls, cost = saved.monthly_volume(self.store, s.current, s.use_case)
        report = Report(self.run_id, "running", s.current, current_name, s.use_case, judge_id, sample,
                        monthly_calls=calls, monthly_cost_usd=cost, recommendation_id=recommendation_id)
        if sample["hashed_only"]:
            report.notes.append(f"{sample['hashed_only']} distinct prompts were kept only as hashes and "
                                "cannot be replayed")
        for model_id, problem in self.skipped.items():
            report.notes.append(f"left out: {problem}")
        if sample["used"] < s.sample:
            report.notes.append(f"only {sample['used']} distinct prompts to replay (asked for {s.sample})")
        self._save(report, prompts, earlier_cost, status="running")
        try:
            for number, round_ in enumerate(rounds, start=1):
                verdicts = []
                for candidate in round_:
                    if self.budget.stopped:
                        break  # the budget ran out on the one before: nothing is left to try this one with
                    pairs = await self._replay_candidate(number, candidate, prompts, judge_id)
                    verdicts.append(assess(candidate.model_id, candidate.name, pairs,
                                           self.fleet.recommendations))
                report.rounds.append(verdicts)
                passing = [v for v in verdicts if v.passed]
                if passing:
                    report.chosen = max(passing, key=lambda v: (v.saving_pct or 0, v.quality_impact_pct or 0))
                    break
                if self.budget.stopped:
                    break
            report.status = "budget" if self.budget.stopped and report.chosen is None else "done"
        except (asyncio.CancelledError, KeyboardInterrupt):
            report.status = "interrupted"
            raise
        finally:
            await self._close()
            report.spent_usd = self.budget.spent
            report.cache_hits = self.cache_hits
            report.verification_cost_usd = earlier_cost + self.budget.spent
            if self.budget.stopped:
                report.notes.append(f"stopped before passing the ${self.budget.limit:.2f} verification budget; "
                                    "run again with a larger --budget to continue where it stopped")
            self._save(report, prompts, earlier_cost, status=report.status if report.status != "running"
                       else "interrupted")
            if recommendation_id and report.status != "interrupted":
                saved.link_recommendation(self.store, recommendation_id, self.run_id)
        return report

    def _save(self, report: Report, prompts: Sequence[PastPrompt], earlier_cost: float, status: str) -> None:
        # "interrupted" and "budget" runs stay open: the same command continues them.
        stored_status = {"interrupted": "stopped", "budget": "stopped", "running": "running"}.get(status, "done")
        body = report.as_json() | {"settings_key": self.settings.key(),
                                   "sample_hashes": [p.prompt_hash for p in prompts]}
        saved.save_run(
            self.store, self.run_id, recommendation_id=report.recommendation_id, current_model=report.current,
            use_case=report.use_case, judge_model=report.judge, status=stored_status,
            verdict="verified" if report.chosen else ("incomplete" if stored_status == "stopped" else "not verified"),
            chosen_model=report.chosen.model_id if report.chosen else None, sentence=report.sentence,
            cost_usd=earlier_cost + self.budget.spent, report=body,
        )

    async def _replay_candidate(self, number: int, candidate: candidate_selection.Candidate,
                                prompts: Sequence[PastPrompt], judge_id: str) -> list[Pair]:
        gate = asyncio.Semaphore(self.settings.concurrency)
        done = 0
        self._progress(number, candidate.model_id, done, len(prompts))

        async def one(prompt: PastPrompt) -> Pair | None:
            nonlocal done
            async with gate:
                if self.budget.stopped:
                    return None
                try:
                    return await self._pair(prompt, candidate.model_id, judge_id)
                except _BudgetStop:
                    return None
                finally:
                    done += 1
                    self._progress(number, candidate.model_id, done, len(prompts))

        results = await asyncio.gather(*(one(p) for p in prompts))
        return [r for r in results if r is not None]

    def _progress(self, number: int, model_id: str, done: int, total: int) -> None:
        if self.on_progress:
            self.on_progress(Progress(number, model_id, done, total, self.budget.spent,
                                      self.budget.limit, self.cache_hits))

    async def _pair(self, prompt: PastPrompt, candidate: str, judge_id: str) -> Pair | None:
        current = await self._current_answer(prompt)
        if current is None:
            return None  # the current model could not answer again: nothing to compare with
        try:
            answer = await self._answer(candidate, prompt)
        except ProviderError as error:
            return Pair(None, None, current.cost_usd, None, current.latency_ms, None, False, None, error.kind.value)
        refusal = answer.refusal
        problem = checks.format_failure(prompt.prompt, current.text, answer.text, answer.finish_reason)
        ab = await self._judge(judge_id, prompt, current.text, answer.text, "ab")
        ba = await self._judge(judge_id, prompt, answer.text, current.text, "ba")
        current_scores = [s for s in (ab and ab[0], ba and ba[1]) if s is not None]
        candidate_scores = [s for s in (ab and ab[1], ba and ba[0]) if s is not None]
        current_score = sum(current_scores) / len(current_scores) if current_scores else None
        candidate_score = sum(candidate_scores) / len(candidate_scores) if candidate_scores else None
        if refusal and candidate_score is not None:
            candidate_score = 0.0  # a refusal answered nothing, whatever its politeness earned
        return Pair(current_score, candidate_score, current.cost_usd, answer.cost_usd, current.latency_ms,
                    answer.latency_ms, refusal, problem, None, judge_failed=ab is None and ba is None)

    async def _current_answer(self, prompt: PastPrompt) -> _Answer | None:
        # Shared by every candidate: the current model answers each prompt once per run.
        if prompt.prompt_hash not in self._current_answers:
            self._current_answers[prompt.prompt_hash] = asyncio.ensure_future(self._fetch_current(prompt))
        return await asyncio.shield(self._current_answers[prompt.prompt_hash])

    async def _fetch_current(self, prompt: PastPrompt) -> _Answer | None:
        s = self.settings
        if prompt.response is not None and not s.replay_current:
            # The logged answer was paid for already. Its logged cost included the app's own
            # context (system prompt, history), which a replay does not send, so the cost
            # compared is what the current model charges for this prompt and that answer.
            tin = estimate_tokens(prompt.prompt)
            tout = prompt.output_tokens or estimate_tokens(prompt.response)
            cost = self.pricer.cost(s.current, tin, tout)
            return _Answer(prompt.response, tin, tout, cost, prompt.latency_ms, "stop",
                           checks.is_refusal(prompt.response))
        try:
            return await self._answer(s.current, prompt)
        except ProviderError:
            return None

    async def _answer(self, model_id: str, prompt: PastPrompt) -> _Answer:
        model = self.fleet.model(model_id)
        version = f"{model.model}@{self.fleet.base_url_of(model)}"
        hit = saved.cached_answer(self.store, prompt.prompt_hash, model_id, self._params_hash, version)
        if hit is not None:
            self.cache_hits += 1
            return _Answer(hit["answer"], hit["input_tokens"], hit["output_tokens"], hit["cost_usd"],
                           hit["latency_ms"], hit["finish_reason"], bool(hit["refusal"]))
        request = ChatRequest.of(prompt.prompt, max_tokens=self.settings.max_tokens,
                                 temperature=self.settings.temperature)
        result = await self._call(model_id, request, _reserved_input_tokens(prompt.prompt), self.settings.max_tokens)
        cost = self.pricer.cost(model_id, result.input_tokens, result.output_tokens, result.cached_input_tokens or 0)
        answer = _Answer(result.text, result.input_tokens, result.output_tokens, cost, result.latency_ms,
                         result.finish_reason, checks.is_refusal(result.text, result.finish_reason))
        saved.save_answer(self.store, run_id=self.run_id, recommendation_id=self.settings.recommendation_id,
                          prompt_hash=prompt.prompt_hash, model_id=model_id, params_hash=self._params_hash,
                          model_version=version, answer=answer.text, input_tokens=answer.input_tokens,
                          output_tokens=answer.output_tokens, cost_usd=cost, latency_ms=result.latency_ms,
                          refusal=answer.refusal, finish_reason=answer.finish_reason)
        return answer

    async def _judge(self, judge_id: str, prompt: PastPrompt, answer_a: str, answer_b: str,
                     order: str) -> tuple[float, float] | None:
        """(score of A, score of B), or None when the judge gave no usable scores."""
        model = self.fleet.model(judge_id)
        judge_key = f"{judge_id}:{model.model}"
        pair_hash = judge.answers_hash(answer_a, answer_b)
        hit = saved.cached_judgment(self.store, prompt.prompt_hash, pair_hash, judge_key, judge.RUBRIC_VERSION, order)
        if hit is not None:
            self.cache_hits += 1
            scores = hit["scores"]
            return (scores["A"], scores["B"]) if hit["overall"] is not None else None
        text = judge.judge_prompt(prompt.prompt, answer_a, answer_b)
        messages: tuple[Message, ...] = (Message("user", text),)
        raw: list[str] = []
        parsed = None
        for _attempt in range(2):  # one reminder, then give up on this pair in this order
            request = ChatRequest(messages, system=judge.SYSTEM, max_tokens=JUDGE_MAX_TOKENS, temperature=0.0)
            try:
                asked = sum(_reserved_input_tokens(m.content) for m in messages) + _reserved_input_tokens(judge.SYSTEM)
                result = await self._call(judge_id, request, asked, JUDGE_MAX_TOKENS)
            except ProviderError:
                # Unreachable, not wrong: nothing to cache, the next run asks again.
                return None
            raw.append(result.text)
            try:
                parsed = judge.parse_scores(result.text)
                break
            except judge.JudgeReplyError:
                messages = (*messages, Message("assistant", result.text or "(empty)"), Message("user", judge.RETRY))
        scores = {"A": parsed.overall_a, "B": parsed.overall_b, "detail": {"A": parsed.a, "B": parsed.b}} if parsed else {}
        saved.save_judgment(self.store, prompt_hash=prompt.prompt_hash, answers_hash=pair_hash, judge_model=judge_key,
                            rubric_version=judge.RUBRIC_VERSION, order_ab=order, scores=scores,
                            overall=parsed.overall_b if parsed else None, raw="\n---\n".join(raw)[:8000])
        return (parsed.overall_a, parsed.overall_b) if parsed else None

    async def _call(self, model_id: str, request: ChatRequest, input_estimate: int, output_estimate: int) -> Any:
        price = self.pricer.price_of(model_id)
        estimate = price.cost(input_estimate, output_estimate) if price else 0.0
        slot = self._model_slots.setdefault(model_id, asyncio.Semaphore(self.settings.concurrency))
        async with slot:
            self.budget.reserve(estimate)
            actual: float | None = 0.0
            try:
                adapter = self._adapter(model_id)
                result = await adapter.chat(request)
                actual = self.pricer.cost(model_id, result.input_tokens, result.output_tokens,
                                          result.cached_input_tokens or 0)
                return result
            except ProviderError:
                actual = 0.0  # a failed call is not billed
                raise
            finally:
                self.budget.settle(estimate, actual if price else 0.0)

    def _adapter(self, model_id: str) -> Adapter:
        if model_id not in self._adapters:
            self._adapters[model_id] = adapter_for(self.fleet, model_id, retry=self.retry, transport=self.transport)
        return self._adapters[model_id]

    async def _close(self) -> None:
        for adapter in self._adapters.values():
            await adapter.aclose()
        self._adapters.clear()
