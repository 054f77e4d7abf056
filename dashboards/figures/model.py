"""Model page: ROC / PR against baselines, calibration, lift and capture, scores, realized, drift.

Inputs: `model_validation_predictions` (denied, p_model, p_scrubber, p_logreg,
expected_payment_usd), `oracle_evaluation` (synthetic only), `realized_scores`
(risk_scores_history joined with line_outcomes) and the `feature_drift` / `score_drift` tables
computed at publish time (dashboards/drift.py).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from dashboards.drift import PSI_MAJOR, PSI_MODERATE
from dashboards.figures.common import empty_figure, styled
from dashboards.theme import BLUE, GREEN, GREY, ORANGE, PERCENT_TICKFORMAT, SKY, VERMILLION

SCORERS: dict[str, tuple[str, str]] = {
    "p_model": ("LightGBM model", BLUE),
    "p_logreg": ("logistic regression baseline", ORANGE),
    "p_scrubber": ("rules scrubber baseline", GREEN),
}
NO_PREDICTIONS = "No validation predictions in the snapshot yet (the model has not been trained)."


def _usable(preds: pl.DataFrame | None) -> pl.DataFrame | None:
    if preds is None or preds.height == 0 or "denied" not in preds.columns:
        return None
    frame = preds.filter(pl.col("denied").is_not_null())
    if frame.height == 0 or frame["denied"].n_unique() < 2:
        return None
    return frame


def _scorers(preds: pl.DataFrame) -> list[str]:
    return [s for s in SCORERS if s in preds.columns and preds[s].null_count() < preds.height]


def discrimination_metrics(preds: pl.DataFrame) -> pl.DataFrame:
    """ROC AUC and PR AUC (average precision) of every scorer present."""
    frame = _usable(preds)
    if frame is None:
        return pl.DataFrame(
            schema={"scorer": pl.String, "roc_auc": pl.Float64, "pr_auc": pl.Float64}
        )
    rows = []
    for s in _scorers(frame):
        part = frame.filter(pl.col(s).is_not_null())
        y, p = part["denied"].to_numpy(), part[s].to_numpy()
        rows.append((s, float(roc_auc_score(y, p)), float(average_precision_score(y, p))))
    return pl.DataFrame(rows, schema=["scorer", "roc_auc", "pr_auc"], orient="row")


def oracle_metrics(oracle: pl.DataFrame | None) -> pl.DataFrame | None:
    """The oracle evaluation as long (scorer, metric, value), whatever its width."""
    if oracle is None or oracle.height == 0:
        return None
    cols = set(oracle.columns)
    name_col = next(
        (c for c in ("scorer", "model", "name", "predictor", "score_name") if c in cols), None
    )
    if {"metric", "value"} <= cols and name_col:
        return oracle.select(
            pl.col(name_col).cast(pl.String).alias("scorer"),
            pl.col("metric").cast(pl.String),
            pl.col("value").cast(pl.Float64),
        )
    if name_col:
        numeric = [c for c, t in oracle.schema.items() if t.is_numeric() and c != name_col]
        return (
            oracle.select(pl.col(name_col).cast(pl.String).alias("scorer"), *numeric)
            .unpivot(index="scorer", variable_name="metric", value_name="value")
            .with_columns(pl.col("value").cast(pl.Float64))
        )
    numeric = [c for c, t in oracle.schema.items() if t.is_numeric()]
    if not numeric:
        return None
    return (
        oracle.head(1)
        .select(numeric)
        .unpivot(variable_name="scorer", value_name="value")
        .with_columns(pl.lit("value").alias("metric"), pl.col("value").cast(pl.Float64))
        .select("scorer", "metric", "value")
    )


def roc_figure(preds: pl.DataFrame | None, oracle: pl.DataFrame | None = None) -> go.Figure:
    """ROC curves of the model and baselines; the oracle's AUC as a reference when available."""
    title = "ROC curve: model vs baselines"
    frame = _usable(preds)
    if frame is None:
        return empty_figure(title, NO_PREDICTIONS)
    fig = go.Figure()
    for s in _scorers(frame):
        part = frame.filter(pl.col(s).is_not_null())
        y, p = part["denied"].to_numpy(), part[s].to_numpy()
        fpr, tpr, thr = roc_curve(y, p)
        label, colour = SCORERS[s]
        fig.add_scatter(
            x=fpr,
            y=tpr,
            mode="lines",
            name=f"{label} (AUC {roc_auc_score(y, p):.3f})",
            line={"color": colour},
            customdata=np.clip(thr, 0, 1),
            hovertemplate=f"{label}<br>false-positive rate %{{x:.1%}}<br>true-positive rate %{{y:.1%}}"
            "<br>threshold %{customdata:.2f}<extra></extra>",
        )
    fig.add_scatter(
        x=[0, 1],
        y=[0, 1],
        mode="lines",
        name="chance (AUC 0.500)",
        line={"color": GREY, "dash": "dot"},
        hoverinfo="skip",
    )
    metrics = oracle_metrics(oracle)
    if metrics is not None:
        auc = metrics.filter(
            pl.col("scorer").str.contains("(?i)oracle|true")
            & pl.col("metric").str.contains("(?i)roc")
        )
        if auc.height:
            fig.add_annotation(
                text=f"oracle (true probability) ROC AUC {auc['value'][0]:.3f}",
                x=0.98,
                y=0.05,
                xref="paper",
                yref="paper",
                xanchor="right",
                showarrow=False,
            )
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    fig.update_yaxes(tickformat=".0%", range=[0, 1.01])
    return styled(
        fig,
        title,
        "False-positive rate (% of paid lines flagged)",
        "True-positive rate (% of denials caught)",
        "Curves closer to the top-left separate denied from paid lines better; AUC in the legend "
        "(validation months, out of time).",
    )


def pr_figure(preds: pl.DataFrame | None) -> go.Figure:
    """Precision-recall curves of the model and baselines against the denial prevalence."""
    title = "Precision-recall curve: model vs baselines"
    frame = _usable(preds)
    if frame is None:
        return empty_figure(title, NO_PREDICTIONS)
    fig = go.Figure()
    for s in _scorers(frame):
        part = frame.filter(pl.col(s).is_not_null())
        y, p = part["denied"].to_numpy(), part[s].to_numpy()
        precision, recall, _ = precision_recall_curve(y, p)
        label, colour = SCORERS[s]
        fig.add_scatter(
            x=recall,
            y=precision,
            mode="lines",
            name=f"{label} (AP {average_precision_score(y, p):.3f})",
            line={"color": colour, "shape": "hv"},
            hovertemplate=f"{label}<br>recall %{{x:.1%}}<br>precision %{{y:.1%}}<extra></extra>",
        )
    prevalence = float(frame["denied"].mean())
    fig.add_scatter(
        x=[0, 1],
        y=[prevalence, prevalence],
        mode="lines",
        name=f"no skill (denial rate {prevalence:.1%})",
        line={"color": GREY, "dash": "dot"},
        hoverinfo="skip",
    )
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    fig.update_yaxes(tickformat=".0%", range=[0, 1.01])
    return styled(
        fig,
        title,
        "Recall (% of denials caught)",
        "Precision (% of flagged lines that were denied)",
        "Higher is better at every recall; the dotted line is what flagging lines at random achieves.",
    )


def calibration_table(preds: pl.DataFrame, score: str = "p_model", bins: int = 10) -> pl.DataFrame:
    """Mean predicted vs observed denial rate in equal-count bins of a score."""
    frame = preds.filter(pl.col(score).is_not_null()).sort(score)
    n = frame.height
    frame = frame.with_columns((pl.int_range(0, n) * bins // max(n, 1)).alias("bin"))
    return (
        frame.group_by("bin")
        .agg(
            pl.col(score).mean().alias("predicted"),
            pl.col("denied").cast(pl.Float64).mean().alias("observed"),
            pl.len().alias("lines"),
        )
        .sort("bin")
    )


def expected_calibration_error(
    preds: pl.DataFrame, score: str = "p_model", bins: int = 10
) -> float:
    """ECE: line-weighted mean |observed − predicted| over equal-count bins."""
    table = calibration_table(preds, score, bins)
    weights = table["lines"] / table["lines"].sum()
    return float(((table["observed"] - table["predicted"]).abs() * weights).sum())


def calibration_figure(preds: pl.DataFrame | None) -> go.Figure:
    """Reliability diagram: mean predicted vs observed denial rate per decile of the score."""
    title = "Calibration: predicted vs observed denial rate"
    frame = _usable(preds)
    if frame is None:
        return empty_figure(title, NO_PREDICTIONS)
    fig = go.Figure()
    fig.add_scatter(
        x=[0, 1],
        y=[0, 1],
        mode="lines",
        name="perfect calibration",
        line={"color": GREY, "dash": "dot"},
        hoverinfo="skip",
    )
    for s in [s for s in ("p_model", "p_logreg") if s in _scorers(frame)]:
        table = calibration_table(frame, s)
        label, colour = SCORERS[s]
        fig.add_scatter(
            x=table["predicted"],
            y=table["observed"],
            mode="lines+markers",
            name=f"{label} (ECE {expected_calibration_error(frame, s):.3f})",
            line={"color": colour},
            customdata=table["lines"].to_numpy(),
            hovertemplate=f"{label}<br>predicted %{{x:.1%}}<br>observed %{{y:.1%}}"
            "<br>%{customdata:,} lines<extra></extra>",
        )
    top = float(max(frame["p_model"].max() or 0, 0.05)) if "p_model" in frame.columns else 1.0
    fig.update_xaxes(tickformat=".0%", range=[0, min(1, top * 1.1)])
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return styled(
        fig,
        title,
        "Mean predicted denial probability (%)",
        "Observed denial rate (%)",
        "Points on the diagonal mean a 30% score really is denied 30% of the time; each point is "
        "a tenth of the validation lines.",
    )


def lift_table(preds: pl.DataFrame, score: str = "p_model", bins: int = 10) -> pl.DataFrame:
    """Cumulative capture of denials and denied dollars when working lines by descending score."""
    frame = preds.filter(pl.col(score).is_not_null()).sort(score, descending=True)
    n = frame.height
    payment = (
        pl.col("expected_payment_usd").fill_null(0)
        if "expected_payment_usd" in frame.columns
        else pl.lit(1.0)
    )
    frame = frame.with_columns(
        ((pl.int_range(0, n) * bins // max(n, 1)) + 1).alias("decile"),
        (pl.col("denied").cast(pl.Float64) * payment).alias("denied_dollars"),
    )
    per = (
        frame.group_by("decile")
        .agg(
            pl.len().alias("lines"),
            pl.col("denied").sum().alias("denials"),
            pl.col("denied_dollars").sum().alias("denied_dollars"),
        )
        .sort("decile")
    )
    base_rate = frame["denied"].mean()
    return per.with_columns(
        (pl.col("lines").cum_sum() / n).alias("share_reviewed"),
        (pl.col("denials").cum_sum() / frame["denied"].sum()).alias("capture_denials"),
        (pl.col("denied_dollars").cum_sum() / max(frame["denied_dollars"].sum(), 1e-9)).alias(
            "capture_dollars"
        ),
        ((pl.col("denials") / pl.col("lines")) / base_rate).alias("lift"),
    )


def lift_capture_figure(preds: pl.DataFrame | None) -> go.Figure:
    """Cumulative capture of denials (count and dollars) by share of lines reviewed, lift on hover."""
    title = "Lift and capture: working lines from the highest score down"
    frame = _usable(preds)
    if frame is None:
        return empty_figure(title, NO_PREDICTIONS)
    fig = go.Figure()
    fig.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", name="random order", line={"color": GREY, "dash": "dot"}
    )
    for s in _scorers(frame):
        table = lift_table(frame, s)
        label, colour = SCORERS[s]
        fig.add_scatter(
            x=[0, *table["share_reviewed"].to_list()],
            y=[0, *table["capture_denials"].to_list()],
            mode="lines+markers",
            name=f"{label}: denials",
            line={"color": colour},
            customdata=[None, *table["lift"].to_list()],
            hovertemplate=f"{label}<br>top %{{x:.0%}} of lines<br>%{{y:.1%}} of denials caught"
            "<br>lift of this decile %{customdata:.2f}×<extra></extra>",
        )
        if s == "p_model" and "expected_payment_usd" in frame.columns:
            fig.add_scatter(
                x=[0, *table["share_reviewed"].to_list()],
                y=[0, *table["capture_dollars"].to_list()],
                mode="lines",
                name=f"{label}: denied dollars",
                line={"color": VERMILLION, "dash": "dash"},
                hovertemplate="top %{x:.0%} of lines<br>%{y:.1%} of denied expected payment"
                "<extra></extra>",
            )
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    fig.update_yaxes(tickformat=".0%", range=[0, 1.01])
    return styled(
        fig,
        title,
        "Share of lines reviewed, highest score first (%)",
        "Share of denials captured (%)",
        "Reading across: reviewing the top X% of scored lines catches Y% of denials (and of denied "
        "dollars); the steeper the curve, the better.",
    )


def score_distribution_figure(preds: pl.DataFrame | None) -> go.Figure:
    """Histogram of model scores split by the outcome (denied vs not)."""
    title = "Score distribution by outcome"
    frame = _usable(preds)
    if frame is None or "p_model" not in frame.columns:
        return empty_figure(title, NO_PREDICTIONS)
    fig = go.Figure()
    for value, name, colour in ((0, "not denied", SKY), (1, "denied", VERMILLION)):
        part = frame.filter(pl.col("denied") == value)
        fig.add_histogram(
            x=part["p_model"],
            name=f"{name} ({part.height:,} lines)",
            marker_color=colour,
            opacity=0.7,
            xbins={"start": 0, "end": 1, "size": 0.025},
            histnorm="percent",
            hovertemplate=f"{name}<br>score %{{x}}<br>%{{y:.1f}}% of {name} lines<extra></extra>",
        )
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    return styled(
        fig,
        title,
        "Predicted denial probability (%)",
        "Share of lines in the outcome group (%)",
        "Well-separated humps mean the score tells denied from paid lines; overlap is where the "
        "model is unsure.",
    )


def realized_by_month(realized: pl.DataFrame) -> pl.DataFrame:
    """Per scoring month: mean predicted, observed denial rate and AUC of past scores now remitted."""
    frame = realized.with_columns(
        pl.col("scored_at").dt.truncate("1mo").cast(pl.Date).alias("month")
    )
    rows = []
    for (month,), part in frame.group_by("month", maintain_order=False):
        y = part["denied"].to_numpy()
        auc = (
            float(roc_auc_score(y, part["denial_probability"].to_numpy()))
            if len(set(y)) > 1
            else None
        )
        rows.append(
            (
                month,
                part.height,
                float(part["denial_probability"].mean()),
                float(part["denied"].mean()),
                auc,
            )
        )
    return pl.DataFrame(
        rows,
        schema={
            "month": pl.Date,
            "lines": pl.Int64,
            "predicted": pl.Float64,
            "observed": pl.Float64,
            "roc_auc": pl.Float64,
        },
        orient="row",
    ).sort("month")


def realized_performance_figure(realized: pl.DataFrame | None) -> go.Figure:
    """Predicted vs realized denial rate of past scores by scoring month, with their ROC AUC."""
    title = "Realized performance of past scores (remits arrived)"
    if realized is None or realized.height == 0:
        return empty_figure(
            title, "No scored line has received its remit yet: realized performance appears later."
        )
    table = realized_by_month(realized)
    fig = go.Figure()
    fig.add_scatter(
        x=table["month"],
        y=table["predicted"],
        name="mean predicted probability",
        mode="lines+markers",
        line={"color": BLUE},
        customdata=table["lines"].to_numpy(),
        hovertemplate="scored %{x|%b %Y}<br>predicted %{y:.1%}<br>%{customdata:,} lines<extra></extra>",
    )
    fig.add_scatter(
        x=table["month"],
        y=table["observed"],
        name="realized denial rate",
        mode="lines+markers",
        line={"color": VERMILLION, "dash": "dash"},
        hovertemplate="scored %{x|%b %Y}<br>realized %{y:.1%}<extra></extra>",
    )
    fig.add_scatter(
        x=table["month"],
        y=table["roc_auc"],
        name="ROC AUC of that month's scores",
        mode="lines+markers",
        yaxis="y2",
        line={"color": GREEN, "dash": "dot"},
        hovertemplate="scored %{x|%b %Y}<br>ROC AUC %{y:.3f}<extra></extra>",
    )
    fig.update_layout(
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "range": [0.4, 1],
            "tickformat": ".2f",
            "title": "ROC AUC (0.5 = chance)",
        }
    )
    fig.update_layout(yaxis={"tickformat": PERCENT_TICKFORMAT, "rangemode": "tozero"})
    return styled(
        fig,
        title,
        "Month the lines were scored",
        "Denial rate (%)",
        "For lines scored in each month whose remits have since arrived: predicted vs realized "
        "denial rate (should track) and ROC AUC (right axis).",
    )


def drift_alerts(
    feature_drift: pl.DataFrame | None, score_drift: pl.DataFrame | None
) -> pl.DataFrame:
    """Rows of the newest month whose PSI crosses the moderate threshold, worst first."""
    parts = []
    for frame in (feature_drift, score_drift):
        if frame is not None and frame.height:
            newest = frame.filter(pl.col("month") == pl.col("month").max())
            parts.append(newest.select("month", "feature", "psi", "alert"))
    if not parts:
        return pl.DataFrame(
            schema={"month": pl.Date, "feature": pl.String, "psi": pl.Float64, "alert": pl.String}
        )
    return pl.concat(parts).filter(pl.col("psi") >= PSI_MODERATE).sort("psi", descending=True)


def drift_figure(feature_drift: pl.DataFrame | None, score_drift: pl.DataFrame | None) -> go.Figure:
    """Heatmap of PSI by month for key features and the score, with the alert thresholds."""
    title = "Drift: population stability index (PSI) by month"
    parts = [f for f in (feature_drift, score_drift) if f is not None and f.height]
    if not parts:
        return empty_figure(title, "Drift needs at least two months of features or scores.")
    frame = pl.concat([p.select("month", "feature", "psi", "alert") for p in parts])
    pivot = frame.pivot(on="month", index="feature", values="psi", sort_columns=True)
    months = [c for c in pivot.columns if c != "feature"]
    z = pivot.select(months).to_numpy()
    alert = frame.pivot(on="month", index="feature", values="alert", sort_columns=True)
    text = alert.select(months).to_numpy()
    fig = go.Figure(
        go.Heatmap(
            x=[str(m)[:7] for m in months],
            y=pivot["feature"].to_list(),
            z=z,
            customdata=text,
            zmin=0,
            # Saturate at twice the major threshold so the 0.1 / 0.25 bands stay visible.
            zmax=2 * PSI_MAJOR,
            # Sequential, colour-blind-safe (cividis); thresholds are in the caption and hover.
            colorscale="Cividis",
            colorbar={"title": f"PSI (≥{2 * PSI_MAJOR:g} saturates)"},
            hovertemplate="%{y}<br>%{x}<br>PSI %{z:.3f} (%{customdata})<extra></extra>",
        )
    )
    return styled(
        fig,
        title,
        "Month (submission month for features, scoring month for the score)",
        "Feature or score",
        f"PSI against the 6 months before the model's validation window (the score: against its "
        f"validation scores): below {PSI_MODERATE} stable, {PSI_MODERATE}–{PSI_MAJOR} moderate, "
        f"{PSI_MAJOR} or more major shift (alert).",
    )


# Metrics where a smaller value is better; every other oracle metric (ROC AUC, PR AUC, ...)
# is better when larger. The two kinds never share an axis.
LOWER_IS_BETTER = ("brier", "log_loss", "logloss", "ece", "calibration_error", "mae", "rmse")


def lower_is_better(metric: str) -> bool:
    """True for error-type metrics (Brier, log loss, ECE, ...)."""
    return any(token in metric.lower() for token in LOWER_IS_BETTER)


def oracle_figure(oracle: pl.DataFrame | None, preds: pl.DataFrame | None = None) -> go.Figure:
    """Oracle evaluation bars: higher-is-better and lower-is-better metrics on separate axes."""
    title = "Against the oracle (synthetic worlds only)"
    metrics = oracle_metrics(oracle)
    if metrics is None or metrics.height == 0:
        return empty_figure(
            title,
            "No oracle evaluation in this snapshot: the true probability exists only for synthetic "
            "worlds (denial-risk demo / evaluate --truth).",
        )
    names = metrics["metric"].unique(maintain_order=True).to_list()
    lower = [m for m in names if lower_is_better(m)]
    higher = [m for m in names if not lower_is_better(m)]
    both = bool(lower) and bool(higher)
    fig = (
        make_subplots(
            rows=1,
            cols=2,
            subplot_titles=("Higher is better", "Lower is better"),
            horizontal_spacing=0.14,
        )
        if both
        else go.Figure()
    )
    palette = [BLUE, ORANGE, GREEN, VERMILLION, SKY, GREY]
    for i, metric in enumerate(names):
        part = metrics.filter(pl.col("metric") == metric)
        where = {"row": 1, "col": 2 if metric in lower else 1} if both else {}
        fig.add_bar(
            x=part["scorer"],
            y=part["value"],
            name=f"{metric} ({'lower' if metric in lower else 'higher'} is better)",
            marker_color=palette[i % len(palette)],
            hovertemplate=f"%{{x}}<br>{metric} %{{y:.3f}}<extra></extra>",
            **where,
        )
    fig.update_layout(barmode="group")
    y_title = "Metric value (higher is better)" if higher else "Metric value (lower is better)"
    fig = styled(
        fig,
        title,
        "Scorer",
        y_title,
        "Synthetic worlds only: the oracle scores lines with the true denial probability, which "
        "real claims never have; the gap to the model is what better modelling could still gain.",
    )
    if both:
        fig.update_xaxes(title_text="Scorer", row=1, col=2)
        fig.update_yaxes(title_text="Metric value (lower is better)", row=1, col=2)
    return fig


POLICY_DRIFT_PANEL_LIMIT = 4


def policy_drift_figure(alerts: pl.DataFrame | None, monthly: pl.DataFrame | None) -> go.Figure:
    """Per alerted payer and reason: monthly denial rate, case-mix expected rate, change month."""
    title = "Payer policy drift: denial rate by reason vs expected, by month of adjudication"
    if alerts is None or monthly is None or alerts.is_empty() or monthly.is_empty():
        return empty_figure(
            title,
            "No payer policy drift alert: no payer's denials of any reason rose beyond what "
            "its case mix predicts.",
        )
    shown = alerts.sort("statistic", descending=True).head(POLICY_DRIFT_PANEL_LIMIT)
    colours = (VERMILLION, BLUE, GREEN, ORANGE)
    fig = go.Figure()
    for colour, alert in zip(colours, shown.iter_rows(named=True), strict=False):
        series = monthly.filter(
            (pl.col("payer_id") == alert["payer_id"])
            & (pl.col("reason_category") == alert["reason_category"])
            & (pl.col("change_month") == alert["change_month"])
        ).sort("month")
        name = f"{alert['payer_id']} · {alert['reason_category']}"
        fig.add_trace(
            go.Scatter(
                x=series["month"].to_list(),
                y=series["rate"].to_list(),
                mode="lines+markers",
                name=f"{name} observed",
                line={"color": colour},
                customdata=series.select("lines", "pending_share").to_numpy(),
                hovertemplate="%{x}: %{y:.1%} of %{customdata[0]} lines<extra>observed</extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=series["month"].to_list(),
                y=series["expected_rate"].to_list(),
                mode="lines",
                name=f"{name} expected",
                line={"color": colour, "dash": "dot"},
                hovertemplate="%{x}: expected %{y:.1%}<extra>case mix</extra>",
            )
        )
        fig.add_vline(x=alert["change_month"], line={"color": colour, "dash": "dash", "width": 1})
    fig.update_layout(yaxis={"tickformat": PERCENT_TICKFORMAT, "rangemode": "tozero"})
    return styled(
        fig,
        title,
        "Month of adjudication (dashed vertical line: estimated first month of the change)",
        "Denials of the reason among the payer's lines (%)",
        "Observed rate (solid) against the payer's pre-change rate adjusted for each month's "
        "case mix by the model's expected risk (dotted); the newest months are incomplete "
        "while remits are still out.",
    )
