"""Layout pieces shared by the pages: figure cards, KPI tiles, filter controls, snapshot lookup."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import flask
import plotly.graph_objects as go
import polars as pl
from dash import Input, Output, callback, dcc, html

from dashboards import snapshot
from dashboards.figures.common import caption_of, code_in_words, provider_labels

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
    available = set(snapshot.read_frame(path, "select * from denial_lines limit 0").columns)
    # Snapshots published before claims carried provider names have no such column.
    name = "rendering_provider_name" if "rendering_provider_name" in available else "null"
    frame = snapshot.read_frame(
        path,
        f"select distinct payer_name, {name} as rendering_provider_name, "
        f"{', '.join(columns)} from denial_lines",
    )
    bounds = snapshot.read_frame(
        path, "select min(service_date) lo, max(service_date) hi from denial_lines"
    )
    payer_labels = {
        k: f"{v} ({k})"
        for k, v in zip(frame["payer_id"].to_list(), frame["payer_name"].to_list(), strict=True)
    }
    labels: dict[str, dict[str, str]] = {"payer_id": payer_labels}
    if "rendering_npi" in columns:
        labels["rendering_npi"] = provider_labels(frame)
    for coded in ("place_of_service", "plan_type"):
        if coded in columns:
            values = [v for v in frame[coded].to_list() if v is not None]
            labels[coded] = {v: code_in_words(coded, v) or v for v in values}
    choices = [options(frame[c].to_list(), labels.get(c)) for c in columns]
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


NO_SNAPSHOT_FACT = "not published yet"


def freshness_facts(path: Path) -> dict[str, str]:
    """How fresh the snapshot is: last run, newest service and adjudication dates, model version."""
    tables = snapshot.snapshot_tables(path)
    facts = {
        "Last run": NO_SNAPSHOT_FACT,
        "Newest service date": "—",
        "Newest adjudication": "—",
        "Model": "none trained yet",
    }
    if "snapshot_meta" in tables:
        published = snapshot.read_frame(path, "select max(published_at) t from snapshot_meta")["t"][
            0
        ]
        if published is not None:
            facts["Last run"] = published.strftime("%Y-%m-%d %H:%M UTC")
    if "denial_lines" in tables:
        newest = snapshot.read_frame(
            path, "select max(service_date) s, max(adjudication_date) a from denial_lines"
        ).row(0, named=True)
        facts["Newest service date"] = str(newest["s"]) if newest["s"] else "—"
        facts["Newest adjudication"] = str(newest["a"]) if newest["a"] else "no remit yet"
    if "remit_lines" in tables and facts["Newest adjudication"] in ("—", "no remit yet"):
        # Remittances whose claim lines did not load still date the data.
        newest_remit = snapshot.read_frame(
            path, "select max(adjudication_date) a from remit_lines"
        )["a"][0]
        if newest_remit is not None:
            facts["Newest adjudication"] = str(newest_remit)
    if "model_registry" in tables:
        champion = snapshot.read_frame(
            path,
            "select model_version from model_registry "
            "order by is_champion desc, trained_at desc limit 1",
        )
        if champion.height:
            facts["Model"] = f"{champion['model_version'][0]} (champion)"
    return facts


def filters_text(active: dict[str, object]) -> str:
    """One line naming the filters that are on (label → chosen values or a date), or none."""
    parts = []
    for label, value in active.items():
        if value in (None, "", []):
            continue
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)[:10]
        parts.append(f"{label}: {shown}")
    return "Filters on: " + ("; ".join(parts) if parts else "none (every line)")


def status_bar(page: str) -> html.Div:
    """Freshness and active filters of a page, filled by `register_status_callback`."""
    return html.Div(
        id=f"{page}-status",
        className="page-status",
        style={"fontSize": "12px", "color": "#333", "margin": "0 0 8px 0"},
    )


def register_status_callback(page: str, inputs: list[tuple[str, str, str]]) -> None:
    """Fill `<page>-status` from the snapshot and the page's filter inputs (id, property, label)."""

    @callback(
        Output(f"{page}-status", "children"),
        *[Input(component, prop) for component, prop, _ in inputs],
    )
    def _status(*values):
        facts = freshness_facts(snapshot_path())
        active = {label: value for (_, _, label), value in zip(inputs, values, strict=True)}
        return [
            html.Div(
                " · ".join(f"{k}: {v}" for k, v in facts.items()),
                className="freshness",
            ),
            html.Div(filters_text(active), className="active-filters"),
        ]


def filter_header(page: str, filters: dict[str, tuple[str, str]], date_label: str) -> list:
    """A page's filter bar (a dropdown per filter, then the `<page>-dates` range), its status bar
    and its empty notice; `filters` maps component id to (column, label)."""
    return [
        html.Div(
            [dropdown(i, label) for i, (_, label) in filters.items()]
            + [date_range(f"{page}-dates", date_label)],
            style=FILTER_BAR_STYLE,
        ),
        status_bar(page),
        empty_notice(f"{page}-notice"),
    ]


def register_filter_status(
    page: str, filters: dict[str, tuple[str, str]], date_labels: tuple[str, str]
) -> None:
    """The status callback of a page built with `filter_header`: its filters, then the dates."""
    register_status_callback(
        page,
        [(i, "value", label) for i, (_, label) in filters.items()]
        + [
            (f"{page}-dates", "start_date", date_labels[0]),
            (f"{page}-dates", "end_date", date_labels[1]),
        ],
    )
