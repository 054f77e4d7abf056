"""History features, point in time: only what was known before the line's submission date.

Claims count once submitted, outcomes once adjudicated (`known_at`, never before the line's own
submission date), notes once dated. Every lookup is a sorted cumulative table joined with
`join_asof(..., allow_exact_matches=False)`, so the build stays O(n log n).
"""

from __future__ import annotations

import polars as pl

from data_contracts.input_contract import TARGET_CPT
from models.features.history_tables import history_table, keyed_history_table
from models.features.modifiers import CODING_WINDOW_DAYS, coding_key, is_coding_denial

HISTORY_WINDOWS_DAYS = (7, 14, 30, 365)
# Bayesian smoothing: a rate is shrunk toward the overall rate with the weight of this many lines.
DEFAULT_PRIOR_WEIGHT = 20.0
ASOF_KEY = "_asof_t"


def _time_key(column: str, monthly: bool) -> pl.Expr:
    return pl.col(column).dt.truncate("1mo") if monthly else pl.col(column)


def cumulative_by(
    events: pl.LazyFrame, by: list[str], time: pl.Expr, sums: dict[str, pl.Expr]
) -> pl.LazyFrame:
    """Running totals of `sums` per `by` group, one row per group and time, sorted by time."""
    return (
        events.with_columns(
            time.alias(ASOF_KEY), *(expr.alias(name) for name, expr in sums.items())
        )
        .group_by(*by, ASOF_KEY)
        .agg(*(pl.col(name).sum() for name in sums))
        .sort(*by, ASOF_KEY)
        .with_columns(*(pl.col(n).cum_sum().over(by) if by else pl.col(n).cum_sum() for n in sums))
        .sort(ASOF_KEY)
    )


def join_known_before(
    target: pl.LazyFrame, table: pl.LazyFrame, by: list[str], target_time: pl.Expr
) -> pl.LazyFrame:
    """Attach the latest row of `table` strictly before `target_time` (per `by` group)."""
    return (
        target.with_columns(target_time.alias(ASOF_KEY))
        .sort(ASOF_KEY)
        .join_asof(
            table,
            on=ASOF_KEY,
            by=by or None,
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        .drop(ASOF_KEY)
    )


def add_point_in_time_rate(
    target: pl.LazyFrame,
    events: pl.LazyFrame,
    by: str | list[str],
    event_flag: pl.Expr,
    name: str,
    prior_weight: float = DEFAULT_PRIOR_WEIGHT,
    monthly: bool = False,
    window_days: int | None = None,
) -> pl.LazyFrame:
    """A smoothed rate of `event_flag` among `events` known before the submission date (or month).

    rate = (events_k + w * overall) / (n_k + w); null while nothing at all is known yet. With
    `window_days` the per-key counts are those known in the window before the submission date
    (the difference of two cumulative lookups), so a payer's policy change shows within it.
    """
    keys = [by] if isinstance(by, str) else list(by)
    sums = {"_n": pl.lit(1.0), "_k": event_flag.cast(pl.Float64).fill_null(0.0)}
    time = _time_key("known_at", monthly)
    overall = history_table(
        f"{name}:overall",
        lambda: cumulative_by(events, [], time, sums).rename({"_n": "_gn", "_k": "_gk"}),
    )
    per_key = keyed_history_table(
        f"{name}:per_key",
        lambda: cumulative_by(events, keys, time, sums).collect().lazy(),
        keys,
        target,
        ASOF_KEY,
    )
    target_time = _time_key("submission_date", monthly)
    joined = join_known_before(
        join_known_before(target, overall, [], target_time), per_key, keys, target_time
    )
    n, k = pl.col("_n").fill_null(0.0), pl.col("_k").fill_null(0.0)
    drop = ["_n", "_k", "_gn", "_gk"]
    if window_days is not None:
        start = pl.col("submission_date") - pl.duration(days=window_days)
        joined = join_known_before(joined, per_key.rename({"_n": "_n0", "_k": "_k0"}), keys, start)
        n, k = n - pl.col("_n0").fill_null(0.0), k - pl.col("_k0").fill_null(0.0)
        drop += ["_n0", "_k0"]
    overall_rate = pl.col("_gk") / pl.col("_gn")
    rate = (k + prior_weight * overall_rate) / (n + prior_weight)
    return joined.with_columns(rate.alias(name)).drop(drop)


def add_session_history(target: pl.LazyFrame, all_lines: pl.LazyFrame) -> pl.LazyFrame:
    """Earlier 64520 sessions of the patient in 7/14/30/365 days and days since the last one.

    A session (patient, service date) is known once its first line was submitted; it counts
    when its service date is before this service date and it was submitted before this line.
    Patients have few sessions, so the per-patient pairing stays near-linear.
    """
    sessions = (
        all_lines.filter(pl.col("cpt_code") == TARGET_CPT)
        .group_by("patient_key", "service_date")
        .agg(pl.col("submission_date").min().alias("_s_known"))
        .rename({"service_date": "_s_date"})
    )
    keys = target.select("patient_key", "service_date", "submission_date").unique()
    days_back = (pl.col("service_date") - pl.col("_s_date")).dt.total_days()
    counts = (
        keys.join(sessions, on="patient_key", how="inner")
        .filter(
            (pl.col("_s_date") < pl.col("service_date"))
            & (pl.col("_s_known") < pl.col("submission_date"))
        )
        .group_by("patient_key", "service_date", "submission_date")
        .agg(
            *(
                (days_back <= d).sum().cast(pl.Int32).alias(f"prior_64520_{d}d")
                for d in HISTORY_WINDOWS_DAYS
            ),
            pl.col("_s_date").max().alias("_last_session_date"),
        )
    )
    windows = [f"prior_64520_{d}d" for d in HISTORY_WINDOWS_DAYS]
    return target.join(
        counts, on=["patient_key", "service_date", "submission_date"], how="left"
    ).with_columns(
        pl.col(windows).fill_null(0),
        (pl.col("service_date") - pl.col("_last_session_date"))
        .dt.total_days()
        .alias("days_since_last_64520"),
    )


def add_prior_block_relief(target: pl.LazyFrame, note_relief: pl.LazyFrame) -> pl.LazyFrame:
    """Relief % documented after the last earlier session, in notes dated before submission.

    `note_relief` has patient_key, note_date, relief_pct (notes with a documented relief).
    """
    table = (
        note_relief.filter(pl.col("relief_pct").is_not_null())
        .group_by("patient_key", "note_date")
        .agg(pl.col("relief_pct").last())
        .with_columns(pl.col("note_date").alias(ASOF_KEY))
        .sort(ASOF_KEY)
    )
    joined = join_known_before(target, table, ["patient_key"], pl.col("submission_date"))
    return joined.with_columns(
        pl.when(pl.col("note_date") > pl.col("_last_session_date"))
        .then(pl.col("relief_pct"))
        .otherwise(None)
        .cast(pl.Float64)
        .alias("prior_block_relief_pct")
    ).drop("note_date", "relief_pct", "_last_session_date")


def add_patient_prior_denials(target: pl.LazyFrame, adjudicated: pl.LazyFrame) -> pl.LazyFrame:
    """The patient's denied lines (any code) adjudicated before the submission date."""
    table = keyed_history_table(
        "patient_prior_denials",
        lambda: cumulative_by(
            adjudicated,
            ["patient_key"],
            pl.col("known_at"),
            {"_denials": pl.col("denied").cast(pl.Int32)},
        ),
        ["patient_key"],
        target,
        ASOF_KEY,
    )
    # Only the target's patients can match; the semi join keeps the table's time order.
    mine = table.join(
        target.select("patient_key").unique(), on="patient_key", how="semi", maintain_order="left"
    )
    joined = join_known_before(target, mine, ["patient_key"], pl.col("submission_date"))
    return joined.with_columns(
        pl.col("_denials").fill_null(0).cast(pl.Int32).alias("patient_prior_denials")
    ).drop("_denials")


def add_first_claim_with_payer(target: pl.LazyFrame, all_lines: pl.LazyFrame) -> pl.LazyFrame:
    """True when no claim of the patient with this payer was submitted before this line.

    The earliest submission per patient and payer cannot move before this line because of
    later claims, so the plain minimum is point-in-time safe.
    """
    first = all_lines.group_by("patient_key", "payer_id").agg(
        pl.col("submission_date").min().alias("_first_sub")
    )
    return (
        target.join(first, on=["patient_key", "payer_id"], how="left")
        .with_columns(
            (
                pl.col("_first_sub").is_null() | (pl.col("_first_sub") >= pl.col("submission_date"))
            ).alias("first_claim_with_payer")
        )
        .drop("_first_sub")
    )


def add_denial_rates(
    target: pl.LazyFrame, adjudicated: pl.LazyFrame, prior_weight: float = DEFAULT_PRIOR_WEIGHT
) -> pl.LazyFrame:
    """Smoothed payer x code and provider denial rates up to the month before submission."""
    denied = pl.col("denied").cast(pl.Float64)
    with_payer = add_point_in_time_rate(
        target,
        adjudicated,
        by=["payer_id", "cpt_code"],
        event_flag=denied,
        name="payer_code_denial_rate",
        prior_weight=prior_weight,
        monthly=True,
    )
    return add_point_in_time_rate(
        with_payer,
        adjudicated.filter(pl.col("cpt_code") == TARGET_CPT),
        by="rendering_npi",
        event_flag=denied,
        name="provider_denial_rate",
        prior_weight=prior_weight,
        monthly=True,
    )


# CARC 119 (benefit maximum for the period) and 151 (frequency not supported) are the frequency
# denials of domain §5 / §8.1; a 151 on a line over the MUE is a units denial, not a frequency one.
FREQUENCY_CARCS = ("119", "151")
UNITS_CARC = "151"
# 6 per 12 months is the highest published limit (IBX 08.00.57, domain §4b); counts above it
# share one bucket so sparse high counts still learn from each other.
FREQUENCY_COUNT_CAP = 8
# Payer minimum intervals are about a week (Aetna CPB 0447: >= 7 days apart, domain §4b).
SHORT_INTERVAL_DAYS = 7


def frequency_bucket() -> list[pl.Expr]:
    """The line's 12-month session count (capped) and whether it follows the last within 7 days."""
    return [
        pl.col("prior_64520_365d").fill_null(0).clip(0, FREQUENCY_COUNT_CAP).alias("_freq_count"),
        (pl.col("days_since_last_64520") < SHORT_INTERVAL_DAYS)
        .fill_null(False)
        .alias("_freq_short"),
    ]


def is_frequency_denial() -> pl.Expr:
    """An adjudicated line denied with a frequency CARC (a 151 over the MUE excluded)."""
    carcs = pl.col("denial_carcs").fill_null([])
    primary = pl.col("primary_denial_carc").fill_null("")
    has_119 = carcs.list.contains("119") | (primary == "119")
    has_151 = carcs.list.contains(UNITS_CARC) | (primary == UNITS_CARC)
    units_issue = pl.col("line_exceeds_mue_cumulative").fill_null(False) | pl.col(
        "units_over_mue"
    ).fill_null(False)
    return pl.col("denied").fill_null(False) & (has_119 | (has_151 & ~units_issue))


def add_payer_frequency_denial_rate(
    target: pl.LazyFrame, adjudicated_targets: pl.LazyFrame, prior_weight: float = 10.0
) -> pl.LazyFrame:
    """Smoothed frequency-denial rate of the payer's 64520 lines with the same session history.

    Lines are grouped by payer, 12-month session count (capped at 6) and a < 7-day interval;
    outcomes known before the submission date only. Learns each payer's yearly limit and minimum
    interval from its remits instead of hard-coding them (domain §4b: Aetna 3, IBX 6 per year).
    """
    events = adjudicated_targets.with_columns(*frequency_bucket())
    return add_point_in_time_rate(
        target.with_columns(*frequency_bucket()),
        events,
        by=["payer_id", "_freq_count", "_freq_short"],
        event_flag=is_frequency_denial(),
        name="payer_frequency_denial_rate",
        prior_weight=prior_weight,
    ).drop("_freq_count", "_freq_short")


def add_payer_coding_denial_rate(
    target: pl.LazyFrame, adjudicated_targets: pl.LazyFrame, prior_weight: float = 10.0
) -> pl.LazyFrame:
    """Smoothed coding-denial rate of the payer's recent 64520 lines coded the same way.

    Learned from remits known before the submission date, over the last 180 days: it tells
    which bilateral styles and which extra-unit lines this payer denies now (domain §1, §3).
    """
    return add_point_in_time_rate(
        target.with_columns(coding_key()),
        adjudicated_targets.with_columns(coding_key()),
        by=["payer_id", "_coding_key"],
        event_flag=is_coding_denial(),
        name="payer_coding_denial_rate",
        prior_weight=prior_weight,
        window_days=CODING_WINDOW_DAYS,
    ).drop("_coding_key")
