"""Denials page: initial denial rate by month and segment, causes, dollars, KPI tiles."""

from __future__ import annotations

import dash
import polars as pl
from dash import Input, Output, callback, html

from dashboards.components import (
    GRID_STYLE,
    denial_line_filter_choices,
    figure_and_caption,
    figure_card,
    filter_header,
    filtered_lines,
    kpi_tile,
    parse_date,
    register_filter_status,
    snapshot_path,
)
from dashboards.figures import denials as fig
from dashboards.figures.common import empty_figure
from dashboards.snapshot import snapshot_tables

dash.register_page(__name__, path="/", name="Denials", order=0, title="Denials · CPT 64520")

FILTERS = {
    "denials-payer": ("payer_id", "Payer"),
    "denials-plan": ("plan_type", "Plan type"),
    "denials-pos": ("place_of_service", "Place of service"),
    "denials-provider": ("rendering_npi", "Rendering provider"),
}
GRAPHS = (
    "denials-by-month",
    "denials-pareto",
    "denials-dollars",
    "denials-by-payer",
    "denials-by-plan",
    "denials-by-pos",
    "denials-by-provider",
)
COLUMNS = (
    "payer_id",
    "payer_name",
    "plan_type",
    "place_of_service",
    "rendering_npi",
    "rendering_provider_name",
    "service_month",
    "service_date",
    "submission_date",
    "adjudication_date",
    "charge_amount",
    "denied",
    "primary_denial_carc",
    "primary_rarc",
    "denial_category",
    "front_end_rejected",
)
MISSING = (
    "The published snapshot has no denial_lines table yet: run the pipeline (staged claim lines "
    "and line outcomes) and publish a snapshot."
)

layout = html.Div(
    [
        html.H2("Denials of CPT 64520 lines"),
        html.P(
            "Initial denial rate at claim-line level, by count and by billed charges (HFMA Claim "
            "Integrity Task Force metric 1; denominator: the service month's remitted lines — "
            "the dotted line uses the Task Force's 3-month average of submitted lines).",
            style={"color": "#444"},
        ),
        *filter_header("denials", FILTERS, "Service date"),
        html.Div(id="denials-kpis", style={"display": "flex", "gap": "12px", "flexWrap": "wrap"}),
        html.Div([figure_card(g) for g in GRAPHS], style=GRID_STYLE),
    ]
)

register_filter_status("denials", FILTERS, ("Service from", "Service to"))


@callback(
    *[Output(i, "options") for i in FILTERS],
    Output("denials-dates", "min_date_allowed"),
    Output("denials-dates", "max_date_allowed"),
    Input("denials-notice", "id"),
)
def fill_filters(_: str):
    """Filter choices from the snapshot (read per request)."""
    path = snapshot_path()
    if "denial_lines" not in snapshot_tables(path):
        return *([[]] * len(FILTERS)), None, None
    return denial_line_filter_choices(
        path, ("payer_id", "plan_type", "place_of_service", "rendering_npi")
    )


@callback(
    Output("denials-kpis", "children"),
    Output("denials-notice", "children"),
    *[Output(g, "figure") for g in GRAPHS],
    *[Output(f"{g}-caption", "children") for g in GRAPHS],
    *[Input(i, "value") for i in FILTERS],
    Input("denials-dates", "start_date"),
    Input("denials-dates", "end_date"),
)
def update(payers, plans, places, providers, start, end):
    """Every figure and tile of the page from the filtered lines."""
    first, last = parse_date(start), parse_date(end)
    # Read without the date cut: the Task Force line needs the submissions before the window.
    all_dates = filtered_lines(
        snapshot_path(),
        "denial_lines",
        {
            "payer_id": payers,
            "plan_type": plans,
            "place_of_service": places,
            "rendering_npi": providers,
        },
        "service_date",
        None,
        None,
        COLUMNS,
    )
    lines = all_dates
    if lines is not None and first is not None:
        lines = lines.filter(pl.col("service_date") >= first)
    if lines is not None and last is not None:
        lines = lines.filter(pl.col("service_date") <= last)
    if lines is None:
        figures = [
            empty_figure(g.replace("denials-", "Denials ").replace("-", " "), MISSING)
            for g in GRAPHS
        ]
        pairs = [figure_and_caption(f) for f in figures]
        return [], MISSING, *[p[0] for p in pairs], *[p[1] for p in pairs]
    figures = [
        fig.denial_rate_by_month_figure(lines, all_dates, first, last),
        fig.carc_pareto_figure(lines),
        fig.dollars_denied_figure(lines),
        fig.denial_rate_by_dimension_figure(lines, "payer_name"),
        fig.denial_rate_by_dimension_figure(lines, "plan_type"),
        fig.denial_rate_by_dimension_figure(lines, "place_of_service"),
        fig.denial_rate_by_dimension_figure(lines, "rendering_npi"),
    ]
    pairs = [figure_and_caption(f) for f in figures]
    tiles = [kpi_tile(t["label"], t["value"], t["change"]) for t in fig.kpi_tiles(lines)]
    return tiles, "", *[p[0] for p in pairs], *[p[1] for p in pairs]
