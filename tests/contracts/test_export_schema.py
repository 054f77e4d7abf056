"""Export contract v2: the column specs, the JSON Schemas derived from them and the README table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from data_contracts.export_schema import (
    COLUMN_NAMES,
    EXPORT_SPEC,
    MANIFEST_SCHEMA_FILE,
    ROW_SCHEMA_FILE,
    committed_schema,
    manifest_schema,
    markdown_table,
    row_schema,
)
from models.export import EXPORT_COLUMNS

README = Path(__file__).resolve().parents[2] / "README.md"


def good_row() -> dict[str, str]:
    return {
        "claim_id": "CLM-1",
        "line_number": "1",
        "cpt_code": "64520",
        "payer_id": "AETNA-COMM",
        "service_date": "2026-08-02",
        "charge_amount": "661.00",
        "denial_probability": "0.1408",
        "risk_band": "low",
        "expected_loss_usd": "12.21",
        "reason_1": "TF01",
        "reason_2": "",
        "reason_3": "",
        "reasons": "submitted 35 days after service",
        "recommended_action": "no pre-submission change recommended",
        "policy_change": "",
        "model_version": "m20261204T155827332868Z",
        "scored_at": "2026-12-04T16:01:49Z",
        "low_data": "false",
        "payer_name": "",
        "days_to_filing_limit": "-4",
        "action_1": "submit immediately",
        "action_2": "",
        "action_3": "",
    }


def row_validator() -> Draft202012Validator:
    return Draft202012Validator(committed_schema(ROW_SCHEMA_FILE), format_checker=FormatChecker())


def test_committed_schemas_are_the_generated_ones_and_valid_draft_2020_12():
    for name, generated in (
        (ROW_SCHEMA_FILE, row_schema()),
        (MANIFEST_SCHEMA_FILE, manifest_schema()),
    ):
        committed = committed_schema(name)
        assert committed == generated, (
            f"{name}: run `uv run python -m data_contracts.export_schema`"
        )
        Draft202012Validator.check_schema(committed)
        assert committed["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_writer_columns_come_from_the_spec_and_v1_positions_are_kept():
    assert EXPORT_COLUMNS == COLUMN_NAMES == tuple(c.name for c in EXPORT_SPEC)
    assert len(set(COLUMN_NAMES)) == len(COLUMN_NAMES)
    v1 = [
        "claim_id",
        "line_number",
        "cpt_code",
        "payer_id",
        "service_date",
        "charge_amount",
        "denial_probability",
        "risk_band",
        "expected_loss_usd",
        "reason_1",
        "reason_2",
        "reason_3",
        "reasons",
        "recommended_action",
        "policy_change",
        "model_version",
        "scored_at",
        "low_data",
    ]
    assert list(COLUMN_NAMES[: len(v1)]) == v1
    added = {"payer_name", "days_to_filing_limit", "low_data", "policy_change"}
    added |= {f"action_{i}" for i in (1, 2, 3)}
    assert added <= set(COLUMN_NAMES)


def test_row_schema_accepts_a_contract_row():
    assert list(row_validator().iter_errors(good_row())) == []


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("charge_amount", "661.0"),  # money has two decimals
        ("expected_loss_usd", "12"),
        ("reasons", ""),  # never empty
        ("reason_1", ""),
        ("action_1", ""),
        ("reasons", "=HYPERLINK(1)"),  # a formula cell that escaped csv_safe
        ("payer_name", "+1+1"),
        ("risk_band", "critical"),
        ("denial_probability", "1.2"),
        ("low_data", "1"),
        ("days_to_filing_limit", "12.5"),
        ("scored_at", "2026-12-04 16:01:49"),
        ("service_date", "08/02/2026"),
    ],
)
def test_row_schema_rejects_a_broken_cell(column, value):
    row = good_row() | {column: value}
    errors = list(row_validator().iter_errors(row))
    assert errors and all(column in list(e.absolute_path) for e in errors)


def test_row_schema_rejects_missing_and_extra_columns():
    missing = {k: v for k, v in good_row().items() if k != "payer_name"}
    assert not row_validator().is_valid(missing)
    assert not row_validator().is_valid(good_row() | {"patient_id": "P1"})


def test_a_neutralised_formula_cell_is_valid():
    assert row_validator().is_valid(good_row() | {"payer_name": "'+1+1", "reasons": "'=x"})


def _readme_export_section() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Export contract.*?(?=^## )", text, re.S | re.M)
    assert match, "README has no '## Export contract' section"
    return match.group(0)


def test_readme_documents_every_column_as_the_spec_says():
    section = _readme_export_section()
    assert markdown_table() in section, (
        "regenerate with `uv run python -m data_contracts.export_schema`"
    )
    prose = " ".join(section.split())
    for fact in (
        "schema_version",
        "UTF-8",
        "risk_bands",
        "overlap in probability",
        "reference_tables",
        "NONE01",
        ROW_SCHEMA_FILE,
        MANIFEST_SCHEMA_FILE,
    ):
        assert fact in prose, fact
