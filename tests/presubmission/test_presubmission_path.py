"""score_unsent: history state shortcut = full rebuild, request lines see each other, planted causes."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from polars.testing import assert_frame_equal

from models.presubmission import score_unsent
from models.presubmission.validate import as_text_rows, check_rows, default_submission_date

TODAY = date(2026, 12, 1)


def _staged(context, claims: pl.DataFrame, notes: pl.DataFrame):
    cursor = context.cursor()
    try:
        rows = default_submission_date(as_text_rows(claims, "claims"), TODAY)
        lines = check_rows(cursor, rows, "claims", context.history.claim_keys).staged
        staged_notes = check_rows(
            cursor, as_text_rows(notes, "notes"), "notes", context.history.note_ids
        ).staged
    finally:
        cursor.close()
    history = context.history
    return (
        lines.select(history.lines.columns).cast(history.lines.schema),
        # Notes as the load stores them: their documentation elements, not their text.
        history.note_elements(staged_notes),
    )


def _features(context, claims, notes) -> pl.DataFrame:
    lines, staged_notes = _staged(context, claims, notes)
    return context.history.features(lines, staged_notes).sort("claim_id", "line_number")


def test_history_state_gives_the_full_rebuilds_features(scoring_context, unsent_frames):
    history = scoring_context.history
    lines, notes = _staged(scoring_context, *unsent_frames)
    assert history.request_is_after_history(lines, notes)
    fast = history.features(lines, notes).sort("claim_id", "line_number")
    slow = history.rebuilt_features(lines, notes).sort("claim_id", "line_number")
    assert fast.height == 6
    assert_frame_equal(fast, slow)


def test_a_backdated_claim_takes_the_exact_rebuild(scoring_context, unsent_frames):
    claims, notes = unsent_frames
    history = scoring_context.history
    patient_lines = history.lines.join(
        history.outcome_columns.filter(pl.col("status") != "pending").select(
            "claim_id", "line_number"
        ),
        on=["claim_id", "line_number"],
    ).filter(pl.col("cpt_code") == "64520")
    patient = patient_lines.sort("submission_date").row(-1, named=True)
    lines, staged_notes = _staged(scoring_context, claims, notes)
    before_its_last_remit = patient["submission_date"] - timedelta(days=1)
    backdated = lines.with_columns(
        pl.lit(before_its_last_remit).alias("submission_date"),
        pl.lit(before_its_last_remit).alias("service_date"),
        pl.lit(patient["patient_key"]).alias("patient_key"),
    )
    assert history.request_is_after_history(lines, staged_notes)
    assert not history.request_is_after_history(backdated, staged_notes.head(0))


def test_claims_of_one_request_see_each_other_and_their_notes(scoring_context, unsent_frames):
    claims, notes = unsent_frames
    per_patient = claims.filter(pl.col("cpt_code") == "64520").group_by("patient_id").len()
    patient = per_patient.filter(pl.col("len") >= 2).get_column("patient_id")[0]
    mine = claims.filter(pl.col("patient_id") == patient).sort("service_date")
    later_claim = mine.get_column("claim_id")[-1]
    together = _features(scoring_context, mine, notes).filter(pl.col("claim_id") == later_claim)
    alone = _features(
        scoring_context, mine.filter(pl.col("claim_id") == later_claim), notes
    ).filter(pl.col("claim_id") == later_claim)
    assert together["prior_64520_365d"][0] == alone["prior_64520_365d"][0] + 1
    assert together["days_since_last_64520"][0] is not None

    without_notes = _features(scoring_context, claims, notes.head(0))
    with_notes = _features(scoring_context, claims, notes)
    assert with_notes["note_present"].sum() > without_notes["note_present"].sum()


def test_bilateral_as_two_units_to_a_modifier_50_payer_gives_that_edit_and_reason_first(
    scoring_context, unsent_frames
):
    claims, notes = unsent_frames
    rules = scoring_context.payer_rules.frame
    modifier_50 = set(
        rules.filter(pl.col("bilateral_convention") == "modifier_50")["payer_id"].to_list()
    )
    clean = (
        claims.filter(
            (pl.col("cpt_code") == "64520")
            & pl.col("payer_id").is_in(list(modifier_50))
            & pl.col("prior_auth_number").is_not_null()
        )
        .head(1)
        .with_columns(claim_id=pl.lit("PLANTED0"))
    )
    assert clean.height == 1
    planted = clean.with_columns(
        claim_id=pl.lit("PLANTED1"), modifier_1=pl.lit(None, dtype=pl.String), units=pl.lit("2")
    )
    other_notes = notes.with_columns(pl.col("note_id") + "-copy")
    bilateral = score_unsent(scoring_context, planted, other_notes, today=TODAY).lines.row(
        0, named=True
    )
    baseline = score_unsent(scoring_context, clean, other_notes, today=TODAY).lines.row(
        0, named=True
    )
    assert bilateral["reason_codes"][0] == "BIL01"
    assert bilateral["reason_1"] == "BIL01"
    failed = [e["code"] for e in bilateral["edits"] if e["status"] == "failed"]
    assert failed[0] == "BILATERAL_CONVENTION"
    assert "MUE_UNITS" in failed
    assert bilateral["edit_codes"].startswith("BILATERAL_CONVENTION;")
    assert "BILATERAL_CONVENTION" not in (baseline["edit_codes"] or "")
    assert bilateral["denial_probability"] > baseline["denial_probability"]
    assert len(bilateral["reason_texts"]) == len(bilateral["reason_actions"]) == 3
