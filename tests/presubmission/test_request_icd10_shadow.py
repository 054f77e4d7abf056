"""The request's ICD-10-CM codes stand in for the whole code set in the row rules: same answers."""

from __future__ import annotations

from datetime import date

import polars as pl
from polars.testing import assert_frame_equal

from models.presubmission import validate
from models.presubmission.validate import as_text_rows, check_rows, default_submission_date

TODAY = date(2026, 12, 1)
# Valid, lower case with dots and padding, ICD-9 shapes (V, E, digits), unknown, blanks.
DIAGNOSES = (
    "G90.522",
    " g90.521 ;;m54.5 ",
    "G90522;7245",
    "7245",
    "V4589",
    "E8881",
    "Z99.99",
    ";",
    "G90.59; ZZZ.9",
)
SERVICE_DATES = ("2026-01-05", "2014-01-05")


def _request(claims: pl.DataFrame) -> pl.DataFrame:
    base = claims.head(1)
    rows = [
        base.with_columns(
            pl.lit(dx).alias("diagnosis_codes"),
            pl.lit(served).alias("service_date"),
            pl.lit("2026-02-01").alias("submission_date"),
            pl.lit(f"SHADOW-{i}").alias("claim_id"),
        )
        for i, (dx, served) in enumerate((d, s) for d in DIAGNOSES for s in SERVICE_DATES)
    ]
    return default_submission_date(as_text_rows(pl.concat(rows), "claims"), TODAY)


def test_shadowed_code_set_gives_the_same_rejections_and_rows(
    scoring_context, unsent_frames, monkeypatch
):
    claims, _ = unsent_frames
    rows = _request(claims)
    cursor = scoring_context.cursor()
    try:
        shadowed = check_rows(cursor, rows, "claims")
        # The table is connection-local and dropped after the check: the full set is back.
        full_size = cursor.execute("SELECT count(*) FROM ref_icd10cm").fetchall()[0][0]
        assert full_size > 50_000
        monkeypatch.setattr(validate, "_request_icd10_sql", lambda: "SELECT 1")
        plain = check_rows(cursor, rows, "claims")
    finally:
        cursor.close()
    assert_frame_equal(shadowed.rejected, plain.rejected)
    assert_frame_equal(shadowed.staged, plain.staged)
    reasons = dict(
        zip(
            shadowed.rejected.get_column("claim_id").to_list(),
            shadowed.rejected.get_column("reason").to_list(),
            strict=True,
        )
    )
    # Row i = DIAGNOSES[i // 2] on SERVICE_DATES[i % 2].
    assert "SHADOW-0" not in reasons and "SHADOW-1" not in reasons
    assert reasons["SHADOW-6"] == "icd9_code" and reasons["SHADOW-7"] == "icd9_history"
    assert reasons["SHADOW-12"] == "bad_code"
    assert reasons["SHADOW-16"] == "bad_code"
