"""The Denials page in headless Chromium shows the front-end rejection rate from 277CA rows."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from dashboards.figures.denials import monthly_denial_rates, reporting_month
from dashboards.snapshot import publish_snapshot, read_frame
from data_contracts.warehouse_schema import CLAIM_ACKNOWLEDGEMENTS
from tests.dashboards.browser_helpers import PAGES, open_page, serve_dashboard
from tests.dashboards.dashboard_world import build_warehouse

pytestmark = pytest.mark.browser


def test_denials_page_tile_shows_the_front_end_rejection_rate(browser, tmp_path: Path) -> None:
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb", n_lines=300, with_oracle=False)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(CLAIM_ACKNOWLEDGEMENTS)
        # Every third claim of the world was rejected once (A7) after it was first sent.
        con.execute(
            "INSERT INTO claim_acknowledgements (claim_id, level, status_category, status_code, "
            "entity_code, effective_date, action_code, outcome, source_file, source_row) "
            "SELECT DISTINCT claim_id, 'claim', 'A7', '562', '85', submission_date - 1, 'U', "
            "'rejected', 'acks.277', row_number() OVER () FROM staged_claim_lines "
            "WHERE hash(claim_id) % 3 = 0"
        )
    snapshot = publish_snapshot(warehouse, tmp_path / "published" / "snapshot.duckdb")
    lines = read_frame(snapshot, "SELECT * FROM denial_lines")
    month = reporting_month(monthly_denial_rates(lines))
    cohort = lines.filter(pl.col("service_month") == month)
    expected = cohort["front_end_rejected"].sum() / cohort.height
    assert 0 < expected < 1

    path, graphs = PAGES["denials"]
    with serve_dashboard(snapshot, tmp_path / "app.log") as url:
        visit = open_page(browser, url + path, graphs)
        tiles = visit.page.locator(".kpi-tile").all()
        tile = tiles[-1]
        assert "Front-end rejection rate" in tile.text_content()
        assert tile.locator(".kpi-value").text_content() == f"{expected:.1%}"
        assert f"{cohort['front_end_rejected'].sum()} of {cohort.height} lines" in (
            tile.text_content()
        )
        assert visit.console_errors == []
        visit.page.context.close()
