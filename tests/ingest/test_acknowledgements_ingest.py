"""277CA files through the landing ledger, held acknowledgements, and the front-end label."""

from __future__ import annotations

import math
import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from dashboards.figures import denials
from dashboards.snapshot import publish_snapshot, read_frame
from pipelines.defs.ingest.acknowledgements import claim_acknowledgements
from pipelines.defs.ingest.assets import (
    line_outcomes,
    reference_tables,
    staged_claim_lines,
    staged_remits,
)
from pipelines.defs.kpis.monthly import write_monthly_kpis
from pipelines.defs.resources import build_resources
from pipelines.settings import ProductSettings
from pipelines.sources.landing import build_line_outcomes, ingest_claims, ingest_remits
from pipelines.sources.landing.acknowledgements import ingest_acknowledgements
from tests.ingest.landing_world import (
    SECRET_PATIENTS,
    adjustment_row,
    claim_row,
    query,
    remit_row,
    settings_for,
    write_csv,
)

FIXTURE = Path(__file__).parents[1] / "fixtures" / "x12" / "277ca" / "acknowledgements_0310.277"


def _claims(settings: ProductSettings, clm2_submitted: str = "2024-03-08") -> None:
    write_csv(
        settings.landing / "claims" / "claims.csv",
        [
            claim_row(claim_id="CLM-1"),
            claim_row(claim_id="CLM-2", submission_date=clm2_submitted),
            claim_row(claim_id="CLM-3", line_number="1", service_date="2024-03-05"),
            claim_row(
                claim_id="CLM-3",
                line_number="2",
                service_date="2024-03-05",
                modifier_1="RT",
            ),
            claim_row(claim_id="CLM-4", patient_id=SECRET_PATIENTS[1]),
            claim_row(claim_id="CLM-5", patient_id=SECRET_PATIENTS[2]),
        ],
    )
    write_csv(
        settings.landing / "remits" / "remits.csv",
        [remit_row(claim_id="CLM-1"), remit_row(claim_id="CLM-5", paid_amount="0.00")],
    )
    write_csv(
        settings.landing / "remit_adjustments" / "adjustments.csv",
        [adjustment_row(claim_id="CLM-5", carc="50", amount="1250.00")],
    )


def _run(settings: ProductSettings):  # noqa: ANN202
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse)) as con:
        ingest_claims(con, settings)
        ingest_remits(con, settings)
        acks = ingest_acknowledgements(con, settings)
        outcomes = build_line_outcomes(con)
    return acks, outcomes


def _drop_fixture(settings: ProductSettings, name: str = "ack_0310.277") -> Path:
    folder = settings.landing / "acknowledgements"
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(FIXTURE, folder / name))


def test_rejections_are_recorded_and_kept_apart_from_denials(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    _claims(settings)
    _drop_fixture(settings)
    acks, outcomes = _run(settings)

    status = dict(
        (f"{c}/{n}", s)
        for c, n, s in query(settings, "SELECT claim_id, line_number, status FROM line_outcomes")
    )
    assert status == {
        "CLM-1/1": "paid",
        "CLM-2/1": "rejected_front_end",
        "CLM-3/1": "rejected_front_end",
        "CLM-3/2": "rejected_front_end",
        "CLM-4/1": "pending",  # its only STC had no category: quarantined, not applied
        "CLM-5/1": "denied",
    }
    # Front-end rejections are neither denied nor in the denial rate's denominator.
    assert query(
        settings,
        "SELECT count(*) FROM line_outcomes WHERE status = 'rejected_front_end' AND denied IS NULL",
    ) == [(3,)]
    assert outcomes.denial_rate == 0.5
    assert query(
        settings,
        "SELECT status_category, status_code, entity_code, effective_date::VARCHAR "
        "FROM claim_acknowledgements WHERE claim_id = 'CLM-2'",
    ) == [("A7", "562", "85", "2024-03-10")]
    # CLM-9 is in no loaded claim file: held and quarantined as unmatched_claim.
    assert acks.held == 1
    assert query(settings, "SELECT claim_id FROM held_claim_acknowledgements") == [("CLM-9",)]
    reasons = query(
        settings,
        "SELECT reason, column_name, count(*) FROM quarantined_rows "
        "WHERE folder = 'acknowledgements' GROUP BY ALL ORDER BY 1",
    )
    assert reasons == [
        ("missing_required", "status_category", 1),
        ("unmatched_claim", "claim_id", 1),
    ]
    # Every STC read is loaded or quarantined; the ledger says so.
    ledger = query(
        settings,
        "SELECT status, rows_read, rows_loaded, rows_quarantined FROM ingest_ledger "
        "WHERE folder = 'acknowledgements'",
    )
    assert ledger == [("loaded", 6, 4, 2)]
    # Patient names and member ids of the 277CA never reach the warehouse.
    text = " ".join(str(r) for r in query(settings, "SELECT * FROM quarantined_rows"))
    assert "MEMBER-SECRET" not in text and "DOE" not in text


def test_rerun_is_idempotent_and_a_later_claim_file_brings_held_rows_back(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    _claims(settings)
    _drop_fixture(settings)
    _run(settings)
    before = query(settings, "SELECT count(*) FROM claim_acknowledgements")
    _run(settings)
    assert query(settings, "SELECT count(*) FROM claim_acknowledgements") == before
    assert query(
        settings, "SELECT count(*) FROM quarantined_rows WHERE folder = 'acknowledgements'"
    ) == [(2,)]
    write_csv(settings.landing / "claims" / "late.csv", [claim_row(claim_id="CLM-9")])
    acks, _ = _run(settings)
    assert acks.held == 0
    assert query(settings, "SELECT status FROM line_outcomes WHERE claim_id = 'CLM-9'") == [
        ("rejected_front_end",)
    ]
    assert query(
        settings,
        "SELECT rows_loaded, rows_quarantined FROM ingest_ledger WHERE folder = 'acknowledgements'",
    ) == [(5, 1)]


def test_resubmitted_claim_is_pending_again(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    _claims(settings)
    _drop_fixture(settings)
    _run(settings)
    # The corrected claim goes out again after the 2024-03-10 rejection: a new submission date.
    _claims(settings, clm2_submitted="2024-03-15")
    _run(settings)
    assert query(settings, "SELECT status FROM line_outcomes WHERE claim_id = 'CLM-2'") == [
        ("pending",)
    ]


def test_withdrawn_and_unusable_files(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    _claims(settings)
    dropped = _drop_fixture(settings)
    (settings.landing / "acknowledgements" / "notes.txt").write_text("not an interchange\n")
    text = FIXTURE.read_text()
    # Only the batch totals (HL 20, 21, 19): no claim was acknowledged, nothing to load.
    (settings.landing / "acknowledgements" / "totals_only.277").write_text(
        text[: text.index("HL*4*3*PT")] + "SE*24*0001~\nGE*1*277~\nIEA*1*000000277~\n"
    )
    _run(settings)
    ledger = dict(
        query(settings, "SELECT path, status FROM ingest_ledger WHERE folder = 'acknowledgements'")
    )
    assert ledger == {
        "acknowledgements/ack_0310.277": "loaded",
        "acknowledgements/notes.txt": "rejected",
        "acknowledgements/totals_only.277": "rejected",
    }
    assert query(
        settings,
        "SELECT count(*) FROM quarantined_rows WHERE reason = 'rejected_file' "
        "AND folder = 'acknowledgements'",
    ) == [(2,)]
    # A copy under another name is skipped; removing the original takes its rows out.
    shutil.copy(dropped, dropped.with_name("copy.277"))
    _run(settings)
    assert query(
        settings, "SELECT status FROM ingest_ledger WHERE path = 'acknowledgements/copy.277'"
    ) == [("skipped_duplicate",)]
    dropped.unlink()
    (settings.landing / "acknowledgements" / "copy.277").unlink()
    _run(settings)
    assert query(settings, "SELECT count(*) FROM claim_acknowledgements") == [(0,)]
    assert query(settings, "SELECT status FROM line_outcomes WHERE claim_id = 'CLM-2'") == [
        ("pending",)
    ]


def test_acknowledgement_asset_materializes_before_the_label(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    _claims(settings)
    _drop_fixture(settings)
    settings.warehouse.parent.mkdir(parents=True)
    result = dg.materialize(
        [
            reference_tables,
            staged_claim_lines,
            staged_remits,
            claim_acknowledgements,
            line_outcomes,
        ],
        resources=build_resources(settings),
    )
    assert result.success
    metadata = {
        event.asset_key.to_user_string(): {
            k: v.value for k, v in event.materialization.metadata.items()
        }
        for event in result.get_asset_materialization_events()
    }
    acks = metadata["claim_acknowledgements"]
    assert (acks["dagster/row_count"], acks["held_claim_acknowledgements_rows"]) == (4, 1)
    assert acks["claims_rejected_front_end"] == 2
    assert metadata["line_outcomes"]["lines_rejected_front_end"] == 3


def test_front_end_rejection_rate_sits_beside_the_denial_rate(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    _claims(settings)
    _run(settings)
    with duckdb.connect(str(settings.warehouse)) as con:
        # No 277CA loaded yet: the rate is unknown, not zero.
        assert math.isnan(write_monthly_kpis(con, date(2024, 3, 1))["front_end_rejection_rate"])
        assert con.execute(
            "SELECT front_end_rejected_lines, front_end_rejection_rate FROM monthly_denial_kpis "
            "WHERE payer_id = 'ALL'"
        ).fetchall() == [(0, None)]
    _drop_fixture(settings)
    _run(settings)
    with duckdb.connect(str(settings.warehouse)) as con:
        totals = write_monthly_kpis(con, date(2024, 3, 1))
        row = con.execute(
            "SELECT lines, adjudicated_lines, pending_lines, denied_lines, denial_rate_count, "
            "front_end_rejected_lines, front_end_rejection_rate FROM monthly_denial_kpis "
            "WHERE payer_id = 'ALL'"
        ).fetchall()
    # 6 lines: CLM-1 paid, CLM-5 denied, CLM-4 pending, CLM-2 and both CLM-3 lines rejected.
    assert row == [(6, 2, 1, 1, 0.5, 3, 0.5)]
    assert totals["front_end_rejection_rate"] == 0.5
    assert totals["denial_rate_count"] == 0.5


def test_denials_page_tile_reads_the_front_end_rate_from_the_snapshot(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    _claims(settings)
    _run(settings)
    snapshot = publish_snapshot(settings.warehouse, tmp_path / "snapshot.duckdb")
    lines = read_frame(snapshot, "SELECT * FROM denial_lines")
    assert lines["front_end_rejected"].null_count() == lines.height  # no 277CA: unknown
    month = date(2024, 3, 1)
    assert denials.front_end_tile(lines, month)["value"] == "—"

    _drop_fixture(settings)
    _run(settings)
    snapshot = publish_snapshot(settings.warehouse, tmp_path / "snapshot.duckdb")
    lines = read_frame(snapshot, "SELECT * FROM denial_lines")
    flagged = lines.filter(pl.col("front_end_rejected"))
    assert sorted(flagged["claim_id"].to_list()) == ["CLM-2", "CLM-3", "CLM-3"]
    assert set(flagged["status"]) == {"rejected_front_end"}
    tile = denials.front_end_tile(lines, month)
    assert tile["label"] == "Front-end rejection rate, lines (Mar 2024)"
    assert tile["value"] == "50.0%"
    assert tile["change"].startswith("3 of 6 lines")
    # The denial rate tile is untouched by the rejections: 1 denied of 2 adjudicated.
    tiles = {t["label"]: t["value"] for t in denials.kpi_tiles(lines)}
    assert tiles["Initial denial rate, lines (Mar 2024)"] == "50.0%"
    assert tiles["Front-end rejection rate, lines (Mar 2024)"] == "50.0%"


def test_a_utf16_277ca_loads_like_the_utf8_one(tmp_path: Path) -> None:
    """Sniffed, decoded and loaded through the ledger: the same rows as the UTF-8 file."""
    loaded = {}
    for name, data in (
        ("utf8", FIXTURE.read_bytes()),
        ("utf16", FIXTURE.read_text().encode("utf-16")),
    ):
        settings = settings_for(tmp_path / name)
        _claims(settings)
        folder = settings.landing / "acknowledgements"
        folder.mkdir(parents=True)
        # No .277 suffix: the content alone says it is X12.
        (folder / "clearinghouse_export.txt").write_bytes(data)
        _run(settings)
        loaded[name] = (
            query(
                settings,
                "SELECT claim_id, level, line_number, status_category, status_code, outcome "
                "FROM claim_acknowledgements ORDER BY ALL",
            ),
            query(
                settings,
                "SELECT status, rows_read, rows_loaded FROM ingest_ledger "
                "WHERE folder = 'acknowledgements'",
            ),
            query(settings, "SELECT claim_id, status FROM line_outcomes ORDER BY ALL"),
        )
    assert loaded["utf16"] == loaded["utf8"]
    assert len(loaded["utf8"][0]) == 4  # CLM-9 has no loaded claim: held, not loaded
    assert loaded["utf8"][1][0][0] == "loaded"
