"""Population stability index (PSI) by month for features and the score, computed at publish time.

PSI = Σ (actual% − expected%) · ln(actual% / expected%) over bins fixed on a reference window.
Rule of thumb used by credit-risk model monitoring: < 0.10 stable, 0.10–0.25 moderate shift,
≥ 0.25 major shift (Siddiqi, "Credit Risk Scorecards", 2006, ch. 8).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

PSI_MODERATE = 0.10
PSI_MAJOR = 0.25
REFERENCE_MONTHS = 3
# With a model, the reference is the months just before its validation window (what it learnt
# from most recently); point-in-time history features grow over the first months of data, so
# the first months alone would flag drift that is only history accumulating.
REFERENCE_WINDOW_MONTHS = 6
# A month with fewer lines than this gets no alert: PSI on a handful of lines is noise.
MIN_LINES_FOR_ALERT = 50
N_BINS = 10
# Empty bins would make ln(0); a small floor is the usual fix.
_FLOOR = 1e-4

DRIFT_SCHEMA = {
    "month": pl.Date,
    "feature": pl.String,
    "psi": pl.Float64,
    "n": pl.Int64,
    "alert": pl.String,
}


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """PSI between two bin-share vectors (each summing to 1)."""
    e = np.clip(expected, _FLOOR, None)
    a = np.clip(actual, _FLOOR, None)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_alert(value: pl.Expr, n: pl.Expr | None = None) -> pl.Expr:
    """Alert level for a PSI value: none, moderate, major (or too_few_lines)."""
    few = (n < MIN_LINES_FOR_ALERT) if n is not None else pl.lit(False)
    return (
        pl.when(few)
        .then(pl.lit("too_few_lines"))
        .when(value >= PSI_MAJOR)
        .then(pl.lit("major"))
        .when(value >= PSI_MODERATE)
        .then(pl.lit("moderate"))
        .otherwise(pl.lit("none"))
    )


def reference_months(months: list, reference_end=None) -> list:
    """Months of the reference window: the 6 before `reference_end`, else the first 3."""
    if reference_end is not None:
        before = [m for m in months if m < reference_end][-REFERENCE_WINDOW_MONTHS:]
        if before:
            return before
    return months[: min(REFERENCE_MONTHS, max(len(months) - 1, 1))]


def _bucket(frame: pl.DataFrame, column: str, reference: pl.Series) -> tuple[pl.Series, int]:
    """Bin index of every row (bins fixed on the reference) and the number of bins."""
    dtype = frame.schema[column]
    if dtype.is_numeric() or dtype == pl.Boolean:
        ref = reference.cast(pl.Float64).drop_nulls().drop_nans().to_numpy()
        if ref.size == 0:
            return pl.Series("bin", [], dtype=pl.Int64), 0
        # Deciles of the reference; ties collapse bins (np.unique); missing values get their own.
        inner = np.unique(np.quantile(ref, np.linspace(0, 1, N_BINS + 1))[1:-1])
        values = frame[column].cast(pl.Float64)
        missing = values.is_null() | values.is_nan()
        index = np.searchsorted(inner, values.fill_null(0).fill_nan(0).to_numpy(), side="right")
        n_bins = len(inner) + 2
        bins = np.where(missing.to_numpy(), n_bins - 1, index)
        return pl.Series("bin", bins, dtype=pl.Int64), n_bins
    categories = sorted(set(reference.cast(pl.String).fill_null("(missing)").to_list()))
    lookup = {c: i for i, c in enumerate(categories)}
    values = frame[column].cast(pl.String).fill_null("(missing)")
    bins = values.replace_strict(lookup, default=len(categories), return_dtype=pl.Int64)
    return bins.alias("bin"), len(categories) + 1


def _psi_by_month(frame: pl.DataFrame, column: str, month: str, reference_end=None) -> pl.DataFrame:
    months = sorted(frame[month].drop_nulls().unique().to_list())
    if len(months) < 2:
        return pl.DataFrame(schema=DRIFT_SCHEMA)
    in_reference = frame[month].is_in(reference_months(months, reference_end))
    bins, n_bins = _bucket(frame, column, frame[column].filter(in_reference))
    if n_bins == 0:
        return pl.DataFrame(schema=DRIFT_SCHEMA)
    binned = pl.DataFrame({"month": frame[month], "bin": bins, "ref": in_reference})
    expected = np.zeros(n_bins)
    ref_counts = binned.filter(pl.col("ref")).group_by("bin").len()
    expected[ref_counts["bin"].to_numpy()] = ref_counts["len"].to_numpy()
    expected /= expected.sum()
    counts = binned.filter(pl.col("month").is_not_null()).group_by("month", "bin").len()
    rows = []
    for (m,), part in counts.group_by("month"):
        actual = np.zeros(n_bins)
        actual[part["bin"].to_numpy()] = part["len"].to_numpy()
        total = actual.sum()
        rows.append((m, column, psi(expected, actual / total), int(total)))
    out = pl.DataFrame(rows, schema=["month", "feature", "psi", "n"], orient="row")
    return out.with_columns(
        pl.col("month").cast(pl.Date),
        pl.col("n").cast(pl.Int64),
        psi_alert(pl.col("psi"), pl.col("n")).alias("alert"),
    ).sort("month")


def feature_psi_by_month(
    frame: pl.DataFrame,
    features: Sequence[str],
    month: str = "service_month",
    reference_end=None,
) -> pl.DataFrame:
    """PSI of each feature per month against the reference window (see `reference_months`)."""
    parts = [_psi_by_month(frame, f, month, reference_end) for f in features if f in frame.columns]
    if not parts:
        return pl.DataFrame(schema=DRIFT_SCHEMA)
    return pl.concat(parts).sort("feature", "month")


def score_psi_by_month(frame: pl.DataFrame, source: str, reference_end=None) -> pl.DataFrame:
    """PSI of the score (column `score`) per month (column `month`) against the reference window."""
    out = _psi_by_month(frame, "score", "month", reference_end)
    return out.with_columns(pl.lit(source).alias("source"))
