"""The optional rendering_provider_name: loaded when claims carry it, NULL otherwise, old warehouses altered."""

from __future__ import annotations

from pathlib import Path

import duckdb

from data_contracts.warehouse_schema import STAGED_CLAIM_LINES
from tests.ingest.landing_world import claim_row, query, run_all, settings_for, write_csv


def test_names_load_and_a_file_without_the_column_loads_null(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    named = [
        claim_row(claim_id="CLM-1", rendering_provider_name="KOVAC, KEIKO"),
        claim_row(claim_id="CLM-2", rendering_provider_name=""),
        claim_row(claim_id="CLM-3", rendering_provider_name="BAD\x07NAME"),
        claim_row(claim_id="CLM-4", rendering_provider_name="X" * 201),
    ]
    write_csv(settings.landing / "claims" / "named.csv", named)
    write_csv(settings.landing / "claims" / "older.csv", [claim_row(claim_id="CLM-5")])
    run_all(settings)
    rows = query(
        settings,
        "SELECT claim_id, rendering_provider_name FROM staged_claim_lines ORDER BY claim_id",
    )
    assert rows == [("CLM-1", "KOVAC, KEIKO"), ("CLM-2", None), ("CLM-5", None)]
    quarantined = query(
        settings,
        "SELECT source_row, reason, column_name FROM quarantined_rows ORDER BY source_row",
    )
    assert quarantined == [
        (3, "bad_text", "rendering_provider_name"),
        (4, "bad_text", "rendering_provider_name"),
    ]


def test_a_warehouse_from_before_the_column_gets_it(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    settings.warehouse.parent.mkdir(parents=True)
    old_ddl = STAGED_CLAIM_LINES.replace(",\n    rendering_provider_name VARCHAR", "")
    assert "rendering_provider_name" not in old_ddl
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(old_ddl)
    write_csv(
        settings.landing / "claims" / "named.csv",
        [claim_row(rendering_provider_name="ELLIS, ELENA")],
    )
    run_all(settings)
    columns = [
        r[0]
        for r in query(
            settings,
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'staged_claim_lines' ORDER BY ordinal_position",
        )
    ]
    assert columns[-1] == "rendering_provider_name"
    assert query(settings, "SELECT rendering_provider_name FROM staged_claim_lines") == [
        ("ELLIS, ELENA",)
    ]
