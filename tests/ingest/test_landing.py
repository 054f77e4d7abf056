"""Landing folder → staged tables: planted defects, ledger, idempotence, matching, labels, privacy."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import duckdb
from landing_world import (
    ADJUSTMENT_COLUMNS,
    CLAIM_COLUMNS,
    REMIT_COLUMNS,
    SECRET_PATIENTS,
    adjustment_row,
    claim_row,
    query,
    remit_row,
    run_all,
    settings_for,
    write_csv,
)

from pipelines.sources.privacy import load_phi_key, patient_key

# source_row → (reason, column) planted in one claims file; row 1 and 2 are valid.
PLANTED: dict[int, tuple[str, str | None]] = {
    3: ("bad_code", "cpt_code"),
    4: ("bad_value", "charge_amount"),
    5: ("bad_date", "service_date"),
    6: ("bad_value", "units"),
    7: ("bad_npi_check_digit", "rendering_npi"),
    8: ("missing_required", "claim_id"),
    9: ("bad_code", "modifier_2"),
    10: ("bad_code", "place_of_service"),
    11: ("bad_type", "units"),
    12: ("bad_date", "submission_date"),
    13: ("duplicate_key", "claim_id/line_number"),
    14: ("unparsable_line", None),
    15: ("bad_code", "diagnosis_codes"),
    16: ("bad_type", "charge_amount"),
    17: ("bad_date", "patient_birth_date"),
    18: ("bad_value", "plan_type"),
    19: ("missing_required", "patient_id"),
    20: ("unparsable_line", None),
}


def _defect_rows() -> list[dict[str, str]]:
    def line(n: int, **overrides: str) -> dict[str, str]:
        return claim_row(**{"claim_id": f"CLM-{n}", **overrides})

    return [
        line(1),
        line(2, modifier_1="RT", diagnosis_codes="G90521"),
        line(3, cpt_code="6452"),
        line(4, charge_amount="-5.00"),
        line(5, service_date="2024-02-30"),
        line(6, units="0"),
        line(7, rendering_npi="1234567890"),
        line(8, claim_id=""),
        line(9, modifier_2="ZZ"),
        line(10, place_of_service="00"),
        line(11, units="one"),
        line(12, submission_date="2024-03-01"),
        line(1),  # same claim_id + line_number as row 1
        {},  # placeholder: replaced by an unparsable line
        line(15, diagnosis_codes="G90.522;XYZ.99"),
        line(16, charge_amount="$1,250"),
        line(17, patient_birth_date="1850-01-01"),
        line(18, plan_type="self_pay"),
        line(19, patient_id=" "),
        {},
    ]


def _write_defect_file(path: Path) -> None:
    write_csv(path, [r for r in _defect_rows() if r], CLAIM_COLUMNS)
    lines = path.read_text().splitlines()
    # Record 14: two fields too few; record 20: an unterminated quote at the end of the file.
    lines.insert(14, f"CLM-14,1,ENC-14,{SECRET_PATIENTS[1]},1961-07-15,F")
    lines.append(f'CLM-20,1,ENC-20,{SECRET_PATIENTS[2]},"1961-07-15,F,PAYER-A')
    path.write_text("\n".join(lines) + "\n")


def test_each_planted_defect_is_quarantined_with_its_reason_and_column(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    _write_defect_file(settings.landing / "claims" / "defects.csv")
    run_all(settings)
    quarantined = {
        row: (reason, column)
        for row, reason, column in query(
            settings, "SELECT source_row, reason, column_name FROM quarantined_rows"
        )
    }
    assert quarantined == PLANTED
    loaded = query(settings, "SELECT claim_id, source_row FROM staged_claim_lines ORDER BY 2")
    assert loaded == [("CLM-1", 1), ("CLM-2", 2)]
    assert query(
        settings, "SELECT rows_read, rows_loaded, rows_quarantined, status FROM ingest_ledger"
    ) == [(20, 2, 18, "loaded")]


def test_every_npi_on_the_line_is_checked_and_the_failing_one_named(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    rows = [
        claim_row(claim_id="OK-BOTH", billing_npi="1457329989"),
        claim_row(claim_id="OK-NO-BILLING", billing_npi=""),
        claim_row(claim_id="BAD-BILLING", billing_npi="1234567890"),
        claim_row(claim_id="SHORT-BILLING", billing_npi="123456789"),
        claim_row(claim_id="BAD-RENDERING", billing_npi="1457329989", rendering_npi="1457329981"),
    ]
    write_csv(settings.landing / "claims" / "npis.csv", rows, CLAIM_COLUMNS)
    run_all(settings)
    quarantined = query(
        settings,
        "SELECT json_extract_string(raw_record, '$.claim_id'), reason, column_name, "
        "json_extract_string(raw_record, '$.' || column_name) FROM quarantined_rows ORDER BY 1",
    )
    assert quarantined == [
        ("BAD-BILLING", "bad_npi_check_digit", "billing_npi", "1234567890"),
        ("BAD-RENDERING", "bad_npi_check_digit", "rendering_npi", "1457329981"),
        ("SHORT-BILLING", "bad_code", "billing_npi", "123456789"),
    ]
    assert query(
        settings, "SELECT claim_id, billing_npi FROM staged_claim_lines ORDER BY claim_id"
    ) == [("OK-BOTH", "1457329989"), ("OK-NO-BILLING", None)]


def test_a_file_with_no_rows_is_rejected_not_loaded(tmp_path: Path) -> None:
    import polars as pl

    settings = settings_for(tmp_path)
    claims = settings.landing / "claims"
    write_csv(claims / "a_good.csv", [claim_row()], CLAIM_COLUMNS)
    write_csv(claims / "b_good.csv", [claim_row(claim_id="CLM-2")], CLAIM_COLUMNS)
    # Header only, between two files that would be staged in one run with it.
    write_csv(claims / "ab_header_only.csv", [], CLAIM_COLUMNS)
    pl.DataFrame({c: pl.Series([], dtype=pl.String) for c in CLAIM_COLUMNS}).write_parquet(
        claims / "c_no_rows.parquet"
    )
    run_all(settings)
    ledger = {
        path: (status, read, message)
        for path, status, read, message in query(
            settings, "SELECT path, status, rows_read, message FROM ingest_ledger"
        )
    }
    no_rows = "no rows: the file holds a header (or a schema) only"
    assert ledger == {
        "claims/a_good.csv": ("loaded", 1, None),
        "claims/ab_header_only.csv": ("rejected", 0, no_rows),
        "claims/b_good.csv": ("loaded", 1, None),
        "claims/c_no_rows.parquet": ("rejected", 0, no_rows),
    }
    assert query(settings, "SELECT source_file, reason FROM quarantined_rows ORDER BY 1") == [
        ("claims/ab_header_only.csv", "rejected_file"),
        ("claims/c_no_rows.parquet", "rejected_file"),
    ]


def test_values_are_typed_and_normalised(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    write_csv(
        settings.landing / "claims" / "c.csv",
        [claim_row(modifier_1="lt", place_of_service="1", diagnosis_codes=" g90.522 ; M79604 ;")],
        CLAIM_COLUMNS,
    )
    run_all(settings)
    row = query(
        settings,
        "SELECT modifier_1, place_of_service, diagnosis_codes, primary_diagnosis, patient_age, "
        "charge_amount::VARCHAR, units, service_date::VARCHAR, extra_columns FROM staged_claim_lines",
    )
    assert row == [
        ("LT", "01", ["G90522", "M79604"], "G90522", 62, "1250.00", 1.0, "2024-03-04", None)
    ]


def test_every_file_balances_and_a_file_missing_a_column_is_rejected(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    _write_defect_file(settings.landing / "claims" / "a_defects.csv")
    write_csv(
        settings.landing / "claims" / "b_no_cpt.csv",
        [claim_row(claim_id="CLM-B")],
        [c for c in CLAIM_COLUMNS if c not in ("cpt_code", "units")],
    )
    write_csv(
        settings.landing / "claims" / "c_good.csv", [claim_row(claim_id="CLM-C")], CLAIM_COLUMNS
    )
    write_csv(
        settings.landing / "remits" / "r.csv",
        [remit_row(claim_id="CLM-C"), remit_row(claim_id="CLM-C", paid_amount="-1")],
        REMIT_COLUMNS,
    )
    summaries, _ = run_all(settings)
    claims = summaries[0]
    assert (claims.files_loaded, claims.files_rejected) == (2, 1)
    assert "b_no_cpt.csv" in claims.rejected_files
    ledger = {
        path: (status, read, loaded, quarantined, message)
        for path, status, read, loaded, quarantined, message in query(
            settings,
            "SELECT path, status, rows_read, rows_loaded, rows_quarantined, message FROM ingest_ledger",
        )
    }
    status, _, _, _, message = ledger["claims/b_no_cpt.csv"]
    assert status == "rejected"
    assert message == "missing required column(s): cpt_code, units"
    per_file = dict(
        query(settings, "SELECT source_file, count(*) FROM quarantined_rows GROUP BY source_file")
    )
    staged = dict(
        query(
            settings,
            "SELECT source_file, count(*) FROM (SELECT source_file FROM staged_claim_lines "
            "UNION ALL SELECT source_file FROM staged_remits) GROUP BY source_file",
        )
    )
    for path, (status, read, loaded, quarantined, _) in ledger.items():
        assert loaded + quarantined == read, path
        # A rejected file is quarantined whole: one file-level entry for all its rows.
        assert per_file.get(path, 0) == (1 if status == "rejected" else quarantined), path
        assert staged.get(path, 0) == loaded, path
    assert ledger["claims/b_no_cpt.csv"][1:4] == (1, 0, 1)
    assert query(
        settings,
        "SELECT source_row, reason, raw_record FROM quarantined_rows "
        "WHERE source_file = 'claims/b_no_cpt.csv'",
    ) == [(None, "rejected_file", "missing required column(s): cpt_code, units")]
    assert ledger["claims/c_good.csv"][:4] == ("loaded", 1, 1, 0)
    assert ledger["remits/r.csv"][:4] == ("loaded", 2, 1, 1)


def _snapshot(settings) -> dict[str, list[tuple]]:
    tables = {
        "staged_claim_lines": "*",
        "staged_remits": "*",
        "staged_remit_adjustments": "*",
        "staged_notes": "*",
        "line_outcomes": "*",
        "quarantined_rows": "* EXCLUDE (quarantined_at)",
        "ingest_ledger": "* EXCLUDE (last_seen)",
    }
    return {
        t: sorted(query(settings, f"SELECT {cols} FROM {t}"), key=repr)
        for t, cols in tables.items()
    }


def _small_world(settings) -> None:
    landing = settings.landing
    write_csv(
        landing / "claims" / "claims.csv",
        [claim_row(), claim_row(line_number="2", modifier_1="RT"), claim_row(claim_id="CLM-2")],
        CLAIM_COLUMNS,
    )
    write_csv(
        landing / "remits" / "remits.csv", [remit_row(), remit_row(line_number="2")], REMIT_COLUMNS
    )
    write_csv(
        landing / "remit_adjustments" / "adj.csv",
        [adjustment_row(), adjustment_row(line_number="2", carc="45")],
        ADJUSTMENT_COLUMNS,
    )


def test_loading_twice_yields_identical_tables(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    _small_world(settings)
    _write_defect_file(settings.landing / "claims" / "defects.csv")
    run_all(settings)
    first = _snapshot(settings)
    summaries, _ = run_all(settings)
    assert _snapshot(settings) == first
    assert all(s.files_loaded == 0 and s.rows_read == 0 for s in summaries)
    assert summaries[0].files_skipped == 2


def test_a_changed_file_replaces_its_rows_and_a_copy_is_skipped(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    path = settings.landing / "claims" / "claims.csv"
    write_csv(
        path,
        [claim_row(), claim_row(line_number="2"), claim_row(line_number="3", units="0")],
        CLAIM_COLUMNS,
    )
    run_all(settings)
    write_csv(path, [claim_row(charge_amount="999.00"), claim_row(line_number="4")], CLAIM_COLUMNS)
    (settings.landing / "claims" / "copy_of_claims.csv").write_bytes(path.read_bytes())
    summaries, _ = run_all(settings)
    rows = query(
        settings, "SELECT line_number, charge_amount::VARCHAR FROM staged_claim_lines ORDER BY 1"
    )
    assert rows == [(1, "999.00"), (4, "1250.00")]
    assert query(settings, "SELECT count(*) FROM quarantined_rows") == [(0,)]
    ledger = dict(query(settings, "SELECT path, status FROM ingest_ledger"))
    assert ledger == {
        "claims/claims.csv": "loaded",
        "claims/copy_of_claims.csv": "skipped_duplicate",
    }
    assert summaries[0].files_skipped == 1


def test_duplicate_key_across_files_keeps_the_first_loaded(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    write_csv(
        settings.landing / "claims" / "a.csv", [claim_row(charge_amount="100.00")], CLAIM_COLUMNS
    )
    write_csv(
        settings.landing / "claims" / "b.csv",
        [claim_row(charge_amount="200.00"), claim_row(line_number="2")],
        CLAIM_COLUMNS,
    )
    run_all(settings)
    assert query(
        settings,
        "SELECT source_file, line_number, charge_amount::VARCHAR FROM staged_claim_lines ORDER BY 2",
    ) == [("claims/a.csv", 1, "100.00"), ("claims/b.csv", 2, "1250.00")]
    assert query(settings, "SELECT source_file, source_row, reason FROM quarantined_rows") == [
        ("claims/b.csv", 1, "duplicate_key")
    ]


def test_remits_before_claims_are_matched_on_a_later_run(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    write_csv(settings.landing / "remits" / "r.csv", [remit_row(paid_amount="0")], REMIT_COLUMNS)
    write_csv(
        settings.landing / "remit_adjustments" / "a.csv",
        [adjustment_row(carc="197", amount="1250.00", rarc="N54")],
        ADJUSTMENT_COLUMNS,
    )
    _, outcomes = run_all(settings)
    assert (outcomes.unmatched_remits, outcomes.unmatched_adjustments) == (1, 1)
    assert query(settings, "SELECT record_kind FROM unmatched_remits ORDER BY 1") == [
        ("adjustment",),
        ("remit",),
    ]
    write_csv(settings.landing / "claims" / "c.csv", [claim_row()], CLAIM_COLUMNS)
    _, outcomes = run_all(settings)
    assert (outcomes.unmatched_remits, outcomes.unmatched_adjustments) == (0, 0)
    assert query(
        settings, "SELECT status, denied, primary_denial_carc, rarcs FROM line_outcomes"
    ) == [("denied", True, "197", ["N54"])]


def test_remits_without_line_number_are_matched_by_procedure_modifiers_and_date(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path)
    write_csv(
        settings.landing / "claims" / "c.csv",
        [
            claim_row(line_number="1", modifier_1="LT"),
            claim_row(line_number="2", modifier_1="RT", modifier_2="59"),
            claim_row(line_number="3", cpt_code="77003", modifier_1=""),
        ],
        CLAIM_COLUMNS,
    )
    match = ["match_cpt_code", "match_modifiers", "match_service_date"]
    write_csv(
        settings.landing / "remits" / "x12_like.csv",
        [
            remit_row(
                line_number="",
                match_cpt_code="64520",
                match_modifiers="59;RT",
                match_service_date="2024-03-04",
                paid_amount="0",
            ),
            remit_row(
                line_number="",
                match_cpt_code="64520",
                match_modifiers="LT",
                match_service_date="2024-03-04",
            ),
            remit_row(
                line_number="",
                match_cpt_code="64520",
                match_modifiers="LT",
                match_service_date="2024-03-05",
            ),
        ],
        REMIT_COLUMNS + match,
    )
    write_csv(
        settings.landing / "remit_adjustments" / "x12_like.csv",
        [
            adjustment_row(
                line_number="",
                carc="236",
                amount="1250.00",
                match_cpt_code="64520",
                match_modifiers="59;RT",
                match_service_date="2024-03-04",
            ),
        ],
        ADJUSTMENT_COLUMNS + match,
    )
    _, outcomes = run_all(settings)
    assert query(
        settings, "SELECT line_number, match_modifiers FROM staged_remits ORDER BY source_row"
    ) == [
        (2, "59;RT"),
        (1, "LT"),
    ]
    # The remit no claim line matches is set aside (quarantined, retried every run).
    assert query(settings, "SELECT line_number, source_row FROM held_remits") == [(None, 3)]
    assert query(settings, "SELECT source_row, reason, column_name FROM quarantined_rows") == [
        (3, "unmatched_line", "line_number")
    ]
    assert query(settings, "SELECT line_number FROM staged_remit_adjustments") == [(2,)]
    assert outcomes.status_counts == {"paid": 1, "denied": 1, "pending": 1}
    assert outcomes.unmatched_remits == 1


def test_label_rules_denied_patient_liability_paid_and_pending(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    write_csv(
        settings.landing / "claims" / "c.csv",
        [claim_row(line_number=str(n)) for n in range(1, 7)],
        CLAIM_COLUMNS,
    )
    write_csv(
        settings.landing / "remits" / "r.csv",
        [
            remit_row(line_number="1", paid_amount="0"),  # CO-50 + CO-45 → denied
            remit_row(line_number="2", paid_amount="0"),  # PR-1 deductible + CO-45 → liability
            remit_row(line_number="3", paid_amount="248.00"),  # paid
            remit_row(line_number="5", paid_amount="0"),  # OA-18 duplicate, reprocessed later
            remit_row(line_number="5", paid_amount="248.00", adjudication_date="2024-05-01"),
            remit_row(line_number="6", paid_amount="0", adjudication_date="2024-03-07"),
        ],
        REMIT_COLUMNS,
    )
    write_csv(
        settings.landing / "remit_adjustments" / "a.csv",
        [
            adjustment_row(line_number="1", carc="45", amount="200.00"),
            adjustment_row(line_number="1", carc="50", amount="1050.00", rarc="N115;M15"),
            adjustment_row(line_number="2", group_code="PR", carc="1", amount="310.00"),
            adjustment_row(line_number="2", carc="45", amount="940.00"),
            adjustment_row(line_number="3", carc="45", amount="940.00"),
            adjustment_row(line_number="5", group_code="OA", carc="18", amount="1250.00"),
            adjustment_row(line_number="6", carc="45", amount="1240.00"),
            adjustment_row(line_number="6", carc="253", amount="10.00"),
        ],
        ADJUSTMENT_COLUMNS,
    )
    _, summary = run_all(settings)
    # line 6 was adjudicated a day before it was submitted: counted, still labelled
    assert summary.adjudicated_before_submission == 1
    outcomes = query(
        settings,
        "SELECT line_number, status, denied, denial_carcs, primary_denial_carc, denial_group_code, "
        "denial_category, rarcs FROM line_outcomes ORDER BY 1",
    )
    assert outcomes == [
        (1, "denied", True, ["50"], "50", "CO", "Medical Necessity", ["M15", "N115"]),
        (2, "patient_liability", False, None, None, None, None, None),
        (3, "paid", False, None, None, None, None, None),
        (4, "pending", None, None, None, None, None, None),
        # the latest remit of line 5 pays: OA-18 from the first pass does not make it denied
        (5, "paid", False, None, None, None, None, None),
        # CO-45 + CO-253 only: zero paid by contract and sequestration is not a denial
        (6, "paid", False, None, None, None, None, None),
    ]


def test_patient_ids_and_birth_dates_never_reach_the_warehouse(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    _write_defect_file(settings.landing / "claims" / "defects.csv")
    write_csv(
        settings.landing / "claims" / "extra.csv",
        [
            claim_row(
                claim_id="CLM-X",
                patient_id=SECRET_PATIENTS[2],
                patient_name="Jane Roe",
                clinic="East",
            )
        ],
        [*CLAIM_COLUMNS, "patient_name", "clinic"],
    )
    notes = settings.landing / "notes" / "n.jsonl"
    notes.parent.mkdir(parents=True)
    notes.write_text(
        f'{{"note_id": "N-1", "patient_id": "{SECRET_PATIENTS[0]}", "note_date": "2024-03-04", '
        '"note_type": "procedure", "text": "Left L2 sympathetic block under fluoroscopy."}\n'
        f'{{"note_id": "N-2", "patient_id": "{SECRET_PATIENTS[1]}", "note_date": "2024-03-04", broken\n'
    )
    run_all(settings)
    secrets = (*SECRET_PATIENTS, "1961-07-15", "Jane Roe")
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        tables = [
            t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        ]
        assert "staged_claim_lines" in tables
        for table in tables:
            text = con.execute(
                f"SELECT string_agg(CAST(COLUMNS(*) AS VARCHAR), '|') FROM {table}"
            ).fetchall()
            for secret in secrets:
                assert secret not in repr(text), (table, secret)
        keys = {k for (k,) in con.execute("SELECT patient_key FROM staged_claim_lines").fetchall()}
    key = load_phi_key(settings.phi_key_file)
    assert keys == {patient_key(SECRET_PATIENTS[0], key), patient_key(SECRET_PATIENTS[2], key)}
    ledger = dict(query(settings, "SELECT path, message FROM ingest_ledger"))
    assert ledger["claims/extra.csv"] == (
        "extra columns kept aside: clinic; extra columns dropped as possible identifiers: patient_name"
    )
    assert query(
        settings, "SELECT extra_columns FROM staged_claim_lines WHERE claim_id = 'CLM-X'"
    ) == [('{"clinic":"East"}',)]
    assert query(
        settings,
        "SELECT note_id, reason FROM staged_notes, quarantined_rows "
        "WHERE quarantined_rows.folder = 'notes'",
    ) == [("N-1", "unparsable_line")]


def test_an_unterminated_quote_never_swallows_the_following_lines(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    path = settings.landing / "claims" / "quoted.csv"
    path.parent.mkdir(parents=True)
    rows = [claim_row(claim_id=f"CLM-{n}", payer_name="") for n in range(1, 401)]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CLAIM_COLUMNS, quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(rows[:49])
        handle.write('CLM-X,1,"never closed\r\n')
        writer.writerows(rows[49:])
    summaries, _ = run_all(settings)
    assert (summaries[0].rows_read, summaries[0].rows_loaded) == (401, 400)
    assert query(settings, "SELECT source_row, reason FROM quarantined_rows") == [
        (50, "unparsable_line")
    ]
    assert query(settings, "SELECT min(source_row), max(source_row) FROM staged_claim_lines") == [
        (1, 401)
    ]
    assert query(
        settings, "SELECT source_row FROM staged_claim_lines WHERE claim_id = 'CLM-50'"
    ) == [(51,)]


def test_csv_notes_with_paragraphs_keep_their_line_breaks(tmp_path: Path) -> None:
    # The text is read back, so it is kept past its elements (DENIAL_RISK_KEEP_NOTE_TEXT=1).
    settings = replace(settings_for(tmp_path), keep_note_text=True)
    text = "Procedure: left L2 lumbar sympathetic block.\r\n\r\nPlan: follow up in 2 weeks.\r\n"
    notes = [
        {
            "note_id": "N-1",
            "patient_id": SECRET_PATIENTS[0],
            "encounter_id": "ENC-1",
            "note_date": "2024-03-04",
            "note_type": "procedure",
            "text": text,
        },
        {
            "note_id": "N-2",
            "patient_id": SECRET_PATIENTS[1],
            "encounter_id": "",
            "note_date": "2024-03-05",
            "note_type": "follow_up",
            "text": "Relief 70%.",
        },
    ]
    path = write_csv(settings.landing / "notes" / "notes.csv", notes)
    path.write_bytes(path.read_bytes() + b"\r\n")
    summaries, _ = run_all(settings)
    assert (summaries[2].rows_read, summaries[2].rows_loaded) == (2, 2)
    stored = query(settings, "SELECT note_id, text, source_row FROM staged_notes ORDER BY 1")
    assert stored == [("N-1", text.strip(), 1), ("N-2", "Relief 70%.", 2)]
