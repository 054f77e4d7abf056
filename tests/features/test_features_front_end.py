"""Front-end (277CA) history features: point in time, and rejected lines out of the table."""

from __future__ import annotations

from datetime import date

import polars as pl

from models.features.front_end import REJECTION_HISTORY_SCHEMA, add_front_end_history
from models.features.table import build_modelling_table
from models.reasons import reason_sentence
from tests.features import feature_frames as staged


def _rejections(*rows: tuple[str, str, date]) -> pl.LazyFrame:
    return pl.DataFrame(
        [{"claim_id": c, "patient_key": p, "rejected_on": d} for c, p, d in rows],
        schema=REJECTION_HISTORY_SCHEMA,
    ).lazy()


def test_three_lines_see_only_rejections_dated_before_their_submission() -> None:
    target = pl.LazyFrame(
        {
            "claim_id": ["C1", "C1B", "C2"],
            "patient_key": ["p1", "p1", "p2"],
            "submission_date": [date(2025, 3, 10), date(2025, 3, 20), date(2025, 3, 10)],
        }
    )
    rejections = _rejections(
        ("C1", "p1", date(2025, 3, 12)),  # C1's first submission rejected after 03-10
        ("C0", "p1", date(2025, 3, 1)),
        ("C1B", "p1", date(2025, 3, 15)),  # C1B rejected, then resubmitted on 03-20
        ("C2", "p2", date(2025, 3, 10)),  # same day as the submission: its outcome, not history
    )
    rows = {
        r["claim_id"]: r
        for r in add_front_end_history(target, rejections).collect().rows(named=True)
    }
    assert rows["C1"]["prior_front_end_rejections_patient"] == 1
    assert rows["C1"]["claim_rejected_front_end_before"] is False
    assert rows["C1B"]["prior_front_end_rejections_patient"] == 3
    assert rows["C1B"]["claim_rejected_front_end_before"] is True
    assert rows["C2"]["prior_front_end_rejections_patient"] == 0
    assert rows["C2"]["claim_rejected_front_end_before"] is False


def test_modelling_table_drops_rejected_lines_and_carries_the_history() -> None:
    lines = staged.claim_lines(
        staged.claim_line("OLD", service_date=date(2025, 2, 3), submission_date=date(2025, 2, 5)),
        staged.claim_line("REJ", service_date=date(2025, 3, 3), submission_date=date(2025, 3, 4)),
        staged.claim_line(
            "RESUB", service_date=date(2025, 3, 3), submission_date=date(2025, 3, 20)
        ),
    )
    outcomes = staged.outcomes(
        staged.outcome("OLD"),
        staged.outcome("REJ", status="rejected_front_end", denied=None, adjudication_date=None),
    )
    rejections = _rejections(("REJ", "p1", date(2025, 3, 5)), ("RESUB", "p1", date(2025, 3, 10)))
    table = build_modelling_table(lines, outcomes, staged.notes(), rejections=rejections)
    rows = {r["claim_id"]: r for r in table.rows(named=True)}
    # The line stopped at the front end is neither labelled nor scored.
    assert set(rows) == {"OLD", "RESUB"}
    assert rows["RESUB"]["is_pending"] is True
    assert rows["RESUB"]["claim_rejected_front_end_before"] is True
    assert rows["RESUB"]["prior_front_end_rejections_patient"] == 2
    assert rows["OLD"]["prior_front_end_rejections_patient"] == 0
    # Without any acknowledgement the features are filled, not null.
    plain = build_modelling_table(lines, outcomes, staged.notes())
    assert plain["prior_front_end_rejections_patient"].to_list() == [0, 0]
    assert plain["claim_rejected_front_end_before"].to_list() == [False, False]


def test_patient_history_reason_names_a_front_end_rejection() -> None:
    resubmitted = {"claim_rejected_front_end_before": True, "patient_prior_denials": 2}
    assert "rejected at the clearinghouse or payer front end" in reason_sentence(
        "PATIENT_HISTORY", resubmitted
    )
    only_rejections = {
        "claim_rejected_front_end_before": False,
        "prior_front_end_rejections_patient": 2.0,
        "patient_prior_denials": 0.0,
    }
    assert reason_sentence("PATIENT_HISTORY", only_rejections) == (
        "2 earlier claims of this patient rejected at the front end (277CA)"
    )
    denials = {"claim_rejected_front_end_before": False, "patient_prior_denials": 1.0}
    assert (
        reason_sentence("PATIENT_HISTORY", denials) == "this patient's earlier claims were denied"
    )
