"""Model page: discrimination against baselines and the oracle, calibration, lift, realized, drift."""

from __future__ import annotations

import dash
import polars as pl
from dash import Input, Output, callback, dash_table, html

from dashboards.components import (
    FILTER_BAR_STYLE,
    GRID_STYLE,
    date_range,
    dropdown,
    empty_notice,
    figure_and_caption,
    figure_card,
    filtered_lines,
    options,
    parse_date,
    register_status_callback,
    snapshot_path,
    status_bar,
)
from dashboards.figures import model as fig
from dashboards.snapshot import read_frame, read_table, snapshot_tables

dash.register_page(__name__, path="/model", name="Model", order=2, title="Model · CPT 64520")

GRAPHS = (
    "model-roc",
    "model-pr",
    "model-calibration",
    "model-lift",
    "model-scores",
    "model-oracle",
    "model-realized",
    "model-drift",
    "model-policy-drift",
)

layout = html.Div(
    [
        html.H2("Denial-risk model"),
        html.Div(
            [
                dropdown("model-version", "Model version", placeholder="champion / all"),
                date_range("model-months", "Service month (validation) / month (drift)"),
            ],
            style=FILTER_BAR_STYLE,
        ),
        status_bar("model"),
        empty_notice("model-notice"),
        html.Div(id="model-alerts"),
        html.Div([figure_card(g) for g in GRAPHS], style=GRID_STYLE),
    ]
)


@callback(
    Output("model-version", "options"),
    Output("model-months", "min_date_allowed"),
    Output("model-months", "max_date_allowed"),
    Input("model-notice", "id"),
)
def fill_filters(_: str):
    """Model versions and the month range from the snapshot (read per request)."""
    path = snapshot_path()
    if "model_validation_predictions" not in snapshot_tables(path):
        return [], None, None
    frame = read_frame(
        path,
        "select model_version, min(service_month) lo, max(service_month) hi "
        "from model_validation_predictions group by model_version",
    )
    return options(frame["model_version"].to_list()), frame["lo"].min(), frame["hi"].max()


def _in_months(frame: pl.DataFrame | None, column: str, start, end) -> pl.DataFrame | None:
    if frame is None:
        return None
    if start is not None:
        frame = frame.filter(pl.col(column) >= start)
    if end is not None:
        frame = frame.filter(pl.col(column) <= end)
    return frame


@callback(
    Output("model-notice", "children"),
    Output("model-alerts", "children"),
    *[Output(g, "figure") for g in GRAPHS],
    *[Output(f"{g}-caption", "children") for g in GRAPHS],
    Input("model-version", "value"),
    Input("model-months", "start_date"),
    Input("model-months", "end_date"),
)
def update(versions, start, end):
    """Every figure of the page for the chosen model versions and months."""
    path = snapshot_path()
    start_d, end_d = parse_date(start), parse_date(end)
    preds = filtered_lines(
        path,
        "model_validation_predictions",
        {"model_version": versions},
        "service_month",
        start_d,
        end_d,
    )
    oracle = read_table(path, "oracle_evaluation")
    realized = read_table(path, "realized_scores")
    if realized is not None and versions:
        realized = realized.filter(pl.col("model_version").is_in(versions))
    realized = _in_months(
        realized.with_columns(pl.col("scored_at").cast(pl.Date).alias("scored_day"))
        if realized is not None
        else None,
        "scored_day",
        start_d,
        end_d,
    )
    feature_drift = _in_months(read_table(path, "feature_drift"), "month", start_d, end_d)
    score_drift = _in_months(read_table(path, "score_drift"), "month", start_d, end_d)
    figures = [
        fig.roc_figure(preds, oracle),
        fig.pr_figure(preds),
        fig.calibration_figure(preds),
        fig.lift_capture_figure(preds),
        fig.score_distribution_figure(preds),
        fig.oracle_figure(oracle),
        fig.realized_performance_figure(realized),
        fig.drift_figure(feature_drift, score_drift),
        fig.policy_drift_figure(
            read_table(path, "policy_drift_alerts"), read_table(path, "policy_drift_monthly")
        ),
    ]
    pairs = [figure_and_caption(f) for f in figures]
    notice = "" if preds is not None else fig.NO_PREDICTIONS
    alerts = fig.drift_alerts(feature_drift, score_drift)
    if alerts.height:
        shown = alerts.with_columns(pl.col("psi").round(3), pl.col("month").cast(pl.String))
        alert_block = html.Div(
            [
                html.Strong(
                    f"Drift alerts ({alerts.height}): PSI ≥ {fig.PSI_MODERATE} in the newest month"
                ),
                dash_table.DataTable(
                    id="model-alert-table",
                    data=shown.to_dicts(),
                    columns=[{"name": c, "id": c} for c in shown.columns],
                    style_cell={"fontFamily": "Arial", "fontSize": "12px"},
                    style_data_conditional=[
                        {"if": {"filter_query": '{alert} = "major"'}, "backgroundColor": "#fbe3d6"}
                    ],
                ),
            ],
            style={"marginBottom": "12px"},
        )
    else:
        alert_block = html.Div("No drift alert in the newest month.", id="model-alert-none")
    return notice, alert_block, *[p[0] for p in pairs], *[p[1] for p in pairs]


register_status_callback(
    "model",
    [
        ("model-version", "value", "Model version"),
        ("model-months", "start_date", "Months from"),
        ("model-months", "end_date", "Months to"),
    ],
)
