"""One definition of the denial KPIs: the monthly KPI table and the Denials page agree for a month."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from dagster_duckdb import DuckDBResource

from dashboards.figures import denials
from dashboards.snapshot import publish_snapshot, read_table
from models.kpis import ALL_PAYERS, service_month_kpis
from pipelines.defs.kpis.assets import monthly_denial_kpis

MONTH = date(2025, 6, 1)


def test_page_figures_and_monthly_kpi_table_agree_for_a_month(
    warehouse: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    result = dg.materialize(
        [monthly_denial_kpis],
        partition_key=MONTH.isoformat(),
        resources={"warehouse": DuckDBResource(database=str(copy))},
    )
    assert result.success
    with duckdb.connect(str(copy), read_only=True) as con:
        table = con.sql(
            "select payer_id, lines, adjudicated_lines, denied_lines, denial_rate_count, "
            "cast(adjudicated_charge as double) adjudicated_charge, "
            "cast(denied_charge as double) denied_charge, denial_rate_dollars "
            "from monthly_denial_kpis where service_month = ?",
            params=[MONTH],
        ).pl()
    total = table.filter(pl.col("payer_id") == ALL_PAYERS).row(0, named=True)
    assert 0 < total["denied_lines"] < total["adjudicated_lines"] <= total["lines"]

    # The page reads the published snapshot, not the warehouse.
    snapshot = publish_snapshot(copy, tmp_path / "published" / "snapshot.duckdb")
    lines = read_table(snapshot, "denial_lines")
    assert lines is not None
    figure = denials.denial_rate_by_month_figure(lines)
    by_count, by_dollars = figure.data[0], figure.data[1]
    i = [str(x)[:10] for x in by_count.x].index(MONTH.isoformat())
    assert by_count.y[i] == pytest.approx(total["denial_rate_count"])
    assert list(by_count.customdata[i][:2]) == [total["denied_lines"], total["adjudicated_lines"]]
    assert by_dollars.y[i] == pytest.approx(total["denial_rate_dollars"])
    assert float(by_dollars.customdata[i][0]) == pytest.approx(total["denied_charge"], abs=0.01)
    assert float(by_dollars.customdata[i][1]) == pytest.approx(
        total["adjudicated_charge"], abs=0.01
    )

    # By payer: the page's segment bars for the month's lines match the table's payer rows.
    month_lines = lines.filter(pl.col("service_month") == MONTH)
    names = dict(month_lines.select("payer_id", "payer_name").unique().iter_rows())
    bars = denials.denial_rate_by_dimension_figure(month_lines, "payer_name").data[0]
    page_rates = dict(zip(bars.y, bars.x, strict=True))
    payers = table.filter(pl.col("payer_id") != ALL_PAYERS)
    assert payers.height >= 2
    for row in payers.iter_rows(named=True):
        assert page_rates[names[row["payer_id"]]] == pytest.approx(row["denial_rate_count"])

    # The KPI tiles of the reporting month use the same figures.
    tiles = denials.kpi_tiles(lines.filter(pl.col("service_month") <= MONTH))
    assert tiles[0]["label"].endswith("(Jun 2025)")
    assert tiles[0]["value"] == f"{total['denial_rate_count']:.1%}"
    assert tiles[3]["value"] == f"{total['adjudicated_lines']:,}"


def test_service_month_kpis_on_three_lines() -> None:
    lines = pl.DataFrame(
        {
            "payer_id": ["A", "A", "B"],
            "charge_amount": [100.0, 300.0, 50.0],
            "denied": [True, False, None],
        }
    )
    rows = service_month_kpis(lines, date(2025, 3, 14)).to_dicts()
    assert [r["payer_id"] for r in rows] == [ALL_PAYERS, "A", "B"]
    total, a, b = rows
    assert total["service_month"] == date(2025, 3, 1)
    assert (total["lines"], total["adjudicated_lines"], total["pending_lines"]) == (3, 2, 1)
    assert total["denial_rate_count"] == pytest.approx(0.5)
    assert total["denial_rate_dollars"] == pytest.approx(0.25)
    assert (a["denied_lines"], a["denied_charge"]) == (1, 100.0)
    # A payer whose lines are all pending has no rate (unknown), not a rate of zero.
    assert (b["adjudicated_lines"], b["denial_rate_count"], b["denial_rate_dollars"]) == (
        0,
        None,
        None,
    )
    assert service_month_kpis(lines.clear(), date(2025, 3, 1)).height == 0
