"""Payer policy drift: a payer's 64520 denials per reason category against its own recent past.

Method (docs/monitoring.md): per payer, reason category and month of adjudication, the denials
observed in a window starting at a candidate change month are compared with the payer's
baseline months before it by the exact conditional test for two Poisson rates, with the
case-mix exposure (the sum of the lines' expected denial risk) in place of the line count, so
a month of riskier lines raises the expected count instead of an alarm. Three candidate change
months per test are Bonferroni-combined; the tests of one adjudication month (payers ×
categories) are Benjamini–Hochberg controlled; an alert also needs a material excess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import polars as pl
from scipy.stats import binom

from data_contracts.input_contract import TARGET_CPT
from models.policy_flags import ACTIVE_STATUSES

# Denied lines whose primary CARC the product's category map does not name (the dashboards
# show them under the same label).
UNCATEGORISED = "Uncategorised"
# The payer's denials of every reason together: the stream the model's expected risk adjusts
# best (it predicts any denial), and the one that sees a change whose CARCs the map splits
# over several categories.
ALL_DENIALS = "All denials"

ALERT_STATUSES: tuple[str, ...] = ("open", "acknowledged", "resolved")

# Columns of `policy_drift_alerts` the detection fills (status and timestamps come from the run).
NEW_ALERT_EXTRA = {"detected_at": pl.Datetime("us", "UTC"), "status": pl.String}
ALERT_COLUMNS: tuple[str, ...] = (
    "payer_id",
    "cpt_code",
    "reason_category",
    "change_month",
    "alert_month",
    "rate_before",
    "rate_after",
    "expected_rate_after",
    "lines_before",
    "lines_after",
    "denials_before",
    "denials_after",
    "statistic",
    "p_value",
)

# What a detected change measures: the candidate rows and the alert frame share these dtypes.
CHANGE_DTYPES: dict[str, pl.DataType] = {
    "payer_id": pl.String,
    "cpt_code": pl.String,
    "reason_category": pl.String,
    "change_month": pl.Date,
    "alert_month": pl.Date,
    "rate_before": pl.Float64,
    "rate_after": pl.Float64,
    "expected_rate_after": pl.Float64,
    "lines_before": pl.Int64,
    "lines_after": pl.Int64,
    "denials_before": pl.Int64,
    "denials_after": pl.Int64,
}


@dataclass(frozen=True)
class DriftSettings:
    """Windows and error rates of the detection (docs/monitoring.md explains each choice)."""

    # A change is looked for starting in any of the last `window_months` months of data.
    window_months: int = 3
    baseline_months: int = 12
    min_baseline_months: int = 3
    min_baseline_lines: int = 60
    min_lines_after: int = 20
    # An alert must also matter: the observed category rate exceeds the case-mix expected rate
    # by at least this much (a 1-point shift at 300 lines a month is real but not a policy).
    min_excess: float = 0.04
    # Benjamini–Hochberg level over the payers × categories tested in one adjudication month.
    fdr: float = 0.01


def month_start(expr: pl.Expr) -> pl.Expr:
    """The first day of the expression's month, as a Date."""
    return expr.cast(pl.Date).dt.truncate("1mo")


def reason_category() -> pl.Expr:
    """The product's denial category of a denied line (`Uncategorised` when the map has none)."""
    return pl.col("denial_category").cast(pl.String).fill_null(UNCATEGORISED)


def monthly_counts(lines: pl.DataFrame) -> pl.DataFrame:
    """Adjudicated lines → per payer, adjudication month and reason category: lines, denials, exposure.

    `lines` has payer_id, adjudication_date, denied (bool/int), denial_category and case_mix (the
    expected denial probability of the line). Months without a category's denials count zero.
    """
    frame = lines.select(
        pl.col("payer_id").cast(pl.String),
        month_start(pl.col("adjudication_date")).alias("month"),
        pl.col("denied").cast(pl.Boolean).fill_null(False),
        reason_category().alias("reason_category"),
        pl.col("case_mix").cast(pl.Float64),
    )
    totals = frame.group_by("payer_id", "month").agg(
        pl.len().alias("lines"), pl.col("case_mix").sum().alias("exposure")
    )
    denied = frame.filter(pl.col("denied"))
    denials = pl.concat(
        [
            denied.group_by("payer_id", "month", "reason_category").agg(pl.len().alias("denials")),
            denied.group_by("payer_id", "month")
            .agg(pl.len().alias("denials"))
            .select("payer_id", "month", pl.lit(ALL_DENIALS).alias("reason_category"), "denials"),
        ]
    )
    categories = denials.select("payer_id", "reason_category").unique()
    return (
        totals.join(categories, on="payer_id", how="inner")
        .join(denials, on=["payer_id", "month", "reason_category"], how="left")
        .with_columns(pl.col("denials").fill_null(0).cast(pl.Int64))
        .select("payer_id", "month", "reason_category", "lines", "denials", "exposure")
        .sort("payer_id", "reason_category", "month")
    )


def _months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def _add_months(d: date, n: int) -> date:
    index = d.year * 12 + d.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def conditional_poisson_p(
    after: int, before: int, exposure_after: float, exposure_before: float
) -> float:
    """One-sided p of `after` or more events given after+before, under equal rates per exposure."""
    total = after + before
    if total == 0 or exposure_after <= 0:
        return 1.0
    share = exposure_after / (exposure_after + exposure_before)
    return float(binom.sf(after - 1, total, share))


def step_log_likelihood_ratio(
    after: int, before: int, exposure_after: float, exposure_before: float
) -> float:
    """Log-likelihood ratio of a rate increase at the split vs one rate (0 when no increase)."""
    total = after + before
    if total == 0 or exposure_after <= 0:
        return 0.0
    share0 = exposure_after / (exposure_after + exposure_before)
    share = after / total
    if share <= share0:
        return 0.0
    out = after * math.log(share / share0)
    if before:
        out += before * math.log((1 - share) / (1 - share0))
    return out


def scan_month(
    counts: pl.DataFrame, alert_month: date, settings: DriftSettings = DriftSettings()
) -> pl.DataFrame:
    """The drift test of every payer × category with data up to `alert_month` (one row each)."""
    rows: list[dict] = []
    window = counts.filter(pl.col("month") <= alert_month)
    for (payer_id, category), group in window.group_by(
        "payer_id", "reason_category", maintain_order=True
    ):
        by_month = {
            r["month"]: (r["lines"], r["denials"], r["exposure"])
            for r in group.iter_rows(named=True)
        }
        if alert_month not in by_month:
            continue
        best: dict | None = None
        # Every candidate split sees the same span, so their likelihoods compare.
        start = _add_months(alert_month, 1 - settings.window_months - settings.baseline_months)
        for offset in range(settings.window_months):
            change = _add_months(alert_month, -offset)
            after = [by_month[m] for m in by_month if change <= m <= alert_month]
            before_months = [m for m in by_month if start <= m < change]
            before = [by_month[m] for m in before_months]
            lines_after = sum(x[0] for x in after)
            lines_before = sum(x[0] for x in before)
            if (
                len(before_months) < settings.min_baseline_months
                or lines_before < settings.min_baseline_lines
                or lines_after < settings.min_lines_after
            ):
                continue
            denials_after = sum(x[1] for x in after)
            denials_before = sum(x[1] for x in before)
            exposure_after = sum(x[2] for x in after)
            exposure_before = sum(x[2] for x in before)
            p = conditional_poisson_p(
                denials_after, denials_before, exposure_after, exposure_before
            )
            llr = step_log_likelihood_ratio(
                denials_after, denials_before, exposure_after, exposure_before
            )
            rate_before = denials_before / lines_before
            # The baseline rate per unit of case-mix risk, applied to the window's lines.
            expected_after = (
                denials_before / exposure_before * exposure_after / lines_after
                if exposure_before > 0
                else rate_before
            )
            candidate = {
                "payer_id": payer_id,
                "cpt_code": TARGET_CPT,
                "reason_category": category,
                "change_month": change,
                "alert_month": alert_month,
                "rate_before": rate_before,
                "rate_after": denials_after / lines_after,
                "expected_rate_after": expected_after,
                "lines_before": lines_before,
                "lines_after": lines_after,
                "denials_before": denials_before,
                "denials_after": denials_after,
                "raw_p": p,
                "llr": llr,
            }
            # The change month is the most likely split (maximum likelihood over the window).
            if best is None or llr > best["llr"]:
                best = candidate
        if best is not None:
            best["p"] = min(1.0, best.pop("raw_p") * settings.window_months)
            best.pop("llr")
            rows.append(best)
    return pl.DataFrame(rows, schema={**CHANGE_DTYPES, "p": pl.Float64})


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values (q-values), in the input order."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def alerts_for_month(
    counts: pl.DataFrame, alert_month: date, settings: DriftSettings = DriftSettings()
) -> pl.DataFrame:
    """Alerts raised with the data of one adjudication month: FDR-controlled and material."""
    tests = scan_month(counts, alert_month, settings)
    if tests.is_empty():
        return _empty_alerts()
    tests = tests.with_columns(pl.Series("p_value", benjamini_hochberg(tests["p"].to_numpy())))
    found = tests.filter(
        (pl.col("p_value") <= settings.fdr)
        & (pl.col("rate_after") - pl.col("expected_rate_after") >= settings.min_excess)
    ).with_columns(
        (-pl.col("p").clip(lower_bound=1e-300).log10()).alias("statistic"),
        pl.col("reason_category").alias("tested_on"),
    )
    by_category = found.filter(pl.col("reason_category") != ALL_DENIALS)
    # A payer whose total denials rose with no single category significant yet: the alert names
    # the category with the largest excess over its case-mix expectation in the window.
    overall = found.filter(
        (pl.col("reason_category") == ALL_DENIALS)
        & ~pl.col("payer_id").is_in(by_category["payer_id"].implode())
    )
    named = [
        {**row, "reason_category": dominant_category(counts, row, settings)}
        for row in overall.iter_rows(named=True)
    ]
    if named:
        by_category = pl.concat([by_category, pl.DataFrame(named, schema=found.schema)])
    return by_category.select(*ALERT_COLUMNS, "tested_on")


def dominant_category(counts: pl.DataFrame, alert: dict, settings: DriftSettings) -> str:
    """The category with the largest excess of denials over its case-mix expectation in the window."""
    change, month = alert["change_month"], alert["alert_month"]
    start = _add_months(month, 1 - settings.window_months - settings.baseline_months)
    rows = counts.filter(
        (pl.col("payer_id") == alert["payer_id"])
        & (pl.col("reason_category") != ALL_DENIALS)
        & (pl.col("month") >= start)
        & (pl.col("month") <= month)
    ).with_columns((pl.col("month") >= change).alias("after"))
    sums = (
        rows.group_by("reason_category", "after")
        .agg(pl.col("denials").sum(), pl.col("exposure").sum())
        .pivot("after", index="reason_category", values=["denials", "exposure"])
        .fill_null(0)
    )
    for column in ("denials_true", "denials_false", "exposure_true", "exposure_false"):
        if column not in sums.columns:
            sums = sums.with_columns(pl.lit(0.0).alias(column))
    excess = sums.with_columns(
        (
            pl.col("denials_true")
            - pl.col("denials_false")
            / pl.when(pl.col("exposure_false") > 0).then(pl.col("exposure_false")).otherwise(None)
            * pl.col("exposure_true")
        )
        .fill_null(pl.col("denials_true"))
        .alias("excess")
    ).sort("excess", "reason_category", descending=[True, False])
    return excess["reason_category"][0] if excess.height else ALL_DENIALS


def detect(
    counts: pl.DataFrame,
    settings: DriftSettings = DriftSettings(),
    through: date | None = None,
) -> pl.DataFrame:
    """Every month in order as if run at its end: the first alert per payer and category."""
    if counts.is_empty():
        return _empty_alerts()
    months = sorted(counts["month"].unique().to_list())
    if through is not None:
        months = [m for m in months if m <= through]
    raised: list[pl.DataFrame] = []
    seen: set[tuple[str, str]] = set()
    for month in months:
        found = alerts_for_month(counts, month, settings)
        fresh = (
            found.filter(
                ~pl.struct("payer_id", "reason_category").is_in(
                    [{"payer_id": p, "reason_category": c} for p, c in seen]
                )
            )
            if seen
            else found
        )
        for row in fresh.select("payer_id", "reason_category").iter_rows():
            seen.add(row)
        if fresh.height:
            raised.append(fresh)
    return pl.concat(raised) if raised else _empty_alerts()


def _empty_alerts() -> pl.DataFrame:
    extra = {"statistic": pl.Float64, "p_value": pl.Float64, "tested_on": pl.String}
    return pl.DataFrame(schema={**CHANGE_DTYPES, **extra})


def pending_share(lines: pl.DataFrame) -> pl.DataFrame:
    """Per payer and submission month: 64520 lines submitted and the share still without a remit."""
    return (
        lines.group_by(
            pl.col("payer_id").cast(pl.String),
            month_start(pl.col("submission_date")).alias("month"),
        )
        .agg(
            pl.len().alias("submitted_lines"),
            pl.col("is_pending").cast(pl.Boolean).mean().alias("pending_share"),
        )
        .sort("payer_id", "month")
    )


def with_month_text(frame: pl.DataFrame) -> pl.DataFrame:
    """change_month and alert_month as `YYYY-MM` text, the table's form."""
    return frame.with_columns(
        pl.col("change_month").dt.strftime("%Y-%m"), pl.col("alert_month").dt.strftime("%Y-%m")
    )


def new_alerts(existing: pl.DataFrame, found: pl.DataFrame, detected_at: datetime) -> pl.DataFrame:
    """The alerts to add to the table (existing rows, their status included, stay as they are).

    `found` has months as `YYYY-MM` text. A payer and category with an open or acknowledged
    alert raise nothing new; after it is resolved, a change starting after the resolved alert's
    month raises a new one.
    """
    active: set[tuple[str, str, str]] = set()
    resolved_until: dict[tuple[str, str, str], str] = {}
    for row in existing.iter_rows(named=True):
        key = (row["payer_id"], row["cpt_code"], row["reason_category"])
        if row["status"] in ACTIVE_STATUSES:
            active.add(key)
        else:
            resolved_until[key] = max(resolved_until.get(key, ""), row["alert_month"])
    new_rows = []
    for row in found.iter_rows(named=True):
        key = (row["payer_id"], row["cpt_code"], row["reason_category"])
        if key in active:
            continue
        if key in resolved_until and row["change_month"] <= resolved_until[key]:
            continue
        active.add(key)
        new_rows.append({**row, "detected_at": detected_at, "status": "open"})
    return pl.DataFrame(new_rows, schema=found.schema | NEW_ALERT_EXTRA, strict=False)


def months_after(change: date, month: date) -> int:
    """Whole months from the change month to `month` (0 when the same month)."""
    return _months_between(change, month)


def alert_series(
    counts: pl.DataFrame, alerts: pl.DataFrame, settings: DriftSettings = DriftSettings()
) -> pl.DataFrame:
    """Per alert and month (12 months before its change on): lines, denials, rate, expected rate.

    The expected rate is the baseline's denials per unit of case-mix risk times the month's
    risk per line; months from the change on keep the pre-change baseline so the gap shows.
    """
    rows = []
    for alert in alerts.iter_rows(named=True):
        change = _as_date(alert["change_month"])
        stream = alert.get("tested_on") or alert["reason_category"]
        series = counts.filter(
            (pl.col("payer_id") == alert["payer_id"])
            & (pl.col("reason_category") == stream)
            & (pl.col("month") >= _add_months(change, -settings.baseline_months))
        ).sort("month")
        base = series.filter(pl.col("month") < change)
        exposure = float(base["exposure"].sum())
        per_risk = float(base["denials"].sum()) / exposure if exposure > 0 else None
        for r in series.iter_rows(named=True):
            rows.append(
                {
                    "payer_id": alert["payer_id"],
                    "reason_category": alert["reason_category"],
                    "change_month": change.strftime("%Y-%m"),
                    "month": r["month"].strftime("%Y-%m"),
                    "lines": r["lines"],
                    "denials": r["denials"],
                    "rate": r["denials"] / r["lines"] if r["lines"] else 0.0,
                    "expected_rate": per_risk * r["exposure"] / r["lines"]
                    if per_risk is not None and r["lines"]
                    else None,
                }
            )
    schema = {
        "payer_id": pl.String,
        "reason_category": pl.String,
        "change_month": pl.String,
        "month": pl.String,
        "lines": pl.Int64,
        "denials": pl.Int64,
        "rate": pl.Float64,
        "expected_rate": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def _as_date(month: date | str) -> date:
    if isinstance(month, date):
        return month
    year, mon = month.split("-")[:2]
    return date(int(year), int(mon), 1)


@dataclass(frozen=True)
class PolicyDriftRun:
    """One evaluation: alerts to add, the monthly series of every alert, and what is still out."""

    new_alerts: pl.DataFrame
    series: pl.DataFrame
    pending: pl.DataFrame
    months_monitored: int
    latest_month: str | None


def evaluate_policy_drift(
    lines: pl.DataFrame,
    existing: pl.DataFrame,
    detected_at: datetime,
    settings: DriftSettings = DriftSettings(),
) -> PolicyDriftRun:
    """64520 lines with case_mix (adjudicated and pending) and the stored alerts → this run's result."""
    adjudicated = lines.filter(pl.col("adjudication_date").is_not_null())
    counts = monthly_counts(adjudicated)
    pending = pending_share(lines).with_columns(pl.col("month").dt.strftime("%Y-%m"))
    found = with_month_text(detect(counts, settings)).join(
        pending.select("payer_id", pl.col("month").alias("alert_month"), "pending_share"),
        on=["payer_id", "alert_month"],
        how="left",
    )
    added = new_alerts(existing, found, detected_at)
    every = pl.concat(
        [
            existing.select("payer_id", "reason_category", "change_month", "tested_on"),
            added.select("payer_id", "reason_category", "change_month", "tested_on"),
        ]
    )
    series = alert_series(counts, every, settings).join(
        pending.select("payer_id", "month", "pending_share"), on=["payer_id", "month"], how="left"
    )
    months = counts["month"].unique().sort()
    return PolicyDriftRun(
        new_alerts=added,
        series=series,
        pending=pending,
        months_monitored=months.len(),
        latest_month=months[-1].strftime("%Y-%m") if months.len() else None,
    )
