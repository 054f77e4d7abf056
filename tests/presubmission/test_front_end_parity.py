"""Parity with a front-end rejection in the history: the check and the daily run agree."""

from __future__ import annotations

import shutil
from datetime import timedelta

import dagster as dg
import duckdb
import polars as pl

from models.presubmission import ScoringContext
from models.presubmission.validate import as_text_rows, check_rows
from pipelines.defs.resources import build_resources
from pipelines.sources.landing import build_line_outcomes

FEATURES = ["prior_front_end_rejections_patient", "claim_rejected_front_end_before"]


def _staged_request(context: ScoringContext, claims: pl.DataFrame) -> pl.DataFrame:
    cursor = context.cursor()
    try:
        return check_rows(
            cursor, as_text_rows(claims, "claims"), "claims", context.history.claim_keys
        ).staged
    finally:
        cursor.close()


def test_earlier_rejection_of_the_patient_counts_the_same_before_and_after_loading(
    world_copy, unsent_frames
) -> None:
    from pipelines.defs.features.assets import modelling_table
    from pipelines.defs.ingest import assets as ingest

    settings = world_copy.settings
    claims, notes = unsent_frames
    context = ScoringContext.load(settings.warehouse, settings.models)
    request = _staged_request(context, claims).filter(pl.col("cpt_code") == "64520")
    line = request.sort("claim_id").row(0, named=True)
    submitted = line["submission_date"]
    # An earlier claim of the same patient was rejected at the front end before this submission.
    with duckdb.connect(str(settings.warehouse)) as con:
        earlier = con.execute(
            "SELECT claim_id FROM staged_claim_lines WHERE patient_key = ? "
            "AND submission_date < ? ORDER BY submission_date LIMIT 1",
            [line["patient_key"], submitted - timedelta(days=3)],
        ).fetchall()
        assert earlier, "the held-out patient has no earlier claim in this world"
        con.execute(
            "INSERT INTO claim_acknowledgements (claim_id, level, status_category, status_code, "
            "entity_code, effective_date, action_code, outcome, source_file, source_row) "
            "VALUES (?, 'claim', 'A7', '562', '85', ?, 'U', 'rejected', 'test.277', 1)",
            [earlier[0][0], submitted - timedelta(days=3)],
        )
        build_line_outcomes(con)
    context = ScoringContext.load(settings.warehouse, settings.models)
    before = context.history.features(
        _staged_request(context, claims), context.history.notes.clear()
    ).select("claim_id", "line_number", *FEATURES)
    mine = before.filter(pl.col("claim_id") == line["claim_id"])
    assert mine["prior_front_end_rejections_patient"].to_list()[0] == 1
    assert mine["claim_rejected_front_end_before"].to_list()[0] is False

    shutil.copy(world_copy.unsent / "claims" / "unsent_claims.csv", settings.landing / "claims")
    result = dg.materialize(
        [
            ingest.reference_tables,
            ingest.staged_claim_lines,
            ingest.staged_remits,
            ingest.staged_notes,
            ingest.line_outcomes,
            modelling_table,
        ],
        resources=build_resources(settings),
    )
    assert result.success
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        daily = con.sql(
            "SELECT claim_id, line_number, " + ", ".join(FEATURES) + " FROM modelling_table"
        ).pl()
    joined = before.join(daily, on=["claim_id", "line_number"], suffix="_daily")
    assert joined.height == before.height
    for name in FEATURES:
        assert joined[name].to_list() == joined[f"{name}_daily"].to_list(), name
