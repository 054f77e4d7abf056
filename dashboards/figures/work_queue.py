"""Work queue page: pending 64520 lines ranked by expected loss, with reasons and fixes.

Input: the snapshot's `work_queue` (risk_scores, the export contract of the model issue, joined
with payer name, plan type and rendering provider from `denial_lines`).
"""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import polars as pl

from dashboards.figures.common import empty_figure, styled
from dashboards.theme import BAND_COLOURS, GREY, MONEY_TICKFORMAT

BANDS = ("high", "medium", "low")
NO_QUEUE = "No pending 64520 line has been scored yet, or none matches the filters."

# Columns shown in the table and the CSV, in order; absent ones are skipped.
QUEUE_COLUMNS: tuple[str, ...] = (
    "claim_id",
    "line_number",
    "service_date",
    "payer_name",
    "payer_id",
    "rendering_npi",
    "charge_amount",
    "denial_probability",
    "risk_band",
    "expected_loss_usd",
    "reason_1",
    "reason_2",
    "reason_3",
    "reasons",
    "recommended_action",
    "model_version",
    "scored_at",
)


def filter_queue(
    queue: pl.DataFrame,
    payers: list[str] | None = None,
    providers: list[str] | None = None,
    bands: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> pl.DataFrame:
    """Apply the page filters (empty list or None means no filter) and rank by expected loss."""
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
    return rank_queue(frame)


def rank_queue(queue: pl.DataFrame) -> pl.DataFrame:
    """Queue columns in contract order, money as float, highest expected loss first."""
    cols = [c for c in QUEUE_COLUMNS if c in queue.columns]
    return (
        queue.select(cols)
        .with_columns(
            pl.col("expected_loss_usd").cast(pl.Float64),
            pl.col("charge_amount").cast(pl.Float64) if "charge_amount" in cols else pl.lit(None),
        )
        .select(cols)
        .sort("expected_loss_usd", descending=True, nulls_last=True)
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
    frame = (
        queue.with_columns(pl.col("reason_1").fill_null("(no reason)"))
        .group_by("reason_1", "risk_band")
        .agg(pl.col("expected_loss_usd").sum().alias("loss"), pl.len().alias("lines"))
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
            customdata=part["lines"].to_numpy(),
            hovertemplate=f"%{{y}} · {band} risk<br>expected loss $%{{x:,.0f}}<br>%{{customdata:,}} "
            "lines<extra></extra>",
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
