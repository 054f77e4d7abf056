"""Hand-written landing files for the ingestion tests (no generator involved)."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from data_contracts.input_contract import column_names
from pipelines.settings import ProductSettings
from pipelines.sources.landing import (
    IngestSummary,
    OutcomeSummary,
    build_line_outcomes,
    ingest_claims,
    ingest_notes,
    ingest_remits,
)

CLAIM_COLUMNS = column_names("claims")
REMIT_COLUMNS = column_names("remits")
ADJUSTMENT_COLUMNS = column_names("remit_adjustments")
VALID_NPI = "1234567893"  # CMS's worked example of the check digit
SECRET_PATIENTS = ("PATIENT-SECRET-0001", "PATIENT-SECRET-0002", "PATIENT-SECRET-0003")


def claim_row(**overrides: str) -> dict[str, str]:
    """A valid 64520 claim line; keyword arguments replace fields."""
    row = {
        "claim_id": "CLM-1",
        "line_number": "1",
        "encounter_id": "ENC-1",
        "patient_id": SECRET_PATIENTS[0],
        "patient_birth_date": "1961-07-15",
        "patient_sex": "F",
        "payer_id": "PAYER-A",
        "payer_name": "Alpha Health",
        "plan_type": "commercial",
        "rendering_npi": VALID_NPI,
        "place_of_service": "22",
        "service_date": "2024-03-04",
        "submission_date": "2024-03-08",
        "cpt_code": "64520",
        "modifier_1": "LT",
        "modifier_2": "",
        "modifier_3": "",
        "modifier_4": "",
        "units": "1",
        "charge_amount": "1250.00",
        "diagnosis_codes": "G90.522;M79.604",
        "prior_auth_number": "PA-77",
    }
    row.update(overrides)
    return row


def remit_row(**overrides: str) -> dict[str, str]:
    row = {
        "claim_id": "CLM-1",
        "line_number": "1",
        "adjudication_date": "2024-04-02",
        "allowed_amount": "310.00",
        "paid_amount": "248.00",
    }
    row.update(overrides)
    return row


def adjustment_row(**overrides: str) -> dict[str, str]:
    row = {
        "claim_id": "CLM-1",
        "line_number": "1",
        "group_code": "CO",
        "carc": "45",
        "amount": "940.00",
        "rarc": "",
    }
    row.update(overrides)
    return row


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    """RFC 4180 CSV with a header; `columns` defaults to the first row's keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    names = columns or list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=names, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def settings_for(root: Path) -> ProductSettings:
    """Landing and warehouse of one test under `root`."""
    (root / "landing").mkdir(parents=True, exist_ok=True)
    return ProductSettings(
        landing=root / "landing",
        warehouse=root / "data" / "warehouse.duckdb",
        exports=root / "data" / "exports",
    )


def run_all(settings: ProductSettings) -> tuple[list[IngestSummary], OutcomeSummary]:
    """Claims, remits, notes and line outcomes in asset order, on one connection."""
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse)) as con:
        claims = ingest_claims(con, settings)
        remits, _ = ingest_remits(con, settings)
        notes = ingest_notes(con, settings)
        outcomes = build_line_outcomes(con)
    return [claims, remits, notes], outcomes


def query(settings: ProductSettings, sql: str) -> list[tuple]:
    """Rows of one query against the test warehouse (read-only)."""
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()
