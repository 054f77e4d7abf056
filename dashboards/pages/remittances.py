"""Remittances page: denial rate by adjudication month, CARC Pareto and claim matching, 835s alone."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, html

from dashboards.components import (
    CARD_STYLE,
    GRID_STYLE,
    figure_and_caption,
    figure_card,
    filter_header,
    filtered_lines,
    kpi_tile,
    options,
    parse_date,
    register_filter_status,
    snapshot_path,
)
from dashboards.figures import remittances as fig
from dashboards.figures.common import empty_figure
from dashboards.snapshot import read_frame, snapshot_tables

dash.register_page(
    __name__,
    path="/remittances",
    name="Remittances",
    order=4,
    title="Remittances · CPT 64520",
)

FILTERS = {"remittances-procedure": ("cpt_code", "Procedure")}
GRAPHS = ("remittances-by-month", "remittances-pareto")
MISSING = (
    "The published snapshot has no remit lines: drop 835 files (or flat remits) into the "
    "landing folder's remits/ folder, run the pipeline and publish a snapshot."
)
CELL_STYLE = {"padding": "2px 10px", "borderBottom": "1px solid #eee", "textAlign": "right"}

layout = html.Div(
    [
        html.H2("Remittances"),
        html.P(
            "Denials as the payers' 835 remittances report them, by adjudication month, whether "
            "or not the claim lines loaded (a remit line without its claim cannot be scored, "
            "but it still counts here).",
            style={"color": "#444", "marginTop": "0"},
        ),
        *filter_header("remittances", FILTERS, "Adjudication date"),
        html.Div(id="remittances-tiles", style={"display": "flex", "gap": "12px"}),
        html.Div([figure_card(g, height=440) for g in GRAPHS], style=GRID_STYLE),
        html.Div(
            [
                html.Div(
                    [html.H3("By adjudication month"), html.Div(id="remittances-months")],
                    style=CARD_STYLE,
                ),
                html.Div(
                    [html.H3("Denial reasons (CARC)"), html.Ul(id="remittances-reasons")],
                    style=CARD_STYLE,
                ),
            ],
            style=GRID_STYLE,
        ),
    ]
)

register_filter_status("remittances", FILTERS, ("Adjudicated from", "Adjudicated to"))


@callback(
    Output("remittances-procedure", "options"),
    Output("remittances-dates", "min_date_allowed"),
    Output("remittances-dates", "max_date_allowed"),
    Input("remittances-notice", "id"),
)
def fill_filters(_: str):
    """Procedure choices and the adjudication-date bounds from the snapshot (read per request)."""
    path = snapshot_path()
    if "remit_lines" not in snapshot_tables(path):
        return [], None, None
    frame = read_frame(
        path,
        "select list(distinct cpt_code) codes, min(adjudication_date) lo, "
        "max(adjudication_date) hi from remit_lines",
    ).row(0, named=True)
    return options(frame["codes"] or []), frame["lo"], frame["hi"]


def _month_table(remits) -> html.Table:
    rows = fig.remit_month_table(remits)
    header = html.Tr([html.Th(c, style=CELL_STYLE) for c in rows.columns])
    body = [
        html.Tr(
            [html.Td(str(v), style=CELL_STYLE) for v in row],
            className="remittances-month",
        )
        for row in rows.iter_rows()
    ]
    return html.Table([html.Thead(header), html.Tbody(body)], style={"borderCollapse": "collapse"})


@callback(
    Output("remittances-notice", "children"),
    Output("remittances-tiles", "children"),
    Output("remittances-months", "children"),
    Output("remittances-reasons", "children"),
    *[Output(g, "figure") for g in GRAPHS],
    *[Output(f"{g}-caption", "children") for g in GRAPHS],
    *[Input(i, "value") for i in FILTERS],
    Input("remittances-dates", "start_date"),
    Input("remittances-dates", "end_date"),
)
def update(procedures, start, end):
    """Tiles, month table, reasons and figures from the filtered remit lines."""
    remits = filtered_lines(
        snapshot_path(),
        "remit_lines",
        {"cpt_code": procedures},
        "adjudication_date",
        parse_date(start),
        parse_date(end),
    )
    if remits is None:
        figures = [empty_figure(g.replace("-", " ").capitalize(), MISSING) for g in GRAPHS]
        pairs = [figure_and_caption(f) for f in figures]
        return MISSING, [], [], [], *[p[0] for p in pairs], *[p[1] for p in pairs]
    tiles = [kpi_tile(t["label"], t["value"], t["change"]) for t in fig.remit_tiles(remits)]
    reasons = [
        html.Li(text, className="remittances-reason") for text in fig.carc_legend(remits)
    ] or [html.Li("No denied remit line matches the filters.")]
    figures = [fig.remit_denial_rate_figure(remits), fig.remit_carc_pareto_figure(remits)]
    pairs = [figure_and_caption(f) for f in figures]
    notice = "" if remits.height else fig.NO_REMITS
    return (
        notice,
        tiles,
        _month_table(remits),
        reasons,
        *[p[0] for p in pairs],
        *[p[1] for p in pairs],
    )
