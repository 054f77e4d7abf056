"""Layout pieces shared by the pages: figure cards, KPI tiles, filter controls, snapshot lookup."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import flask
import plotly.graph_objects as go
import polars as pl
from dash import dcc, html

from dashboards import snapshot
from dashboards.figures.common import caption_of

SNAPSHOT_CONFIG_KEY = "DENIAL_RISK_SNAPSHOT"

CARD_STYLE = {
    "background": "white",
    "border": "1px solid #ddd",
    "borderRadius": "6px",
    "padding": "8px",
    "marginBottom": "12px",
}
GRID_STYLE = {
    "display": "grid",
    "gridTemplateColumns": "repeat(auto-fit, minmax(520px, 1fr))",
    "gap": "12px",
}
FILTER_BAR_STYLE = {
    "display": "flex",
    "flexWrap": "wrap",
    "gap": "12px",
    "alignItems": "flex-end",
    "padding": "8px",
    "background": "#f4f6f8",
    "borderRadius": "6px",
    "marginBottom": "12px",
}


def snapshot_path() -> Path:
    """The published snapshot of the running app (set by `create_app`)."""
    return Path(flask.current_app.config[SNAPSHOT_CONFIG_KEY])


def figure_card(component_id: str, height: int = 420) -> html.Div:
    """A graph with its one-line caption below; ids `<id>` and `<id>-caption`."""
    return html.Div(
        [
            dcc.Graph(
                id=component_id, style={"height": f"{height}px"}, config={"displaylogo": False}
            ),
            html.P(
                id=f"{component_id}-caption",
                className="caption",
                style={"color": "#444", "margin": "4px 8px"},
            ),
        ],
        style=CARD_STYLE,
    )


def figure_and_caption(fig: go.Figure) -> tuple[go.Figure, str]:
    """A figure and its caption, as a pair of callback outputs."""
    return fig, caption_of(fig)


def kpi_tile(label: str, value: str, change: str) -> html.Div:
    """One KPI tile: label, big value, month-over-month change."""
    return html.Div(
        [
            html.Div(label, style={"fontSize": "12px", "color": "#555"}),
            html.Div(
                value, className="kpi-value", style={"fontSize": "26px", "fontWeight": "bold"}
            ),
            html.Div(change, style={"fontSize": "12px", "color": "#555"}),
        ],
        className="kpi-tile",
        style={**CARD_STYLE, "minWidth": "200px", "flex": "1"},
    )


def dropdown(component_id: str, label: str, placeholder: str = "all") -> html.Div:
    """A labelled multi-select dropdown whose options are filled by a callback."""
    return html.Div(
        [
            html.Label(label, htmlFor=component_id, style={"fontSize": "12px"}),
            dcc.Dropdown(id=component_id, multi=True, placeholder=placeholder, options=[]),
        ],
        style={"minWidth": "220px"},
    )


def date_range(component_id: str, label: str) -> html.Div:
    """A labelled date range picker (dates filled by a callback)."""
    return html.Div(
        [
            html.Label(label, htmlFor=component_id, style={"fontSize": "12px", "display": "block"}),
            dcc.DatePickerRange(id=component_id, display_format="YYYY-MM-DD", clearable=True),
        ]
    )


def empty_notice(component_id: str) -> html.Div:
    """A banner that explains a missing table (filled by a callback, hidden when empty)."""
    return html.Div(id=component_id, style={"color": "#8a5300", "margin": "4px 0 8px 0"})


def options(values: list[str | None], labels: dict[str, str] | None = None) -> list[dict[str, str]]:
    """Dropdown options from distinct values, sorted, nulls dropped."""
    labels = labels or {}
    clean = sorted({str(v) for v in values if v is not None})
    return [{"label": labels.get(v, v), "value": v} for v in clean]


def denial_line_filter_choices(path: Path, columns: tuple[str, ...]) -> tuple:
    """Options per `denial_lines` column (payers labelled by name), then the service-date range."""
    frame = snapshot.read_frame(
        path, f"select distinct payer_name, {', '.join(columns)} from denial_lines"
    )
    bounds = snapshot.read_frame(
        path, "select min(service_date) lo, max(service_date) hi from denial_lines"
    )
    payer_labels = {
        k: f"{v} ({k})"
        for k, v in zip(frame["payer_id"].to_list(), frame["payer_name"].to_list(), strict=True)
    }
    choices = [
        options(frame[c].to_list(), payer_labels if c == "payer_id" else None) for c in columns
    ]
    return (*choices, bounds["lo"][0], bounds["hi"][0])


def parse_date(value: str | None) -> date | None:
    """A DatePickerRange value (ISO string, maybe with a time) as a date."""
    return date.fromisoformat(value[:10]) if value else None


def filtered_lines(
    path: Path,
    table: str,
    equals: dict[str, list[str] | None],
    date_column: str,
    start: date | None,
    end: date | None,
    columns: tuple[str, ...] | None = None,
) -> pl.DataFrame | None:
    """Rows of a snapshot table matching the page filters (None when the table is missing).

    `columns` keeps only what the page draws: at 1M lines it cuts the read time markedly.
    """
    if table not in snapshot.snapshot_tables(path):
        return None
    clauses: list[str] = []
    params: list[object] = []
    for column, values in equals.items():
        if values:
            clauses.append(f'"{column}" in ({", ".join("?" for _ in values)})')
            params.extend(values)
    if start is not None:
        clauses.append(f'"{date_column}" >= ?')
        params.append(start)
    if end is not None:
        clauses.append(f'"{date_column}" <= ?')
        params.append(end)
    where = f" where {' and '.join(clauses)}" if clauses else ""
    selected = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    return snapshot.read_frame(path, f'select {selected} from "{table}"{where}', params)
