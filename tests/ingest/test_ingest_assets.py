"""Ingest assets in Dagster, an extract in another style, X12 dispatch and reference overrides."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from landing_world import (
    ADJUSTMENT_COLUMNS,
    CLAIM_COLUMNS,
    REMIT_COLUMNS,
    adjustment_row,
    claim_row,
    query,
    remit_row,
    run_all,
    settings_for,
    write_csv,
)

from pipelines.defs.ingest.assets import (
    line_outcomes,
    reference_tables,
    staged_claim_lines,
    staged_notes,
    staged_remits,
)
from pipelines.defs.resources import build_resources
from pipelines.sources.landing import load_reference_tables

X12_FIXTURES = Path(__file__).parents[1] / "fixtures" / "x12"


def test_ingest_assets_materialize_in_process(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    write_csv(
        settings.landing / "claims" / "c.csv",
        [claim_row(), claim_row(line_number="2", units="zero")],
        CLAIM_COLUMNS,
    )
    write_csv(
        settings.landing / "claims" / "broken.csv",
        [claim_row(claim_id="CLM-9")],
        [c for c in CLAIM_COLUMNS if c != "rendering_npi"],
    )
    write_csv(settings.landing / "remits" / "r.csv", [remit_row(paid_amount="0")], REMIT_COLUMNS)
    write_csv(
        settings.landing / "remit_adjustments" / "a.csv",
        [adjustment_row(carc="4", amount="1250.00")],
        ADJUSTMENT_COLUMNS,
    )
    settings.warehouse.parent.mkdir(parents=True)
    result = dg.materialize(
        [reference_tables, staged_claim_lines, staged_remits, staged_notes, line_outcomes],
        resources=build_resources(settings),
    )
    assert result.success
    metadata = {
        event.asset_key.to_user_string(): {
            k: v.value for k, v in event.materialization.metadata.items()
        }
        for event in result.get_asset_materialization_events()
    }
    claims = metadata["staged_claim_lines"]
    assert {
        k: claims[k] for k in ("files_loaded", "files_rejected", "rows_read", "rows_loaded")
    } == {
        "files_loaded": 1,
        "files_rejected": 1,
        # The rejected file's row counts as read and quarantined (set aside with its file).
        "rows_read": 3,
        "rows_loaded": 1,
    }
    assert claims["rows_quarantined"] == 2
    assert claims["dagster/row_count"] == 1
    assert (
        claims["rejected_files"] == "claims/broken.csv: missing required column(s): rendering_npi"
    )
    assert metadata["staged_remits"]["dagster/row_count"] == 2
    assert metadata["staged_notes"]["files_loaded"] == 0
    assert metadata["line_outcomes"]["lines_denied"] == 1
    assert metadata["reference_tables"]["ref_icd10cm_rows"] > 90_000
    assert query(settings, "SELECT status, denial_category FROM line_outcomes") == [
        ("denied", "Billing Error: Invalid Code")
    ]


def test_an_extract_in_another_style_loads_with_the_same_guarantees(tmp_path: Path) -> None:
    """Parquet claims with typed columns, other payers, extra columns, JSONL notes, CSV remits."""
    settings = settings_for(tmp_path)
    claims = pl.DataFrame(
        {
            "CLAIM_ID": ["NW-0091", "NW-0091", "NW-0092", "NW-0093", "NW-0093"],
            "line_number": [1, 2, 1, 1, 1],
            "patient_id": ["MRN-88812", "MRN-88812", "MRN-10007", "MRN-55501", "MRN-55501"],
            "patient_birth_date": [date(1948, 11, 2)] * 2
            + [date(1979, 4, 30), date(1990, 1, 9)] * 1
            + [date(1990, 1, 9)],
            "payer_id": ["NWM01", "NWM01", "KESTREL", "WC-OR-7", "WC-OR-7"],
            "payer_name": [
                "Northwind Medicare Plan",
                "Northwind Medicare Plan",
                "Kestrel Mutual",
                "Oregon Workers Comp",
                "Oregon Workers Comp",
            ],
            "plan_type": [
                "medicare_advantage",
                "medicare_advantage",
                "commercial",
                "workers_comp",
                "workers_comp",
            ],
            "rendering_npi": ["1245319599", "1245319599", "1234567893", "1234567893", "1234567893"],
            "place_of_service": ["24", "24", "11", "22", "22"],
            "service_date": [date(2025, 1, 6)] * 2
            + [date(2025, 2, 11), date(2025, 3, 3), date(2025, 3, 3)],
            "submission_date": [date(2025, 1, 9)] * 2
            + [date(2025, 2, 12), date(2025, 3, 20), date(2025, 3, 20)],
            "cpt_code": ["64520", "77003", "64520", "64520", "64520"],
            "modifier_1": ["rt", None, "50", "LT", "LT"],
            "units": [1.0, 1.0, 1.0, 1.0, 1.0],
            "charge_amount": [
                Decimal("1830.50"),
                Decimal("240.00"),
                Decimal("2980.00"),
                Decimal("1500.00"),
                Decimal("1500.00"),
            ],
            "diagnosis_codes": [
                "G90.521;I73.00",
                "G90521",
                "g90.523",
                "S82.201A;G90.522",
                "G90.522",
            ],
            "facility_wing": ["B", "B", None, "C", "C"],
            "ingest_batch": [7, 7, 7, 7, 7],
        }
    )
    (settings.landing / "claims").mkdir(parents=True)
    claims.write_parquet(settings.landing / "claims" / "northwind_2025q1.parquet")
    write_csv(
        settings.landing / "remits" / "era.csv",
        [
            {
                "claim_id": "NW-0091",
                "line_number": "01",
                "adjudication_date": "2025-02-01",
                "allowed_amount": "212.10",
                "paid_amount": "169.68",
                "payer_trace": "T1",
            },
            {
                "claim_id": "NW-0092",
                "line_number": "1",
                "adjudication_date": "2025-03-01",
                "allowed_amount": "0",
                "paid_amount": "0",
                "payer_trace": "T2",
            },
        ],
    )
    write_csv(
        settings.landing / "remit_adjustments" / "era_adj.csv",
        [
            {
                "claim_id": "NW-0092",
                "line_number": "1",
                "group_code": "co",
                "carc": "197",
                "amount": "2980",
                "rarc": "N54",
            },
            {
                "claim_id": "NW-0091",
                "line_number": "1",
                "group_code": "CO",
                "carc": "45",
                "amount": "1618.40",
                "rarc": "",
            },
        ],
    )
    notes = settings.landing / "notes" / "notes_2025.jsonl"
    notes.parent.mkdir(parents=True)
    notes.write_text(
        "\n".join(
            json.dumps(n)
            for n in [
                {
                    "note_id": "PN-1",
                    "patient_id": "MRN-88812",
                    "encounter_id": None,
                    "note_date": "2025-01-06",
                    "note_type": "procedure",
                    "text": "Right L2-L3 lumbar sympathetic block, fluoroscopy, 10 mL 0.25% bupivacaine.",
                    "author_role": "MD",
                },
                {
                    "note_id": "PN-2",
                    "patient_id": "MRN-10007",
                    "note_date": "2025-02-11",
                    "note_type": "history_physical",
                    "text": "CRPS type I left foot, 14 weeks PT.",
                },
                {
                    "note_id": "PN-3",
                    "patient_id": "MRN-55501",
                    "note_date": "2025-13-01",
                    "note_type": "procedure",
                    "text": "date is impossible",
                },
            ]
        )
        + "\n\n"
    )
    summaries, outcomes = run_all(settings)
    for summary in summaries:
        assert summary.rows_loaded + summary.rows_quarantined == summary.rows_read
        assert summary.files_rejected == 0
    assert query(
        settings,
        "SELECT claim_id, line_number, modifier_1, diagnosis_codes, patient_age, charge_amount::VARCHAR, "
        "extra_columns FROM staged_claim_lines ORDER BY 1, 2",
    ) == [
        (
            "NW-0091",
            1,
            "RT",
            ["G90521", "I7300"],
            76,
            "1830.50",
            '{"facility_wing":"B","ingest_batch":"7"}',
        ),
        ("NW-0091", 2, None, ["G90521"], 76, "240.00", '{"facility_wing":"B","ingest_batch":"7"}'),
        (
            "NW-0092",
            1,
            "50",
            ["G90523"],
            45,
            "2980.00",
            '{"facility_wing":null,"ingest_batch":"7"}',
        ),
        (
            "NW-0093",
            1,
            "LT",
            ["S82201A", "G90522"],
            35,
            "1500.00",
            '{"facility_wing":"C","ingest_batch":"7"}',
        ),
    ]
    assert query(
        settings,
        "SELECT source_file, source_row, reason, column_name FROM quarantined_rows ORDER BY 1",
    ) == [
        ("claims/northwind_2025q1.parquet", 5, "duplicate_key", "claim_id/line_number"),
        ("notes/notes_2025.jsonl", 3, "bad_date", "note_date"),
    ]
    assert query(settings, "SELECT message FROM ingest_ledger WHERE path = 'remits/era.csv'") == [
        ("extra columns kept aside: payer_trace",)
    ]
    assert query(
        settings,
        "SELECT claim_id, status, primary_denial_carc FROM line_outcomes ORDER BY 1, line_number",
    ) == [
        ("NW-0091", "paid", None),
        ("NW-0091", "pending", None),
        ("NW-0092", "denied", "197"),
        ("NW-0093", "pending", None),
    ]
    assert outcomes.status_counts == {"paid": 1, "pending": 2, "denied": 1}
    assert query(settings, "SELECT note_id, source_row FROM staged_notes ORDER BY 1") == [
        ("PN-1", 1),
        ("PN-2", 2),
    ]


def test_x12_remits_in_the_remits_folder_go_through_the_x12_reader(tmp_path: Path) -> None:
    pytest.importorskip("pipelines.sources.x12")
    settings = settings_for(tmp_path)
    source = X12_FIXTURES / "835" / "lfh__managed-care.835"
    target = settings.landing / "remits" / "era_managed_care.835"
    target.parent.mkdir(parents=True)
    target.write_bytes(source.read_bytes())
    summaries, outcomes = run_all(settings)
    remits = summaries[1]
    assert remits.files_rejected == 0, remits.rejected_files
    assert remits.rows_loaded + remits.rows_quarantined == remits.rows_read > 0
    ledger = query(
        settings, "SELECT status, rows_read, rows_loaded, rows_quarantined FROM ingest_ledger"
    )
    assert ledger[0][0] == "loaded"
    held = query(settings, "SELECT count(*) FROM held_remits")[0][0]
    # no claim lines loaded: every remit waits set aside, matched again on a later run
    assert outcomes.unmatched_remits == held > 0
    assert query(settings, "SELECT count(*) FROM staged_remits") == [(0,)]


def test_reference_tables_follow_a_newer_file_in_the_reference_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    newer = tmp_path / "cms_2026q1"
    newer.mkdir()
    (newer / "modifier_codes.csv").write_text(
        "modifier,type,category\nRT,HCPCS,Side\nQ9,HCPCS,New\n"
    )
    monkeypatch.setenv("DENIAL_RISK_REFERENCE_DIR", str(newer))
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        summary = load_reference_tables(con)
        modifiers = con.execute(
            "SELECT modifier, source_file FROM ref_modifiers ORDER BY 1"
        ).fetchall()
    assert modifiers == [("Q9", "modifier_codes.csv"), ("RT", "modifier_codes.csv")]
    assert summary.sources["ref_modifiers"] == str(newer / "modifier_codes.csv")
    assert summary.rows["ref_pos"] == 99  # not overridden: the shipped file
    monkeypatch.delenv("DENIAL_RISK_REFERENCE_DIR")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert load_reference_tables(con).rows["ref_modifiers"] > 400
