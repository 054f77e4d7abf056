"""Remit lines are labelled and counted into KPIs from remittances alone (issue 21)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.defs.kpis.monthly import write_remit_denial_kpis
from pipelines.sources.landing import (
    build_line_outcomes,
    build_remit_line_outcomes,
    ingest_claims,
    ingest_folders,
    ingest_remit_files,
    load_reference_tables,
)
from pipelines.sources.synthetic import generate_world
from pipelines.sources.x12 import write_x12_landing
from tests.ingest.landing_world import (
    ADJUSTMENT_COLUMNS,
    CLAIM_COLUMNS,
    REMIT_COLUMNS,
    adjustment_row,
    claim_row,
    remit_row,
    settings_for,
    write_csv,
)


def _flat_remits(landing: Path) -> None:
    write_csv(
        landing / "remits" / "r.csv",
        [
            remit_row(),  # paid 248 after CO-45
            remit_row(claim_id="CLM-2", paid_amount="0"),  # CO-197: no authorization
            remit_row(claim_id="CLM-3", paid_amount="0"),  # PR-1 only: the patient's share
            # CLM-4 line 1 adjudicated twice: the later remit (a denial) counts.
            remit_row(claim_id="CLM-4", adjudication_date="2024-04-02"),
            remit_row(claim_id="CLM-4", adjudication_date="2024-05-06", paid_amount="0"),
        ],
        REMIT_COLUMNS,
    )
    write_csv(
        landing / "remit_adjustments" / "a.csv",
        [
            adjustment_row(),
            adjustment_row(claim_id="CLM-2", carc="197", amount="1250.00", rarc="N54"),
            adjustment_row(claim_id="CLM-3", group_code="PR", carc="1", amount="310.00"),
            adjustment_row(claim_id="CLM-4", group_code="CO", carc="16", amount="1250.00"),
        ],
        ADJUSTMENT_COLUMNS,
    )


def test_remits_without_any_claim_are_labelled_and_counted(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    _flat_remits(settings.landing)
    settings.warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse)) as con:
        ingest_remit_files(con, settings)
        summary = build_remit_line_outcomes(con)
        rows = con.execute(
            "SELECT claim_id, adjudication_date::VARCHAR, status, primary_denial_carc, "
            "denial_category IS NOT NULL, adjustments, rarcs, matched_claim_line, latest "
            "FROM remit_line_outcomes ORDER BY claim_id, adjudication_date"
        ).fetchall()
        kpis = write_remit_denial_kpis(con)
        months = con.execute(
            "SELECT adjudication_month::VARCHAR, remit_lines, denied_lines, lines_64520 "
            "FROM remit_denial_kpis ORDER BY 1"
        ).fetchall()

    assert rows == [
        ("CLM-1", "2024-04-02", "paid", None, False, ["CO-45"], None, False, True),
        ("CLM-2", "2024-04-02", "denied", "197", True, ["CO-197"], ["N54"], False, True),
        ("CLM-3", "2024-04-02", "patient_liability", None, False, ["PR-1"], None, False, True),
        # A flat adjustment belongs to its line's latest remit.
        ("CLM-4", "2024-04-02", "paid", None, False, None, None, False, False),
        ("CLM-4", "2024-05-06", "denied", "16", True, ["CO-16"], None, False, True),
    ]
    assert summary.status_counts == {"paid": 1, "denied": 2, "patient_liability": 1}
    assert summary.without_claim_line == 4
    # No claim names a procedure, so nothing counts as a 64520 line yet.
    assert months == [("2024-04-01", 3, 1, 0), ("2024-05-01", 1, 1, 0)]
    assert kpis["remit_lines"] == 4
    assert kpis["denied_lines"] == 2
    assert kpis["denial_rate"] == 0.5
    assert kpis["carc_pareto"] == [("CO-16", 1), ("CO-197", 1)]


def test_a_claim_file_later_matches_the_same_remit_lines(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    _flat_remits(settings.landing)
    write_csv(
        settings.landing / "claims" / "c.csv",
        [claim_row(claim_id=f"CLM-{n}") for n in range(1, 5)],
        CLAIM_COLUMNS,
    )
    settings.warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse)) as con:
        ingest_remit_files(con, settings)
        ingest_claims(con, settings)
        build_line_outcomes(con)
        build_remit_line_outcomes(con)
        remit_side = con.execute(
            "SELECT claim_id, status, cpt_code, charge_amount::VARCHAR FROM remit_line_outcomes "
            "WHERE latest AND matched_claim_line ORDER BY claim_id"
        ).fetchall()
        claim_side = con.execute(
            "SELECT claim_id, status FROM line_outcomes ORDER BY claim_id"
        ).fetchall()
        kpis = write_remit_denial_kpis(con)
    # The same label on both sides, whichever table a KPI reads.
    assert [(c, s) for c, s, _, _ in remit_side] == claim_side
    assert {(cpt, charge) for _, _, cpt, charge in remit_side} == {("64520", "1250.00")}
    assert (kpis["lines_64520"], kpis["denied_lines_64520"]) == (4, 2)
    assert kpis["lines_without_claim_line"] == 0


@pytest.mark.parametrize("as_x12", [False, True], ids=["flat", "x12"])
def test_remit_labels_agree_with_line_outcomes_on_a_generated_world(
    tmp_path: Path, as_x12: bool
) -> None:
    landing = tmp_path / "landing"
    generate_world(landing, lines=1_500, seed=5, fmt="csv")
    if as_x12:
        write_x12_landing(landing)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        load_reference_tables(con)
        ingest_folders(con, landing, ("claims", "remits", "remit_adjustments"), b"k" * 32)
        build_line_outcomes(con)
        build_remit_line_outcomes(con)
        # Every adjudicated claim line and the latest remit of that line carry the same label,
        # whether adjustments were attached by 835 position (X12) or by line key (flat).
        differing = con.execute(
            "SELECT count(*) FROM ("
            "(SELECT claim_id, line_number, status, primary_denial_carc FROM line_outcomes "
            " WHERE status <> 'pending' "
            " EXCEPT SELECT claim_id, line_number, status, primary_denial_carc "
            " FROM remit_line_outcomes WHERE latest) UNION ALL "
            "(SELECT claim_id, line_number, status, primary_denial_carc "
            " FROM remit_line_outcomes WHERE latest AND matched_claim_line "
            " EXCEPT SELECT claim_id, line_number, status, primary_denial_carc FROM line_outcomes))"
        ).fetchall()[0][0]
        denied = con.execute("SELECT count(*) FROM line_outcomes WHERE denied").fetchall()[0][0]
    assert denied > 50
    assert differing == 0


def test_remit_line_outcomes_are_left_as_they_are_when_no_input_changed(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    _flat_remits(settings.landing)
    settings.warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse)) as con:
        ingest_remit_files(con, settings)
        first = build_remit_line_outcomes(con)
        paid = con.execute("SELECT sum(paid_amount) FROM remit_line_outcomes").fetchall()
        again = build_remit_line_outcomes(con)
        assert (first.rebuilt, again.rebuilt) == (True, False)
        assert again.status_counts == first.status_counts
        # A remit's paid amount changes: the digest sees it and the table follows.
        con.execute("UPDATE staged_remits SET paid_amount = paid_amount + 1")
        changed = build_remit_line_outcomes(con)
        assert changed.rebuilt
        now = con.execute("SELECT sum(paid_amount) FROM remit_line_outcomes").fetchall()
        assert now[0][0] == paid[0][0] + 5
        assert build_remit_line_outcomes(con, skip_if_unchanged=False).rebuilt
