"""The analysis layer's queries, by subject: one import for callers that use several.

Rollups wherever they can answer; the call log only for what rollups do not keep (prompt
hashes, routing decisions, feedback, refusals). The queries live in their subject's module —
`usage`, `routed` (routing statistics and A/B arms), `rankings`, `recommendations`,
`use_cases` — and new code may import from those directly.
"""

from __future__ import annotations

from fleetui.store.rankings import (
    measured_in_use_cases,
    outcomes_by,
    replace_rankings,
    use_case_model_cells,
)
from fleetui.store.recommendations import (
    recommendation,
    recommendation_statuses,
    recommendation_verifications,
    recommendations,
    set_recommendation_status,
    upsert_recommendations,
)
from fleetui.store.routed import ab_arm_outcomes, ab_test_routes, routed_calls
from fleetui.store.usage import (
    cost_between,
    priced_tokens_by_model,
    refusals_by_model,
    top_prompts,
    totals_with_histograms_by_model,
)
from fleetui.store.use_cases import (
    merge_use_case,
    pin_use_case,
    rename_use_case,
    save_discovered_use_cases,
    use_cases,
)

__all__ = [
    "ab_arm_outcomes", "ab_test_routes", "cost_between", "measured_in_use_cases", "merge_use_case", "outcomes_by", "pin_use_case",
    "priced_tokens_by_model", "recommendation", "recommendation_statuses", "recommendation_verifications",
    "recommendations", "refusals_by_model", "rename_use_case", "replace_rankings", "routed_calls",
    "save_discovered_use_cases", "set_recommendation_status", "top_prompts", "totals_with_histograms_by_model",
    "upsert_recommendations", "use_case_model_cells", "use_cases",
]
