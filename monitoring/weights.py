"""Training weights after a detected policy change: the payer's post-change months count more."""

from __future__ import annotations

import polars as pl

from models.policy_flags import ACTIVE_STATUSES

WEIGHT_COLUMN = "policy_change_weight"
# How much more a line of an alerted payer counts once its new policy applies: the handful of
# post-change months must outvote a year of the old behaviour in the payer's trees (measured in
# benchmarks/policy_drift.py --recovery against plain retraining).
POST_CHANGE_WEIGHT = 5.0


def policy_change_weights(
    frame: pl.DataFrame, alerts: pl.DataFrame, weight: float = POST_CHANGE_WEIGHT
) -> pl.DataFrame:
    """The modelling table with `policy_change_weight`: `weight` for an alerted payer's lines
    submitted from its change month on, 1 for every other line."""
    active = (
        alerts.filter(pl.col("status").is_in(ACTIVE_STATUSES))
        if "status" in alerts.columns
        else alerts
    )
    starts = (
        active.select(
            pl.col("payer_id").cast(pl.String),
            pl.col("change_month").cast(pl.String).str.slice(0, 7).alias("_change_month"),
        )
        .group_by("payer_id")
        .agg(pl.col("_change_month").min())
    )
    return (
        frame.join(starts, on="payer_id", how="left")
        .with_columns(
            pl.when(
                pl.col("_change_month").is_not_null()
                & (
                    pl.col("submission_date").cast(pl.Date).dt.strftime("%Y-%m")
                    >= pl.col("_change_month")
                )
            )
            .then(pl.lit(weight))
            .otherwise(pl.lit(1.0))
            .alias(WEIGHT_COLUMN)
        )
        .drop("_change_month")
    )
