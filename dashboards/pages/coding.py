"""Coding and documentation page: bilateral conventions, documentation completeness, fixable errors."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, html

from dashboards.components import (
    GRID_STYLE,
    denial_line_filter_choices,
    figure_and_caption,
    figure_card,
    filter_header,
    filtered_lines,
    parse_date,
    register_filter_status,
    snapshot_path,
)
from dashboards.figures import coding as fig
from dashboards.figures.common import empty_figure
from dashboards.snapshot import snapshot_tables

dash.register_page(
    __name__, path="/coding", name="Coding & documentation", order=1, title="Coding · CPT 64520"
)

FILTERS = {
    "coding-payer": ("payer_id", "Payer"),
    "coding-plan": ("plan_type", "Plan type"),
    "coding-provider": ("rendering_npi", "Rendering provider"),
}
GRAPHS = ("coding-bilateral", "coding-documentation", "coding-fixable")
COLUMNS = (
    "payer_id",
    "payer_name",
    "charge_amount",
    "expected_payment_usd",
    "denied",
    "primary_denial_carc",
    "denial_category",
    "bilateral_coding",
    "payer_bilateral_convention",
    "bilateral_matches_payer_convention",
    "doc_completeness",
)
MISSING = (
    "The published snapshot has no denial_lines table yet: run the pipeline (claim lines, "
    "outcomes and the modelling table) and publish a snapshot."
)

layout = html.Div(
    [
        html.H2("Coding and documentation"),
        *filter_header("coding", FILTERS, "Service date"),
        html.Div([figure_card(g, height=460) for g in GRAPHS], style=GRID_STYLE),
    ]
)

register_filter_status("coding", FILTERS, ("Service from", "Service to"))


@callback(
    *[Output(i, "options") for i in FILTERS],
    Output("coding-dates", "min_date_allowed"),
    Output("coding-dates", "max_date_allowed"),
    Input("coding-notice", "id"),
)
def fill_filters(_: str):
    """Filter choices from the snapshot (read per request)."""
    path = snapshot_path()
    if "denial_lines" not in snapshot_tables(path):
        return *([[]] * len(FILTERS)), None, None
    return denial_line_filter_choices(path, ("payer_id", "plan_type", "rendering_npi"))


@callback(
    Output("coding-notice", "children"),
    *[Output(g, "figure") for g in GRAPHS],
    *[Output(f"{g}-caption", "children") for g in GRAPHS],
    *[Input(i, "value") for i in FILTERS],
    Input("coding-dates", "start_date"),
    Input("coding-dates", "end_date"),
)
def update(payers, plans, providers, start, end):
    """Every figure of the page from the filtered lines."""
    lines = filtered_lines(
        snapshot_path(),
        "denial_lines",
        {"payer_id": payers, "plan_type": plans, "rendering_npi": providers},
        "service_date",
        parse_date(start),
        parse_date(end),
        COLUMNS,
    )
    if lines is None:
        figures = [empty_figure(g.replace("-", " ").capitalize(), MISSING) for g in GRAPHS]
        notice = MISSING
    else:
        figures = [
            fig.bilateral_by_payer_figure(lines),
            fig.doc_completeness_figure(lines),
            fig.fixable_errors_figure(lines),
        ]
        notice = ""
    pairs = [figure_and_caption(f) for f in figures]
    return notice, *[p[0] for p in pairs], *[p[1] for p in pairs]
