"""Front-end history: a claim's and a patient's earlier 277CA rejections, point in time.

A rejection (data_contracts/acknowledgements.py) counts for a line only when it is dated before
the line's submission date: a rejection of the line's own submission comes after it and is the
outcome (`rejected_front_end`), never a feature. A claim that was rejected, corrected and sent
again carries its earlier rejection as history; so does the patient's next claim (registration
and eligibility errors repeat: cpt-64520.md §6, front-end causes 23.9% of denials).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from models.features.history import ASOF_KEY, join_known_before
from models.features.history_tables import keyed_history_table

# The rejections the features read, one row per rejected claim and date (the modelling-table
# asset and the pre-submission check run it against the warehouse).
REJECTION_HISTORY_SQL = """
SELECT DISTINCT a.claim_id, c.patient_key, a.effective_date AS rejected_on
FROM claim_acknowledgements a
JOIN (SELECT DISTINCT claim_id, patient_key FROM staged_claim_lines) c USING (claim_id)
WHERE a.outcome = 'rejected'
"""
REJECTION_HISTORY_SCHEMA = {"claim_id": pl.String, "patient_key": pl.String, "rejected_on": pl.Date}


def rejection_history(con: Any) -> pl.DataFrame | None:
    """The rejections of a warehouse connection (DuckDB), None before any acknowledgement table."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if not {"claim_acknowledgements", "staged_claim_lines"} <= tables:
        return None
    return con.sql(REJECTION_HISTORY_SQL).pl().cast(REJECTION_HISTORY_SCHEMA)


def empty_rejections() -> pl.LazyFrame:
    """No rejection history (a practice that sends no 277CA files)."""
    return pl.LazyFrame(schema=REJECTION_HISTORY_SCHEMA)


def add_front_end_history(target: pl.LazyFrame, rejections: pl.LazyFrame) -> pl.LazyFrame:
    """`prior_front_end_rejections_patient` and `claim_rejected_front_end_before` per line."""
    events = rejections.select(
        pl.col("claim_id").cast(pl.String),
        pl.col("patient_key").cast(pl.String),
        pl.col("rejected_on").cast(pl.Date),
    ).unique()
    per_patient_table = (
        events.group_by("patient_key", "rejected_on")
        .agg(pl.len().cast(pl.Int32).alias("_rejections"))
        .sort("patient_key", "rejected_on")
        .with_columns(pl.col("_rejections").cum_sum().over("patient_key"))
        .with_columns(pl.col("rejected_on").alias(ASOF_KEY))
        .drop("rejected_on")
        .sort(ASOF_KEY)
    )
    per_patient = keyed_history_table(
        "front_end:per_patient", lambda: per_patient_table, ["patient_key"], target, ASOF_KEY
    )
    first_by_claim = keyed_history_table(
        "front_end:first_by_claim",
        lambda: events.group_by("claim_id").agg(pl.col("rejected_on").min().alias("_first")),
        ["claim_id"],
        target,
        "_first",
    )
    joined = join_known_before(target, per_patient, ["patient_key"], pl.col("submission_date"))
    return (
        joined.join(first_by_claim, on="claim_id", how="left")
        .with_columns(
            pl.col("_rejections").fill_null(0).alias("prior_front_end_rejections_patient"),
            (pl.col("_first") < pl.col("submission_date"))
            .fill_null(False)
            .alias("claim_rejected_front_end_before"),
        )
        .drop("_rejections", "_first")
    )
