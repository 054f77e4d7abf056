"""Work queue page: pending lines ranked by expected loss, with reasons, fixes and a CSV download."""

from __future__ import annotations

from datetime import UTC, datetime

import dash
import polars as pl
from dash import Input, Output, State, callback, dash_table, dcc, html
from dash.dash_table.Format import Format, Scheme, Symbol

from dashboards.components import (
    CARD_STYLE,
    FILTER_BAR_STYLE,
    date_range,
    dropdown,
    empty_notice,
    figure_and_caption,
    figure_card,
    kpi_tile,
    options,
    parse_date,
    register_status_callback,
    snapshot_path,
    status_bar,
)
from dashboards.figures import work_queue as fig
from dashboards.figures.common import empty_figure, provider_labels
from dashboards.glossary import reason_hovers
from dashboards.snapshot import read_frame, read_table, snapshot_tables
from models.export import csv_safe

dash.register_page(
    __name__, path="/work-queue", name="Work queue", order=3, title="Work queue · CPT 64520"
)

MISSING = (
    "The published snapshot has no work_queue yet: the model must score pending lines "
    "(risk_scores) before the queue fills."
)
MONEY = Format(precision=2, scheme=Scheme.fixed, symbol=Symbol.yes, symbol_prefix="$").group(True)
PERCENT = Format(precision=1, scheme=Scheme.percentage)
TABLE_PAGE_SIZE = 15
# The table shows what a biller acts on; the CSV carries every contract column.
TABLE_COLUMNS = (
    "claim_id",
    "line_number",
    "service_date",
    "payer_name",
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
    "priority",
    "reason_1",
    "action_1",
    "reason_2",
    "action_2",
    "reason_3",
    "action_3",
    "reasons",
)


REASON_TOOLTIPS = [
    {
        "if": {"column_id": column, "filter_query": f'{{{column}}} = "{code}"'},
        "type": "markdown",
        "value": text,
    }
    for column in ("reason_1", "reason_2", "reason_3")
    for code, text in reason_hovers().items()
]


def _column(name: str) -> dict:
    spec: dict = {"name": name.replace("_", " "), "id": name}
    if name in ("expected_loss_usd", "charge_amount", "priority"):
        spec.update(type="numeric", format=MONEY)
    elif name == "denial_probability":
        spec.update(type="numeric", format=PERCENT)
    return spec


layout = html.Div(
    [
        html.H2("Work queue: pending 64520 lines to fix before submission"),
        html.Div(
            [
                html.Div(
                    [
                        html.Label(
                            "Claim id", htmlFor="work-queue-search", style={"fontSize": "12px"}
                        ),
                        dcc.Input(
                            id="work-queue-search",
                            type="search",
                            placeholder="search claim id",
                            debounce=True,
                            style={"display": "block"},
                        ),
                    ]
                ),
                dropdown("work-queue-payer", "Payer"),
                dropdown("work-queue-provider", "Rendering provider"),
                dropdown("work-queue-band", "Risk band"),
                date_range("work-queue-dates", "Service date"),
                html.Button("Download CSV", id="work-queue-download-button", n_clicks=0),
                dcc.Download(id="work-queue-download"),
            ],
            style=FILTER_BAR_STYLE,
        ),
        status_bar("work-queue"),
        empty_notice("work-queue-notice"),
        html.Div(
            id="work-queue-totals", style={"display": "flex", "gap": "12px", "flexWrap": "wrap"}
        ),
        figure_card("work-queue-by-reason", height=380),
        html.Div(
            dash_table.DataTable(
                id="work-queue-table",
                page_size=TABLE_PAGE_SIZE,
                sort_action="native",
                style_table={"overflowX": "auto"},
                style_cell={
                    "fontFamily": "Arial",
                    "fontSize": "12px",
                    "textAlign": "left",
                    "whiteSpace": "normal",
                    "maxWidth": "360px",
                },
                style_cell_conditional=[
                    {"if": {"column_id": c}, "minWidth": "320px", "width": "320px"}
                    for c in ("reasons", "action_1", "action_2", "action_3")
                ],
                style_data_conditional=[
                    {"if": {"filter_query": '{risk_band} = "high"'}, "backgroundColor": "#fbe3d6"}
                ],
                # Each reason code explains itself on hover (the Glossary page lists them all).
                tooltip_conditional=REASON_TOOLTIPS,
                tooltip_delay=0,
                tooltip_duration=None,
            ),
            style=CARD_STYLE,
        ),
    ]
)


@callback(
    Output("work-queue-payer", "options"),
    Output("work-queue-provider", "options"),
    Output("work-queue-band", "options"),
    Output("work-queue-dates", "min_date_allowed"),
    Output("work-queue-dates", "max_date_allowed"),
    Input("work-queue-notice", "id"),
)
def fill_filters(_: str):
    """Filter choices from the snapshot (read per request)."""
    path = snapshot_path()
    if "work_queue" not in snapshot_tables(path):
        return [], [], [], None, None
    frame = read_frame(path, "select * from work_queue limit 0")
    provider_sql = "rendering_npi" if "rendering_npi" in frame.columns else "null as rendering_npi"
    provider_name_sql = (
        "rendering_provider_name"
        if "rendering_provider_name" in frame.columns
        else "null as rendering_provider_name"
    )
    name_sql = "payer_name" if "payer_name" in frame.columns else "payer_id as payer_name"
    frame = read_frame(
        path,
        f"select distinct payer_id, {name_sql}, {provider_sql}, {provider_name_sql}, risk_band "
        "from work_queue",
    )
    names = dict(zip(frame["payer_id"].to_list(), frame["payer_name"].to_list(), strict=True))
    bounds = read_frame(path, "select min(service_date) lo, max(service_date) hi from work_queue")
    bands = [b for b in fig.BANDS if b in set(frame["risk_band"].to_list())]
    return (
        options(frame["payer_id"].to_list(), {k: f"{v} ({k})" for k, v in names.items() if v}),
        options(frame["rendering_npi"].to_list(), provider_labels(frame)),
        [{"label": b, "value": b} for b in bands],
        bounds["lo"][0],
        bounds["hi"][0],
    )


def _queue(payers, providers, bands, start, end, search=None):
    queue = read_table(snapshot_path(), "work_queue")
    if queue is None:
        return None
    return fig.filter_queue(
        queue, payers, providers, bands, parse_date(start), parse_date(end), search
    )


FILTER_INPUTS = (
    ("work-queue-payer", "value"),
    ("work-queue-provider", "value"),
    ("work-queue-band", "value"),
    ("work-queue-dates", "start_date"),
    ("work-queue-dates", "end_date"),
    ("work-queue-search", "value"),
)
FILTER_LABELS = (
    "Payer",
    "Rendering provider",
    "Risk band",
    "Service from",
    "Service to",
    "Claim id contains",
)
register_status_callback(
    "work-queue",
    [(i, p, label) for (i, p), label in zip(FILTER_INPUTS, FILTER_LABELS, strict=True)],
)


@callback(
    Output("work-queue-notice", "children"),
    Output("work-queue-totals", "children"),
    Output("work-queue-by-reason", "figure"),
    Output("work-queue-by-reason-caption", "children"),
    Output("work-queue-table", "data"),
    Output("work-queue-table", "columns"),
    *[Input(i, p) for i, p in FILTER_INPUTS],
)
def update(payers, providers, bands, start, end, search):
    """Queue table, totals and the expected-loss figure for the filters."""
    queue = _queue(payers, providers, bands, start, end, search)
    if queue is None:
        figure, caption = figure_and_caption(
            empty_figure("Expected loss of pending lines", MISSING)
        )
        return MISSING, [], figure, caption, [], []
    figure, caption = figure_and_caption(fig.expected_loss_by_reason_figure(queue))
    totals = [kpi_tile(k, v, "for the filters above") for k, v in fig.queue_totals(queue).items()]
    shown = queue.select([c for c in TABLE_COLUMNS if c in queue.columns]).with_columns(
        *[pl.col(c).cast(pl.String) for c in ("service_date",) if c in queue.columns]
    )
    return "", totals, figure, caption, shown.to_dicts(), [_column(c) for c in shown.columns]


@callback(
    Output("work-queue-download", "data"),
    Input("work-queue-download-button", "n_clicks"),
    *[State(i, p) for i, p in FILTER_INPUTS],
    prevent_initial_call=True,
)
def download(n_clicks, payers, providers, bands, start, end, search):
    """The filtered queue as CSV, ranked by expected loss × urgency."""
    queue = _queue(payers, providers, bands, start, end, search)
    if queue is None or not n_clicks:
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return dcc.send_string(csv_safe(queue).write_csv(), filename=f"work_queue_{stamp}.csv")
