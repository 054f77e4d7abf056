"""A tiny warehouse with staged_claim_lines and line_outcomes in the architecture.md shapes."""

from datetime import date
from pathlib import Path

import duckdb
import pytest

# (claim_id, line_number, payer_id, service_date, cpt_code, charge, status, denied)
LINES = [
    ("C1", 1, "P_A", date(2024, 3, 4), "64520", "500.00", "denied", True),
    ("C1", 2, "P_A", date(2024, 3, 4), "64520", "500.00", "paid", False),
    ("C2", 1, "P_A", date(2024, 3, 18), "64520", "400.00", "paid", False),
    ("C3", 1, "P_B", date(2024, 3, 31), "64520", "300.00", "denied", True),
    ("C4", 1, "P_B", date(2024, 3, 20), "64520", "250.00", None, None),  # no remit yet
    ("C5", 1, "P_B", date(2024, 3, 20), "77003", "90.00", "denied", True),  # not 64520
    ("C6", 1, "P_A", date(2024, 4, 1), "64520", "450.00", "denied", True),
    ("C7", 1, "P_B", date(2024, 4, 15), "64520", "350.00", "patient_liability", False),
    ("C8", 1, "P_A", date(2024, 2, 29), "64520", "600.00", "paid", False),
]


def build_warehouse(path: Path) -> Path:
    """Create staged_claim_lines and line_outcomes with the rows above."""
    with duckdb.connect(str(path)) as conn:
        conn.execute(
            """
            CREATE TABLE staged_claim_lines (
                claim_id VARCHAR, line_number INTEGER, payer_id VARCHAR, service_date DATE,
                cpt_code VARCHAR, charge_amount DECIMAL(12,2), source_file VARCHAR, source_row BIGINT)
            """
        )
        conn.execute(
            """
            CREATE TABLE line_outcomes (
                claim_id VARCHAR, line_number INTEGER, status VARCHAR, denied BOOLEAN,
                adjudication_date DATE, allowed_amount DECIMAL(12,2), paid_amount DECIMAL(12,2),
                denial_carcs VARCHAR[], primary_denial_carc VARCHAR, denial_group_code VARCHAR,
                denial_category VARCHAR, rarcs VARCHAR[])
            """
        )
        for i, (claim, line, payer, served, cpt, charge, status, denied) in enumerate(LINES):
            conn.execute(
                "INSERT INTO staged_claim_lines VALUES (?, ?, ?, ?, ?, ?, 'claims.csv', ?)",
                [claim, line, payer, served, cpt, charge, i + 1],
            )
            conn.execute(
                "INSERT INTO line_outcomes (claim_id, line_number, status, denied) VALUES (?, ?, ?, ?)",
                [claim, line, status or "pending", denied],
            )
    return path


@pytest.fixture
def warehouse_file(tmp_path: Path) -> Path:
    return build_warehouse(tmp_path / "warehouse.duckdb")
