"""Billing-rule features: line order against the MUE, duplicates, NCCI column 2, authorization
uses and the payer policies learned from remits, on hand-built frames with known answers."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from models.features.history import is_frequency_denial
from models.features.table import build_modelling_table
from tests.features import feature_frames as staged

D = date(2025, 6, 2)


def build(
    *lines: dict, outcomes: pl.LazyFrame | None = None, notes: pl.LazyFrame | None = None
) -> dict[str, dict]:
    table = build_modelling_table(
        staged.claim_lines(*lines),
        outcomes if outcomes is not None else staged.outcomes(),
        notes if notes is not None else staged.notes(),
    )
    return {f"{r['claim_id']}-{r['line_number']}": r for r in table.rows(named=True)}


def day(offset: int) -> date:
    return D + timedelta(days=offset)


def test_later_line_of_a_bilateral_pair_takes_the_day_over_the_mue() -> None:
    rows = build(
        staged.claim_line("B", 1, modifier_1="RT", patient_key="b"),
        staged.claim_line("B", 2, modifier_1="LT", patient_key="b"),
        staged.claim_line("A", modifier_1="50", patient_key="a"),
        # A second claim for the same patient-day, sent a week later, and one sent the same day.
        staged.claim_line("C1", modifier_1="RT", patient_key="c"),
        staged.claim_line(
            "C2", modifier_1="LT", patient_key="c", submission_date=date(2025, 3, 10)
        ),  # fmt: skip
        staged.claim_line("S1", modifier_1="RT", patient_key="s"),
        staged.claim_line("S2", modifier_1="LT", patient_key="s"),
        staged.claim_line("U", modifier_1=None, units=2.0, patient_key="u"),
    )
    assert rows["B-1"]["units_billed_earlier_same_day"] == 0.0
    assert rows["B-1"]["line_exceeds_mue_cumulative"] is False
    assert rows["B-2"]["units_billed_earlier_same_day"] == 1.0
    assert rows["B-2"]["line_exceeds_mue_cumulative"] is True
    assert rows["A-1"]["line_exceeds_mue_cumulative"] is False
    assert rows["C1-1"]["units_billed_earlier_same_day"] == 0.0
    assert rows["C2-1"]["units_billed_earlier_same_day"] == 1.0
    assert rows["C2-1"]["line_exceeds_mue_cumulative"] is True
    # Claims sent the same day have no order: neither is counted before the other.
    assert rows["S1-1"]["units_billed_earlier_same_day"] == 0.0
    assert rows["S2-1"]["units_billed_earlier_same_day"] == 0.0
    assert rows["U-1"]["line_exceeds_mue_cumulative"] is True


def test_exact_duplicate_of_an_earlier_claim() -> None:
    original = staged.claim_line("O", modifier_1="LT", modifier_2="XU")
    rows = build(
        original,
        # Same patient, date, code, NPI and modifiers (in another order), sent 30 days later.
        {**original, "claim_id": "DUP", "modifier_1": "xu", "modifier_2": "LT",
         "submission_date": date(2025, 4, 2)},
        {**original, "claim_id": "OTHER_SIDE", "modifier_1": "RT", "modifier_2": "XU",
         "submission_date": date(2025, 4, 2)},
        {**original, "claim_id": "OTHER_NPI", "rendering_npi": "1999999999",
         "submission_date": date(2025, 4, 2)},
        {**original, "claim_id": "OTHER_PATIENT", "patient_key": "x",
         "submission_date": date(2025, 4, 2)},
    )  # fmt: skip
    assert rows["O-1"]["duplicate_of_earlier_claim"] is False
    assert rows["DUP-1"]["duplicate_of_earlier_claim"] is True
    assert rows["OTHER_SIDE-1"]["duplicate_of_earlier_claim"] is False
    assert rows["OTHER_NPI-1"]["duplicate_of_earlier_claim"] is False
    assert rows["OTHER_PATIENT-1"]["duplicate_of_earlier_claim"] is False
    # The duplicate also counts the original's unit against the MUE.
    assert rows["DUP-1"]["line_exceeds_mue_cumulative"] is True
    # Without NPIs on either line the other fields still identify the duplicate.
    no_npi = {**original, "claim_id": "N0", "patient_key": "z", "rendering_npi": None}
    rows = build(no_npi, {**no_npi, "claim_id": "N1", "submission_date": date(2025, 4, 2)})
    assert rows["N1-1"]["duplicate_of_earlier_claim"] is True


def test_ncci_edits_where_64520_is_column_2() -> None:
    rows = build(
        # 64624 is column 1 over 64520 with modifier indicator 0: nothing bypasses it.
        staged.claim_line("Z", 1, cpt_code="64624", modifier_1=None, patient_key="z"),
        staged.claim_line("Z", 2, modifier_1="LT", modifier_2="59", patient_key="z"),
        # 64633 (indicator 1) without and with a distinct-procedure modifier on 64520.
        staged.claim_line("N", 1, cpt_code="64633", modifier_1=None, patient_key="n"),
        staged.claim_line("N", 2, modifier_1="LT", patient_key="n"),
        staged.claim_line("Y", 1, cpt_code="64633", modifier_1=None, patient_key="y"),
        staged.claim_line("Y", 2, modifier_1="LT", modifier_2="XS", patient_key="y"),
        # 77002 is column 2 of 64520: the imaging line is at risk, not the block.
        staged.claim_line("I", 1, patient_key="i"),
        staged.claim_line("I", 2, cpt_code="77002", modifier_1=None, patient_key="i"),
    )
    assert rows["Z-2"]["ncci_64520_column_2"] is True
    assert rows["Z-2"]["ncci_64520_column_2_unbypassed"] is True
    assert rows["N-2"]["ncci_64520_column_2_unbypassed"] is True
    assert rows["Y-2"]["ncci_64520_column_2"] is True
    assert rows["Y-2"]["ncci_64520_column_2_unbypassed"] is False
    assert rows["I-1"]["ncci_edit_present"] is True
    assert rows["I-1"]["ncci_64520_column_2"] is False
    assert rows["I-1"]["ncci_64520_column_2_unbypassed"] is False


def test_prior_uses_of_the_same_authorization_number() -> None:
    def block(claim: str, offset: int, sent: int, auth: str | None, **kw) -> dict:
        return staged.claim_line(claim, service_date=day(offset), submission_date=day(sent),
                                 prior_auth_number=auth, **kw)  # fmt: skip

    rows = build(
        block("U1", -40, -38, "PA-77"),
        block("U1", -40, -38, "PA-77", line_number=2, modifier_1="RT"),  # same date: one use
        block("U2", -30, -28, " pa-77 "),  # trimmed, case-insensitive
        block("U3", -20, -18, "PA-77"),
        block("LATE", -10, 5, "PA-77"),  # sent after NOW: not known yet
        block("NEW", -15, -14, "PA-99"),  # another number
        block("OTHER", -25, -24, "PA-77", patient_key="q"),  # another patient
        block("NOW", -1, 0, "PA-77"),
        block("NONE", -1, 0, None, patient_key="r"),
    )
    assert rows["U1-1"]["prior_auth_uses"] == 0
    assert rows["U3-1"]["prior_auth_uses"] == 2
    assert rows["NOW-1"]["prior_auth_uses"] == 3
    assert rows["NONE-1"]["prior_auth_uses"] == 0


def test_missing_authorization_rate_learned_per_payer_from_its_effective_date() -> None:
    lines, results = [], []
    for i, denied in enumerate((True, True, False)):
        claim = f"H{i}"
        lines.append(staged.claim_line(claim, patient_key=f"h{i}", prior_auth_number=None,
                                       service_date=day(-60 + i), submission_date=day(-58 + i)))  # fmt: skip
        results.append(
            staged.outcome(claim, status="denied", adjudication_date=day(-30),
                           denial_carcs=["197"], primary_denial_carc="197")
            if denied else staged.outcome(claim, adjudication_date=day(-30))
        )  # fmt: skip
    lines += [
        staged.claim_line("NO_AUTH", patient_key="n1", prior_auth_number=None,
                          service_date=day(-1), submission_date=D),
        staged.claim_line("WITH_AUTH", patient_key="n2", service_date=day(-1), submission_date=D),
        # A late claim for a service before the earliest CO-197 service date.
        staged.claim_line("BEFORE", patient_key="n3", prior_auth_number=None,
                          service_date=day(-90), submission_date=D),
    ]  # fmt: skip
    rows = build(*lines, outcomes=staged.outcomes(*results))
    # Two of three lines without a number were denied CO-197; the prior weight (10) pulls toward
    # the overall rate of lines without a number, also 2/3.
    assert rows["NO_AUTH-1"]["payer_missing_auth_denial_rate"] == pytest.approx(2 / 3)
    assert rows["WITH_AUTH-1"]["payer_missing_auth_denial_rate"] == 0.0
    assert rows["BEFORE-1"]["payer_missing_auth_denial_rate"] == 0.0
    assert rows["H0-1"]["payer_missing_auth_denial_rate"] is None  # nothing known yet


def test_frequency_denials_exclude_units_denials() -> None:
    frame = pl.DataFrame(
        {
            "denied": [True, True, True, True, False],
            "denial_carcs": [["119"], ["151"], ["151"], ["50"], []],
            "primary_denial_carc": ["119", "151", "151", "50", None],
            "line_exceeds_mue_cumulative": [False, False, True, False, False],
            "units_over_mue": [False, False, True, False, False],
        }
    )
    assert frame.select(is_frequency_denial())["denied"].to_list() == [
        True, True, False, False, False,
    ]  # fmt: skip


def test_payer_frequency_rate_by_session_count() -> None:
    """A payer that denied third blocks in 12 months scores the next third block, not a first."""
    lines, results = [], []
    for p in range(3):
        for k in range(3):
            claim = f"P{p}K{k}"
            lines.append(staged.claim_line(claim, patient_key=f"p{p}",
                                           service_date=day(-200 + 30 * k + p),
                                           submission_date=day(-199 + 30 * k + p)))  # fmt: skip
            results.append(
                staged.outcome(claim, status="denied", adjudication_date=day(-100),
                               denial_carcs=["119"], primary_denial_carc="119")
                if k == 2 else staged.outcome(claim, adjudication_date=day(-100))
            )  # fmt: skip
    lines += [
        staged.claim_line("T1", patient_key="t", service_date=day(-60), submission_date=day(-59)),
        staged.claim_line("T2", patient_key="t", service_date=day(-30), submission_date=day(-29)),
        staged.claim_line("T3", patient_key="t", service_date=day(-1), submission_date=D),
        staged.claim_line("FIRST", patient_key="f", service_date=day(-1), submission_date=D),
    ]  # fmt: skip
    rows = build(*lines, outcomes=staged.outcomes(*results))
    assert rows["T3-1"]["prior_64520_365d"] == 2
    # Count-2 group: 3 lines, all denied; overall 3 of 9; weight 10.
    assert rows["T3-1"]["payer_frequency_denial_rate"] == pytest.approx((3 + 10 / 3) / 13)
    # Count-0 group: 3 lines, none denied.
    assert rows["FIRST-1"]["payer_frequency_denial_rate"] == pytest.approx((10 / 3) / 13)


def test_payer_coding_rate_separates_the_second_rt_lt_line() -> None:
    lines, results = [], []
    for i in range(4):
        claim = f"B{i}"
        for n, side in ((1, "RT"), (2, "LT")):
            lines.append(staged.claim_line(claim, n, modifier_1=side, patient_key=f"b{i}",
                                           service_date=day(-50 + i), submission_date=day(-49 + i)))  # fmt: skip
        results.append(staged.outcome(claim, 1, adjudication_date=day(-20)))
        results.append(staged.outcome(claim, 2, status="denied", adjudication_date=day(-20),
                                      denial_carcs=["151"], primary_denial_carc="151"))  # fmt: skip
    lines += [
        staged.claim_line("NOW", 1, modifier_1="RT", patient_key="n", service_date=day(-1),
                          submission_date=D),
        staged.claim_line("NOW", 2, modifier_1="LT", patient_key="n", service_date=day(-1),
                          submission_date=D),
    ]  # fmt: skip
    rows = build(*lines, outcomes=staged.outcomes(*results))
    # Overall 4 of 8 coding denials; second lines 4 of 4, first lines 0 of 4; weight 10.
    assert rows["NOW-2"]["payer_coding_denial_rate"] == pytest.approx((4 + 5) / 14)
    assert rows["NOW-1"]["payer_coding_denial_rate"] == pytest.approx(5 / 14)


def test_payer_diagnosis_rate_and_one_procedure_rate() -> None:
    lines, results = [], []
    for i in range(2):
        lines.append(staged.claim_line(f"S{i}", patient_key=f"s{i}", primary_diagnosis="M54.50",
                                       diagnosis_codes=["M54.50"], service_date=day(-40 + i),
                                       submission_date=day(-39 + i)))  # fmt: skip
        results.append(staged.outcome(f"S{i}", status="denied", adjudication_date=day(-20)))
        lines.append(staged.claim_line(f"C{i}", patient_key=f"c{i}", service_date=day(-40 + i),
                                       submission_date=day(-39 + i)))  # fmt: skip
        results.append(staged.outcome(f"C{i}", adjudication_date=day(-20)))
    lines += [
        staged.claim_line("SYM", patient_key="n1", primary_diagnosis="M54.50",
                          diagnosis_codes=["M54.50"], service_date=day(-1), submission_date=D),
        staged.claim_line("CRPS", patient_key="n2", service_date=day(-1), submission_date=D),
        staged.claim_line("TWO", 1, patient_key="n3", service_date=day(-1), submission_date=D),
        staged.claim_line("TWO", 2, cpt_code="64483", modifier_1="LT", patient_key="n3",
                          service_date=day(-1), submission_date=D),
    ]  # fmt: skip
    rows = build(*lines, outcomes=staged.outcomes(*results))
    # Overall 2 of 4 coverage denials (CARC 50); symptom-only 2 of 2, CRPS 0 of 2; weight 20.
    assert rows["SYM-1"]["payer_dx_denial_rate"] == pytest.approx(12 / 22)
    assert rows["CRPS-1"]["payer_dx_denial_rate"] == pytest.approx(10 / 22)
    assert rows["CRPS-1"]["payer_one_procedure_per_visit_rate"] == 0.0
    assert rows["TWO-1"]["payer_one_procedure_per_visit_rate"] is None  # no such history yet


def test_fluoroscopy_without_saved_images() -> None:
    lines = [
        staged.claim_line("A", 1, patient_key="a", encounter_id="E-A"),
        staged.claim_line("A", 2, cpt_code="77003", modifier_1=None, patient_key="a"),
        staged.claim_line("B", 1, patient_key="b", encounter_id="E-B"),
        staged.claim_line("B", 2, cpt_code="77002", modifier_1=None, patient_key="b"),
        staged.claim_line("C", 1, patient_key="c", encounter_id="E-C"),
    ]
    notes = staged.notes(
        staged.note("NA", "Left L3 sympathetic block under fluoroscopy, 10 mL bupivacaine.",
                    patient_key="a", encounter_id="E-A"),
        staged.note("NB", "Left L3 block under C-arm; AP and lateral images archived to PACS.",
                    patient_key="b", encounter_id="E-B"),
        staged.note("NC", "Left L3 block, no imaging.", patient_key="c", encounter_id="E-C"),
    )  # fmt: skip
    rows = build(*lines, notes=notes)
    assert rows["A-1"]["fluoro_without_saved_images"] is True
    assert rows["B-1"]["fluoro_without_saved_images"] is False
    assert rows["C-1"]["fluoro_without_saved_images"] is False


def test_windowed_rate_counts_only_recent_outcomes() -> None:
    from models.features.history import add_point_in_time_rate

    events = pl.LazyFrame(
        {
            "payer_id": ["P", "P", "P", "P"],
            "known_at": [day(-300), day(-250), day(-50), day(-10)],
            "flag": [True, True, False, True],
        }
    )
    target = pl.LazyFrame({"payer_id": ["P"], "submission_date": [D]})
    rate = (
        add_point_in_time_rate(
            target,
            events,
            by="payer_id",
            event_flag=pl.col("flag"),
            name="r",
            prior_weight=1.0,
            window_days=120,
        )  # fmt: skip
        .collect()["r"]
        .item()
    )
    # Window: 1 of 2 outcomes; overall 3 of 4 with weight 1 -> (1 + 0.75) / 3.
    assert rate == pytest.approx(1.75 / 3)
