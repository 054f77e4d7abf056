"""Spreadsheet formula injection: the billing export neutralises formula-leading text cells."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from models.export import EXPORT_COLUMNS, csv_safe, write_export_batches

HOSTILE = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


def _export_rows(claim_ids: list[str], payer_ids: list[str]) -> pl.DataFrame:
    n = len(claim_ids)
    return pl.DataFrame(
        {
            "claim_id": claim_ids,
            "line_number": list(range(1, n + 1)),
            "cpt_code": ["64520"] * n,
            "payer_id": payer_ids,
            "service_date": [date(2025, 1, 2)] * n,
            "charge_amount": [-12.5] * n,
            "denial_probability": [0.25] * n,
            "risk_band": ["medium"] * n,
            "expected_loss_usd": [-3.0] * n,
            "reason_1": ["BILATERAL_UNITS"] * n,
            "reason_2": [None] * n,
            "reason_3": [None] * n,
            "reasons": ["-units over MUE"] * n,
            "recommended_action": ["=check"] * n,
            "model_version": ["m-1"] * n,
            "scored_at": ["2026-01-02T03:04:05Z"] * n,
            "policy_change": [""] * n,
            "low_data": [False] * n,
            "payer_name": ["@Payer"] * n,
            "days_to_filing_limit": [-3] * n,
            "action_1": ["+fix"] * n,
            "action_2": [None] * n,
            "action_3": [None] * n,
        },
        schema_overrides={
            "reason_2": pl.String,
            "reason_3": pl.String,
            "action_2": pl.String,
            "action_3": pl.String,
        },
    ).select(EXPORT_COLUMNS)


def test_formula_leading_cells_get_a_single_quote_and_numbers_do_not(tmp_path: Path) -> None:
    frame = _export_rows(HOSTILE + ["CLM-7"], list(reversed(HOSTILE)) + ["PAYER-A"])
    result = write_export_batches([frame], tmp_path, "m-1", now=datetime(2026, 1, 2, tzinfo=UTC))
    with result.path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["claim_id"] for r in rows] == ["'" + v for v in HOSTILE] + ["CLM-7"]
    assert [r["payer_id"] for r in rows] == ["'" + v for v in reversed(HOSTILE)] + ["PAYER-A"]
    assert {r["reasons"] for r in rows} == {"'-units over MUE"}
    assert {r["recommended_action"] for r in rows} == {"'=check"}
    assert {r["payer_name"] for r in rows} == {"'@Payer"}
    assert {r["action_1"] for r in rows} == {"'+fix"}
    # Numbers are numbers: a negative amount or day count is not a formula and keeps its sign;
    # money is written with two decimals.
    assert {r["charge_amount"] for r in rows} == {"-12.50"}
    assert {r["expected_loss_usd"] for r in rows} == {"-3.00"}
    assert {r["days_to_filing_limit"] for r in rows} == {"-3"}
    assert not any(v.startswith(("=", "+", "@", "\t", "\r")) for r in rows for v in r.values())


@pytest.mark.parametrize("value", HOSTILE)
def test_csv_safe_keeps_the_value_after_the_quote(value: str) -> None:
    safe = csv_safe(pl.DataFrame({"text": [value, "plain"], "amount": [-1.0, 2.0]}))
    assert safe["text"].to_list() == ["'" + value, "plain"]
    assert safe["amount"].to_list() == [-1.0, 2.0]
