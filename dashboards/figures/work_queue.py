"""Work queue page: pending 64520 lines ranked by expected loss × urgency, with reasons and fixes.

Input: the snapshot's `work_queue` (risk_scores, the export contract of the model issue, joined
with payer name, modifiers, units, diagnosis and the days left to file from `denial_lines`).

Urgency rule (the default order is `priority` = expected loss × urgency): a line with
URGENT_WINDOW_DAYS or more left before the payer's filing limit, or whose limit is unknown, has
urgency 1; below that window urgency rises linearly to 2 at zero days left, and stays 2 past
the limit (the last chance to correct and appeal). So $100 at risk with 0 days left ranks with
$200 that can wait.
"""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import polars as pl

from dashboards.figures.common import empty_figure, short, styled
from dashboards.theme import BAND_COLOURS, GREY, MONEY_TICKFORMAT
from models.reasons import NO_ACTION, REASON_COLUMN_NAMES, REASONS, action_for_code

BANDS = ("high", "medium", "low")
NO_QUEUE = "No pending 64520 line has been scored yet, or none matches the filters."

# Columns shown in the table and the CSV, in order; absent ones are skipped.
QUEUE_COLUMNS: tuple[str, ...] = (
    "claim_id",
    "line_number",
    "service_date",
    "payer_name",
    "payer_id",
    "rendering_provider_name",
    "rendering_npi",
    "modifier_1",
    "modifier_2",
    "units",
    "primary_diagnosis",
    "days_to_filing_limit",
    "charge_amount",
    "denial_probability",
    "risk_band",
    "expected_loss_usd",
    "urgency",
    "priority",
    *REASON_COLUMN_NAMES,
    "model_version",
    "scored_at",
)
URGENT_WINDOW_DAYS = 60


def urgency(days_left: pl.Expr) -> pl.Expr:
    """1 with URGENT_WINDOW_DAYS or more (or an unknown limit) left, rising to 2 at zero days."""
    share_gone = (pl.lit(URGENT_WINDOW_DAYS) - days_left.cast(pl.Float64)) / URGENT_WINDOW_DAYS
    return (1 + share_gone.clip(0, 1)).fill_null(1.0)


def filter_queue(
    queue: pl.DataFrame,
    payers: list[str] | None = None,
    providers: list[str] | None = None,
    bands: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    claim_search: str | None = None,
) -> pl.DataFrame:
    """Apply the page filters (empty list or None means no filter) and rank by priority."""
    frame = queue
    if payers:
        frame = frame.filter(pl.col("payer_id").is_in(payers))
    if providers and "rendering_npi" in frame.columns:
        frame = frame.filter(pl.col("rendering_npi").is_in(providers))
    if bands:
        frame = frame.filter(pl.col("risk_band").is_in(bands))
    if start is not None:
        frame = frame.filter(pl.col("service_date") >= start)
    if end is not None:
        frame = frame.filter(pl.col("service_date") <= end)
    if claim_search and claim_search.strip():
        needle = claim_search.strip().upper()
        frame = frame.filter(
            pl.col("claim_id").cast(pl.String).str.to_uppercase().str.contains(needle, literal=True)
        )
    return rank_queue(frame)


def rank_queue(queue: pl.DataFrame) -> pl.DataFrame:
    """Queue columns in contract order, money in cents, highest expected loss × urgency first."""
    frame = queue.with_columns(
        pl.col("expected_loss_usd").cast(pl.Float64).round(2),
        *[pl.col(c).cast(pl.Float64).round(2) for c in ("charge_amount",) if c in queue.columns],
    )
    days = (
        pl.col("days_to_filing_limit") if "days_to_filing_limit" in queue.columns else pl.lit(None)
    )
    frame = frame.with_columns(urgency(days).round(3).alias("urgency"))
    frame = frame.with_columns(
        (pl.col("expected_loss_usd") * pl.col("urgency")).round(2).alias("priority"),
        *[
            pl.col(f"reason_{i}")
            .map_elements(action_for_code, return_dtype=pl.String)
            .alias(f"action_{i}")
            for i in (1, 2, 3)
            # Scores of export contract v2 carry each reason's own (line-specific) action.
            if f"reason_{i}" in queue.columns and f"action_{i}" not in queue.columns
        ],
    )
    if "recommended_action" in frame.columns and "action_1" in frame.columns:
        # reason_1's action is the model's own, specific to the line (the payer's convention),
        # unless the band rule withheld it: a fixable defect still gets its fix here.
        model_action = pl.col("recommended_action")
        frame = frame.with_columns(
            pl.when(model_action.is_null() | (model_action == NO_ACTION))
            .then(pl.col("action_1"))
            .otherwise(model_action)
            .alias("action_1")
        )
    cols = [c for c in QUEUE_COLUMNS if c in frame.columns]
    return frame.select(cols).sort(
        ["priority", "expected_loss_usd"], descending=True, nulls_last=True
    )


def queue_totals(queue: pl.DataFrame) -> dict[str, str]:
    """Headline numbers for the queue: lines, expected loss, high-band lines."""
    loss = float(queue["expected_loss_usd"].sum() or 0) if queue.height else 0.0
    high = queue.filter(pl.col("risk_band") == "high").height if queue.height else 0
    return {
        "Pending lines scored": f"{queue.height:,}",
        "Expected loss (USD)": f"${loss:,.0f}",
        "High-risk lines": f"{high:,}",
    }


def expected_loss_by_reason_figure(queue: pl.DataFrame) -> go.Figure:
    """Expected loss of pending lines by their first reason, stacked by risk band."""
    title = "Expected loss of pending lines by top reason"
    if queue.height == 0:
        return empty_figure(title, NO_QUEUE)
    meanings = {r.code: short(r.sentence, 90) for r in REASONS.values()}
    frame = (
        queue.with_columns(pl.col("reason_1").fill_null("(no reason)"))
        .group_by("reason_1", "risk_band")
        .agg(pl.col("expected_loss_usd").sum().alias("loss"), pl.len().alias("lines"))
        .with_columns(
            pl.col("reason_1")
            .replace_strict(meanings, default="", return_dtype=pl.String)
            .alias("meaning")
        )
    )
    order = frame.group_by("reason_1").agg(pl.col("loss").sum()).sort("loss")["reason_1"].to_list()
    fig = go.Figure()
    for band in BANDS:
        part = frame.filter(pl.col("risk_band") == band)
        if part.height == 0:
            continue
        fig.add_bar(
            y=part["reason_1"],
            x=part["loss"],
            orientation="h",
            name=f"{band} risk",
            marker_color=BAND_COLOURS.get(band, GREY),
            customdata=part.select("lines", "meaning").to_numpy(),
            hovertemplate=f"%{{y}} · {band} risk<br>%{{customdata[1]}}<br>expected loss "
            "$%{x:,.0f}<br>%{customdata[0]:,} lines<extra></extra>",
        )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(categoryorder="array", categoryarray=order, type="category")
    fig.update_xaxes(tickformat=MONEY_TICKFORMAT)
    return styled(
        fig,
        title,
        "Expected loss (USD) = denial probability × expected payment",
        "Top reason code",
        "Where the money at risk is: fix the reasons at the top first; colours are the risk bands.",
    )
