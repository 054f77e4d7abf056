"""Modifier/units, same-day and diagnosis features on hand-built staged frames with known answers."""

from __future__ import annotations

from datetime import date

import polars as pl

from models.features.table import build_modelling_table
from tests.features import feature_frames as staged

NO_OUTCOMES = staged.outcomes()
NO_NOTES = staged.notes()


def build(*lines: dict, outcomes: pl.LazyFrame = NO_OUTCOMES) -> dict[str, dict]:
    table = build_modelling_table(staged.claim_lines(*lines), outcomes, NO_NOTES)
    return {f"{r['claim_id']}-{r['line_number']}": r for r in table.rows(named=True)}


def test_bilateral_coding_styles_and_conflicts() -> None:
    rows = build(
        staged.claim_line("A", modifier_1="50", patient_key="a"),
        staged.claim_line("B", 1, modifier_1="RT", patient_key="b"),
        staged.claim_line("B", 2, modifier_1="LT", patient_key="b"),
        staged.claim_line("C", modifier_1=None, units=2.0, patient_key="c"),
        staged.claim_line("D", modifier_1="50", modifier_2="RT", patient_key="d"),
        staged.claim_line("E", modifier_1="rt ", modifier_2="26", patient_key="e"),
        staged.claim_line("F", modifier_1="XU", patient_key="f"),
    )
    assert rows["A-1"]["bilateral_coding"] == "modifier_50"
    assert rows["A-1"]["units_over_mue"] is False
    assert rows["B-1"]["bilateral_coding"] == "rt_lt_two_lines"
    assert rows["B-2"]["rt_lt_two_lines_same_day"] is True
    assert rows["B-1"]["units_per_day_total"] == 2.0 and rows["B-1"]["units_over_mue"] is True
    assert rows["C-1"]["bilateral_coding"] == "units_gt_1" and rows["C-1"]["units_over_mue"] is True
    assert rows["D-1"]["bilateral_coding"] == "conflict" and rows["D-1"]["modifier_50_with_rt_lt"]
    assert rows["E-1"]["pctc_modifier_invalid"] is True and rows["E-1"]["has_rt_or_lt"] is True
    assert rows["E-1"]["bilateral_coding"] == "unilateral"
    assert rows["F-1"]["has_distinct_procedure_modifier"] is True
    assert rows["A-1"]["bilateral_matches_payer_convention"] is None


def test_payer_bilateral_convention_learned_from_paid_history_only() -> None:
    """Three paid -50 encounters before the line make -50 the convention; later ones do not count."""
    history = [
        staged.claim_line(f"H{i}", modifier_1="50", patient_key=f"h{i}",
                          service_date=date(2025, 1, 2 + i), submission_date=date(2025, 1, 3 + i))
        for i in range(3)
    ]  # fmt: skip
    paid = [staged.outcome(f"H{i}", adjudication_date=date(2025, 2, 1)) for i in range(3)]
    late = staged.claim_line(
        "L", modifier_1="50", patient_key="l", submission_date=date(2025, 1, 20)
    )
    now_rt = staged.claim_line("N", 1, modifier_1="RT", patient_key="n",
                               service_date=date(2025, 3, 1), submission_date=date(2025, 3, 2))  # fmt: skip
    now_lt = {**now_rt, "line_number": 2, "modifier_1": "LT"}
    rows = build(*history, late, now_rt, now_lt, outcomes=staged.outcomes(*paid))
    assert rows["L-1"]["payer_bilateral_convention"] == "unknown"
    assert rows["L-1"]["bilateral_matches_payer_convention"] is None
    assert rows["N-1"]["payer_bilateral_convention"] == "modifier_50"
    assert rows["N-1"]["bilateral_matches_payer_convention"] == 0
    assert rows["H2-1"]["payer_bilateral_convention"] == "unknown"


def test_ncci_pairs_modifier_indicators_and_bypass() -> None:
    day = {"patient_key": "p"}
    rows = build(
        # 77002 is column 2 of 64520 (indicator 1): bypassed only with 59/X{EPSU} on the 77002 line.
        staged.claim_line("A", 1, **day),
        staged.claim_line("A", 2, cpt_code="77002", modifier_1=None, **day),
        staged.claim_line("B", 1, patient_key="q"),
        staged.claim_line("B", 2, cpt_code="77002", modifier_1="XS", patient_key="q"),
        # 62280 is column 1 with indicator 0: never bypassable.
        staged.claim_line("C", 1, modifier_2="59", patient_key="r"),
        staged.claim_line("C", 2, cpt_code="62280", modifier_1=None, patient_key="r"),
        # 77003 edit was deleted 2016-12-31: no edit on a 2025 date; 64483 is not edited.
        staged.claim_line("D", 1, patient_key="s"),
        staged.claim_line("D", 2, cpt_code="77003", modifier_1=None, patient_key="s"),
        staged.claim_line("D", 3, cpt_code="64483", modifier_1=None, patient_key="s"),
        # E/M with 25 is bypassed; E/M without 25 is flagged.
        staged.claim_line("E", 1, patient_key="t"),
        staged.claim_line("E", 2, cpt_code="99214", modifier_1="25", patient_key="t"),
        staged.claim_line("F", 1, patient_key="u"),
        staged.claim_line("F", 2, cpt_code="99213", modifier_1=None, patient_key="u"),
    )
    a, b, c, d, e, f = (rows[f"{k}-1"] for k in "ABCDEF")
    assert (a["ncci_edit_present"], a["ncci_edit_bypassable"], a["ncci_bypass_modifier_present"]) == (
        True, True, False)  # fmt: skip
    assert a["imaging_77002_same_day"] is True
    assert b["ncci_bypass_modifier_present"] is True and b["ncci_unbypassable_edit"] is False
    assert c["ncci_unbypassable_edit"] is True and c["ncci_edit_bypassable"] is False
    assert d["ncci_edit_present"] is False and d["imaging_77003_same_day"] is True
    assert d["other_procedures_same_day"] == 1.0
    assert e["em_same_day_without_25"] is False and e["ncci_bypass_modifier_present"] is True
    assert f["em_same_day_without_25"] is True and f["ncci_bypass_modifier_present"] is False


def test_same_day_ignores_claims_submitted_later() -> None:
    rows = build(
        staged.claim_line("A", 1, submission_date=date(2025, 3, 4)),
        staged.claim_line(
            "LATE", 1, cpt_code="99213", modifier_1=None, submission_date=date(2025, 3, 9)
        ),
    )
    assert rows["A-1"]["em_same_day_without_25"] is False


def test_diagnosis_features() -> None:
    rows = build(
        staged.claim_line(
            "A", primary_diagnosis="G90.522", diagnosis_codes=["G90522"], patient_key="a"
        ),
        staged.claim_line(
            "B", primary_diagnosis="M5450", diagnosis_codes=["M5450"], patient_key="b"
        ),
        staged.claim_line(
            "C", primary_diagnosis="G90511", diagnosis_codes=["G90511"], patient_key="c"
        ),
        staged.claim_line(
            "D", primary_diagnosis="E1142", diagnosis_codes=["E1142"], patient_key="d"
        ),
        staged.claim_line(
            "E", primary_diagnosis="G9052", diagnosis_codes=["G9052"], patient_key="e"
        ),
        staged.claim_line("F", primary_diagnosis="I739", diagnosis_codes=["I739"], patient_key="f"),
        staged.claim_line("G", primary_diagnosis=None, diagnosis_codes=["G8929"], patient_key="g"),
    )
    a, b, c, d, e, f, g = (rows[f"{k}-1"] for k in "ABCDEFG")
    assert (
        a["dx_primary_is_indication"]
        and a["dx_primary_valid"]
        and a["dx_group"] == "crps_lower_limb"
    )
    assert (
        b["dx_symptom_only"]
        and not b["dx_primary_is_indication"]
        and b["dx_group"] == "symptom_only"
    )
    assert c["dx_upper_limb_crps"] and c["dx_group"] == "crps_upper_limb"
    assert d["dx_metabolic_neuropathy"] and d["dx_group"] == "metabolic_neuropathy"
    # G90.52 is a header, not a billable code.
    assert e["dx_primary_valid"] is False and e["dx_group"] == "invalid"
    assert f["dx_primary_is_indication"] and f["dx_group"] == "vascular"
    assert g["dx_symptom_only"] is True
