"""Static self-contained HTML report (for e-mail and archive) plus KPI PNGs for a monthly summary."""

from __future__ import annotations

import hashlib
import html
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import plotly.graph_objects as go
import plotly.io as pio

from dashboards.figures import coding, denials, model, work_queue
from dashboards.figures.common import caption_of, empty_figure
from dashboards.images import write_pngs
from dashboards.snapshot import read_table, snapshot_tables
from dashboards.theme import money, percent, register_template

log = logging.getLogger(__name__)

REPORT_NAME = "report.html"
QUEUE_ROWS_IN_REPORT = 20
# The snapshot tables the report shows (snapshot_meta: only which tables are missing).
REPORT_TABLES = (
    "denial_lines",
    "model_validation_predictions",
    "oracle_evaluation",
    "work_queue",
    "realized_scores",
    "feature_drift",
    "score_drift",
)
# Beside the report: the digest of the inputs it was written from.
INPUTS_DIGEST_FILE = ".report_inputs.sha256"
KPI_PNG_STEMS = (
    "kpi_summary",
    "kpi_denial_rate_by_month",
    "kpi_denial_causes",
    "kpi_dollars_denied",
)


@dataclass(frozen=True)
class ReportResult:
    """What a report run wrote."""

    html_path: Path
    png_paths: list[Path] = field(default_factory=list)
    figures: int = 0
    png_seconds: float = 0.0
    # True when the report on disk already showed these inputs and was left as it was.
    skipped: bool = False


def report_inputs_digest(snapshot_path: str | Path) -> str:
    """sha256 of what the report would show: its tables' rows and the code that draws them."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for code in sorted([here / "report.py", here / "theme.py", *(here / "figures").glob("*.py")]):
        digest.update(code.read_bytes())
    present = snapshot_tables(snapshot_path)
    with duckdb.connect(str(snapshot_path), read_only=True) as con:
        for table in REPORT_TABLES:
            if table in present:
                # Row hashes summed: independent of row order, and duplicates do not cancel.
                rows, total = con.execute(
                    f'select count(*), sum(hash(t)::hugeint) from "{table}" t'
                ).fetchall()[0]
                digest.update(f"{table}:{rows}:{total};".encode())
        if "snapshot_meta" in present:
            missing = con.execute("select tables_missing from snapshot_meta").fetchall()
            digest.update(repr(missing).encode())
    return digest.hexdigest()


def report_figures(snapshot_path: str | Path) -> dict[str, list[go.Figure]]:
    """Every figure of the report, by section, built from the published snapshot."""
    lines = read_table(snapshot_path, "denial_lines")
    preds = read_table(snapshot_path, "model_validation_predictions")
    oracle = read_table(snapshot_path, "oracle_evaluation")
    queue = read_table(snapshot_path, "work_queue")
    missing_lines = "The snapshot has no denial_lines table yet."
    if lines is None:
        denial_figs = [empty_figure("Denials", missing_lines)]
        coding_figs = [empty_figure("Coding and documentation", missing_lines)]
    else:
        denial_figs = [
            denials.kpi_indicator_figure(lines),
            denials.denial_rate_by_month_figure(lines),
            denials.carc_pareto_figure(lines),
            denials.dollars_denied_figure(lines),
            *[denials.denial_rate_by_dimension_figure(lines, d) for d in denials.DIMENSIONS],
        ]
        coding_figs = [
            coding.bilateral_by_payer_figure(lines),
            coding.doc_completeness_figure(lines),
            coding.fixable_errors_figure(lines),
        ]
    model_figs = [
        model.roc_figure(preds, oracle),
        model.pr_figure(preds),
        model.calibration_figure(preds),
        model.lift_capture_figure(preds),
        model.score_distribution_figure(preds),
        model.oracle_figure(oracle),
        model.realized_performance_figure(read_table(snapshot_path, "realized_scores")),
        model.drift_figure(
            read_table(snapshot_path, "feature_drift"), read_table(snapshot_path, "score_drift")
        ),
    ]
    queue_figs = [
        work_queue.expected_loss_by_reason_figure(work_queue.rank_queue(queue))
        if queue is not None
        else empty_figure("Work queue", "No pending line has been scored yet.")
    ]
    return {
        "Denials": denial_figs,
        "Coding and documentation": coding_figs,
        "Model": model_figs,
        "Work queue": queue_figs,
    }


def kpi_png_figures(snapshot_path: str | Path) -> dict[str, go.Figure]:
    """The monthly-summary KPI figures exported as PNG (file stem → figure)."""
    lines = read_table(snapshot_path, "denial_lines")
    if lines is None:
        return {}
    figures = [
        denials.kpi_indicator_figure(lines),
        denials.denial_rate_by_month_figure(lines),
        denials.carc_pareto_figure(lines),
        denials.dollars_denied_figure(lines),
    ]
    return dict(zip(KPI_PNG_STEMS, figures, strict=True))


def _queue_table(snapshot_path: str | Path) -> str:
    queue = read_table(snapshot_path, "work_queue")
    if queue is None or queue.height == 0:
        return "<p>No pending line has been scored yet.</p>"
    top = work_queue.rank_queue(queue).head(QUEUE_ROWS_IN_REPORT)
    cols = [
        c
        for c in (
            "claim_id",
            "line_number",
            "service_date",
            "payer_name",
            "denial_probability",
            "risk_band",
            "expected_loss_usd",
            "reasons",
            "recommended_action",
        )
        if c in top.columns
    ]
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in cols)
    rows = []
    for row in top.select(cols).iter_rows(named=True):
        cells = []
        for c in cols:
            v = row[c]
            if c == "denial_probability":
                text = percent(v)
            elif c == "expected_loss_usd":
                text = money(v, 2)
            else:
                text = "" if v is None else str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<p>Top {top.height} of {queue.height:,} pending lines by expected loss.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _model_table(snapshot_path: str | Path) -> str:
    preds = read_table(snapshot_path, "model_validation_predictions")
    if preds is None:
        return ""
    metrics = model.discrimination_metrics(preds)
    if metrics.height == 0:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(model.SCORERS[r['scorer']][0])}</td>"
        f"<td>{r['roc_auc']:.3f}</td><td>{r['pr_auc']:.3f}</td></tr>"
        for r in metrics.iter_rows(named=True)
    )
    return (
        "<table><thead><tr><th>scorer (validation months)</th><th>ROC AUC</th>"
        f"<th>PR AUC (average precision)</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _meta(snapshot_path: str | Path) -> str:
    meta = read_table(snapshot_path, "snapshot_meta")
    if meta is None or meta.height == 0:
        return ""
    row = meta.row(0, named=True)
    missing = row.get("tables_missing") or "none"
    return (
        f"<p>Snapshot published {html.escape(str(row['published_at']))} UTC; "
        f"tables not available in this run: {html.escape(missing)}.</p>"
    )


def _tiles(snapshot_path: str | Path) -> str:
    lines = read_table(snapshot_path, "denial_lines")
    if lines is None:
        return ""
    tiles = denials.kpi_tiles(lines)
    return (
        "<div class='tiles'>"
        + "".join(
            f"<div class='tile'><div class='label'>{html.escape(t['label'])}</div>"
            f"<div class='value'>{html.escape(t['value'])}</div>"
            f"<div class='change'>{html.escape(t['change'])}</div></div>"
            for t in tiles
        )
        + "</div>"
    )


STYLE = """
body{font-family:Arial,Helvetica,sans-serif;margin:16px 24px;color:#222;background:#fafafa}
h1{margin-bottom:4px} .figure{background:#fff;border:1px solid #ddd;border-radius:6px;
padding:8px;margin:12px 0} .caption{color:#444;margin:4px 8px}
.tiles{display:flex;gap:12px;flex-wrap:wrap} .tile{background:#fff;border:1px solid #ddd;
border-radius:6px;padding:8px 12px;min-width:200px} .tile .value{font-size:24px;font-weight:bold}
.tile .label,.tile .change{font-size:12px;color:#555} table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
"""


def write_report(
    snapshot_path: str | Path,
    reports_dir: str | Path,
    png: bool = True,
    skip_if_unchanged: bool = False,
) -> ReportResult:
    """Write `report.html` (plotly.js inline, no network needed) and the KPI PNGs, atomically.

    `png=False` renders no PNG (no Chromium); the report lists the PNGs kept from an earlier run.
    `skip_if_unchanged`: leave the report as it is when it was written from the same inputs
    (`report_inputs_digest`) and no PNG is asked for.
    """
    out = Path(reports_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / REPORT_NAME
    marker = out / INPUTS_DIGEST_FILE
    inputs = report_inputs_digest(snapshot_path)
    if (
        skip_if_unchanged
        and not png
        and target.exists()
        and marker.exists()
        and marker.read_text() == inputs
    ):
        log.info("report %s already shows these inputs", target)
        return ReportResult(html_path=target, skipped=True)
    register_template()
    sections = report_figures(snapshot_path)
    parts: list[str] = []
    first = True
    count = 0
    for section, figures in sections.items():
        parts.append(f"<h2>{html.escape(section)}</h2>")
        if section == "Denials":
            parts.append(_tiles(snapshot_path))
        if section == "Model":
            parts.append(_model_table(snapshot_path))
        for fig in figures:
            # The first figure carries plotly.js inline; the rest reuse it: one self-contained file.
            div = pio.to_html(
                fig,
                include_plotlyjs=first,
                full_html=False,
                default_height="440px",
                config={"displaylogo": False},
            )
            first = False
            count += 1
            parts.append(
                f"<div class='figure'>{div}<p class='caption'>{html.escape(caption_of(fig))}</p></div>"
            )
        if section == "Work queue":
            parts.append(_queue_table(snapshot_path))
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    png_paths: list[Path] = []
    png_seconds = 0.0
    if png:
        figures = kpi_png_figures(snapshot_path)
        if figures:
            started = time.perf_counter()
            paths = [out / f"{stem}.png" for stem in figures]
            # One batch: kaleido starts Chromium once (~0.3 s per image instead of ~2 s).
            if write_pngs(list(figures.values()), paths):
                png_paths = paths
            png_seconds = time.perf_counter() - started
    else:
        # Kept from the last run that rendered them (a full or retrain run, docs/operations.md).
        kept = [out / f"{stem}.png" for stem in KPI_PNG_STEMS if (out / f"{stem}.png").exists()]
    shown = png_paths if png else kept
    png_list = "".join(f"<li>{html.escape(p.name)}</li>" for p in shown)
    document = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Denial-risk report · CPT 64520</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>Denial-risk report · CPT 64520</h1>"
        f"<p>Generated {generated}. Initial denial rate at claim-line level by count and by billed "
        "charges (HFMA Claim Integrity Task Force metric 1; denominator: the service month's "
        "remitted lines; the dotted line uses the Task Force's 3-month average).</p>"
        f"{_meta(snapshot_path)}"
        + "".join(parts)
        + (f"<h2>Monthly summary images</h2><ul>{png_list}</ul>" if png_list else "")
        + "</body></html>"
    )
    tmp = out / f".{REPORT_NAME}.{os.getpid()}.tmp"
    tmp.write_text(document, encoding="utf-8")
    os.replace(tmp, target)
    marker_tmp = out / f"{INPUTS_DIGEST_FILE}.{os.getpid()}.tmp"
    marker_tmp.write_text(inputs)
    os.replace(marker_tmp, marker)
    log.info("wrote %s (%d figures, %d PNGs)", target, count, len(png_paths))
    return ReportResult(
        html_path=target, png_paths=png_paths, figures=count, png_seconds=png_seconds
    )
