"""The reporting assets materialized by Dagster against a DuckDB warehouse in tmp_path."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from dashboards.snapshot import snapshot_tables
from pipelines.defs.reporting.assets import published_snapshot, static_report
from pipelines.defs.resources import ProductPaths

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_reporting_assets_publish_the_snapshot_and_write_the_report(
    warehouse: Path, tmp_path: Path
):
    data = tmp_path / "data"
    data.mkdir()
    copy = data / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    resources = {
        "warehouse": DuckDBResource(database=str(copy)),
        "paths": ProductPaths(
            landing=str(data / "landing"), warehouse=str(copy), exports=str(data / "exports")
        ),
    }
    result = dg.materialize([published_snapshot, static_report], resources=resources)
    assert result.success
    snap_meta = result.asset_materializations_for_node("published_snapshot")[0].metadata
    snapshot = Path(snap_meta["snapshot_path"].value)
    assert snapshot == data / "published" / "snapshot.duckdb"
    assert snap_meta["dagster/row_count"].value == 600
    assert {"denial_lines", "work_queue", "feature_drift"} <= snapshot_tables(snapshot)
    report_meta = result.asset_materializations_for_node("static_report")[0].metadata
    report = Path(report_meta["report_path"].value)
    assert report == data / "reports" / "report.html"
    assert report.stat().st_size > 1_000_000  # plotly.js inline
    pngs = sorted((data / "reports").glob("*.png"))
    assert [p.name for p in pngs] == [
        "kpi_denial_causes.png",
        "kpi_denial_rate_by_month.png",
        "kpi_dollars_denied.png",
        "kpi_summary.png",
    ]
    assert all(p.read_bytes()[:8] == PNG_SIGNATURE for p in pngs)

    # A daily run writes the HTML again but keeps the monthly PNGs; a retrain renders them.
    rendered = {p.name: p.stat().st_mtime_ns for p in pngs}
    report.unlink()

    def again(job: str) -> dict:
        run = dg.materialize(
            [published_snapshot, static_report],
            resources=resources,
            tags={"denial_risk/job": job},
        )
        return run.asset_materializations_for_node("static_report")[0].metadata

    daily = again("daily")
    assert daily["report"].value == "written"
    assert report.exists() and "kpi_summary.png" in report.read_text()
    # Nothing the report shows changed: the next daily run leaves it as it is.
    written = report.stat().st_mtime_ns
    assert again("daily")["report"].value == "skipped: inputs unchanged"
    assert report.stat().st_mtime_ns == written
    with duckdb.connect(str(copy)) as con:
        con.execute("DELETE FROM risk_scores WHERE rowid IN (SELECT min(rowid) FROM risk_scores)")
    assert again("daily")["report"].value == "written"
    assert daily["pngs"].value.startswith("skipped")
    assert daily["png_paths"].value == ""
    assert {p.name: p.stat().st_mtime_ns for p in pngs} == rendered
    retrain = again("retrain")
    assert retrain["pngs"].value == "rendered"
    assert all(p.stat().st_mtime_ns > rendered[p.name] for p in pngs)


def test_reporting_assets_are_in_the_reporting_group():
    for asset in (published_snapshot, static_report):
        assert asset.group_names_by_key[asset.key] == "reporting"
    deps = {k.to_user_string() for k in static_report.asset_deps[static_report.key]}
    assert {
        "line_outcomes",
        "staged_claim_lines",
        "modelling_table",
        "denial_model",
        "risk_scores",
    } <= deps
