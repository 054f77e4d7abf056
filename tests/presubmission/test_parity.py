"""Parity: unsent claims scored now get the daily run's answer once their files are loaded."""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb
import polars as pl

from models.presubmission import ScoringContext, score_unsent
from pipelines.defs.resources import build_resources


def _daily_run(settings) -> None:
    """The daily job's ingest, feature and scoring assets on the world (the champion is kept)."""
    from pipelines.defs.features.assets import modelling_table
    from pipelines.defs.ingest import assets as ingest
    from pipelines.defs.model.assets import risk_scores

    result = dg.materialize(
        [
            ingest.reference_tables,
            ingest.staged_claim_lines,
            ingest.staged_remits,
            ingest.staged_notes,
            ingest.line_outcomes,
            modelling_table,
            risk_scores,
        ],
        resources=build_resources(settings),
    )
    assert result.success


def test_unsent_claims_score_as_the_daily_run_scores_them_once_loaded(world_copy, unsent_frames):
    settings = world_copy.settings
    claims, notes = unsent_frames
    context = ScoringContext.load(settings.warehouse, settings.models)
    before = score_unsent(context, claims, notes)
    assert before.rejected.height == 0
    held_out = set(world_copy.held_out_claims)
    assert set(before.lines["claim_id"]) == held_out
    assert before.lines.height == claims.filter(pl.col("cpt_code") == "64520").height
    assert before.model_version == world_copy.champion_version

    shutil.copy(world_copy.unsent / "claims" / "unsent_claims.csv", settings.landing / "claims")
    notes_file = world_copy.unsent / "notes" / "unsent_notes.csv"
    if notes_file.exists():
        shutil.copy(notes_file, settings.landing / "notes")
    _daily_run(settings)

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        daily = con.sql("SELECT * FROM risk_scores").pl()
    daily = daily.filter(pl.col("claim_id").is_in(list(held_out)))
    assert daily["model_version"].unique().to_list() == [world_copy.champion_version]
    joined = before.lines.join(daily, on=["claim_id", "line_number"], suffix="_daily")
    assert joined.height == before.lines.height == daily.height
    difference = (joined["denial_probability"] - joined["denial_probability_daily"]).abs().max()
    assert difference <= 1e-6
    for column in (
        "reason_1",
        "reason_2",
        "reason_3",
        "reasons",
        "recommended_action",
        "risk_band",
    ):
        assert joined[column].to_list() == joined[f"{column}_daily"].to_list(), column
    assert (joined["expected_loss_usd"] - joined["expected_loss_usd_daily"]).abs().max() <= 1e-6
    codes = joined.select(pl.concat_list("reason_1", "reason_2", "reason_3").list.drop_nulls())
    assert codes.to_series().to_list() == joined["reason_codes"].to_list()
