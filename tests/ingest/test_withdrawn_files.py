"""A landing file deleted or replaced takes its rows out; a rejected file counts its rows."""

from __future__ import annotations

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


def test_a_deleted_or_renamed_file_takes_its_rows_out(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    landing = settings.landing
    write_csv(landing / "claims" / "a.csv", [claim_row(claim_id="A1"), claim_row(claim_id="A2")])
    write_csv(
        landing / "claims" / "b.csv",
        [claim_row(claim_id="B1"), claim_row(claim_id="B2", units="0")],
    )
    write_csv(landing / "remits" / "r.csv", [remit_row(claim_id="A1")], REMIT_COLUMNS)
    write_csv(landing / "remits" / "orphan.csv", [remit_row(claim_id="NOPE")], REMIT_COLUMNS)
    run_all(settings)
    assert query(settings, "SELECT count(*) FROM staged_claim_lines") == [(3,)]
    assert query(settings, "SELECT count(*) FROM quarantined_rows") == [(2,)]

    # b.csv is deleted; the orphan remit file is deleted; r.csv is replaced by a corrected file
    # under another name.
    (landing / "claims" / "b.csv").unlink()
    (landing / "remits" / "orphan.csv").unlink()
    (landing / "remits" / "r.csv").unlink()
    write_csv(
        landing / "remits" / "r_corrected.csv",
        [remit_row(claim_id="A2", paid_amount="0")],
        REMIT_COLUMNS,
    )
    summaries, outcomes = run_all(settings)
    assert query(settings, "SELECT claim_id FROM staged_claim_lines ORDER BY 1") == [
        ("A1",),
        ("A2",),
    ]
    assert query(settings, "SELECT claim_id, source_file FROM staged_remits") == [
        ("A2", "remits/r_corrected.csv")
    ]
    assert query(settings, "SELECT count(*) FROM quarantined_rows") == [(0,)]
    assert query(settings, "SELECT count(*) FROM held_remits") == [(0,)]
    assert query(
        settings,
        "SELECT path, status, rows_read, rows_loaded, rows_quarantined FROM ingest_ledger "
        "ORDER BY path",
    ) == [
        ("claims/a.csv", "loaded", 2, 2, 0),
        ("claims/b.csv", "withdrawn", 0, 0, 0),
        ("remits/orphan.csv", "withdrawn", 0, 0, 0),
        ("remits/r.csv", "withdrawn", 0, 0, 0),
        ("remits/r_corrected.csv", "loaded", 1, 1, 0),
    ]
    assert summaries[0].metadata()["files_withdrawn"] == 1
    assert summaries[1].metadata()["files_withdrawn"] == 2
    assert query(settings, "SELECT claim_id, status FROM line_outcomes ORDER BY 1") == [
        ("A1", "pending"),
        ("A2", "paid"),
    ]
    assert outcomes.unmatched_remits == 0

    # The file comes back unchanged: it loads again.
    write_csv(
        landing / "claims" / "b.csv",
        [claim_row(claim_id="B1"), claim_row(claim_id="B2", units="0")],
    )
    run_all(settings)
    assert query(
        settings, "SELECT status, rows_read FROM ingest_ledger WHERE path = 'claims/b.csv'"
    ) == [("loaded", 2)]
    assert query(settings, "SELECT count(*) FROM staged_claim_lines") == [(3,)]


def test_a_rejected_file_counts_its_rows(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    columns = [c for c in CLAIM_COLUMNS if c != "rendering_npi"]
    write_csv(settings.landing / "claims" / "no_npi.csv", [claim_row()] * 4, columns)
    summaries, _ = run_all(settings)
    assert query(
        settings, "SELECT status, rows_read, rows_loaded, rows_quarantined FROM ingest_ledger"
    ) == [("rejected", 4, 0, 4)]
    assert summaries[0].rows_read == 4 and summaries[0].rows_quarantined == 4


def test_corrected_file_under_another_name_replaces_the_rows_of_the_one_it_replaces(
    tmp_path: Path,
) -> None:
    """The withdrawal is applied before the corrected file loads: no duplicate_key quarantine."""
    import duckdb

    from pipelines.sources.landing.staging import ingest_folders

    landing = tmp_path / "landing"
    (landing / "claims").mkdir(parents=True)
    header = (
        "claim_id,line_number,patient_id,patient_birth_date,payer_id,plan_type,rendering_npi,"
        "place_of_service,service_date,submission_date,cpt_code,units,charge_amount,diagnosis_codes"
    )
    row = "C1,1,P1,1960-01-01,AET,commercial,1234567893,11,2026-01-05,2026-01-06,64520,{u},400.00,G90.529"
    (landing / "claims" / "claims_jan.csv").write_text(f"{header}\n{row.format(u=1)}\n")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        ingest_folders(con, landing, ("claims",), b"k" * 32)
        (landing / "claims" / "claims_jan.csv").unlink()
        (landing / "claims" / "claims_jan_corrected.csv").write_text(
            f"{header}\n{row.format(u=2)}\n"
        )
        ingest_folders(con, landing, ("claims",), b"k" * 32)
        staged = con.execute("SELECT source_file, units FROM staged_claim_lines").fetchall()
        quarantined = con.execute("SELECT count(*) FROM quarantined_rows").fetchall()[0][0]
    assert staged == [("claims/claims_jan_corrected.csv", 2.0)]
    assert quarantined == 0
