"""The Remittances page in headless Chromium, on a warehouse with remits and no loaded claims.

The public 835 samples (../shared/x12/835, nobody here wrote them) are loaded without any
claim file, as a billing service that receives only remittances would: the page shows the
denial rate by adjudication month with its counts, the CARC Pareto with descriptions and the
share of remit lines matched to a claim line, and its figures equal the warehouse's
`remit_denial_kpis` table and a count taken straight from `remit_line_outcomes`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from dashboards.snapshot import snapshot_for_serving
from pipelines.defs.kpis.monthly import write_remit_denial_kpis
from pipelines.settings import ProductSettings
from pipelines.sources.landing import (
    build_remit_line_outcomes,
    ingest_remit_files,
    load_reference_tables,
)
from tests.dashboards.browser_helpers import open_page, serve_dashboard

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "x12" / "835"
if not SAMPLES.is_dir():
    SAMPLES = Path("/work/shared/x12/835")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not SAMPLES.is_dir(), reason="public X12 samples not present"),
]
GRAPHS = ("remittances-by-month", "remittances-pareto")


def _remits_only_warehouse(root: Path) -> Path:
    landing = root / "landing"
    (landing / "remits").mkdir(parents=True)
    for sample in SAMPLES.iterdir():
        shutil.copy(sample, landing / "remits" / sample.name)
    settings = ProductSettings(
        landing=landing, warehouse=root / "warehouse.duckdb", exports=root / "exports"
    )
    with duckdb.connect(str(settings.warehouse)) as con:
        load_reference_tables(con)
        ingest_remit_files(con, settings)
        build_remit_line_outcomes(con)
        write_remit_denial_kpis(con)
    return settings.warehouse


def test_remittances_page_matches_the_remit_kpi_table_without_claims(
    browser, tmp_path: Path
) -> None:
    warehouse = _remits_only_warehouse(tmp_path)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM staged_claim_lines").fetchall() == [(0,)]
        months = con.execute(
            "SELECT strftime(adjudication_month, '%Y-%m'), remit_lines, denied_lines, denial_rate, "
            "lines_without_claim_line FROM remit_denial_kpis ORDER BY 1"
        ).fetchall()
        newest = con.execute(
            "SELECT max(adjudication_date) FROM remit_line_outcomes WHERE latest"
        ).fetchall()[0][0]
        # One procedure's lines, counted straight from the outcomes (not through models.kpis).
        procedure, lines, denied = con.execute(
            "SELECT cpt_code, count(*), count(*) FILTER (WHERE denied) FROM remit_line_outcomes "
            "WHERE latest GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
        ).fetchall()[0]
    total = sum(m[1] for m in months)
    total_denied = sum(m[2] for m in months)
    assert total == 22 and total_denied == 7  # as the public-samples ingest test counts them
    # No run published a snapshot (claims never passed): the dashboards publish the warehouse.
    snapshot = snapshot_for_serving(tmp_path / "published" / "snapshot.duckdb", warehouse)
    assert snapshot is not None and snapshot.exists()

    with serve_dashboard(snapshot, tmp_path / "app.log") as url:
        visit = open_page(browser, url + "/remittances", GRAPHS)
        page = visit.page
        shown = [
            [cell.text_content() for cell in row.locator("td").all()]
            for row in page.locator(".remittances-month").all()
        ]
        assert shown == [
            [month, str(n), str(d), f"{rate * 100:.1f}%", str(unmatched)]
            for month, n, d, rate, unmatched in months
        ]
        tiles = {
            tile.locator("div").first.text_content(): tile.text_content()
            for tile in page.locator(".kpi-tile").all()
        }
        assert f"{total_denied} of {total} lines denied" in tiles["Denial rate, remit lines"]
        assert f"{total_denied / total * 100:.1f}%" in tiles["Denial rate, remit lines"]
        # No claim file loaded: no remit line reaches a claim line.
        assert "0.0%" in tiles["Matched to a claim line"]
        assert f"0 of {total} remit lines" in tiles["Matched to a claim line"]
        reasons = [li.text_content() for li in page.locator(".remittances-reason").all()]
        assert reasons[0].startswith("CO-251: 2 denied lines · CARC 251:")
        assert any(
            r.startswith("CO-16: 1 denied lines · CARC 16: Claim/service lacks") for r in reasons
        )
        status = page.locator("#remittances-status").text_content()
        assert f"Newest adjudication: {newest}" in status
        assert "Filters on: none" in status

        # One procedure chosen: the tiles follow it.
        page.click("#remittances-procedure")
        page.get_by_role("option", name=procedure, exact=True).click()
        page.keyboard.press("Escape")
        page.wait_for_function(
            "(text) => document.querySelector('#remittances-status').textContent.includes(text)",
            arg=f"Procedure: {procedure}",
        )
        page.wait_for_function(
            "(text) => Array.from(document.querySelectorAll('.kpi-tile'))"
            ".some(t => t.textContent.includes(text))",
            arg=f"{denied} of {lines} lines denied",
        )
        assert visit.console_errors == []
        page.context.close()
