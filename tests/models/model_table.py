"""A small modelling table with a known true logit, for the model tests."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from models.dataset import FeatureDef

TEST_FEATURES: list[FeatureDef] = [
    FeatureDef("units", "numeric", "BILATERAL_UNITS"),
    FeatureDef("units_over_mue", "boolean", "BILATERAL_UNITS"),
    FeatureDef("bilateral_coding", "categorical", "BILATERAL_UNITS"),
    FeatureDef("payer_bilateral_convention", "categorical", "BILATERAL_UNITS"),
    FeatureDef("bilateral_matches_payer_convention", "numeric", "BILATERAL_UNITS"),
    FeatureDef("prior_auth_present", "boolean", "PRIOR_AUTH"),
    FeatureDef("dx_primary_is_indication", "boolean", "DIAGNOSIS"),
    FeatureDef("doc_completeness", "numeric", "DOCUMENTATION"),
    FeatureDef("em_same_day_without_25", "boolean", "EM_WITHOUT_25"),
    FeatureDef("lag_over_filing_limit", "boolean", "TIMELY_FILING"),
    FeatureDef("submission_lag_days", "numeric", "TIMELY_FILING"),
    FeatureDef("payer_code_denial_rate", "numeric", "PAYER_HISTORY"),
    FeatureDef("plan_type", "categorical", "CONTEXT"),
    FeatureDef("payer_id", "categorical", "CONTEXT"),
]

PAYERS = {
    # payer_id: (plan_type, bilateral convention, requires auth)
    "MCR01": ("medicare", "modifier_50", False),
    "MA01": ("medicare_advantage", "modifier_50", True),
    "COM01": ("commercial", "rt_lt_two_lines", True),
    "COM02": ("commercial", "modifier_50", True),
    "MCD01": ("medicaid", "modifier_50", True),
}


def true_logit(t: pl.DataFrame) -> np.ndarray:
    """The planted mechanism (with interactions a linear model cannot express)."""
    mismatch = (t["bilateral_matches_payer_convention"].fill_null(1) == 0).to_numpy()
    auth_needed = t["payer_id"].is_in(["MA01", "COM01", "COM02", "MCD01"]).to_numpy()
    no_auth = ~t["prior_auth_present"].to_numpy()
    bad_dx = ~t["dx_primary_is_indication"].to_numpy()
    doc = t["doc_completeness"].to_numpy()
    commercial = t["plan_type"].eq("commercial").to_numpy()
    em = t["em_same_day_without_25"].to_numpy()
    late = t["lag_over_filing_limit"].to_numpy()
    return (
        -3.2
        + 3.5 * mismatch
        + 2.2 * (no_auth & auth_needed)
        + 1.4 * bad_dx
        + 3.0 * commercial * (doc < 0.5)
        + 2.0 * (t["payer_id"].eq("MCD01").to_numpy() & (t["submission_lag_days"].to_numpy() > 20))
        + 1.6 * em
        + 4.0 * late
        + 0.8 * t["units_over_mue"].to_numpy()
    )


def make_table(lines: int = 10000, months: int = 12, seed: int = 1) -> pl.DataFrame:
    """A modelling table: fixed columns, TEST_FEATURES, and a hidden `true_probability`."""
    rng = np.random.default_rng(seed)
    payer_ids = np.array(list(PAYERS))
    payer = rng.choice(payer_ids, lines, p=[0.35, 0.2, 0.2, 0.15, 0.1])
    plan = np.array([PAYERS[p][0] for p in payer])
    convention = np.array([PAYERS[p][1] for p in payer])
    bilateral = rng.random(lines) < 0.25
    coding = np.where(
        bilateral,
        rng.choice(["modifier_50", "rt_lt_two_lines", "units_gt_1"], lines, p=[0.5, 0.3, 0.2]),
        "unilateral",
    )
    units = np.where(coding == "units_gt_1", 2.0, 1.0)
    matches = np.where(coding == "unilateral", None, (coding == convention).astype(int))
    start = date(2025, 1, 1)
    day = rng.integers(0, months * 30, lines)
    service = [start + timedelta(days=int(d)) for d in day]
    lag = rng.gamma(2.0, 6.0, lines).round()
    t = pl.DataFrame(
        {
            "claim_id": [f"C{i:06d}" for i in range(lines)],
            "line_number": np.ones(lines, dtype=np.int64),
            "cpt_code": ["64520"] * lines,
            "payer_id": payer,
            "plan_type": plan,
            "rendering_npi": ["1234567893"] * lines,
            "place_of_service": rng.choice(["11", "22", "24"], lines),
            "service_date": service,
            "submission_date": [
                s + timedelta(days=int(g)) for s, g in zip(service, lag, strict=True)
            ],
            "charge_amount": rng.uniform(600, 1800, lines).round(2),
            "expected_payment_usd": rng.uniform(80, 450, lines).round(2),
            "units": units,
            "units_over_mue": units > 1,
            "bilateral_coding": coding,
            "payer_bilateral_convention": convention,
            "bilateral_matches_payer_convention": pl.Series(matches.tolist(), dtype=pl.Int8),
            "prior_auth_present": rng.random(lines) < 0.75,
            "dx_primary_is_indication": rng.random(lines) < 0.8,
            "doc_completeness": rng.beta(4, 2, lines),
            "em_same_day_without_25": rng.random(lines) < 0.06,
            "lag_over_filing_limit": rng.random(lines) < 0.015,
            "submission_lag_days": lag,
            "payer_code_denial_rate": rng.uniform(0.05, 0.2, lines),
        }
    )
    p = 1 / (1 + np.exp(-true_logit(t)))
    denied = (rng.random(lines) < p).astype(np.int8)
    t = t.with_columns(
        pl.col("service_date").dt.truncate("1mo").alias("service_month"),
        pl.Series("true_probability", p),
        pl.Series("_drawn", denied),
    )
    # Lines submitted in the newest two submission months are pending (remits not back yet), as in
    # the generator; a few older lines too (slow payers).
    sub_month = pl.col("submission_date").dt.truncate("1mo")
    months_sorted = t.get_column("submission_date").dt.truncate("1mo").unique().sort()
    is_pending = (sub_month >= months_sorted[-2]) | (
        (sub_month == months_sorted[-3]) & (pl.col("claim_id").str.slice(-2) == "07")
    )
    return t.with_columns(is_pending.alias("is_pending")).with_columns(
        pl.when(pl.col("is_pending"))
        .then(None)
        .otherwise(pl.col("_drawn"))
        .cast(pl.Int8)
        .alias("denied"),
        pl.when(pl.col("is_pending"))
        .then(pl.lit("pending"))
        .when(pl.col("_drawn") == 1)
        .then(pl.lit("denied"))
        .otherwise(pl.lit("paid"))
        .alias("status"),
        pl.when((~pl.col("is_pending")) & (pl.col("_drawn") == 1))
        .then(pl.lit("coding"))
        .alias("denial_category"),
    )


def truth_of(table: pl.DataFrame) -> pl.DataFrame:
    """The generator-style truth file for a test table."""
    return table.select(
        "claim_id",
        "line_number",
        "true_probability",
        pl.col("_drawn").alias("denied"),
        "is_pending",
    )


def modelling_view(table: pl.DataFrame) -> pl.DataFrame:
    """The table as the pipeline would see it: no hidden truth columns."""
    return table.drop("true_probability", "_drawn")
