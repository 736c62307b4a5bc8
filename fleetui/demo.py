"""Demo traffic: 30 days of realistic calls on a fleet, for trying fleetui without an app.

The shape follows what usage tracking found in real fleets: casual questions (menus, opening
hours, "what is X") dominate, then coding, debugging, analysis, writing and research; expensive
models are used by habit for casual traffic; there are errors, timeouts and rate limits; latency
differs by model; a fraction of calls carry user feedback. Every row is marked ``demo = 1`` so
that no view can mistake it for real usage.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetui import clock
from fleetui.config.schema import Fleet, Model
from fleetui.pricing import CHARS_PER_TOKEN, Pricer
from fleetui.store import CallRecord, Store

DEFAULT_CALLS = 20_000
DAYS = 30
BATCH = 5_000

# -- what people ask -----------------------------------------------------------------------------

_FILL = {
    "place": ["Starbucks", "the Apple Store", "Trader Joe's", "the post office", "Costco", "IKEA",
              "the public library", "Walgreens", "the DMV", "Whole Foods"],
    "restaurant": ["Chipotle", "Shake Shack", "Sweetgreen", "the Thai place on 5th", "Nando's",
                   "Olive Garden", "Panera", "Five Guys", "In-N-Out", "Pret"],
    "thing": ["python", "a REST API", "kubernetes", "inflation", "a Roth IRA", "quantum computing",
              "GDPR", "a hedge fund", "photosynthesis", "an LLM", "blockchain", "TCP"],
    "language": ["Python", "TypeScript", "Go", "Rust", "SQL", "Java", "Bash"],
    "code_task": ["parse a CSV file", "retry an HTTP request with backoff", "read a JSON config",
                  "deduplicate a list while keeping order", "write a unit test for a class",
                  "stream a large file", "paginate an API", "validate an email address"],
    "error": ["KeyError", "a null pointer exception", "'connection reset by peer'",
              "a deadlock", "an off-by-one error", "'too many open files'", "a segfault"],
    "topic": ["our Q3 sales numbers", "churn by customer segment", "the A/B test results",
              "support ticket volume", "server costs by team", "the NPS survey"],
    "doc": ["a launch announcement", "a cover letter", "release notes", "a product description",
            "an apology email to a customer", "a LinkedIn post"],
    "field": ["battery chemistry", "vector databases", "GLP-1 drugs", "carbon capture",
              "small modular reactors", "open-source LLMs"],
    "text": ["Where is the train station?", "The meeting moved to Thursday.",
             "Thank you for your order.", "Please restart the router."],
    "lang": ["Spanish", "French", "German", "Japanese", "Portuguese"],
    "number": ["17", "240", "1,250", "3.5", "48"],
}


@dataclass(frozen=True)
class _UseCase:
    id: str
    share: float  # of all calls
    templates: tuple[str, ...]
    complexity: tuple[float, float, float]  # P(simple), P(medium), P(complex)
    output_tokens: int  # typical reply length
    context_tokens: int  # typical system prompt / history sent along
    task: str


_USE_CASES: tuple[_UseCase, ...] = (
    _UseCase("casual_chat", 0.22, ("hey, how's it going?", "tell me a joke about {thing}",
             "what should I do this weekend?", "can you recommend a movie tonight?",
             "good morning! any fun fact about {thing}?"), (0.9, 0.1, 0.0), 120, 150, "chat"),
    _UseCase("food_dining", 0.13, ("What's on the {restaurant} menu?", "Is {restaurant} open on Sunday?",
             "what's vegetarian at {restaurant}?", "how many calories in a {restaurant} burrito?"),
             (0.95, 0.05, 0.0), 140, 150, "chat"),
    _UseCase("quick_lookup", 0.15, ("What time does {place} close today?", "what is {thing}?",
             "when does {place} open?", "how tall is the Eiffel Tower?", "what is {thing} in one sentence?"),
             (0.9, 0.1, 0.0), 90, 120, "chat"),
    _UseCase("coding", 0.14, ("How do I {code_task} in {language}?", "Write a {language} function to {code_task}.",
             "Refactor this {language} module to {code_task}.", "Review my {language} code that tries to {code_task}."),
             (0.25, 0.5, 0.25), 650, 1800, "coding"),
    _UseCase("debugging", 0.08, ("Why does this {language} code raise {error}?",
             "My {language} service fails with {error} under load, why?",
             "How do I debug {error} in {language}?"), (0.15, 0.5, 0.35), 520, 2400, "coding"),
    _UseCase("analysis", 0.07, ("Analyze {topic} and list the three main drivers.",
             "Summarize {topic} for the exec team.", "What stands out in {topic}?"),
             (0.2, 0.5, 0.3), 480, 3000, "analysis"),
    _UseCase("writing", 0.07, ("Write {doc} about our new feature.", "Make {doc} sound friendlier.",
             "Draft {doc} in under 150 words."), (0.4, 0.5, 0.1), 380, 400, "writing"),
    _UseCase("research", 0.05, ("What is the state of the art in {field}?",
             "Compare the leading approaches to {field}.", "Give me a reading list on {field}."),
             (0.1, 0.4, 0.5), 800, 1200, "research"),
    _UseCase("translation", 0.03, ("Translate to {lang}: {text}", "How do you say '{text}' in {lang}?"),
             (0.85, 0.15, 0.0), 60, 80, "translation"),
    _UseCase("math", 0.02, ("What is {number} times {number}?", "Solve for x: {number}x + {number} = 0",
             "What is {number}% of {number}?"), (0.6, 0.3, 0.1), 150, 100, "math"),
    _UseCase("heartbeat", 0.04, ("ping: reply OK if you are alive", "health check, reply with OK"),
             (1.0, 0.0, 0.0), 3, 20, "heartbeat"),
)

# Which models each use case is sent to "by habit" (weights); ids from the sample fleet. Models
# a fleet lacks are skipped, and a fleet with none of them falls back to its enabled models.
_HABITS: dict[str, dict[str, float]] = {
    "casual": {"gpt-4": 30, "claude-sonnet": 22, "gpt-4-turbo": 14, "kimi-k2.5": 10, "claude-opus": 3,
               "gpt-4o-mini": 10, "local-llama": 6, "gemini-flash": 5},
    "coding": {"claude-sonnet": 48, "deepseek-v3": 22, "gpt-4": 12, "claude-opus": 6, "gpt-4-turbo": 6,
               "kimi-k2.5": 6},
    "analysis": {"gpt-4": 30, "gpt-4-turbo": 25, "claude-sonnet": 20, "claude-opus": 10, "gemini-pro": 15},
    "writing": {"claude-sonnet": 40, "gpt-4": 25, "kimi-k2.5": 15, "gpt-4o-mini": 20},
    "research": {"gpt-4-turbo": 35, "gpt-4": 25, "claude-opus": 20, "gemini-pro": 20},
    "heartbeat": {"claude-sonnet": 55, "claude-haiku": 30, "gpt-4o-mini": 15},
    "translation": {"gpt-4": 40, "gemini-flash": 30, "gpt-4o-mini": 30},
}
_HABIT_OF = {"casual_chat": "casual", "food_dining": "casual", "quick_lookup": "casual", "math": "casual",
             "coding": "coding", "debugging": "coding", "analysis": "analysis", "writing": "writing",
             "research": "research", "heartbeat": "heartbeat", "translation": "translation"}

_APPS = {"chat": "support-bot", "coding": "code-assistant", "analysis": "analytics-notebook",
         "writing": "marketing-writer", "research": "research-agent", "heartbeat": "ops-monitor",
         "translation": "support-bot", "math": "support-bot"}

_REPLIES = {
    "casual_chat": "Sure! Here's a thought: {thing} is more interesting than it sounds.",
    "food_dining": "{restaurant}'s menu includes bowls, salads and seasonal specials.",
    "quick_lookup": "{place} usually closes at 9 pm; check their site for holiday hours.",
    "coding": "Here is a {language} function that does it, with a short explanation and a test.",
    "debugging": "The {error} comes from shared state; guard it and add a retry with backoff.",
    "analysis": "Three drivers stand out in {topic}: pricing, onboarding and seasonality.",
    "writing": "Here is a draft of {doc}, friendly and under 150 words.",
    "research": "The state of the art in {field} has moved quickly; here are the key results.",
    "translation": "In {lang}: (translation)",
    "math": "The answer is {number}.",
    "heartbeat": "OK",
}


@dataclass(frozen=True)
class _ModelProfile:
    base_ms: float
    ms_per_token: float
    quality: float  # 0..1, chance a user is happy on a hard task
    error_rate: float


def _profile(model: Model) -> _ModelProfile:
    # Speed scores (0-100) become latency; a missing score means "average".
    speed = model.capabilities.speed if model.capabilities.speed is not None else 60
    reasoning = model.capabilities.reasoning if model.capabilities.reasoning is not None else 70
    return _ModelProfile(
        base_ms=250 + (100 - speed) * 12,
        ms_per_token=4 + (100 - speed) * 0.6,
        quality=min(0.98, 0.35 + reasoning / 150),
        error_rate=0.008 + (100 - speed) / 4000,
    )


# -- generation ----------------------------------------------------------------------------------


def _fill(template: str, rng: random.Random) -> str:
    out = template
    while "{" in out:
        start = out.index("{")
        end = out.index("}", start)
        out = out[:start] + rng.choice(_FILL[out[start + 1 : end]]) + out[end + 1 :]
    return out


def _choose_models(fleet: Fleet) -> dict[str, tuple[list[Model], list[float]]]:
    enabled = {m.id: m for m in fleet.models if m.enabled}
    if not enabled:
        raise ValueError("the fleet has no enabled models to generate demo traffic for")
    choices: dict[str, tuple[list[Model], list[float]]] = {}
    for use_case in _USE_CASES:
        habit = _HABITS[_HABIT_OF[use_case.id]]
        models = [enabled[i] for i in habit if i in enabled]
        weights = [habit[m.id] for m in models]
        if not models:
            models, weights = list(enabled.values()), [1.0] * len(enabled)
        choices[use_case.id] = (models, weights)
    return choices


def _hourly_weight(hour: int, weekday: int) -> float:
    daytime = 0.25 + math.exp(-((hour - 14) ** 2) / 18)
    return daytime * (0.55 if weekday >= 5 else 1.0)


def _timestamps(rng: random.Random, count: int, now: float) -> list[float]:
    """Call times over the last DAYS days: daytime-heavy, weekdays busier, traffic growing."""
    start = now - DAYS * 86400
    hours = [start + h * 3600 for h in range(DAYS * 24)]
    weights = []
    for i, t in enumerate(hours):
        tm = time.gmtime(t)
        growth = 0.8 + 0.4 * i / len(hours)
        weights.append(_hourly_weight(tm.tm_hour, tm.tm_wday) * growth)
    picks = rng.choices(hours, weights=weights, k=count)
    stamps = sorted(min(now - 1, h + rng.random() * 3600) for h in picks)
    return stamps


@dataclass(frozen=True)
class _Pool:
    """Pre-filled prompts and replies of one use case: real logs repeat themselves too."""

    prompts: list[tuple[str, str]]  # (prompt, hash)
    replies: list[str]


def _pools(rng: random.Random, size: int = 400) -> dict[str, _Pool]:
    pools = {}
    for use_case in _USE_CASES:
        prompts = [_fill(rng.choice(use_case.templates), rng) for _ in range(size)]
        pools[use_case.id] = _Pool(
            [(p, hashlib.sha256(p.encode()).hexdigest()[:16]) for p in prompts],
            [_fill(_REPLIES[use_case.id], rng) for _ in range(size // 4)],
        )
    return pools


def _picker(rng: random.Random, items: list[Any], weights: list[float]) -> Callable[[], Any]:
    """A weighted choice with the cumulative weights computed once, not on every call."""
    cumulative = list(itertools.accumulate(weights))
    total = cumulative[-1]
    last = len(items) - 1
    return lambda: items[min(bisect.bisect(cumulative, rng.random() * total), last)]


ROUTED_APP, ROUTED_DAYS = "code-assistant", 10  # the app that adopted fleetui's Router, and when
OVERRIDE_SHARE = 0.06  # of its routed calls, pinned by the app to the model it used before


def demo_calls(fleet: Fleet, count: int, *, seed: int = 7, now: float | None = None,
               decisions: list[dict[str, Any]] | None = None) -> Iterator[CallRecord]:
    """Demo calls, oldest first. The code assistant's calls of the last ROUTED_DAYS days go
    through a Router over `fleet` and carry its decision; those decisions are appended to
    `decisions` (as `fleetui.log_decision` would store them) when a list is given."""
    from fleetui.routing import NoRoute, Router

    rng = random.Random(seed)
    routing_rng = random.Random(seed + 1)  # routing draws apart, so the rest of the traffic stays as it was
    router = Router(fleet)
    now = clock.now() if now is None else now
    routed_since = now - ROUTED_DAYS * 86400
    pricer = Pricer(fleet)
    pools = _pools(rng)
    models = _choose_models(fleet)
    model_of = {u.id: _picker(rng, *models[u.id]) for u in _USE_CASES}
    complexity_of = {u.id: _picker(rng, ["simple", "medium", "complex"], list(u.complexity))
                     for u in _USE_CASES}
    profiles = {m.id: _profile(m) for m in fleet.models}
    picked = rng.choices(_USE_CASES, weights=[u.share for u in _USE_CASES], k=count)
    base_url = {m.id: fleet.base_url_of(m) for m in fleet.models}
    provider_kind = {m.id: str(fleet.provider_of(m).kind) for m in fleet.models}
    failures = (("rate_limited", 429), ("timeout", None), ("server_error", 500), ("overloaded", 529))
    lognorm = rng.lognormvariate
    for ts, use_case in zip(_timestamps(rng, count, now), picked):
        model: Model = model_of[use_case.id]()
        profile = profiles[model.id]
        complexity = complexity_of[use_case.id]()
        pool = pools[use_case.id]
        prompt, prompt_hash = pool.prompts[int(rng.random() * len(pool.prompts))]
        source = _APPS.get(use_case.task, "demo-app")
        routing: dict[str, Any] = {}
        if source == ROUTED_APP and ts >= routed_since:
            # Routed before anything depends on the model; `rng` draws as many numbers either way.
            pinned = model.id if routing_rng.random() < OVERRIDE_SHARE else None
            try:
                decision = router.route(prompt, task=use_case.task, use_case=use_case.id, override=pinned)
            except NoRoute:
                decision = None
            if decision is not None:
                model, profile = fleet.model(decision.model_id), profiles[decision.model_id]
                routing = decision.call_attributes()
                routing.pop("complexity")  # the call keeps the demo's own complexity label
                if decisions is not None:
                    decisions.append({**decision._asdict(), "ts": ts})
        input_tokens = max(5, int(len(prompt) / CHARS_PER_TOKEN + lognorm(math.log(use_case.context_tokens), 0.5)))
        output_tokens = max(1, int(lognorm(math.log(use_case.output_tokens), 0.45)))
        cached = int(input_tokens * 0.6) if use_case.context_tokens > 1000 and rng.random() < 0.3 else 0
        latency = (profile.base_ms + profile.ms_per_token * output_tokens) * lognorm(0, 0.3)
        error_type: str | None = None
        status: int | None = 200
        if rng.random() < profile.error_rate:
            error_type, status = failures[int(rng.random() * len(failures))]
            if error_type == "timeout":
                latency = 30_000 + rng.random() * 5000
        success = error_type is None
        # Failed requests are not billed: zero tokens, so a priced model costs $0 and an
        # unpriced one stays unpriced.
        if not success:
            input_tokens = output_tokens = cached = 0
        response = pool.replies[int(rng.random() * len(pool.replies))] if success else None
        feedback: float | None = None
        if success and rng.random() < 0.08:
            hard = complexity == "complex"
            happy = rng.random() < (profile.quality if hard else min(0.97, profile.quality + 0.25))
            feedback = 1.0 if happy else 0.0
        yield CallRecord(
            ts=ts,
            source=source,
            model_id=model.id,
            provider_name=provider_kind[model.id],
            request_model=model.model,
            response_model=model.model if success else None,
            server_address=base_url[model.id],
            prompt=prompt,
            prompt_hash=prompt_hash,
            prompt_chars=len(prompt),
            response=response,
            response_chars=len(response) if response else None,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_input_tokens=cached,
            latency_ms=round(latency, 1),
            ttft_ms=round(min(latency, profile.base_ms * lognorm(0, 0.2)), 1) if success else None,
            cost_usd=pricer.cost(model.id, input_tokens, output_tokens, cached),
            success=success,
            error_type=error_type,
            status_code=status,
            finish_reason="stop" if success else None,
            streamed=rng.random() < 0.5,
            use_case=use_case.id,
            task=use_case.task,
            complexity=complexity,
            feedback_score=feedback,
            user_id=f"user-{int(rng.random() * 120) + 1:03d}",
            session_id=f"s-{int(ts) // 1800:x}-{int(rng.random() * 40)}",
            demo=True,
            **routing,
        )


def generate_demo(
    fleet: Fleet,
    path: Path,
    *,
    calls: int = DEFAULT_CALLS,
    seed: int = 7,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write a fresh demo database at `path` (replacing any previous one); returns rows written."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    written = 0
    with Store.open(path) as store, store.bulk_load():
        batch: list[CallRecord] = []
        decisions: list[dict[str, Any]] = []
        for record in demo_calls(fleet, calls, seed=seed, decisions=decisions):
            batch.append(record)
            if len(batch) == BATCH:
                written += store.insert_calls(batch)
                batch.clear()
                if progress:
                    progress(written, calls)
        if batch:
            written += store.insert_calls(batch)
        if progress:
            progress(written, calls)
        from fleetui.store.decisions import save_decisions

        save_decisions(store, decisions, source=ROUTED_APP)
    return written

