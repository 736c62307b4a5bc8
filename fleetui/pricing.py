"""What a call costs, from the genai-prices catalog unless the fleet file overrides it.

Conventions:
- Prices are USD per 1M tokens. ``input_tokens`` counts *all* input tokens, cached ones
  included (OpenAI's convention; adapters normalise Anthropic's to it); the cached part is
  charged at the cached rate, or the input rate when the model has none.
- A model that neither the fleet nor the catalog prices is *unpriced*: its cost is ``None``,
  shown as "unpriced", never as $0. A local model is not assumed free: the sample fleet gives
  its local model an explicit 0 override.
- The catalog answers in tens of microseconds; a dashboard prices thousands of calls. So each
  (provider, model) is looked up once and kept as three floats; a call then costs a few
  multiplications. Tiered prices (e.g. Claude Sonnet above 200k input tokens) keep their base
  rate on this fast path, and calls past the first tier are priced by the catalog itself.
- Time-of-day discounts in the catalog are not applied: costs use the daytime list price.
- Every computed cost carries its source (`Cost.source`, stored as calls.cost_source): "fleet"
  for the fleet file's override, "catalog@VERSION" for the genai-prices catalog (its package
  version, plus the snapshot's date when the catalog was updated at run time). A cost the
  provider reported ("provider") is never computed here; it wins over both.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlparse

from fleetui.config.schema import Fleet, ProviderKind

_HOST_TO_CATALOG = {
    "api.openai.com": "openai",
    "api.anthropic.com": "anthropic",
    "generativelanguage.googleapis.com": "google",
    "api.deepseek.com": "deepseek",
    "api.moonshot.ai": "moonshotai",
    "api.moonshot.cn": "moonshotai",
    "api.groq.com": "groq",
    "openrouter.ai": "openrouter",
    "api.together.xyz": "together",
    "api.mistral.ai": "mistral",
    "api.x.ai": "x-ai",
}
_KIND_TO_CATALOG: dict[ProviderKind | str, str] = {ProviderKind.ANTHROPIC: "anthropic", ProviderKind.GEMINI: "google"}


@dataclass(frozen=True, slots=True)
class ModelPrice:
    input_per_mtok: float
    output_per_mtok: float
    cached_per_mtok: float | None
    source: Literal["override", "catalog"]
    tier_from_input_tokens: int | None = None  # above this, the catalog prices the call

    def cost(self, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0) -> float:
        cached = min(cached_input_tokens, input_tokens)
        cached_rate = self.input_per_mtok if self.cached_per_mtok is None else self.cached_per_mtok
        return (
            (input_tokens - cached) * self.input_per_mtok
            + cached * cached_rate
            + output_tokens * self.output_per_mtok
        ) / 1_000_000


PROVIDER_REPORTED = "provider"
FLEET_OVERRIDE = "fleet"


@dataclass(frozen=True, slots=True)
class Cost:
    """A call's cost and where it came from; both None when the call is unpriced."""

    usd: float | None
    source: str | None


UNPRICED = Cost(None, None)


@functools.cache
def _catalog_package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("genai-prices")
    except PackageNotFoundError:
        return "unknown"


def catalog_source() -> str:
    """"catalog@VERSION": which genai-prices data priced a call."""
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    stamp = f"+{snapshot.timestamp:%Y-%m-%d}" if snapshot.from_auto_update else ""
    return f"catalog@{_catalog_package_version()}{stamp}"


def catalog_id_for(base_url: str, kind: ProviderKind | str | None = None, explicit: str | None = None) -> str | None:
    """The provider's id in the genai-prices catalog, from config, host or kind."""
    if explicit:
        return explicit
    host = urlparse(base_url).hostname or ""
    if host in _HOST_TO_CATALOG:
        return _HOST_TO_CATALOG[host]
    return _KIND_TO_CATALOG.get(kind) if kind is not None else None


class Pricer:
    """Prices calls for one fleet; cheap to keep around, safe to share between threads."""

    def __init__(self, fleet: Fleet) -> None:
        self._fleet = fleet
        self._catalog: dict[tuple[str | None, str], ModelPrice | None] = {}
        self._by_model: dict[str, ModelPrice | None] = {}
        self._catalog_ref: dict[str, tuple[str | None, str]] = {}
        self._catalog_tag: str | None = None  # catalog_source(), read once per pricer
        for model in fleet.models:
            provider = fleet.provider_of(model)
            catalog = catalog_id_for(fleet.base_url_of(model), provider.kind, provider.catalog_id)
            self._catalog_ref[model.id] = (catalog, model.model)

    def price_of(self, model_id: str) -> ModelPrice | None:
        if model_id in self._by_model:
            return self._by_model[model_id]
        price: ModelPrice | None = None
        try:
            model = self._fleet.model(model_id)
        except KeyError:
            model = None
        if model is not None and model.price is not None:
            o = model.price
            price = ModelPrice(o.input, o.output, o.cached, "override")
        elif model is not None and self._catalog_ref[model_id][0] is not None:
            # Only a known provider's catalog: a self-hosted endpoint serving a model under a
            # famous name (vLLM with "gpt-4o") must not be billed at that provider's prices.
            price = self.catalog_price(*self._catalog_ref[model_id])
        self._by_model[model_id] = price
        return price

    def cost(
        self, model_id: str, input_tokens: int | None, output_tokens: int | None,
        cached_input_tokens: int | None = 0,
    ) -> float | None:
        return self.priced(model_id, input_tokens, output_tokens, cached_input_tokens).usd

    def priced(
        self, model_id: str, input_tokens: int | None, output_tokens: int | None,
        cached_input_tokens: int | None = 0,
    ) -> Cost:
        """A fleet model's call: its cost and source (the fleet's override, else the catalog)."""
        price = self.price_of(model_id)
        return self._apply(price, self._catalog_ref.get(model_id), input_tokens, output_tokens, cached_input_tokens)

    def cost_for(
        self, provider_catalog_id: str | None, model_name: str, input_tokens: int | None,
        output_tokens: int | None, cached_input_tokens: int | None = 0,
    ) -> float | None:
        """Cost of a call to a model outside the fleet (e.g. recorded from an app's SDK)."""
        return self.priced_for(provider_catalog_id, model_name, input_tokens, output_tokens, cached_input_tokens).usd

    def priced_for(
        self, provider_catalog_id: str | None, model_name: str, input_tokens: int | None,
        output_tokens: int | None, cached_input_tokens: int | None = 0,
    ) -> Cost:
        price = self.catalog_price(provider_catalog_id, model_name)
        return self._apply(price, (provider_catalog_id, model_name), input_tokens, output_tokens, cached_input_tokens)

    def catalog_price(self, provider_catalog_id: str | None, model_name: str) -> ModelPrice | None:
        key = (provider_catalog_id, model_name)
        if key not in self._catalog:
            self._catalog[key] = _lookup(provider_catalog_id, model_name)
        return self._catalog[key]

    def _apply(
        self, price: ModelPrice | None, ref: tuple[str | None, str] | None,
        input_tokens: int | None, output_tokens: int | None, cached: int | None,
    ) -> Cost:
        if price is None or input_tokens is None or output_tokens is None:
            return UNPRICED
        if price.source == "override":
            return Cost(price.cost(input_tokens, output_tokens, cached or 0), FLEET_OVERRIDE)
        if self._catalog_tag is None:
            self._catalog_tag = catalog_source()
        if price.tier_from_input_tokens is not None and input_tokens > price.tier_from_input_tokens and ref:
            usd = _catalog_cost(ref[0], ref[1], input_tokens, output_tokens, cached or 0)
            return UNPRICED if usd is None else Cost(usd, self._catalog_tag)
        return Cost(price.cost(input_tokens, output_tokens, cached or 0), self._catalog_tag)


def _lookup(provider_catalog_id: str | None, model_name: str) -> ModelPrice | None:
    from genai_prices import Usage, calc_price  # the catalog loads on first use only

    try:
        found = calc_price(
            Usage(input_tokens=1, output_tokens=1),
            model_ref=model_name,
            provider_id=provider_catalog_id,
            # Some catalog prices depend on the hour (off-peak discounts); list prices are
            # the daytime ones, and a fixed hour keeps costs stable whenever they are computed.
            genai_request_timestamp=dt.datetime.now(dt.UTC).replace(hour=12, minute=0),
        )
    except LookupError:
        return None
    mp = found.model_price
    base_input, tier_input = _base(mp.input_mtok)
    base_output, tier_output = _base(mp.output_mtok)
    base_cached, tier_cached = _base(mp.cache_read_mtok)
    if base_input is None or base_output is None:
        return None  # priced per request or per character, not per token: we cannot say
    tiers = [t for t in (tier_input, tier_output, tier_cached) if t is not None]
    return ModelPrice(base_input, base_output, base_cached, "catalog", min(tiers) if tiers else None)


def _base(value: object) -> tuple[float | None, int | None]:
    """A flat price, or a tiered price's base rate and where its first tier starts."""
    if value is None:
        return None, None
    tiers = getattr(value, "tiers", None)
    if tiers is not None:
        base = getattr(value, "base")
        return float(base), min(int(t.start) for t in tiers) if tiers else None
    return float(value), None  # type: ignore[arg-type]


def _catalog_cost(
    provider_catalog_id: str | None, model_name: str, input_tokens: int, output_tokens: int, cached: int
) -> float | None:
    from genai_prices import Usage, calc_price

    try:
        found = calc_price(
            Usage(input_tokens=input_tokens, output_tokens=output_tokens, cache_read_tokens=cached),
            model_ref=model_name,
            provider_id=provider_catalog_id,
        )
    except LookupError:
        return None
    return float(found.total_price)


def format_cost(cost: float | None) -> str:
    """How every view shows money: "unpriced" for an unknown price, never "$0"."""
    if cost is None:
        return "unpriced"
    if cost == 0:
        return "$0.00"
    if abs(cost) < 0.0001:
        return "<$0.0001"
    if abs(cost) < 0.01:
        return f"${cost:.4f}"
    return f"${cost:,.2f}"


def format_share(share: float | None) -> str:
    """A share (of a reference model's cost or quality) as every view shows it: "54.5%", "—"
    when it is unknown (never 0%)."""
    return "—" if share is None else f"{100 * share:.1f}%"


def format_known_cost(cost: float | None, unpriced_calls: int) -> str:
    """A sum over calls of which some may be unpriced: "$1.20 + 3 unpriced", or "unpriced" when
    none had a price (never $0.00 for an unknown)."""
    if cost is None:
        return "unpriced"
    return format_cost(cost) + (f" + {unpriced_calls:,} unpriced" if unpriced_calls else "")


def format_calls_cost(cost_usd: float, calls: int, unpriced_calls: int) -> str:
    """The cost of `calls` calls of which `unpriced_calls` had no price (and are not in
    `cost_usd`): "—" for no calls, "unpriced" when none had a price."""
    if calls == 0:
        return "—"
    return format_known_cost(None if unpriced_calls >= calls else cost_usd, unpriced_calls)


def format_price_per_mtok(usd: float) -> str:
    """A price per 1M tokens: "$15", "$1.25", "$0.075", "$0.0007" — at least two significant
    digits, so a cheap model never reads as free."""
    if usd == 0:
        return "$0"
    if usd >= 100:
        return f"${usd:,.0f}"
    decimals = max(2, 1 - math.floor(math.log10(abs(usd))))
    text = f"{usd:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"${text}"


def format_price_pair(input_usd: float | None, output_usd: float | None) -> str:
    """Input / output price per 1M tokens, or "unpriced"."""
    if input_usd is None or output_usd is None:
        return "unpriced"
    return f"{format_price_per_mtok(input_usd)} / {format_price_per_mtok(output_usd)}"

@dataclass(frozen=True, slots=True)
class CatalogModel:
    id: str
    name: str
    context_window: int | None
    price: ModelPrice | None


def catalog_models(provider_catalog_id: str) -> list[CatalogModel]:
    """The catalog's models of one provider (for suggestions when adding a model)."""
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    provider = next((p for p in snapshot.providers if p.id == provider_catalog_id), None)
    if provider is None:
        return []
    out = []
    for model in provider.models:
        if getattr(model, "deprecated", False):
            continue
        out.append(CatalogModel(model.id, model.name or model.id, model.context_window,
                                _lookup(provider_catalog_id, model.id)))
    return out


# -- one blended price and one token estimate ------------------------------------------------------
# Every figure that folds input and output prices into one number (ordering models by price,
# "the cheapest model", the detail view's average) uses the spec's typical request; two screens
# that blended differently once disagreed on which model was cheap.
TYPICAL_INPUT_TOKENS = 500
TYPICAL_OUTPUT_TOKENS = 200
# Characters per token when no tokenizer counted them: ~4 for English with the common tokenizers.
CHARS_PER_TOKEN = 4


def blended_per_mtok(price: ModelPrice) -> float:
    """USD per 1M tokens of a typical request (500 tokens in, 200 out)."""
    total = TYPICAL_INPUT_TOKENS + TYPICAL_OUTPUT_TOKENS
    return (price.input_per_mtok * TYPICAL_INPUT_TOKENS + price.output_per_mtok * TYPICAL_OUTPUT_TOKENS) / total


def estimate_tokens(text: str | int) -> int:
    """Tokens of a text (or of that many characters) when nothing counted them; at least 1."""
    chars = text if isinstance(text, int) else len(text)
    return max(1, round(chars / CHARS_PER_TOKEN))
