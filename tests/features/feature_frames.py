"""Builders of tiny staged tables (architecture.md shapes) for feature tests."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

CLAIM_LINE_SCHEMA = {
    "claim_id": pl.String,
    "line_number": pl.Int32,
    "encounter_id": pl.String,
    "patient_key": pl.String,
    "patient_age": pl.Int16,
    "patient_sex": pl.String,
    "payer_id": pl.String,
    "payer_name": pl.String,
    "plan_type": pl.String,
    "rendering_npi": pl.String,
    "place_of_service": pl.String,
    "service_date": pl.Date,
    "submission_date": pl.Date,
    "cpt_code": pl.String,
    "modifier_1": pl.String,
    "modifier_2": pl.String,
    "modifier_3": pl.String,
    "modifier_4": pl.String,
    "units": pl.Float64,
    "charge_amount": pl.Decimal(12, 2),
    "diagnosis_codes": pl.List(pl.String),
    "primary_diagnosis": pl.String,
    "prior_auth_number": pl.String,
    "extra_columns": pl.String,
    "source_file": pl.String,
    "source_row": pl.Int64,
}
OUTCOME_SCHEMA = {
    "claim_id": pl.String,
    "line_number": pl.Int32,
    "status": pl.String,
    "denied": pl.Boolean,
    "adjudication_date": pl.Date,
    "allowed_amount": pl.Decimal(12, 2),
    "paid_amount": pl.Decimal(12, 2),
    "denial_carcs": pl.List(pl.String),
    "primary_denial_carc": pl.String,
    "denial_group_code": pl.String,
    "denial_category": pl.String,
    "rarcs": pl.List(pl.String),
}
NOTE_SCHEMA = {
    "note_id": pl.String,
    "patient_key": pl.String,
    "encounter_id": pl.String,
    "note_date": pl.Date,
    "note_type": pl.String,
    "text": pl.String,
    "source_file": pl.String,
    "source_row": pl.Int64,
}


def claim_line(claim_id: str, line_number: int = 1, **overrides: Any) -> dict[str, Any]:
    """One staged claim line: a plain unilateral 64520 with an indication, unless overridden."""
    service = overrides.get("service_date", date(2025, 3, 3))
    row: dict[str, Any] = {
        "claim_id": claim_id,
        "line_number": line_number,
        "encounter_id": f"E-{claim_id}",
        "patient_key": "p1",
        "patient_age": 55,
        "patient_sex": "F",
        "payer_id": "PAYER_A",
        "payer_name": "Payer A",
        "plan_type": "commercial",
        "rendering_npi": "1234567890",
        "place_of_service": "11",
        "service_date": service,
        "submission_date": service,
        "cpt_code": "64520",
        "modifier_1": "LT",
        "modifier_2": None,
        "modifier_3": None,
        "modifier_4": None,
        "units": 1.0,
        "charge_amount": 950,
        "diagnosis_codes": ["G90522"],
        "primary_diagnosis": "G90522",
        "prior_auth_number": "AUTH1",
        "extra_columns": None,
        "source_file": "claims.csv",
        "source_row": 1,
    }
    row.update(overrides)
    return row


def outcome(
    claim_id: str, line_number: int = 1, status: str = "paid", **overrides: Any
) -> dict[str, Any]:
    """One line outcome; denied lines default to CARC 50 medical necessity."""
    denied = {"denied": True, "paid": False, "patient_liability": False}.get(status)
    row: dict[str, Any] = {
        "claim_id": claim_id,
        "line_number": line_number,
        "status": status,
        "denied": denied,
        "adjudication_date": date(2025, 4, 1),
        "allowed_amount": 300 if status == "paid" else 0,
        "paid_amount": 240 if status == "paid" else 0,
        "denial_carcs": ["50"] if denied else [],
        "primary_denial_carc": "50" if denied else None,
        "denial_group_code": "CO" if denied else None,
        "denial_category": "Medical Necessity" if denied else None,
        "rarcs": [],
    }
    row.update(overrides)
    return row


def note(note_id: str, text: str, **overrides: Any) -> dict[str, Any]:
    """One staged note linked to encounter E-C1 of patient p1 unless overridden."""
    row: dict[str, Any] = {
        "note_id": note_id,
        "patient_key": "p1",
        "encounter_id": "E-C1",
        "note_date": date(2025, 3, 3),
        "note_type": "procedure",
        "text": text,
        "source_file": "notes.csv",
        "source_row": 1,
    }
    row.update(overrides)
    return row


def claim_lines(*rows: dict[str, Any]) -> pl.LazyFrame:
    return pl.DataFrame(list(rows), schema=CLAIM_LINE_SCHEMA).lazy()


def outcomes(*rows: dict[str, Any]) -> pl.LazyFrame:
    return pl.DataFrame(list(rows), schema=OUTCOME_SCHEMA).lazy()


def notes(*rows: dict[str, Any]) -> pl.LazyFrame:
    return pl.DataFrame(list(rows), schema=NOTE_SCHEMA).lazy()
