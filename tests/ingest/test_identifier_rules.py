"""Identifiers and free text are checked for length and characters at ingestion."""

from __future__ import annotations

import json
from pathlib import Path

from landing_world import (
    CLAIM_COLUMNS,
    REMIT_COLUMNS,
    claim_row,
    query,
    remit_row,
    run_all,
    settings_for,
    write_csv,
)

from data_contracts.row_rules import MAX_IDENTIFIER_LENGTH

# claim_id (or column) → expected (reason, column); CLM-OK* load.
CLAIMS = [
    (claim_row(claim_id="CLM-OK1"), None),
    (claim_row(claim_id='=HYPERLINK("http://x")'), ("bad_identifier", "claim_id")),
    (claim_row(claim_id="+CLM"), ("bad_identifier", "claim_id")),
    (claim_row(claim_id="-CLM"), ("bad_identifier", "claim_id")),
    (claim_row(claim_id="@CLM"), ("bad_identifier", "claim_id")),
    (claim_row(claim_id="C" * (MAX_IDENTIFIER_LENGTH + 1)), ("bad_identifier", "claim_id")),
    (claim_row(claim_id="CLM-3", payer_id="=cmd|' /C calc'!A0"), ("bad_identifier", "payer_id")),
    (claim_row(claim_id="CLM-4", payer_id="P\x00X"), ("bad_identifier", "payer_id")),
    (claim_row(claim_id="CLM-5", payer_id="P" * 81), ("bad_identifier", "payer_id")),
    (claim_row(claim_id="CLM-6", encounter_id="@ENC"), ("bad_identifier", "encounter_id")),
    (
        claim_row(claim_id="CLM-7", prior_auth_number="PA\x1b1"),
        ("bad_identifier", "prior_auth_number"),
    ),
    (claim_row(claim_id="CLM-8", payer_name="Alpha\x07Health"), ("bad_text", "payer_name")),
    (claim_row(claim_id="CLM-9", payer_name="A" * 201), ("bad_text", "payer_name")),
    (claim_row(claim_id="CLM-OK2", payer_id="MCR-J15", payer_name="=Alpha (formula-like)"), None),
]


def test_hostile_identifiers_and_text_are_quarantined_with_their_reason(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    write_csv(settings.landing / "claims" / "c.csv", [r for r, _ in CLAIMS], CLAIM_COLUMNS)
    write_csv(
        settings.landing / "remits" / "r.csv",
        [remit_row(claim_id="CLM-OK1"), remit_row(claim_id="=1+1")],
        REMIT_COLUMNS,
    )
    write_csv(
        settings.landing / "notes" / "n.csv",
        [
            {
                "note_id": "N-1",
                "patient_id": "P1",
                "encounter_id": "",
                "note_date": "2024-03-04",
                "note_type": "procedure",
                "text": "Block at L2.\tTab and\r\nlines are fine.",
            },
            {
                "note_id": "N-2",
                "patient_id": "P1",
                "encounter_id": "",
                "note_date": "2024-03-04",
                "note_type": "procedure",
                "text": "escape \x1b[31m",
            },
            {
                "note_id": "+N-3",
                "patient_id": "P1",
                "encounter_id": "",
                "note_date": "2024-03-04",
                "note_type": "procedure",
                "text": "fine",
            },
        ],
    )
    run_all(settings)
    got = query(
        settings,
        "SELECT folder, source_row, reason, column_name FROM quarantined_rows ORDER BY 1, 2",
    )
    expected = [("claims", row, *want) for row, (_, want) in enumerate(CLAIMS, start=1) if want] + [
        ("notes", 2, "bad_text", "text"),
        ("notes", 3, "bad_identifier", "note_id"),
    ]
    expected += [("remits", 2, "bad_identifier", "claim_id")]
    assert got == sorted(expected)
    assert [
        r[0] for r in query(settings, "SELECT claim_id FROM staged_claim_lines ORDER BY 1")
    ] == [
        "CLM-OK1",
        "CLM-OK2",
    ]
    # The quarantined record keeps the offending value for the analyst, as text in JSON.
    raw = query(
        settings,
        "SELECT raw_record FROM quarantined_rows WHERE source_row = 2 AND folder = 'claims'",
    )[0][0]
    assert json.loads(raw)["claim_id"] == '=HYPERLINK("http://x")'
