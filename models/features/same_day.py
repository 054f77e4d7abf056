"""Same-day context: NCCI PTP pairs, E/M without 25, imaging, other procedures, payer habits.

Only lines of the patient on the service date that were submitted no later than the line itself
are used, so a claim sent later cannot change the features of an earlier one.
"""

from __future__ import annotations

import polars as pl

from data_contracts.codes import NCCI_EM_BYPASS_MODIFIER, ncci_ptp_pairs
from data_contracts.input_contract import TARGET_CPT
from models.features.history import add_point_in_time_rate
from models.features.modifiers import DISTINCT_PROCEDURE_MODIFIERS

LINE_KEY = ["claim_id", "line_number"]
EM_BYPASS_MODIFIER = NCCI_EM_BYPASS_MODIFIER


def is_em_code(code: pl.Expr) -> pl.Expr:
    """E/M codes (99202-99499) and the OPPS clinic visit G0463 (domain §2a)."""
    numeric = code.cast(pl.Int32, strict=False)
    return (numeric.is_between(99202, 99499) | (code == "G0463")).fill_null(False)


def is_procedure_code(code: pl.Expr) -> pl.Expr:
    """Surgical/procedure CPT codes (10004-69990)."""
    return code.cast(pl.Int32, strict=False).is_between(10004, 69990).fill_null(False)


def practitioner_ptp_edits() -> pl.LazyFrame:
    """Practitioner-table PTP pairs with 64520: other code, 64520's column, indicator, deletion date.

    Professional claims are edited against the practitioner table only (domain §2).
    """
    return (
        ncci_ptp_pairs()
        .lazy()
        .filter((pl.col("table") == "ncci_ptp_prac") & (pl.col("hcpcs_code") == TARGET_CPT))
        .select(
            pl.col("other_code").alias("_o_cpt"),
            (pl.col("ptp_type") == "Comprehensive").alias("_target_is_column_1"),
            pl.col("deletion_date").alias("_deletion_date"),
            pl.col("modifier_indicator").alias("_indicator"),
        )
    )


def same_day_pairs(target: pl.LazyFrame, all_lines: pl.LazyFrame) -> pl.LazyFrame:
    """Each target line paired with every line of the patient that day submitted no later."""
    left = target.select(
        *LINE_KEY,
        "patient_key",
        "service_date",
        "submission_date",
        pl.col("modifiers").alias("_own_modifiers"),
        pl.col("rendering_npi").alias("_own_npi"),
    )
    right = all_lines.select(
        "patient_key",
        "service_date",
        pl.col("claim_id").alias("_o_claim"),
        pl.col("line_number").alias("_o_line"),
        pl.col("cpt_code").alias("_o_cpt"),
        pl.col("modifiers").alias("_o_modifiers"),
        pl.col("units").fill_null(1.0).alias("_o_units"),
        pl.col("submission_date").alias("_o_sub"),
        pl.col("rendering_npi").alias("_o_npi"),
    )
    return left.join(right, on=["patient_key", "service_date"], how="inner").filter(
        pl.col("_o_sub") <= pl.col("submission_date")
    )


def ncci_bypass_present(modifiers: str, em_line: pl.Expr) -> pl.Expr:
    """A modifier on the `modifiers` list column that bypasses an indicator-1 PTP pair."""
    distinct = pl.any_horizontal(
        [pl.col(modifiers).list.contains(m) for m in DISTINCT_PROCEDURE_MODIFIERS]
    )
    return distinct | (em_line & pl.col(modifiers).list.contains(EM_BYPASS_MODIFIER))


def same_day_context(target: pl.LazyFrame, all_lines: pl.LazyFrame) -> pl.LazyFrame:
    """Per target line: same-day units, RT/LT lines, NCCI edits, E/M, imaging, other procedures."""
    pairs = same_day_pairs(target, all_lines)
    is_self = (pl.col("_o_claim") == pl.col("claim_id")) & (
        pl.col("_o_line") == pl.col("line_number")
    )
    is_target = pl.col("_o_cpt") == TARGET_CPT
    other_em = is_em_code(pl.col("_o_cpt"))
    other_claim = pl.col("_o_claim") != pl.col("claim_id")
    sent_earlier = pl.col("_o_sub") < pl.col("submission_date")
    # Lines the payer has before this one: earlier claims, then lower line numbers of this claim.
    billed_before = is_target & (
        (other_claim & sent_earlier) | (~other_claim & (pl.col("_o_line") < pl.col("line_number")))
    )
    same_modifiers = pl.col("_o_modifiers").list.sort() == pl.col("_own_modifiers").list.sort()
    exact_duplicate = (
        is_target
        & other_claim
        & sent_earlier
        & same_modifiers
        # A missing NPI on both lines still matches: extracts without NPIs must not hide duplicates.
        & pl.col("_o_npi").eq_missing(pl.col("_own_npi"))
    )
    basic = pairs.group_by(LINE_KEY).agg(
        pl.col("_o_units").filter(is_target).sum().alias("units_per_day_total"),
        (
            (is_target & pl.col("_o_modifiers").list.contains("RT")).any()
            & (is_target & pl.col("_o_modifiers").list.contains("LT")).any()
            & (is_target.sum() > 1)
        ).alias("rt_lt_two_lines_same_day"),
        (other_em & ~pl.col("_o_modifiers").list.contains(EM_BYPASS_MODIFIER))
        .any()
        .alias("em_same_day_without_25"),
        (pl.col("_o_cpt") == "77002").any().alias("imaging_77002_same_day"),
        (pl.col("_o_cpt") == "77003").any().alias("imaging_77003_same_day"),
        (is_procedure_code(pl.col("_o_cpt")) & ~is_target & ~is_self)
        .sum()
        .cast(pl.Int32)
        .alias("other_procedures_same_day"),
        pl.col("_o_units").filter(billed_before).sum().alias("units_billed_earlier_same_day"),
        exact_duplicate.any().alias("duplicate_of_earlier_claim"),
    )
    # The column-2 code carries the bypass modifier: the other line when 64520 is column 1,
    # the 64520 line itself when it is column 2 (domain §2d).
    edits = (
        pairs.filter(~is_self)
        .join(practitioner_ptp_edits(), on="_o_cpt", how="inner")
        .filter(pl.col("service_date") <= pl.col("_deletion_date"))
        .with_columns(
            pl.when(pl.col("_target_is_column_1"))
            .then(ncci_bypass_present("_o_modifiers", other_em))
            .otherwise(ncci_bypass_present("_own_modifiers", pl.lit(False)))
            .alias("_bypass_present")
        )
    )
    bypassable = pl.col("_indicator") == 1
    edit_flags = edits.group_by(LINE_KEY).agg(
        pl.lit(True).alias("ncci_edit_present"),
        bypassable.any().alias("ncci_edit_bypassable"),
        (bypassable.any() & ~(bypassable & ~pl.col("_bypass_present")).any()).alias(
            "ncci_bypass_modifier_present"
        ),
        (pl.col("_indicator") == 0).any().alias("ncci_unbypassable_edit"),
        # 64520 as column 2 (domain §2b): the 64520 line itself is the one the payer denies.
        (~pl.col("_target_is_column_1")).any().alias("ncci_64520_column_2"),
        (
            ~pl.col("_target_is_column_1")
            & ((pl.col("_indicator") == 0) | ~pl.col("_bypass_present"))
        )
        .any()
        .alias("ncci_64520_column_2_unbypassed"),
    )
    flags = [
        "ncci_edit_present",
        "ncci_edit_bypassable",
        "ncci_bypass_modifier_present",
        "ncci_unbypassable_edit",
        "ncci_64520_column_2",
        "ncci_64520_column_2_unbypassed",
    ]
    return basic.join(edit_flags, on=LINE_KEY, how="left").with_columns(
        pl.col(flags).fill_null(False)
    )


def add_same_day_context(target: pl.LazyFrame, all_lines: pl.LazyFrame) -> pl.LazyFrame:
    """Attach `same_day_context` columns to the target lines."""
    return target.join(same_day_context(target, all_lines), on=LINE_KEY, how="left")


# Bundling denials (domain §5): 97 included in another service, 236 not compatible with another
# procedure the same day (Medicare NCCI).
BUNDLING_CARCS = ("97", "236")


def is_bundling_denial() -> pl.Expr:
    """An adjudicated line denied with a bundling CARC (97, 236)."""
    carcs = pl.col("denial_carcs").fill_null([])
    hit = pl.any_horizontal(
        [
            carcs.list.contains(c) | (pl.col("primary_denial_carc") == c).fill_null(False)
            for c in BUNDLING_CARCS
        ]
    )
    return pl.col("denied").fill_null(False) & hit


def add_payer_one_procedure_per_visit_rate(
    target: pl.LazyFrame, adjudicated_targets: pl.LazyFrame, prior_weight: float = 20.0
) -> pl.LazyFrame:
    """Smoothed bundling-denial rate of the payer's 64520 lines billed with another procedure.

    `adjudicated_targets` holds adjudicated 64520 lines with `other_procedures_same_day`,
    `denial_carcs` and `known_at`; only outcomes known before the submission date are used.
    The rate is given to lines with another procedure that day, 0 to the others (the policy
    only applies when there is a second procedure).
    """
    events = adjudicated_targets.filter(pl.col("other_procedures_same_day") > 0)
    return (
        add_point_in_time_rate(
            target,
            events,
            by="payer_id",
            event_flag=is_bundling_denial(),
            name="_opv_rate",
            prior_weight=prior_weight,
        )
        .with_columns(
            pl.when(pl.col("other_procedures_same_day").fill_null(0) > 0)
            .then(pl.col("_opv_rate"))
            .otherwise(0.0)
            .alias("payer_one_procedure_per_visit_rate")
        )
        .drop("_opv_rate")
    )
