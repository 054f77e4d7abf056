"""The feature catalog keeps the agreed names and docs/features.md stays generated from it."""

from __future__ import annotations

from pathlib import Path

from models.features.catalog import FEATURES, feature_dictionary_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "features.md"
AGREED = [
    "units",
    "units_per_day_total",
    "units_over_mue",
    "has_modifier_50",
    "has_rt_or_lt",
    "modifier_50_with_rt_lt",
    "rt_lt_two_lines_same_day",
    "pctc_modifier_invalid",
    "has_distinct_procedure_modifier",
    "bilateral_coding",
    "payer_bilateral_convention",
    "bilateral_matches_payer_convention",
    "ncci_edit_present",
    "ncci_edit_bypassable",
    "ncci_bypass_modifier_present",
    "ncci_unbypassable_edit",
    "em_same_day_without_25",
    "imaging_77002_same_day",
    "imaging_77003_same_day",
    "other_procedures_same_day",
    "payer_one_procedure_per_visit_rate",
    "note_present",
    "doc_indication",
    "doc_conservative_failed",
    "doc_conservative_weeks",
    "doc_functional_impact",
    "doc_level",
    "doc_side",
    "doc_imaging_guidance",
    "doc_images_saved",
    "doc_aspiration",
    "doc_anesthetic_agent",
    "doc_volume_ml",
    "doc_response_measured",
    "doc_prior_relief_pct",
    "doc_completeness",
    "dx_primary_is_indication",
    "dx_primary_valid",
    "dx_symptom_only",
    "dx_upper_limb_crps",
    "dx_metabolic_neuropathy",
    "dx_group",
    "prior_64520_7d",
    "prior_64520_14d",
    "prior_64520_30d",
    "prior_64520_365d",
    "days_since_last_64520",
    "prior_block_relief_pct",
    "patient_prior_denials",
    "first_claim_with_payer",
    "payer_code_denial_rate",
    "provider_denial_rate",
    "submission_lag_days",
    "payer_filing_limit_days",
    "lag_over_filing_limit",
    "prior_auth_present",
    "payer_auth_denial_rate",
    "plan_type",
    "payer_id",
    "place_of_service",
]
REASON_GROUPS = {
    "BILATERAL_UNITS", "MODIFIER_CONFLICT", "NCCI_BUNDLING", "EM_WITHOUT_25", "DOCUMENTATION",
    "DIAGNOSIS", "FREQUENCY", "PRIOR_AUTH", "TIMELY_FILING", "PAYER_HISTORY", "PROVIDER_HISTORY",
    "PATIENT_HISTORY", "CONTEXT",
}  # fmt: skip


def test_catalog_declares_the_agreed_features_once() -> None:
    names = [f.name for f in FEATURES]
    assert len(names) == len(set(names))
    assert set(AGREED) <= set(names)
    assert {f.reason_group for f in FEATURES} <= REASON_GROUPS
    assert {f.kind for f in FEATURES} <= {"numeric", "boolean", "categorical"}
    assert all(f.meaning and f.inputs and f.why and f.citation for f in FEATURES)


def test_feature_dictionary_is_up_to_date() -> None:
    """Regenerate with `uv run python -m models.features.catalog` when this fails."""
    assert DOCS.read_text() == feature_dictionary_markdown()
