"""Note-text extraction on clinician wordings the synthetic generator never uses."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from models.features.documentation import add_documentation_features, add_note_text_features
from tests.features import feature_frames as staged


def extract(text: str | None) -> dict:
    frame = pl.LazyFrame({"text": [text]}, schema={"text": pl.String})
    return add_note_text_features(frame).collect().row(0, named=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Long-standing RSD of the L foot, worse in cold weather.", True),
        ("Reflex sympathetic dystrophy L ankle since 2023 ORIF.", True),
        ("Sx c/w complex regional pain syndrome type 1, R leg.", True),
        ("Ischemic rest pain in the toes, vascular surgery declined.", True),
        ("Pt denies CRPS symptoms; referred for axial LBP.", False),
        ("No evidence of CRPS or causalgia on exam.", False),
        ("Low back pain, mechanical.", False),
    ],
)
def test_indication_with_negation(text: str, expected: bool) -> None:
    assert extract(text)["doc_indication"] is expected


@pytest.mark.parametrize(
    ("text", "failed", "weeks"),
    [
        ("She did 10 wks of PT w/o relief and was intolerant to Lyrica.", True, 10.0),
        ("HEP and ibuprofen were not helpful over the past 3 months.", True, 13.0),
        ("Gabapentin trial ineffective.", True, None),
        ("Completed six weeks of physiotherapy; pain no better.", True, 6.0),
        ("Has not failed PT; still progressing with therapy.", False, None),
        ("Physiotherapy scheduled to begin next week.", False, None),
        ("Pt declines NSAIDs because of CKD.", False, None),
    ],
)
def test_conservative_treatment_failure_and_duration(
    text: str, failed: bool, weeks: float | None
) -> None:
    row = extract(text)
    assert row["doc_conservative_failed"] is failed
    assert row["doc_conservative_weeks"] == weeks


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("She can't walk more than half a block and has stopped working.", True),
        ("Needs crutches to get around the house.", True),
        ("Pain wakes her at night; no longer able to drive.", True),
        ("No functional limitations reported. Walks daily.", False),
        ("Denies difficulty walking.", False),
    ],
)
def test_functional_impact(text: str, expected: bool) -> None:
    assert extract(text)["doc_functional_impact"] is expected


@pytest.mark.parametrize(
    ("text", "level", "side"),
    [
        ("Needle placed at the anterolateral L2-L3 body, Lt side.", "lumbar", "left"),
        ("Rt lumbar sympathetic chain targeted.", "lumbar", "right"),
        ("T2 paravertebral sympathetic injection, R", "thoracic", "right"),
        ("Bilat LSB at L3.", "lumbar", "bilateral"),
        ("Injected left and right sympathetic chains at L4", "lumbar", "bilateral"),
        ("Sympathetic block performed per protocol.", "not_documented", "not_documented"),
        # Sides of earlier surgery in history clauses are not the block's side.
        ("s/p R ankle ORIF 2023, here for left LSB #2.", "lumbar", "left"),
        ("Pt s/p R ankle ORIF. L LSB performed under fluoro.", "lumbar", "left"),
        ("Hx of left TKA. Right L3 sympathetic block.", "lumbar", "right"),
        # A side next to the block wins over a side elsewhere in the note.
        ("RIGHT L3 block today; left leg also aches.", "lumbar", "right"),
        ("R LSB #2 38F, s/p blk #1: 50% relief", "lumbar", "right"),
    ],
)
def test_level_and_side(text: str, level: str, side: str) -> None:
    row = extract(text)
    assert (row["doc_level"], row["doc_side"]) == (level, side)


@pytest.mark.parametrize(
    ("text", "guidance", "saved"),
    [
        ("Needle advanced with C arm in AP/lateral projections; spot films archived.", True, True),
        ("US-guided approach. Still images stored to the EMR.", True, True),
        ("Done under image guidance, images not kept.", True, False),
        ("Fluoro used; no images were saved.", True, False),
        ("LSB under fluoro. Films stored.", True, True),
        ("C-arm AP/lat; films not stored.", True, False),
        ("Blind technique without fluoroscopy.", False, False),
    ],
)
def test_imaging_guidance_and_saved_images(text: str, guidance: bool, saved: bool) -> None:
    row = extract(text)
    assert (row["doc_imaging_guidance"], row["doc_images_saved"]) == (guidance, saved)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Aspirated without heme/CSF, then injected slowly.", True),
        ("Negative aspiration confirmed twice.", True),
        ("Aspiration was negative for blood.", True),
        ("Careful aspiration prior to injection was clear.", True),
        ("Needle at L3. -asp heme/CSF. 10 mL bupi.", True),
        ("asp neg x2, then injected", True),
        ("Aspiration: negative.", True),
        ("Injected immediately; did not aspirate.", False),
        ("Aspiration not performed.", False),
        ("Block given.", False),
    ],
)
def test_aspiration_negative_finding_is_positive(text: str, expected: bool) -> None:
    assert extract(text)["doc_aspiration"] is expected


@pytest.mark.parametrize(
    ("text", "agent", "volume"),
    [
        ("15 cc of 0.5% Marcaine was deposited.", "bupivacaine", 15.0),
        ("Naropin 0.2% 12mL injected incrementally.", "ropivacaine", 12.0),
        ("Skin wheal with 2 mL lidocaine 1%, then 10 mL bupivacaine 0.25%.", "bupivacaine", 10.0),
        ("Local: Xylocaine 1%, 5 cc.", "lidocaine", 5.0),
        ("Local anesthetic injected.", "not_documented", None),
        ("No fluoro used, 0.5% ropi 6 mL given.", "ropivacaine", 6.0),
    ],
)
def test_anesthetic_agent_and_volume(text: str, agent: str, volume: float | None) -> None:
    row = extract(text)
    assert (row["doc_anesthetic_agent"], row["doc_volume_ml"]) == (agent, volume)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("VAS 8/10 → 2/10 at 20 min.", True),
        ("Pain went from 7 to 3 after the block.", True),
        ("NRS 9 pre, 4 post.", True),
        ("Pre-injection pain 6, post-injection 1.", True),
        ("Ipsilateral foot warming noted, temp up 2 degrees.", True),
        ("Will reassess at follow-up.", False),
    ],
)
def test_measured_response(text: str, expected: bool) -> None:
    assert extract(text)["doc_response_measured"] is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Last LSB: 70% relief x 3 wks.", 70.0),
        ("Relief of approximately 60 percent after the prior injection.", 60.0),
        ("Earlier block gave roughly 80 pct improvement.", 80.0),
        ("Got no relief from the previous block.", 0.0),
        ("Minimal relief after the first sympathetic block.", 10.0),
        ("Complete relief for a week following the last procedure.", 100.0),
        ("First block today.", None),
    ],
)
def test_prior_relief_percentage(text: str, expected: float | None) -> None:
    assert extract(text)["doc_prior_relief_pct"] == expected


def test_missing_note_has_no_documentation() -> None:
    row = extract(None)
    assert row["note_present"] is False
    assert row["doc_indication"] is None
    assert row["doc_level"] is None


def test_linking_prefers_procedure_note_and_falls_back_to_date() -> None:
    """Encounter link first; patient+date fallback; procedure notes win; later notes ignored."""
    lines = staged.claim_lines(
        staged.claim_line("C1"),
        staged.claim_line("C2", encounter_id=None, patient_key="p2", service_date=date(2025, 3, 4)),
        staged.claim_line("C3", patient_key="p3", submission_date=date(2025, 3, 5)),
    )
    complete = (
        "CRPS L leg, failed 8 weeks PT. Unable to walk. L L3 LSB under fluoro, images saved. "
        "Neg aspiration. 10 mL bupivacaine. VAS 8/10 -> 2/10."
    )
    notes = staged.notes(
        staged.note("N1", complete),
        staged.note("N2", "Follow-up: doing fine.", note_type="follow_up"),
        staged.note("N3", "Ropivacaine 8 mL at T3.", encounter_id="E-OTHER", patient_key="p2",
                    note_date=date(2025, 3, 4)),
        staged.note("N4", "Late addendum: bupivacaine 10 mL.", encounter_id="E-C3",
                    patient_key="p3", note_date=date(2025, 3, 20)),
    )  # fmt: skip
    target = lines.with_columns(pl.lit(None, dtype=pl.String).alias("_"))
    out = add_documentation_features(target, notes).sort("claim_id").collect()
    c1, c2, c3 = out.rows(named=True)
    assert c1["doc_completeness"] == 1.0 and c1["doc_anesthetic_agent"] == "bupivacaine"
    assert c2["note_present"] and c2["doc_anesthetic_agent"] == "ropivacaine"
    assert c2["doc_level"] == "thoracic"
    assert c3["note_present"] is False and c3["doc_completeness"] == 0.0


def test_procedure_note_dictated_days_later_links_to_its_line() -> None:
    """Without an encounter id, a procedure note up to 3 days late documents the line."""
    lines = staged.claim_lines(
        staged.claim_line(
            "C4", encounter_id=None, patient_key="p4", submission_date=date(2025, 3, 10)
        ),
        staged.claim_line(
            "C5", encounter_id=None, patient_key="p5", submission_date=date(2025, 3, 10)
        ),
        staged.claim_line(
            "C6",
            encounter_id=None,
            patient_key="p5",
            service_date=date(2025, 3, 5),
            submission_date=date(2025, 3, 10),
        ),
        staged.claim_line(
            "C7", encounter_id=None, patient_key="p7", submission_date=date(2025, 3, 10)
        ),
        staged.claim_line(
            "C8", encounter_id=None, patient_key="p8", submission_date=date(2025, 3, 4)
        ),
    )
    notes = staged.notes(
        staged.note("N5", "L LSB, 10 mL bupivacaine.", encounter_id=None, patient_key="p4",
                    note_date=date(2025, 3, 5)),
        # p5 had a second block on 3-5: that day's note documents the second line only.
        staged.note("N6", "R LSB, 8 mL ropivacaine.", encounter_id=None, patient_key="p5",
                    note_date=date(2025, 3, 5)),
        staged.note("N7", "L LSB, 10 mL bupivacaine.", encounter_id=None, patient_key="p7",
                    note_date=date(2025, 3, 8)),
        # Dictated after the claim was submitted: not known at submission.
        staged.note("N8", "L LSB, 10 mL bupivacaine.", encounter_id=None, patient_key="p8",
                    note_date=date(2025, 3, 5)),
    )  # fmt: skip
    target = lines.with_columns(pl.lit(None, dtype=pl.String).alias("_"))
    out = add_documentation_features(target, notes).sort("claim_id").collect()
    present = dict(zip(out["claim_id"], out["note_present"], strict=True))
    assert present == {"C4": True, "C5": False, "C6": True, "C7": False, "C8": False}
    c6 = out.filter(pl.col("claim_id") == "C6").row(0, named=True)
    assert c6["doc_side"] == "right" and c6["doc_anesthetic_agent"] == "ropivacaine"


@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("RSD L foot x 2 yrs, worse in winter.", 24.0),
        ("Burning leg pain for the past 9 months.", 9.0),
        ("Onset 6 wks ago after a sprain.", 1.4),
        ("She did 10 wks of PT w/o relief.", None),
    ],
)
def test_symptom_duration(text: str, months: float | None) -> None:
    assert extract(text)["doc_symptom_months"] == months
