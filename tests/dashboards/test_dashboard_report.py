"""The static report: self-contained HTML with every figure, captions and the work queue."""

from __future__ import annotations

from pathlib import Path

import duckdb

from dashboards.report import write_report
from dashboards.snapshot import publish_snapshot


def test_report_is_self_contained_with_every_figure(snapshot_file: Path, tmp_path: Path):
    result = write_report(snapshot_file, tmp_path / "reports", png=False)
    text = result.html_path.read_text()
    assert result.figures == 20
    # plotly.js inline, once; no script is fetched from anywhere.
    assert text.count("plotly.js v") == 1
    assert "<script src=" not in text
    for title in (
        "Initial denial rate of 64520 lines by service month",
        "Denial causes: Pareto by CARC category",
        "Most common fixable errors, by dollars denied",
        "ROC curve: model vs baselines",
        "Expected loss of pending lines by top reason",
    ):
        assert title in text
    assert "HFMA Claim Integrity Task Force" in text
    assert "<th>ROC AUC</th>" in text and "LightGBM model" in text
    assert "Top 20 of" in text and "patient_key" not in text
    assert not list((tmp_path / "reports").glob(".*tmp"))


def test_report_from_a_snapshot_without_outcomes(tmp_path: Path):
    source = tmp_path / "w.duckdb"
    with duckdb.connect(str(source)) as con:
        con.execute(
            "create table staged_claim_lines as select 'C1' claim_id, 1 line_number, "
            "'P1' payer_id, 'Payer' payer_name, 'commercial' plan_type, '1' rendering_npi, "
            "'11' place_of_service, date '2025-01-02' service_date, date '2025-01-03' submission_date, "
            "'64520' cpt_code, 1.0 units, 450.00::decimal(12,2) charge_amount"
        )
    snapshot = publish_snapshot(source, tmp_path / "snapshot.duckdb")
    result = write_report(snapshot, tmp_path / "reports", png=False)
    text = result.html_path.read_text()
    assert "No validation predictions in the snapshot yet" in text
    assert "No pending line has been scored yet." in text
