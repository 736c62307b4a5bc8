"""How the app writes prices and sums that may be partly unknown.

An unknown price is never shown as $0: a sum over calls some of which have no price says so
("$1.20 + 3 unpriced"), and a model with no price at all shows "unpriced". Prices per 1M tokens
keep enough significant digits that a cheap model does not read as free ($0.0007, not $0.000).
"""

from __future__ import annotations

import math

from fleetui.pricing import format_cost


def price(usd: float) -> str:
    """A price per 1M tokens: "$15", "$1.25", "$0.075", "$0.0007" (at least two significant digits)."""
    if usd == 0:
        return "$0"
    if usd >= 100:
        return f"${usd:,.0f}"
    decimals = max(2, 1 - math.floor(math.log10(abs(usd))))
    text = f"{usd:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"${text}"


def price_pair(input_usd: float | None, output_usd: float | None) -> str:
    """Input / output price per 1M tokens, or "unpriced"."""
    if input_usd is None or output_usd is None:
        return "unpriced"
    return f"{price(input_usd)} / {price(output_usd)}"


def cost_of_calls(cost_usd: float, calls: int, unpriced_calls: int) -> str:
    """The cost of `calls` calls of which `unpriced_calls` had no price (and are not in `cost_usd`)."""
    if calls == 0:
        return "—"
    if unpriced_calls >= calls:
        return "unpriced"
    if unpriced_calls:
        return f"{format_cost(cost_usd)} + {unpriced_calls:,} unpriced"
    return format_cost(cost_usd)
