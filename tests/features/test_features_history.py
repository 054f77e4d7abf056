"""History and timing features: known answers and the point-in-time guarantee."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from models.features.catalog import feature_names
from models.features.table import FIXED_COLUMNS, build_modelling_table
from tests.features import feature_frames as staged

D = date(2025, 6, 2)


def by_claim(table: pl.DataFrame) -> dict[str, dict]:
    return {r["claim_id"]: r for r in table.rows(named=True)}


def session(claim_id: str, days_before: int, submitted_days_before: int, **kw) -> dict:
    return staged.claim_line(
        claim_id,
        service_date=D - timedelta(days=days_before),
        submission_date=D - timedelta(days=submitted_days_before),
        **kw,
    )


def test_session_counts_days_since_and_relief() -> None:
    lines = [
        session("S400", 400, 399),
        session("S200", 200, 199),
        session("S20", 20, 19),
        session("S10", 10, 9),
        session("S5", 5, 4),
        # Served 3 days ago but submitted after the current line: not known yet.
        session("LATE", 3, -5),
        session("NOW", 0, 0, encounter_id="E-NOW"),
    ]
    notes = staged.notes(
        staged.note(
            "R1", "Last LSB gave 70% relief.", encounter_id=None, note_date=D - timedelta(days=2)
        ),
        staged.note(
            "R0", "Prior block: 20% relief.", encounter_id=None, note_date=D - timedelta(days=7)
        ),
    )
    rows = by_claim(build_modelling_table(staged.claim_lines(*lines), staged.outcomes(), notes))
    now = rows["NOW"]
    assert (now["prior_64520_7d"], now["prior_64520_14d"], now["prior_64520_30d"]) == (1, 2, 3)
    assert now["prior_64520_365d"] == 4
    assert now["days_since_last_64520"] == 5
    assert now["prior_block_relief_pct"] == 70.0
    assert rows["S5"]["prior_block_relief_pct"] == 20.0
    assert rows["S400"]["days_since_last_64520"] is None
    assert rows["S400"]["prior_64520_365d"] == 0


def test_patient_denials_first_claim_and_smoothed_rates() -> None:
    jan, feb = date(2025, 1, 10), date(2025, 2, 10)
    lines = [
        staged.claim_line("J1", service_date=jan, submission_date=jan, patient_key="x"),
        staged.claim_line("J2", service_date=jan, submission_date=jan, patient_key="y"),
        staged.claim_line("J3", service_date=jan, submission_date=jan, patient_key="z",
                          payer_id="PAYER_B"),
        staged.claim_line("F1", service_date=feb, submission_date=feb, patient_key="x"),
        staged.claim_line("F2", service_date=feb, submission_date=feb, patient_key="new"),
        staged.claim_line("F3", service_date=feb, submission_date=feb, patient_key="x",
                          payer_id="PAYER_C"),
    ]  # fmt: skip
    outcomes = staged.outcomes(
        staged.outcome("J1", status="denied", adjudication_date=date(2025, 1, 25)),
        staged.outcome("J2", adjudication_date=date(2025, 1, 25)),
        staged.outcome("J3", adjudication_date=date(2025, 1, 25)),
        # Adjudicated in the submission month: not "up to the previous month".
        staged.outcome("F1", status="denied", adjudication_date=date(2025, 2, 20)),
    )
    rows = by_claim(build_modelling_table(staged.claim_lines(*lines), outcomes, staged.notes()))
    f1, f2, f3 = rows["F1"], rows["F2"], rows["F3"]
    assert f1["patient_prior_denials"] == 1 and f2["patient_prior_denials"] == 0
    assert f1["first_claim_with_payer"] is False and f2["first_claim_with_payer"] is True
    assert f3["first_claim_with_payer"] is True
    overall = 1 / 3
    # PAYER_A x 64520: 1 denied of 2, shrunk toward 1/3 with weight 20.
    assert f1["payer_code_denial_rate"] == pytest.approx((1 + 20 * overall) / (2 + 20))
    assert f3["payer_code_denial_rate"] == pytest.approx(overall)
    assert f1["provider_denial_rate"] == pytest.approx((1 + 20 * overall) / (3 + 20))
    assert rows["J1"]["payer_code_denial_rate"] is None
    assert f1["expected_payment_usd"] == pytest.approx(240.0)


def test_filing_limit_learned_and_configured() -> None:
    lines = [
        staged.claim_line("P1", service_date=date(2025, 1, 1), submission_date=date(2025, 2, 15)),
        staged.claim_line("P2", service_date=date(2025, 1, 1), submission_date=date(2025, 4, 11),
                          patient_key="q"),
        staged.claim_line("N1", service_date=date(2025, 5, 1), submission_date=date(2025, 7, 1),
                          patient_key="r"),
        staged.claim_line("N2", service_date=date(2025, 6, 1), submission_date=date(2025, 6, 20),
                          patient_key="s", prior_auth_number=" "),
    ]  # fmt: skip
    outcomes = staged.outcomes(
        staged.outcome("P1", adjudication_date=date(2025, 3, 1)),
        staged.outcome("P2", status="denied", adjudication_date=date(2025, 5, 1),
                       denial_carcs=["29"], primary_denial_carc="29",
                       denial_category="Past Timely Filing Limits"),
    )  # fmt: skip
    rows = by_claim(build_modelling_table(staged.claim_lines(*lines), outcomes, staged.notes()))
    assert rows["N1"]["submission_lag_days"] == 61
    assert rows["N1"]["payer_filing_limit_days"] == 99  # smallest CARC-29 lag (100) minus one
    assert rows["N1"]["lag_over_filing_limit"] is False
    assert (
        rows["P2"]["payer_filing_limit_days"] == 45 and rows["P2"]["lag_over_filing_limit"] is False
    )
    assert rows["N2"]["prior_auth_present"] is False and rows["N1"]["prior_auth_present"] is True
    configured = build_modelling_table(
        staged.claim_lines(*lines), outcomes, staged.notes(), filing_limits={"PAYER_A": 60}
    )
    n1 = by_claim(configured)["N1"]
    assert n1["payer_filing_limit_days"] == 60 and n1["lag_over_filing_limit"] is True


def test_auth_denial_rate_counts_authorization_denials() -> None:
    lines = [
        staged.claim_line("A1", service_date=date(2025, 1, 5), patient_key="a"),
        staged.claim_line("A2", service_date=date(2025, 1, 5), patient_key="b"),
        staged.claim_line("NOW", service_date=date(2025, 3, 5), patient_key="c"),
    ]
    outcomes = staged.outcomes(
        staged.outcome("A1", status="denied", adjudication_date=date(2025, 2, 1),
                       denial_carcs=["197"], primary_denial_carc="197"),
        staged.outcome("A2", status="denied", adjudication_date=date(2025, 2, 1)),
    )  # fmt: skip
    rows = by_claim(build_modelling_table(staged.claim_lines(*lines), outcomes, staged.notes()))
    assert rows["NOW"]["payer_auth_denial_rate"] == pytest.approx(0.5)


def world() -> tuple[list[dict], list[dict], list[dict]]:
    """A small mixed history around one focal line F submitted on D."""
    lines, outcomes, notes = [], [], []
    for i in range(12):
        day = D - timedelta(days=40 - 7 * i)
        claim = f"W{i}"
        lines.append(staged.claim_line(claim, service_date=day, submission_date=day + timedelta(days=2),
                                       patient_key="p1" if i % 2 else "p2",
                                       modifier_1="50" if i % 3 == 0 else "LT", encounter_id=f"E-{claim}"))  # fmt: skip
        lines.append(staged.claim_line(claim, 2, cpt_code="99213", service_date=day,
                                       submission_date=day + timedelta(days=2), modifier_1=None,
                                       patient_key="p1" if i % 2 else "p2"))  # fmt: skip
        outcomes.append(staged.outcome(claim, status="denied" if i % 4 == 0 else "paid",
                                       adjudication_date=day + timedelta(days=20)))  # fmt: skip
        notes.append(staged.note(f"N{i}", f"CRPS L leg. Prior block {10 * i}% relief. LSB at L3.",
                                 encounter_id=f"E-{claim}", note_date=day))  # fmt: skip
    lines.append(staged.claim_line("F", service_date=D - timedelta(days=1), submission_date=D,
                                   encounter_id="E-F"))  # fmt: skip
    notes.append(staged.note("NF", "Left L2 block, fluoro, 8 mL ropivacaine.", encounter_id="E-F",
                             note_date=D - timedelta(days=1)))  # fmt: skip
    return lines, outcomes, notes


def focal_row(lines: list[dict], outcomes: list[dict], notes: list[dict]) -> dict:
    table = build_modelling_table(
        staged.claim_lines(*lines), staged.outcomes(*outcomes), staged.notes(*notes)
    )
    return table.filter(pl.col("claim_id") == "F").row(0, named=True)


def test_point_in_time_later_rows_do_not_change_features() -> None:
    """Changing every claim, remit and note dated after F's submission date leaves F unchanged."""
    lines, outcomes, notes = world()
    before = focal_row(lines, outcomes, notes)
    assert before["prior_64520_30d"] > 0 and before["payer_code_denial_rate"] is not None
    assert before["prior_auth_uses"] > 0 and before["payer_coding_denial_rate"] is not None
    assert before["payer_frequency_denial_rate"] is not None

    def later(d: date | None) -> bool:
        return d is not None and d >= D

    changed_lines = [
        {**r, "modifier_1": "RT", "units": 3.0, "cpt_code": "62280", "payer_id": "PAYER_A"}
        if r["claim_id"] != "F" and later(r["submission_date"])
        else r
        for r in lines
    ]
    changed_lines.append(staged.claim_line("NEW", service_date=D - timedelta(days=1),
                                           submission_date=D + timedelta(days=3), cpt_code="99214",
                                           modifier_1=None))  # fmt: skip
    changed_lines.append(staged.claim_line("NEW2", service_date=D + timedelta(days=5),
                                           submission_date=D + timedelta(days=6)))  # fmt: skip
    # A duplicate of F and a second 64520 line for F's day, both sent after F.
    changed_lines.append(staged.claim_line("DUPF", service_date=D - timedelta(days=1),
                                           submission_date=D + timedelta(days=2)))  # fmt: skip
    changed_lines.append(staged.claim_line("RTF", service_date=D - timedelta(days=1),
                                           submission_date=D + timedelta(days=2),
                                           modifier_1="RT", cpt_code="64624"))  # fmt: skip
    changed_outcomes = [
        {**o, "status": "denied", "denied": True, "denial_carcs": ["197"], "primary_denial_carc": "29",
         "paid_amount": 0} if later(o["adjudication_date"]) else o
        for o in outcomes
    ]  # fmt: skip
    changed_outcomes.append(
        staged.outcome("F", status="denied", adjudication_date=D + timedelta(days=9))
    )
    changed_notes = [
        {**n, "text": "No CRPS. No relief. Thoracic T4."} if later(n["note_date"]) else n
        for n in notes
    ]
    changed_notes.append(staged.note("LATE", "Addendum: 100% relief, bupivacaine 20 mL, images saved.",
                                     encounter_id="E-F", note_date=D + timedelta(days=1)))  # fmt: skip
    after = focal_row(changed_lines, changed_outcomes, changed_notes)
    label_columns = {"status", "denied", "is_pending", "denial_category"}
    assert {k: v for k, v in after.items() if k not in label_columns} == {
        k: v for k, v in before.items() if k not in label_columns
    }


def test_table_columns_follow_the_contract() -> None:
    lines, outcomes, notes = world()
    table = build_modelling_table(
        staged.claim_lines(*lines), staged.outcomes(*outcomes), staged.notes(*notes)
    )
    assert table.columns[: len(FIXED_COLUMNS)] == list(FIXED_COLUMNS)
    assert set(feature_names()) <= set(table.columns)
    assert table.height == 13 and table["cpt_code"].unique().to_list() == ["64520"]
    assert table.schema["denied"] == pl.Int8 and table.schema["service_month"] == pl.Date
    assert table.schema["bilateral_matches_payer_convention"] == pl.Int8
    assert table.filter(pl.col("claim_id") == "F")["is_pending"].item() is True
