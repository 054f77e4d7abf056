"""The pre-submission CSVs follow the export's cell rules: formula-safe text, two-decimal money."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime

import polars as pl

from models.presubmission.score import PresubmissionResult, _empty_lines
from pipelines.presubmission import RequestRows, write_presubmission


def _result() -> PresubmissionResult:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    line = {
        "claim_id": "CLM-1",
        "line_number": 1,
        "cpt_code": "64520",
        "payer_id": "P1",
        "service_date": date(2025, 12, 1),
        "charge_amount": 661.5,
        "denial_probability": 0.25,
        "risk_band": "medium",
        "expected_loss_usd": 30.1,
        "reason_1": "DOC01",
        "reason_2": None,
        "reason_3": None,
        "reasons": "-the note is missing",
        "recommended_action": "attach the note",
        "policy_change": "",
        "model_version": "m-1",
        "scored_at": at,
        "low_data": False,
        "payer_name": "@Payer",
        "days_to_filing_limit": 60,
        "action_1": "attach the note",
        "action_2": None,
        "action_3": None,
        "reason_codes": ["DOC01"],
        "reason_texts": ["-the note is missing"],
        "reason_actions": ["attach the note"],
        "edits": [],
        "edit_codes": "",
        "edit_messages": "=not a formula",
    }
    empty = _empty_lines()
    lines = pl.DataFrame([line], schema=empty.schema)
    rejected = pl.DataFrame(
        [
            {
                "claim_id": "CLM-2",
                "line_number": "1",
                "source_row": 2,
                "field": "payer_name",
                "reason": "bad_text",
                "value": '=HYPERLINK("http://x")',
            }
        ],
        schema={
            "claim_id": pl.String,
            "line_number": pl.String,
            "source_row": pl.Int64,
            "field": pl.String,
            "reason": pl.String,
            "value": pl.String,
        },
    )
    context = pl.DataFrame(schema={"claim_id": pl.String, "line_number": pl.Int64})
    return PresubmissionResult("m-1", at, lines, context, rejected)


def test_presubmission_csvs_quote_formula_cells_and_write_money_in_cents(tmp_path):
    request = RequestRows(
        claims=pl.DataFrame(),
        notes=pl.DataFrame(),
        origins=pl.DataFrame(
            {"source_row": [2], "source_file": ["claims/c.csv"], "file_row": [2]},
            schema={"source_row": pl.Int64, "source_file": pl.String, "file_row": pl.Int64},
        ),
        unreadable=pl.DataFrame(
            schema={
                "source_file": pl.String,
                "source_row": pl.Int64,
                "column_name": pl.String,
                "reason": pl.String,
            }
        ),
        files=("claims/c.csv",),
    )
    files = write_presubmission(request, _result(), tmp_path, "test")
    with files.path.open(newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["charge_amount"] == "661.50" and row["expected_loss_usd"] == "30.10"
    assert row["reasons"] == "'-the note is missing" and row["payer_name"] == "'@Payer"
    assert row["edit_messages"] == "'=not a formula"
    with files.rejected_path.open(newline="") as handle:
        (rejected,) = list(csv.DictReader(handle))
    assert rejected["value"] == '\'=HYPERLINK("http://x")'
