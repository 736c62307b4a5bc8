"""Prices: the catalog, fleet overrides, and models nobody prices."""

from __future__ import annotations

import pytest
from genai_prices import Usage, calc_price

from fleetui.config.fleetfile import load_fleet, parse_fleet
from fleetui.pricing import Pricer, format_cost
from tests.conftest import SAMPLE_FLEET

FLEET = """
[[providers]]
id = "openai"
kind = "openai-compatible"
[[providers]]
id = "local"
kind = "openai-compatible"
base_url = "http://127.0.0.1:8080/v1"
[[models]]
id = "mini"
name = "GPT-4o mini"
provider = "openai"
model = "gpt-4o-mini"
[[models]]
id = "cheap-4o"
name = "GPT-4o at a negotiated price"
provider = "openai"
model = "gpt-4o"
price = { input = 1.0, output = 2.0, cached = 0.5 }
[[models]]
id = "homebrew"
name = "My fine-tune"
provider = "local"
model = "my-finetune-7b"
"""


@pytest.fixture
def pricer() -> Pricer:
    return Pricer(parse_fleet(FLEET))


def test_catalog_model_matches_genai_prices(pricer: Pricer) -> None:
    expected = calc_price(
        Usage(input_tokens=12_000, output_tokens=3_000, cache_read_tokens=4_000),
        model_ref="gpt-4o-mini", provider_id="openai",
    ).total_price
    assert pricer.cost("mini", 12_000, 3_000, 4_000) == pytest.approx(float(expected), rel=1e-9)
    assert pricer.price_of("mini").source == "catalog"


def test_override_wins_over_catalog(pricer: Pricer) -> None:
    price = pricer.price_of("cheap-4o")
    assert price is not None and price.source == "override"
    # 1M input of which 200k cached, 500k output: 0.8 * $1 + 0.2 * $0.5 + 0.5 * $2
    assert pricer.cost("cheap-4o", 1_000_000, 500_000, 200_000) == pytest.approx(1.9)


def test_unpriced_model_is_none_never_zero(pricer: Pricer) -> None:
    assert pricer.price_of("homebrew") is None
    assert pricer.cost("homebrew", 1000, 1000) is None
    assert format_cost(pricer.cost("homebrew", 1000, 1000)) == "unpriced"
    assert pricer.cost("not-in-fleet", 10, 10) is None


def test_unknown_token_counts_are_unpriced(pricer: Pricer) -> None:
    assert pricer.cost("mini", None, 100) is None
    assert pricer.cost("mini", 100, None) is None


def test_tiered_price_past_first_tier_uses_catalog() -> None:
    pricer = Pricer(load_fleet(SAMPLE_FLEET))
    big = calc_price(Usage(input_tokens=300_000, output_tokens=1_000), model_ref="claude-sonnet-4-5",
                     provider_id="anthropic").total_price
    assert pricer.cost("claude-sonnet", 300_000, 1_000) == pytest.approx(float(big))
    assert pricer.cost("claude-sonnet", 1_000_000 // 10, 0) == pytest.approx(0.3)  # base tier


def test_sample_fleet_prices_match_the_spec() -> None:
    pricer = Pricer(load_fleet(SAMPLE_FLEET))
    assert pricer.price_of("claude-opus").input_per_mtok == 15
    assert pricer.price_of("gpt-4").input_per_mtok == 30
    assert pricer.price_of("local-llama").input_per_mtok == 0  # explicit override, not a guess
    assert all(pricer.price_of(m.id) is not None for m in load_fleet(SAMPLE_FLEET).models)


def test_cost_for_models_outside_the_fleet(pricer: Pricer) -> None:
    assert pricer.cost_for("openai", "gpt-4o", 1_000_000, 0) == pytest.approx(2.5)
    assert pricer.cost_for(None, "surely-not-a-model", 10, 10) is None


@pytest.mark.parametrize(
    ("cost", "shown"),
    [(None, "unpriced"), (0.0, "$0.00"), (0.00002, "<$0.0001"), (0.0042, "$0.0042"), (12.474, "$12.47"), (1234.5, "$1,234.50")],
)
def test_format_cost(cost: float | None, shown: str) -> None:
    assert format_cost(cost) == shown


def test_self_hosted_model_with_a_famous_name_is_not_billed_at_list_price() -> None:
    fleet = parse_fleet(
        '[[providers]]\nid = "vllm"\nkind = "openai-compatible"\nbase_url = "http://10.0.0.5:8000/v1"\n'
        '[[models]]\nid = "my-4o"\nname = "4o on our GPUs"\nprovider = "vllm"\nmodel = "gpt-4o"\n'
    )
    assert Pricer(fleet).price_of("my-4o") is None


def test_one_blended_price_orders_models_everywhere() -> None:
    # The router's price order, the recommendations' "cheapest" and the detail view's average
    # all come from pricing.blended_per_mtok: one typical request of 500 tokens in, 200 out.
    from fleetui.pricing import ModelPrice, blended_per_mtok, estimate_tokens
    from fleetui.routing.strategies import blended_prices

    price = ModelPrice(input_per_mtok=3.0, output_per_mtok=15.0, cached_per_mtok=None, source="override")
    assert blended_per_mtok(price) == pytest.approx((3.0 * 500 + 15.0 * 200) / 700)
    fleet = load_fleet(SAMPLE_FLEET)
    pricer = Pricer(fleet)
    routed = blended_prices(fleet)
    assert routed and all(routed[m] == blended_per_mtok(p) for m in routed if (p := pricer.price_of(m)))
    assert estimate_tokens("x" * 400) == 100 and estimate_tokens("") == 1 and estimate_tokens(40) == 10


# -- where a cost came from ----------------------------------------------------------------------


def test_every_computed_cost_says_where_it_came_from(pricer: Pricer) -> None:
    from importlib.metadata import version

    from fleetui.pricing import UNPRICED, Cost

    assert pricer.priced("cheap-4o", 1_000_000, 1_000_000) == Cost(3.0, "fleet")
    catalog = pricer.priced("mini", 1_000_000, 0)
    assert catalog.source == f"catalog@{version('genai-prices')}" and catalog.usd == pytest.approx(0.15)
    assert pricer.priced("homebrew", 100, 100) == UNPRICED, "a self-hosted model nobody prices stays unpriced"
    assert pricer.priced("mini", None, 10) == UNPRICED, "no token counts, no cost: never $0"
    assert pricer.priced_for("openai", "no-such-model-anywhere", 10, 10) == UNPRICED
    # Past the first price tier the catalog itself prices the call: still the catalog.
    tiered = Pricer(load_fleet(SAMPLE_FLEET)).priced("claude-sonnet", 300_000, 1_000)
    assert tiered.source is not None and tiered.source.startswith("catalog@") and tiered.usd is not None


def test_an_updated_catalog_is_named_by_its_date() -> None:
    import datetime as dt

    from genai_prices import data_snapshot

    from fleetui.pricing import catalog_source

    bundled = data_snapshot.get_snapshot()
    updated = data_snapshot.DataSnapshot(providers=bundled.providers, from_auto_update=True,
                                         timestamp=dt.datetime(2026, 11, 30, 8, 0))
    data_snapshot.set_custom_snapshot(updated)
    try:
        assert catalog_source().endswith("+2026-11-30")
    finally:
        data_snapshot.set_custom_snapshot(None)
    assert "+" not in catalog_source()
