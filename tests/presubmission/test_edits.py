"""Pre-submission edits on hand-built staged lines: exact codes, sources and statuses.

Features come from the real modelling-table builder and payer rules from a real override file,
so each test exercises the same functions the scoring path calls.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from data_contracts.codes import reference_release
from data_contracts.payer_rules import PayerRules
from models.edits import (
    EDIT_DTYPE,
    FILING_LIMIT_WARNING_DAYS,
    evaluate_edits,
    reference_sources,
)
from models.features.table import build_modelling_table
from tests.features import feature_frames as staged

SERVICE = date(2025, 3, 3)
COMPLETE_NOTE = (
    "Left lower extremity CRPS for 8 months, unable to walk more than a block. Failed 3 months "
    "of physical therapy and gabapentin. Left L3 lumbar sympathetic block under fluoroscopy; AP "
    "and lateral images saved. Negative aspiration. 10 mL 0.25% bupivacaine injected. Pain 8/10 "
    "-> 2/10 after the block."
)
NO_CONSERVATIVE_CARE_NOTE = COMPLETE_NOTE.replace(
    "Failed 3 months of physical therapy and gabapentin. ", ""
)


def rules_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "payer_rules.csv"
    path.write_text(text)
    return path


@pytest.fixture
def rules(tmp_path: Path) -> PayerRules:
    """PAYER_A: 90-day limit, modifier 50, auth required; PAYER_R: RT/LT lines, no auth needed."""
    path = rules_file(
        tmp_path,
        "payer_id,filing_limit_days,bilateral_convention,requires_prior_auth\n"
        "PAYER_A,90,modifier_50,true\n"
        "PAYER_R,365,rt_lt_two_lines,false\n",
    )
    return PayerRules.empty().with_overrides(path)


def line(claim_id: str, line_number: int = 1, **overrides: Any) -> dict[str, Any]:
    """A staged line with its own patient and encounter (one claim, one patient-day)."""
    defaults = {"patient_key": f"p-{claim_id}", "encounter_id": f"E-{claim_id}"}
    return staged.claim_line(claim_id, line_number, **{**defaults, **overrides})


def note_for(claim_id: str, text: str) -> dict[str, Any]:
    return staged.note(
        f"N-{claim_id}", text, patient_key=f"p-{claim_id}", encounter_id=f"E-{claim_id}"
    )


def edits_of(
    *rows: dict[str, Any],
    rules: PayerRules,
    notes: tuple[dict[str, Any], ...] = (),
    history: tuple[dict[str, Any], ...] = (),
    today: date = SERVICE,
) -> dict[str, list[dict[str, str]]]:
    """Edits per 'claim-line' key; every line gets a note unless `notes` is given."""
    lines = staged.claim_lines(*rows).collect()
    # The scoring path fills a missing submission date with today before building features.
    same_day = (
        staged.claim_lines(*rows, *history)
        .with_columns(pl.col("submission_date").fill_null(today))
        .collect()
    )
    note_rows = notes or tuple(note_for(r["claim_id"], COMPLETE_NOTE) for r in rows)
    features = build_modelling_table(same_day.lazy(), staged.outcomes(), staged.notes(*note_rows))
    result = evaluate_edits(lines, same_day=same_day, features=features, rules=rules, today=today)
    assert result.schema["edits"] == pl.List(EDIT_DTYPE)
    assert result.height == lines.height
    return {f"{r['claim_id']}-{r['line_number']}": r["edits"] for r in result.iter_rows(named=True)}


def codes(edits: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(e["code"], e["status"]) for e in edits]


def only(edits: list[dict[str, str]], code: str) -> dict[str, str]:
    hits = [e for e in edits if e["code"] == code]
    assert len(hits) == 1, edits
    return hits[0]


def test_a_clean_bilateral_line_to_a_modifier_50_payer_has_no_edits(rules: PayerRules) -> None:
    result = edits_of(line("A", modifier_1="50"), rules=rules)
    assert result == {"A-1": []}


def test_ncci_pair_without_modifier_fails_on_both_lines_with_its_indicator(
    rules: PayerRules,
) -> None:
    result = edits_of(
        line("A", 1, modifier_1="LT"),
        line("A", 2, cpt_code="77002", modifier_1=None),
        rules=rules,
    )
    for key in ("A-1", "A-2"):
        edit = only(result[key], "NCCI_PTP")
        assert edit["status"] == "failed"
        assert edit["source"] == "NCCI PTP 2024Q3"
        assert edit["description"].startswith(
            "64520 (column 1) with 77002 (column 2) on 2025-03-03, modifier indicator 1"
        )
        assert "59, XE, XP, XS, XU" in edit["description"]


def test_bypass_modifier_passes_indicator_1_but_not_indicator_0(rules: PayerRules) -> None:
    result = edits_of(
        line("B", 1, modifier_1="LT"),
        line("B", 2, cpt_code="77002", modifier_1="59"),
        line("Z", 1, modifier_1="LT"),
        line("Z", 2, cpt_code="99155", modifier_1="59"),
        rules=rules,
    )
    assert [e for e in result["B-1"] + result["B-2"] if e["code"] == "NCCI_PTP"] == []
    edit = only(result["Z-2"], "NCCI_PTP")
    assert edit["status"] == "failed"
    assert (
        "modifier indicator 0: no modifier bypasses it; the 99155 line is denied"
        in (edit["description"])
    )
    assert edit["followup_action"] == "remove the 99155 line: it is not payable with 64520 that day"


def test_64520_as_column_2_and_e_m_bypass_with_25(rules: PayerRules) -> None:
    result = edits_of(
        line("C", 1, modifier_1="LT", modifier_2="59"),
        line("C", 2, cpt_code="62280", modifier_1=None),
        line("E", 1, modifier_1="LT"),
        line("E", 2, cpt_code="99213", modifier_1="25"),
        rules=rules,
    )
    edit = only(result["C-1"], "NCCI_PTP")
    assert edit["description"].startswith("62280 (column 1) with 64520 (column 2)")
    assert "indicator 0" in edit["description"]
    assert not [e for e in result["E-1"] + result["E-2"] if e["code"] == "NCCI_PTP"]


def test_pairs_without_64520_are_not_checked(rules: PayerRules) -> None:
    result = edits_of(
        line("D", 1, modifier_1="LT"),
        line("D", 2, cpt_code="77002", modifier_1="XU"),
        line("D", 3, cpt_code="J3301", modifier_1=None),
        rules=rules,
    )
    edit = only(result["D-2"], "NCCI_PTP")
    assert edit["status"] == "not_checked"
    assert "77002 with J3301" in edit["description"]
    assert edit["source"] == "NCCI PTP 2024Q3"


def test_units_2_to_a_modifier_50_payer_fails_bilateral_and_mue(rules: PayerRules) -> None:
    result = edits_of(line("U", modifier_1=None, units=2.0), rules=rules)
    assert codes(result["U-1"]) == [("BILATERAL_CONVENTION", "failed"), ("MUE_UNITS", "failed")]
    bilateral = only(result["U-1"], "BILATERAL_CONVENTION")
    assert bilateral["source"] == "payer rules (override)"
    assert (
        bilateral["followup_action"]
        == "rebill bilateral 64520 as one line with modifier 50 and 1 unit"
    )
    mue = only(result["U-1"], "MUE_UNITS")
    assert mue["source"] == "NCCI MUE 2024Q3"
    assert mue["description"] == (
        "2 units of 64520 for this patient on 2025-03-03 exceed the MUE of 1 per day "
        "(MAI 3, date-of-service edit, payable on appeal with records)"
    )


def test_rt_lt_two_lines_pass_for_an_rt_lt_payer_and_fail_for_a_modifier_50_payer(
    rules: PayerRules,
) -> None:
    result = edits_of(
        line("R", 1, modifier_1="RT", payer_id="PAYER_R"),
        line("R", 2, modifier_1="LT", payer_id="PAYER_R"),
        line("M", 1, modifier_1="RT"),
        line("M", 2, modifier_1="LT"),
        rules=rules,
    )
    # Two RT/LT units are what this payer pays: neither the convention nor the MUE edit fires.
    assert result["R-1"] == result["R-2"] == []
    assert only(result["M-2"], "BILATERAL_CONVENTION")["status"] == "failed"


def test_unknown_convention_is_not_checked(rules: PayerRules) -> None:
    result = edits_of(line("X", modifier_1="50", payer_id="PAYER_NEW"), rules=rules)
    edit = only(result["X-1"], "BILATERAL_CONVENTION")
    assert (edit["status"], edit["source"]) == ("not_checked", "payer rules (default)")


def test_missing_prior_auth(rules: PayerRules) -> None:
    result = edits_of(
        line("P", prior_auth_number=None),
        line("Q", prior_auth_number=None, payer_id="PAYER_R"),
        line("N", prior_auth_number="  ", payer_id="PAYER_NEW", modifier_1="LT"),
        rules=rules,
    )
    edit = only(result["P-1"], "PRIOR_AUTH_MISSING")
    assert (edit["status"], edit["source"]) == ("failed", "payer rules (override)")
    assert "PRIOR_AUTH_MISSING" not in [e["code"] for e in result["Q-1"]]
    unknown = only(result["N-1"], "PRIOR_AUTH_MISSING")
    assert (unknown["status"], unknown["source"]) == ("not_checked", "payer rules (default)")


def test_code_without_mue_row_is_not_checked(rules: PayerRules) -> None:
    result = edits_of(line("K", cpt_code="99999", modifier_1=None), rules=rules)
    assert codes(result["K-1"]) == [("MUE_UNITS", "not_checked")]
    assert result["K-1"][0]["source"] == "NCCI MUE 2024Q3"


def test_filing_limit_past_soon_and_unknown(tmp_path: Path) -> None:
    rules = PayerRules.from_history(
        pl.DataFrame(
            {
                "payer_id": ["PAYER_H"],
                "service_date": [date(2025, 1, 2)],
                "submission_date": [date(2025, 1, 10)],
                "is_pending": [False],
                "denied": [0],
                "denial_category": [None],
                "prior_auth_present": [True],
                "payer_bilateral_convention": ["unknown"],
                "payer_filing_limit_days": [120.0],
            }
        )
    ).with_overrides(rules_file(tmp_path, "payer_id,filing_limit_days\nPAYER_A,90\n"))
    late = date(2025, 3, 3)

    def sent(claim: str, days: int, payer: str = "PAYER_A") -> dict[str, Any]:
        return line(
            claim, service_date=late, submission_date=late + timedelta(days=days), payer_id=payer
        )

    result = edits_of(
        sent("LATE", 95),
        sent("SOON", 90 - FILING_LIMIT_WARNING_DAYS),
        sent("OK", 90 - FILING_LIMIT_WARNING_DAYS - 1),
        sent("PAID", 120, "PAYER_H"),
        sent("UNK", 121, "PAYER_H"),
        rules=rules,
    )
    past = only(result["LATE-1"], "FILING_LIMIT")
    assert (past["status"], past["source"]) == ("failed", "payer rules (override)")
    assert past["description"] == (
        "sent 95 days after service; PAYER_A's filing limit is 90 days (5 days past it)"
    )
    soon = only(result["SOON-1"], "FILING_LIMIT_SOON")
    assert soon["description"].startswith("14 days left to file")
    assert not [e for e in result["OK-1"] if e["code"].startswith("FILING")]
    assert not [e for e in result["PAID-1"] if e["code"].startswith("FILING")]
    unknown = only(result["UNK-1"], "FILING_LIMIT")
    assert (unknown["status"], unknown["source"]) == ("not_checked", "payer rules (default)")
    assert "paid up to 120 days after service so far" in unknown["description"]


def test_submission_date_defaults_to_today(rules: PayerRules) -> None:
    result = edits_of(line("T", submission_date=None), rules=rules, today=date(2025, 6, 5))
    assert only(result["T-1"], "FILING_LIMIT")["description"].startswith("sent 94 days")


def test_note_without_failed_conservative_care_and_line_without_note(rules: PayerRules) -> None:
    result = edits_of(
        line("C1"),
        line("C2"),
        rules=rules,
        notes=(note_for("C1", NO_CONSERVATIVE_CARE_NOTE),),
    )
    assert codes(result["C1-1"]) == [("DOC_MISSING_CONSERVATIVE_CARE", "failed")]
    assert result["C1-1"][0]["source"] == "procedure note (documentation features)"
    assert codes(result["C2-1"]) == [("DOC_NOTE_MISSING", "failed")]


def test_fluoroscopy_without_saved_images(rules: PayerRules) -> None:
    text = COMPLETE_NOTE.replace("AP and lateral images saved. ", "")
    result = edits_of(
        line("F", 1, modifier_1="LT"),
        line("F", 2, cpt_code="77003", modifier_1=None),
        rules=rules,
        notes=(note_for("F", text),),
    )
    assert codes(result["F-1"]) == [("DOC_MISSING_SAVED_IMAGES", "failed")]


def test_line_without_features_is_not_checked(rules: PayerRules) -> None:
    lines = staged.claim_lines(line("W", modifier_1="50")).collect()
    features = build_modelling_table(lines.head(0).lazy(), staged.outcomes(), staged.notes())
    result = evaluate_edits(lines, same_day=lines, features=features, rules=rules, today=SERVICE)
    assert codes(result["edits"][0]) == [
        ("BILATERAL_CONVENTION", "not_checked"),
        ("DOC_NOTE_MISSING", "not_checked"),
    ]


def test_modifier_validity(rules: PayerRules) -> None:
    result = edits_of(
        line("V", modifier_1="50", modifier_2="RT"),
        line("W", modifier_1="LT", modifier_2="26"),
        line("Y", modifier_1="LT", modifier_2="ZZ"),
        rules=rules,
    )
    conflict = only(result["V-1"], "MODIFIER_INVALID")
    assert (
        conflict["description"]
        == "modifier 50 is combined with RT/LT (50 already means both sides)"
    )
    assert conflict["source"] == "CPT/HCPCS modifier list"
    pctc = only(result["W-1"], "MODIFIER_INVALID")
    assert pctc["source"] == "PFS RVU 2025 Oct"
    assert "26/TC on 64520" in pctc["description"]
    assert only(result["Y-1"], "MODIFIER_INVALID")["description"] == "modifier(s) ZZ are not known"


def test_diagnosis_not_supporting_64520(rules: PayerRules) -> None:
    result = edits_of(
        line("G", primary_diagnosis="G90512", diagnosis_codes=["G90512"]),
        line("H", primary_diagnosis="M545", diagnosis_codes=["M545"]),
        rules=rules,
    )
    edit = only(result["G-1"], "DX_NOT_SUPPORTED")
    assert (edit["status"], edit["source"]) == ("failed", "ICD-10-CM 2026")
    assert edit["description"].startswith("primary diagnosis G90.512 is upper-limb CRPS")
    assert "DX_NOT_SUPPORTED" in [e["code"] for e in result["H-1"]]


def test_same_day_history_line_from_an_earlier_claim_counts(rules: PayerRules) -> None:
    earlier = line(
        "OLD",
        modifier_1="RT",
        patient_key="p-NEW",
        encounter_id="E-NEW",
        submission_date=SERVICE,
    )
    result = edits_of(
        line("NEW", modifier_1="LT", submission_date=date(2025, 3, 4)),
        rules=rules,
        history=(earlier,),
    )
    assert [c for c, _ in codes(result["NEW-1"])] == ["BILATERAL_CONVENTION", "MUE_UNITS"]


def test_response_and_imaging_edits_only_for_repeat_blocks_and_billed_fluoroscopy(
    rules: PayerRules,
) -> None:
    bare = (
        "Left lower extremity CRPS for 8 months, unable to walk more than a block. Failed 3 "
        "months of physical therapy and gabapentin. Left L3 lumbar sympathetic block. 10 mL "
        "0.25% bupivacaine injected."
    )
    earlier = line(
        "EARLIER",
        patient_key="p-REPEAT",
        service_date=date(2025, 2, 3),
        submission_date=date(2025, 2, 3),
    )
    result = edits_of(
        line("FIRST"),
        line("REPEAT", 1),
        line("REPEAT", 2, cpt_code="77002", modifier_1="XU"),
        rules=rules,
        notes=(note_for("FIRST", bare), note_for("REPEAT", bare)),
        history=(earlier,),
    )
    assert result["FIRST-1"] == []
    assert codes(result["REPEAT-1"]) == [
        ("DOC_MISSING_IMAGING_GUIDANCE", "failed"),
        ("DOC_MISSING_SAVED_IMAGES", "failed"),
        ("DOC_MISSING_RESPONSE", "failed"),
    ]


def test_sources_name_the_release_read_from_the_file_name() -> None:
    assert reference_release("ncci_ptp_64520_2024q3_prac_and_outpatient.csv") == "2024Q3"
    assert reference_release("pfs_rvu_2025oct_64520_related.csv") == "2025 Oct"
    assert reference_release("icd10cm_2026_64520_relevant_extract.csv") == "2026"
    assert reference_release("modifier_codes.csv") is None
    assert reference_sources() == {
        "ncci_ptp": "NCCI PTP 2024Q3",
        "ncci_mue": "NCCI MUE 2024Q3",
        "icd10cm_indications": "ICD-10-CM 2026",
        "modifiers": "CPT/HCPCS modifier list",
        "fee_schedule": "PFS RVU 2025 Oct",
    }
