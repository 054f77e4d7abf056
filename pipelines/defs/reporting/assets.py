"""Reporting assets: the published read-only snapshot for the dashboards and the static report."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.operations.jobs import (
    FULL_REBUILD_TAG,
    FULL_RUN_JOB_NAME,
    JOB_TAG,
    RETRAIN_JOB_NAME,
)
from pipelines.defs.resources import WAREHOUSE_POOL, ProductPaths

UPSTREAM = ["line_outcomes", "staged_claim_lines", "modelling_table", "denial_model", "risk_scores"]
# Synthetic worlds only (runs when a truth file is configured): published after it when selected.
UPSTREAM += ["oracle_evaluation"]


@dg.asset(
    group_name="reporting",
    kinds={"duckdb"},
    deps=UPSTREAM,
    pool=WAREHOUSE_POOL,
)
def published_snapshot(warehouse: DuckDBResource, paths: ProductPaths) -> dg.MaterializeResult:
    """Read-only DuckDB snapshot for the dashboards, built new and atomically replaced."""
    # The dashboard stack is imported when a run publishes, not when the code location loads.
    from dashboards.snapshot import publish_snapshot as build_snapshot
    from dashboards.snapshot import read_frame, snapshot_tables

    target = paths.settings().published_snapshot
    with warehouse.get_connection() as conn:
        build_snapshot(conn, target)
    tables = snapshot_tables(target)
    rows = 0
    if "denial_lines" in tables:
        rows = int(read_frame(target, "select count(*) as n from denial_lines")["n"][0])
    meta = read_frame(target, "select tables_missing from snapshot_meta")
    return dg.MaterializeResult(
        metadata={
            "snapshot_path": str(target),
            "dagster/row_count": rows,
            "tables": ", ".join(sorted(tables)),
            "tables_missing": meta["tables_missing"][0] or "none",
        }
    )


@dg.asset(
    group_name="reporting",
    kinds={"plotly", "html"},
    deps=[*UPSTREAM, "published_snapshot"],
)
def static_report(context: dg.AssetExecutionContext, paths: ProductPaths) -> dg.MaterializeResult:
    """Self-contained HTML report (plotly inline) and KPI PNGs, from the published snapshot."""
    from dashboards.report import KPI_PNG_STEMS, write_report

    settings = paths.settings()
    missing = any(not (settings.reports / f"{s}.png").exists() for s in KPI_PNG_STEMS)
    png = missing or renders_monthly_images(context.run)
    # A quiet day's report would show what the one on disk shows: it is left as it is.
    result = write_report(
        settings.published_snapshot, settings.reports, png=png, skip_if_unchanged=True
    )
    return dg.MaterializeResult(
        metadata={
            "report_path": str(result.html_path),
            "report": "skipped: inputs unchanged" if result.skipped else "written",
            "figures": result.figures,
            "png_paths": ", ".join(str(p) for p in result.png_paths),
            "png_seconds": round(result.png_seconds, 2),
            "pngs": "rendered"
            if png
            else "skipped: monthly images, rendered by full and retrain runs",
        }
    )


MONTHLY_JOBS = {FULL_RUN_JOB_NAME, RETRAIN_JOB_NAME}


def renders_monthly_images(run: dg.DagsterRun) -> bool:
    """The KPI PNGs (the monthly summary) are rendered by full and retrain runs, not daily ones.

    Rendering them costs Chromium ~7-16 s (kaleido), most of a quiet daily run
    (docs/performance.md); the HTML report, with the same figures interactive, is written on
    every run.
    """
    return (
        run.job_name in MONTHLY_JOBS
        or run.tags.get(JOB_TAG) in {"full", "retrain"}
        or run.tags.get(FULL_REBUILD_TAG) == "true"
    )
