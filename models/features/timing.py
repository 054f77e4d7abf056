"""Timing and authorization: submission lag, the payer's filing limit, prior authorization."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from data_contracts.codes import TIMELY_FILING_CARC
from data_contracts.input_contract import TARGET_CPT
from models.features.history import (
    ASOF_KEY,
    DEFAULT_PRIOR_WEIGHT,
    add_point_in_time_rate,
    join_known_before,
)
from models.features.history_tables import keyed_history_table

# Authorization CARCs (domain §5, §8.3) plus the shipped category for the rest.
AUTH_CARCS = ("197", "198", "15", "39", "95", "284")
AUTH_CATEGORY = "Invalid/Missing Authorization"


def submission_lag_days() -> pl.Expr:
    """Days from service date to submission date."""
    return (
        (pl.col("submission_date") - pl.col("service_date"))
        .dt.total_days()
        .alias("submission_lag_days")
    )


def prior_auth_present() -> pl.Expr:
    """A non-blank prior-authorization number on the line."""
    return (
        pl.col("prior_auth_number").cast(pl.String).str.strip_chars().fill_null("") != ""
    ).alias("prior_auth_present")


def is_auth_denial() -> pl.Expr:
    """An adjudicated line denied for missing or exceeded authorization."""
    carcs = pl.col("denial_carcs").list.eval(pl.element().is_in(AUTH_CARCS)).list.any()
    return pl.col("denied").fill_null(False) & (
        carcs.fill_null(False)
        | pl.col("primary_denial_carc").is_in(AUTH_CARCS).fill_null(False)
        | (pl.col("denial_category") == AUTH_CATEGORY).fill_null(False)
    )


def filing_limit_history(adjudicated: pl.LazyFrame) -> pl.LazyFrame:
    """Per payer and day known: largest paid lag and smallest lag denied with CARC 29 so far."""
    lag = (pl.col("submission_date") - pl.col("service_date")).dt.total_days()
    timely_denial = pl.col("denied").fill_null(False) & (
        pl.col("denial_carcs").list.contains(TIMELY_FILING_CARC).fill_null(False)
        | (pl.col("primary_denial_carc") == TIMELY_FILING_CARC).fill_null(False)
    )
    paid = pl.col("status").is_in(["paid", "patient_liability"])
    return (
        adjudicated.with_columns(pl.col("known_at").alias(ASOF_KEY))
        .group_by("payer_id", ASOF_KEY)
        .agg(
            lag.filter(paid).max().alias("_max_paid_lag"),
            lag.filter(timely_denial).min().alias("_min_late_lag"),
        )
        .sort("payer_id", ASOF_KEY)
        .with_columns(
            pl.col("_max_paid_lag").cum_max().forward_fill().over("payer_id"),
            pl.col("_min_late_lag").cum_min().forward_fill().over("payer_id"),
        )
        .sort(ASOF_KEY)
    )


def add_filing_limit(
    target: pl.LazyFrame, adjudicated: pl.LazyFrame, configured: Mapping[str, int] | None = None
) -> pl.LazyFrame:
    """The payer's filing limit (configured, else learned before submission) and the lag test.

    A paid lag is within the limit and a CARC-29 lag beyond it, so the limit lies in
    [largest paid lag, smallest CARC-29 lag); the learned value is one day under the smallest
    CARC-29 lag when one is known, else the largest paid lag.
    """
    history = keyed_history_table(
        "filing_limit", lambda: filing_limit_history(adjudicated), ["payer_id"], target, ASOF_KEY
    )
    joined = join_known_before(target, history, ["payer_id"], pl.col("submission_date"))
    learned = pl.coalesce(pl.col("_min_late_lag") - 1, pl.col("_max_paid_lag"))
    if configured:
        table = pl.LazyFrame(
            {"payer_id": list(configured), "_configured_limit": list(configured.values())},
            schema={"payer_id": pl.String, "_configured_limit": pl.Int64},
        )
        joined = joined.join(table, on="payer_id", how="left")
        limit = pl.coalesce(pl.col("_configured_limit"), learned)
    else:
        limit = learned
    joined = joined.with_columns(limit.cast(pl.Int64).alias("payer_filing_limit_days"))
    # Over the limit is certain at or past a CARC-29 lag; between the largest paid lag and
    # that lag it is only an estimate, so a paid-only history never flags a line.
    lag = pl.col("submission_lag_days")
    over = (
        pl.when(pl.col("_configured_limit").is_not_null() if configured else pl.lit(False))
        .then(lag > pl.col("payer_filing_limit_days"))
        .when(pl.col("_min_late_lag").is_not_null())
        .then(lag >= pl.col("_min_late_lag"))
        .when(pl.col("_max_paid_lag").is_not_null())
        .then(pl.lit(False))
        .otherwise(None)
    )
    drop = ["_max_paid_lag", "_min_late_lag"] + (["_configured_limit"] if configured else [])
    return joined.with_columns(over.alias("lag_over_filing_limit")).drop(drop)


def add_payer_auth_denial_rate(
    target: pl.LazyFrame, adjudicated: pl.LazyFrame, prior_weight: float = DEFAULT_PRIOR_WEIGHT
) -> pl.LazyFrame:
    """Smoothed share of the payer's lines denied for authorization, known before submission."""
    return add_point_in_time_rate(
        target,
        adjudicated,
        by="payer_id",
        event_flag=is_auth_denial(),
        name="payer_auth_denial_rate",
        prior_weight=prior_weight,
    )


def normalized_auth_number() -> pl.Expr:
    """The prior-authorization number trimmed and upper-cased; null when blank."""
    value = pl.col("prior_auth_number").cast(pl.String).str.strip_chars().str.to_uppercase()
    return pl.when(value != "").then(value).otherwise(None)


def add_prior_auth_uses(target: pl.LazyFrame, all_lines: pl.LazyFrame) -> pl.LazyFrame:
    """Earlier 64520 service dates of the patient billed under the same authorization number.

    An authorization covers a set number of sessions; a number quoted again after they are used
    up is denied CO-198 + N54 (domain §5 CARC 198, §8.1). A session counts when its service date
    is before this one and its first line with that number was submitted before this line.
    """
    uses = (
        all_lines.filter(pl.col("cpt_code") == TARGET_CPT)
        .with_columns(normalized_auth_number().alias("_auth"))
        .filter(pl.col("_auth").is_not_null())
        .group_by("patient_key", "_auth", "service_date")
        .agg(pl.col("submission_date").min().alias("_a_known"))
        .rename({"service_date": "_a_date"})
    )
    keys = (
        target.select(
            "patient_key",
            normalized_auth_number().alias("_auth"),
            "service_date",
            "submission_date",
        )
        .filter(pl.col("_auth").is_not_null())
        .unique()
    )
    counts = (
        keys.join(uses, on=["patient_key", "_auth"], how="inner")
        .filter(
            (pl.col("_a_date") < pl.col("service_date"))
            & (pl.col("_a_known") < pl.col("submission_date"))
        )
        .group_by("patient_key", "_auth", "service_date", "submission_date")
        .agg(pl.len().cast(pl.Int32).alias("prior_auth_uses"))
    )
    return (
        target.with_columns(normalized_auth_number().alias("_auth"))
        .join(
            counts,
            on=["patient_key", "_auth", "service_date", "submission_date"],
            how="left",
            nulls_equal=False,
        )
        .with_columns(pl.col("prior_auth_uses").fill_null(0))
        .drop("_auth")
    )


# A payer's authorization requirement can start on a date (domain §8.1 drift), so the rate
# looks at the recent window only.
AUTH_WINDOW_DAYS = 120
MISSING_AUTH_CARCS = ("197", "15", "284")


def is_missing_auth_denial() -> pl.Expr:
    """An adjudicated line denied because no valid authorization was on file (CO-197, 15, 284)."""
    carcs = pl.col("denial_carcs").fill_null([])
    hit = pl.any_horizontal(
        [
            carcs.list.contains(c) | (pl.col("primary_denial_carc") == c).fill_null(False)
            for c in MISSING_AUTH_CARCS
        ]
    )
    return pl.col("denied").fill_null(False) & hit


def auth_requirement_start(adjudicated_targets: pl.LazyFrame) -> pl.LazyFrame:
    """Per payer and day known: the earliest service date of a missing-authorization denial."""
    return (
        adjudicated_targets.filter(is_missing_auth_denial())
        .with_columns(pl.col("known_at").alias(ASOF_KEY))
        .group_by("payer_id", ASOF_KEY)
        .agg(pl.col("service_date").min().alias("_auth_start"))
        .sort("payer_id", ASOF_KEY)
        .with_columns(pl.col("_auth_start").cum_min().over("payer_id"))
        .sort(ASOF_KEY)
    )


def add_payer_missing_auth_denial_rate(
    target: pl.LazyFrame, adjudicated_targets: pl.LazyFrame, prior_weight: float = 10.0
) -> pl.LazyFrame:
    """Authorization-denial rate of the payer's recent 64520 lines sent without a number.

    Smoothed, outcomes known before the submission date, last 120 days. 0 for a line that
    carries a number, and 0 for a service date before the earliest service date the payer has
    denied for missing authorization (a requirement applies to services from its effective
    date; a late claim for an earlier service is not affected; domain §8.3 CO-197).
    """
    events = adjudicated_targets.filter(~prior_auth_present())
    with_rate = add_point_in_time_rate(
        target,
        events,
        by="payer_id",
        event_flag=is_auth_denial(),
        name="_missing_auth_rate",
        prior_weight=prior_weight,
        window_days=AUTH_WINDOW_DAYS,
    )
    start = keyed_history_table(
        "auth_requirement_start",
        lambda: auth_requirement_start(adjudicated_targets),
        ["payer_id"],
        target,
        ASOF_KEY,
    )
    joined = join_known_before(with_rate, start, ["payer_id"], pl.col("submission_date"))
    before_start = (pl.col("service_date") < pl.col("_auth_start")).fill_null(False)
    return joined.with_columns(
        pl.when(prior_auth_present() | before_start)
        .then(0.0)
        .otherwise(pl.col("_missing_auth_rate"))
        .alias("payer_missing_auth_denial_rate")
    ).drop("_missing_auth_rate", "_auth_start")
