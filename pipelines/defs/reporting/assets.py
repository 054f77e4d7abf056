"""Reporting assets: the published read-only snapshot for the dashboards and the static report."""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

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
def static_report(paths: ProductPaths) -> dg.MaterializeResult:
    """Self-contained HTML report (plotly inline) and KPI PNGs, from the published snapshot."""
    from dashboards.report import write_report

    settings = paths.settings()
    result = write_report(settings.published_snapshot, settings.reports)
    return dg.MaterializeResult(
        metadata={
            "report_path": str(result.html_path),
            "figures": result.figures,
            "png_paths": ", ".join(str(p) for p in result.png_paths),
            "png_seconds": round(result.png_seconds, 2),
        }
    )
