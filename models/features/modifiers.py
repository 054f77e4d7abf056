"""Modifier and units features: bilateral coding, conflicts, MUE and the payer's learned convention."""

from __future__ import annotations

import polars as pl

from data_contracts.codes import NCCI_BYPASS_MODIFIERS, fee_schedule, mue_limits
from models.features.history_tables import history_table

MODIFIER_COLUMNS = ("modifier_1", "modifier_2", "modifier_3", "modifier_4")
DISTINCT_PROCEDURE_MODIFIERS = NCCI_BYPASS_MODIFIERS
# A convention is only claimed once the payer has paid this many bilateral encounters and one
# style dominates; below that the payer's preference is unknown (domain §1: payers differ).
CONVENTION_MIN_ENCOUNTERS = 3
CONVENTION_MIN_SHARE = 0.6


def modifier_list() -> pl.Expr:
    """The line's modifiers as a list of upper-case codes without nulls or blanks."""
    cleaned = [
        pl.col(c).cast(pl.String).str.strip_chars().str.to_uppercase() for c in MODIFIER_COLUMNS
    ]
    return (
        pl.concat_list(cleaned).list.drop_nulls().list.filter(pl.element() != "").alias("modifiers")
    )


def has_modifier(*codes: str) -> pl.Expr:
    """True when any of `codes` is among the line's modifiers (needs column `modifiers`)."""
    return pl.any_horizontal([pl.col("modifiers").list.contains(c) for c in codes])


def pctc_indicator() -> pl.Expr:
    """PC/TC indicator of the line's code from the shipped fee schedule (null when not listed)."""
    table = fee_schedule().filter(pl.col("mod").fill_null("") == "")
    mapping = dict(zip(table["hcpcs"], table["pctc_ind"], strict=True))
    return pl.col("cpt_code").replace_strict(mapping, default=None, return_dtype=pl.String)


def mue_units_limit() -> pl.Expr:
    """Practitioner MUE units per day for the line's code (null when not listed)."""
    table = mue_limits()
    mapping = dict(zip(table["hcpcs_code"], table["mue_units"], strict=True))
    return pl.col("cpt_code").replace_strict(mapping, default=None, return_dtype=pl.Int32)


def modifier_features() -> list[pl.Expr]:
    """Line-level modifier/units features (needs `modifiers` and the same-day context columns)."""
    has_50 = has_modifier("50")
    has_rt_lt = has_modifier("RT", "LT")
    units = pl.col("units").fill_null(1.0)
    pctc_invalid = (has_modifier("26", "TC") & (pctc_indicator() == "0")).fill_null(False)
    conflict = (
        (has_50 & has_rt_lt)
        | (has_50 & (units > 1))
        | (has_50 & pl.col("rt_lt_two_lines_same_day"))
    )
    return [
        units.alias("units"),
        pl.col("units_per_day_total").fill_null(units),
        (pl.col("units_per_day_total").fill_null(units) > mue_units_limit())
        .fill_null(False)
        .alias("units_over_mue"),
        pl.col("units_billed_earlier_same_day").fill_null(0.0),
        # The line that pushes the patient-day over the MUE is the one a line-by-line editor
        # denies: the second RT/LT line to a payer that pays one line -50 (domain §1, §3).
        ((pl.col("units_billed_earlier_same_day").fill_null(0.0) + units) > mue_units_limit())
        .fill_null(False)
        .alias("line_exceeds_mue_cumulative"),
        has_50.alias("has_modifier_50"),
        has_rt_lt.alias("has_rt_or_lt"),
        (has_50 & has_rt_lt).alias("modifier_50_with_rt_lt"),
        pl.col("rt_lt_two_lines_same_day").fill_null(False),
        pctc_invalid.alias("pctc_modifier_invalid"),
        # One flag for every modifier validity edit: each alone is too rare to learn from.
        (pctc_invalid | (has_50 & has_rt_lt)).alias("modifier_validity_edit"),
        has_modifier(*DISTINCT_PROCEDURE_MODIFIERS).alias("has_distinct_procedure_modifier"),
        pl.when(conflict)
        .then(pl.lit("conflict"))
        .when(has_50)
        .then(pl.lit("modifier_50"))
        .when(pl.col("rt_lt_two_lines_same_day").fill_null(False))
        .then(pl.lit("rt_lt_two_lines"))
        .when(units > 1)
        .then(pl.lit("units_gt_1"))
        .otherwise(pl.lit("unilateral"))
        .alias("bilateral_coding"),
    ]


def paid_bilateral_history(target_with_outcomes: pl.LazyFrame) -> pl.LazyFrame:
    """Per payer and day known: cumulative paid bilateral encounters by coding style.

    An encounter (patient, service date) counts once, on the day its last paid line became
    known; the known date is never before the line's own submission date so a line's own
    outcome can never precede it.
    """
    encounters = (
        target_with_outcomes.filter(
            pl.col("status").is_in(["paid", "patient_liability"])
            & pl.col("bilateral_coding").is_in(["modifier_50", "rt_lt_two_lines"])
        )
        .group_by("payer_id", "patient_key", "service_date")
        .agg(
            pl.col("bilateral_coding").first(),
            pl.max_horizontal("adjudication_date", "submission_date").max().alias("_conv_known_at"),
        )
    )
    return (
        encounters.group_by("payer_id", "_conv_known_at")
        .agg(
            (pl.col("bilateral_coding") == "modifier_50").sum().alias("_n50"),
            (pl.col("bilateral_coding") == "rt_lt_two_lines").sum().alias("_nrtlt"),
        )
        .sort("payer_id", "_conv_known_at")
        .with_columns(
            pl.col("_n50").cum_sum().over("payer_id"),
            pl.col("_nrtlt").cum_sum().over("payer_id"),
        )
        .sort("_conv_known_at")
    )


def add_payer_bilateral_convention(
    target: pl.LazyFrame, labelled: pl.LazyFrame | None = None
) -> pl.LazyFrame:
    """Learn each payer's bilateral style from paid history known before the submission date.

    `labelled`: the lines whose outcomes teach it (default: the target's own).
    """
    history = history_table(
        "payer_bilateral_convention",
        lambda: paid_bilateral_history(target if labelled is None else labelled),
    )
    joined = target.sort("submission_date").join_asof(
        history,
        left_on="submission_date",
        right_on="_conv_known_at",
        by="payer_id",
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
    )
    n50 = pl.col("_n50").fill_null(0)
    nrtlt = pl.col("_nrtlt").fill_null(0)
    total = n50 + nrtlt
    convention = (
        pl.when((total >= CONVENTION_MIN_ENCOUNTERS) & (n50 >= CONVENTION_MIN_SHARE * total))
        .then(pl.lit("modifier_50"))
        .when((total >= CONVENTION_MIN_ENCOUNTERS) & (nrtlt >= CONVENTION_MIN_SHARE * total))
        .then(pl.lit("rt_lt_two_lines"))
        .otherwise(pl.lit("unknown"))
    )
    return (
        joined.with_columns(convention.alias("payer_bilateral_convention"))
        .with_columns(
            pl.when(
                (pl.col("bilateral_coding") == "unilateral")
                | (pl.col("payer_bilateral_convention") == "unknown")
            )
            .then(pl.lit(None, dtype=pl.Int8))
            .otherwise(
                (pl.col("bilateral_coding") == pl.col("payer_bilateral_convention")).cast(pl.Int8)
            )
            .alias("bilateral_matches_payer_convention")
        )
        .drop("_conv_known_at", "_n50", "_nrtlt")
    )


# Coding denials (domain §5): 4 modifier inconsistent/missing, 151 units over the maximum,
# 182 modifier invalid on the date of service.
CODING_CARCS = ("4", "151", "182")
# Recent window for learned payer coding policies: conventions change (domain §8.1 drift).
CODING_WINDOW_DAYS = 180


def coding_key() -> pl.Expr:
    """How the line is coded: bilateral style and whether it takes the day over the MUE."""
    return pl.concat_str(
        pl.col("bilateral_coding"),
        pl.col("line_exceeds_mue_cumulative").cast(pl.String),
        separator="|",
    ).alias("_coding_key")


def is_coding_denial() -> pl.Expr:
    """An adjudicated line denied with a coding CARC (4, 151, 182)."""
    carcs = pl.col("denial_carcs").fill_null([])
    hit = pl.any_horizontal(
        [
            carcs.list.contains(c) | (pl.col("primary_denial_carc") == c).fill_null(False)
            for c in CODING_CARCS
        ]
    )
    return pl.col("denied").fill_null(False) & hit
