"""Remittances page: denial rate by adjudication month and CARC Pareto from the 835s alone.

The KPIs (`remit_denial_kpis`, `carc_pareto`, `remit_match_share`) are defined once in
`models/kpis.py`, which writes the warehouse table `remit_denial_kpis` too; this module only
draws them. Input: the snapshot's `remit_lines` (one row per remit line, its latest remit,
whether or not its claim line loaded).
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboards.figures.common import code_in_words, empty_figure, pareto_styled, styled
from dashboards.figures.denials import MIN_LINES_FOR_RATE
from dashboards.theme import BLUE, GREY, PERCENT_TICKFORMAT, category_colour, percent
from models.kpis import carc_pareto, remit_denial_kpis, remit_match_share

NO_REMITS = "No remit line matches the filters."
# Reasons listed in words under the Pareto; the rest are summed in one line.
LISTED_REASONS = 10


def remit_month_table(remits: pl.DataFrame) -> pl.DataFrame:
    """Rows of the page's month table: month, denied of remit lines, rate, unmatched lines."""
    kpis = remit_denial_kpis(remits)
    return kpis.select(
        pl.col("adjudication_month").dt.strftime("%Y-%m").alias("Adjudication month"),
        pl.col("remit_lines").alias("Remit lines"),
        pl.col("denied_lines").alias("Denied"),
        pl.col("denial_rate")
        .map_elements(lambda r: percent(r), return_dtype=pl.String)
        .alias("Denial rate"),
        pl.col("lines_without_claim_line").alias("Without a loaded claim line"),
    )


def remit_denial_rate_figure(remits: pl.DataFrame) -> go.Figure:
    """Denial rate of remit lines by adjudication month, each bar labelled with its counts."""
    title = "Denial rate of remit lines by adjudication month"
    kpis = remit_denial_kpis(remits)
    if kpis.height == 0:
        return empty_figure(title, NO_REMITS)
    counts = [
        f"{d:,} of {n:,}"
        for d, n in zip(kpis["denied_lines"].to_list(), kpis["remit_lines"].to_list(), strict=True)
    ]
    fig = go.Figure()
    fig.add_bar(
        x=kpis["adjudication_month"].dt.strftime("%Y-%m"),
        y=kpis["denial_rate"],
        name="denied ÷ remit lines",
        # A month with few remit lines is greyed, as on the Denials page (its rate says little).
        marker_color=[GREY if n < MIN_LINES_FOR_RATE else BLUE for n in kpis["remit_lines"]],
        text=counts,
        textposition="outside",
        customdata=kpis.select(
            "denied_lines", "remit_lines", "lines_without_claim_line"
        ).to_numpy(),
        hovertemplate="%{x}<br>denial rate %{y:.1%}<br>%{customdata[0]:,} of "
        "%{customdata[1]:,} remit lines denied<br>%{customdata[2]:,} without a loaded claim line"
        "<extra></extra>",
    )
    # Months as categories: remits of a few scattered months (or years) stay readable.
    fig.update_xaxes(type="category")
    fig.update_yaxes(tickformat=PERCENT_TICKFORMAT, rangemode="tozero")
    return styled(
        fig,
        title,
        "Adjudication month",
        "Denial rate (% of remit lines)",
        "Share of the remit lines adjudicated each month that were denied (label rule over each "
        f"line's own adjustments), from the 835s whether or not the claims loaded; months with "
        f"fewer than {MIN_LINES_FOR_RATE} remit lines are grey.",
    )


def remit_carc_pareto_figure(remits: pl.DataFrame) -> go.Figure:
    """Pareto of denied remit lines by group code and CARC, with each CARC's description."""
    title = "Denial reasons on remittances: Pareto by CARC"
    pareto = carc_pareto(remits)
    if pareto.height == 0:
        return empty_figure(title, "No denied remit line matches the filters.")
    words = [code_in_words("carc", c) or f"CARC {c}" for c in pareto["carc"].to_list()]
    fig = go.Figure()
    fig.add_bar(
        x=pareto["reason"],
        y=pareto["denied_lines"],
        name="denied remit lines",
        # Coloured by denial category, as the Denials page's Pareto colours it.
        marker_color=[category_colour(c or "Uncategorised") for c in pareto["category"].to_list()],
        customdata=[
            [w, s, c or "Uncategorised"]
            for w, s, c in zip(
                words, pareto["share"].to_list(), pareto["category"].to_list(), strict=True
            )
        ],
        hovertemplate="<b>%{x}</b> (%{customdata[2]})<br>%{y:,} denied lines "
        "(%{customdata[1]:.1%})<br>%{customdata[0]}<extra></extra>",
    )
    return pareto_styled(
        fig,
        pareto["reason"],
        pareto["cumulative_share"],
        (
            title,
            "Group code and CARC of the denial",
            "Denied remit lines (count)",
            "The reasons payers gave for denied remit lines, most frequent first; hover for each "
            "CARC's X12 description.",
        ),
    )


def carc_legend(remits: pl.DataFrame) -> list[str]:
    """The Pareto's reasons in words, most frequent first; past `LISTED_REASONS`, one sum line."""
    pareto = carc_pareto(remits)
    lines = [
        f"{reason}: {n:,} denied lines · {code_in_words('carc', carc) or f'CARC {carc}'}"
        for reason, n, carc in pareto.head(LISTED_REASONS)
        .select("reason", "denied_lines", "carc")
        .iter_rows()
    ]
    rest = pareto.slice(LISTED_REASONS)
    if rest.height:
        lines.append(
            f"{rest.height} more reasons: {int(rest['denied_lines'].sum()):,} denied lines "
            "(in the chart)"
        )
    return lines


def remit_tiles(remits: pl.DataFrame) -> list[dict[str, str]]:
    """Tiles: remit lines, their denial rate, and the share matched to a loaded claim line."""
    denied = int(remits["denied"].cast(pl.Boolean).sum()) if remits.height else 0
    matched, total = remit_match_share(remits)
    return [
        {"label": "Remit lines", "value": f"{total:,}", "change": "each line's latest remit"},
        {
            "label": "Denial rate, remit lines",
            "value": percent(denied / total) if total else "—",
            "change": f"{denied:,} of {total:,} lines denied",
        },
        {
            "label": "Matched to a claim line",
            "value": percent(matched / total) if total else "—",
            "change": f"{matched:,} of {total:,} remit lines; the rest cannot reach the model",
        },
    ]
