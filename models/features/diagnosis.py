"""Diagnosis features of the primary code (domain §4c): indication, validity, symptom-only, mismatch."""

from __future__ import annotations

from functools import cache

import polars as pl

from data_contracts.codes import icd10cm_codes, normalized_icd10, sympathetic_block_indications
from models.features.history import add_point_in_time_rate

# Symptom-only primary codes carry high denial risk (domain §4c "non-specific").
SYMPTOM_ONLY_PATTERN = r"^(R|M54|G8929$|M792$|M796|M255)"
UPPER_LIMB_CRPS_PATTERN = r"^(G9051|G564)"
# Diabetic and other metabolic neuropathy: E08-E13 with a .4x complication (L35457, domain §4a).
METABOLIC_NEUROPATHY_PATTERN = r"^E(0[89]|1[0-3])4"

DX_GROUP_RULES: tuple[tuple[str, str], ...] = (
    ("crps_upper_limb", UPPER_LIMB_CRPS_PATTERN),
    ("crps_lower_limb", r"^G9052"),
    ("crps_other", r"^G905[09]?$|^G9059"),
    ("causalgia_lower_limb", r"^G577"),
    ("herpes_zoster", r"^B02"),
    ("vascular", r"^(I70|I73|I74|I77|I96)"),
    ("phantom_limb", r"^(G546|G547|T873)"),
    ("hyperhidrosis", r"^(L745|R61)"),
    ("metabolic_neuropathy", METABOLIC_NEUROPATHY_PATTERN),
    ("visceral_or_cancer", r"^(C|G893|K861|N20|N23|R10)"),
    ("symptom_only", SYMPTOM_ONLY_PATTERN),
)


@cache
def billable_icd10_codes() -> tuple[str, ...]:
    """Codes of the shipped release that are not a header of a longer code (billable leaves)."""
    codes = icd10cm_codes()
    headers = {c[:n] for c in codes for n in range(3, len(c))}
    return tuple(sorted(codes - headers))


@cache
def _billable_code_set() -> frozenset[str]:
    return frozenset(billable_icd10_codes())


@cache
def _billable_code_series() -> pl.Series:
    return pl.Series("billable", billable_icd10_codes(), dtype=pl.String)


# Up to this many rows (a pre-submission request) codes are looked up in a Python set: polars
# builds a hash set of the ~70k billable codes on every evaluation (~6 ms at 1 row, measured).
SET_LOOKUP_MAX_ROWS = 512


def _is_billable(codes: pl.Series) -> pl.Series:
    """Whether each code is billable (null stays null), as `is_in` would answer."""
    if codes.len() <= SET_LOOKUP_MAX_ROWS:
        billable = _billable_code_set()
        return pl.Series(
            codes.name,
            [None if c is None else c in billable for c in codes.to_list()],
            dtype=pl.Boolean,
        )
    return codes.is_in(_billable_code_series().implode())


def is_billable_icd10(code: pl.Expr) -> pl.Expr:
    """True for a billable ICD-10-CM code of the shipped release, null for a null code."""
    return code.map_batches(_is_billable, return_dtype=pl.Boolean, is_elementwise=True)


def primary_dx() -> pl.Expr:
    """The primary diagnosis, normalised (falls back to the first of `diagnosis_codes`)."""
    return normalized_icd10(
        pl.coalesce(pl.col("primary_diagnosis"), pl.col("diagnosis_codes").list.first())
    )


def diagnosis_features() -> list[pl.Expr]:
    """Primary-diagnosis features."""
    dx = primary_dx()
    shortlist = sympathetic_block_indications()["code"].to_list()
    valid = is_billable_icd10(dx).fill_null(False)
    symptom = dx.str.contains(SYMPTOM_ONLY_PATTERN).fill_null(False)
    upper = dx.str.contains(UPPER_LIMB_CRPS_PATTERN).fill_null(False)
    metabolic = dx.str.contains(METABOLIC_NEUROPATHY_PATTERN).fill_null(False)
    group = pl.when(~valid).then(pl.lit("invalid"))
    for name, pattern in DX_GROUP_RULES:
        group = group.when(dx.str.contains(pattern)).then(pl.lit(name))
    return [
        (valid & dx.is_in(shortlist).fill_null(False) & ~symptom & ~upper & ~metabolic).alias(
            "dx_primary_is_indication"
        ),
        valid.alias("dx_primary_valid"),
        symptom.alias("dx_symptom_only"),
        upper.alias("dx_upper_limb_crps"),
        metabolic.alias("dx_metabolic_neuropathy"),
        group.otherwise(pl.lit("other")).alias("dx_group"),
    ]


# Coverage denials (domain §5): 50 not medically necessary, 167 diagnosis not covered,
# 11 diagnosis inconsistent with the procedure, 96 non-covered charge.
COVERAGE_CARCS = ("50", "167", "11", "96")


def is_coverage_denial() -> pl.Expr:
    """An adjudicated line denied with a coverage/medical-necessity CARC."""
    carcs = pl.col("denial_carcs").fill_null([])
    hit = pl.any_horizontal(
        [
            carcs.list.contains(c) | (pl.col("primary_denial_carc") == c).fill_null(False)
            for c in COVERAGE_CARCS
        ]
    )
    return pl.col("denied").fill_null(False) & hit


def add_payer_dx_denial_rate(
    target: pl.LazyFrame, adjudicated_targets: pl.LazyFrame, prior_weight: float = 20.0
) -> pl.LazyFrame:
    """Smoothed coverage-denial rate of the payer's earlier 64520 lines in the same dx group.

    Payers cover indications differently (CRPS covered, ischemic pain or metabolic neuropathy
    not, domain §4a-§4c); learned from outcomes known before the submission date.
    """
    return add_point_in_time_rate(
        target,
        adjudicated_targets,
        by=["payer_id", "dx_group"],
        event_flag=is_coverage_denial(),
        name="payer_dx_denial_rate",
        prior_weight=prior_weight,
    )
