"""An unsent line without a plan type gets the one it would get once loaded (issue 21).

The landing loader fills an empty plan type from the practice's payer table
(`<landing>/reference/payer_plan_types.csv`) or quarantines the line as `missing_plan_type`;
the pre-submission check reads the same table through the same reader and must agree.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from data_contracts.payer_plan_types import PAYER_PLAN_TYPES_ENV
from models.presubmission.validate import (
    RULE_REFERENCE_TABLES,
    as_text_rows,
    check_rows,
    prepare_rule_database,
)
from pipelines.sources.landing import ingest_claims, load_reference_tables
from tests.ingest.landing_world import CLAIM_COLUMNS, claim_row, settings_for, write_csv

KEY = b"k" * 32
ROWS = [
    claim_row(claim_id="LISTED", payer_id="PAYER-A", plan_type=""),
    claim_row(claim_id="UNLISTED", payer_id="PAYER-Z", plan_type=""),
    claim_row(claim_id="ON-LINE", payer_id="PAYER-A", plan_type="medicaid"),
]


def _check(warehouse: Path) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """Plan types of accepted rows and (reason, field) of rejected ones, by claim id."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        reference = {name: con.sql(f"SELECT * FROM {name}").pl() for name in RULE_REFERENCE_TABLES}
    with duckdb.connect(":memory:") as rules_db:
        prepare_rule_database(rules_db, reference, KEY)
        checked = check_rows(rules_db, as_text_rows(pl.DataFrame(ROWS), "claims"), "claims")
    staged = dict(checked.staged.select("claim_id", "plan_type").iter_rows())
    rejected = {r["claim_id"]: (r["reason"], r["field"]) for r in checked.rejected.to_dicts()}
    return staged, rejected


def test_presubmission_fills_the_plan_type_as_ingestion_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PAYER_PLAN_TYPES_ENV, raising=False)
    settings = settings_for(tmp_path)
    table = settings.landing / "reference" / "payer_plan_types.csv"
    table.parent.mkdir(parents=True)
    table.write_text("payer_id,plan_type\nPAYER-A,Medicare_Advantage\n")
    write_csv(settings.landing / "claims" / "c.csv", ROWS, CLAIM_COLUMNS)
    settings.warehouse.parent.mkdir(parents=True)
    settings.phi_key_file.write_bytes(KEY)
    with duckdb.connect(str(settings.warehouse)) as con:
        load_reference_tables(con, settings.payer_plan_types)
        ingest_claims(con, settings)
        loaded = dict(con.execute("SELECT claim_id, plan_type FROM staged_claim_lines").fetchall())
        quarantined = {
            claim: (reason, column)
            for claim, reason, column in con.execute(
                "SELECT json_extract_string(raw_record, '$.claim_id'), reason, column_name "
                "FROM quarantined_rows"
            ).fetchall()
        }
    assert loaded == {"LISTED": "medicare_advantage", "ON-LINE": "medicaid"}
    assert quarantined == {"UNLISTED": ("missing_plan_type", "plan_type")}

    staged, rejected = _check(settings.warehouse)
    assert (staged, rejected) == (loaded, quarantined)

    # A table named by DENIAL_RISK_PAYER_PLAN_TYPES is read at once, with ingestion's reader
    # (plan types in any case; an unknown plan type is skipped, as at load).
    newer = tmp_path / "newer_payers.csv"
    newer.write_text("payer_id,plan_type\nPAYER-Z,COMMERCIAL\nPAYER-A,self_pay\n")
    monkeypatch.setenv(PAYER_PLAN_TYPES_ENV, str(newer))
    staged, rejected = _check(settings.warehouse)
    assert staged == {"UNLISTED": "commercial", "ON-LINE": "medicaid"}
    assert rejected == {"LISTED": ("missing_plan_type", "plan_type")}
