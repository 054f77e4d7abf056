"""The work queue's CSV download over real HTTP: formula-leading cells are neutralised."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
from http_helpers import app_for, download_request, queue_snapshot, served

HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-1+2", "@SUM(A1)", "\tTAB", "\rCR"]


def test_download_neutralises_formula_cells_and_keeps_numbers(tmp_path: Path) -> None:
    snapshot = queue_snapshot(tmp_path / "snapshot.duckdb", HOSTILE, list(reversed(HOSTILE)))
    with served(app_for(snapshot).server) as url:
        response = httpx.post(f"{url}/_dash-update-component", json=download_request())
    assert response.status_code == 200
    data = response.json()["response"]["work-queue-download"]["data"]
    assert data["filename"].startswith("work_queue_") and data["filename"].endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(data["content"], newline="")))
    assert [r["claim_id"] for r in rows] == ["'" + v for v in HOSTILE]
    assert [r["payer_id"] for r in rows] == ["'" + v for v in reversed(HOSTILE)]
    assert {r["charge_amount"] for r in rows} == {"-5.0"}
