"""The feature catalog: every column the model reads, with its meaning, inputs, rationale and source.

`docs/features.md` is rendered from this catalog; regenerate it with
`uv run python -m models.features.catalog` (a test fails when it is stale).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

FeatureKind = Literal["numeric", "boolean", "categorical"]
ReasonGroup = Literal[
    "BILATERAL_UNITS",
    "MODIFIER_CONFLICT",
    "NCCI_BUNDLING",
    "EM_WITHOUT_25",
    "DOCUMENTATION",
    "DIAGNOSIS",
    "FREQUENCY",
    "PRIOR_AUTH",
    "TIMELY_FILING",
    "PAYER_HISTORY",
    "PROVIDER_HISTORY",
    "PATIENT_HISTORY",
    "CONTEXT",
]

DOMAIN = "docs cpt-64520.md"


@dataclass(frozen=True)
class FeatureSpec:
    """One model feature: a column of `modelling_table`."""

    name: str
    kind: FeatureKind
    meaning: str
    inputs: str
    why: str
    citation: str
    reason_group: ReasonGroup
    family: str = ""


def _family(family: str, *specs: FeatureSpec) -> tuple[FeatureSpec, ...]:
    return tuple(
        FeatureSpec(s.name, s.kind, s.meaning, s.inputs, s.why, s.citation, s.reason_group, family)
        for s in specs
    )


F = FeatureSpec
LINES = "staged_claim_lines"
OUT = "line_outcomes"
NOTES = "staged_notes"

MODIFIER_FEATURES = _family(
    "modifiers",
    F(
        "units",
        "numeric",
        "Units billed on this 64520 line.",
        f"{LINES}.units",
        "64520 has an MUE of 1 per day (MAI 3); more units deny as CO-151/N362 unless -50.",
        "domain §3 (CMS MUE 07-01-2024)",
        "BILATERAL_UNITS",
    ),
    F(
        "units_per_day_total",
        "numeric",
        "All 64520 units of the patient on the service date, over every claim.",
        f"{LINES}.units, patient_key, service_date",
        "MUE counts units of service per patient and date of service, across lines.",
        "domain §3; NCCI Policy Manual ch. VIII (units per encounter)",
        "BILATERAL_UNITS",
    ),
    F(
        "units_over_mue",
        "boolean",
        "units_per_day_total exceeds the practitioner MUE of the code (shipped MUE table).",
        f"{LINES}.units; data_contracts ncci_mue_practitioner",
        "An MUE excess is a coding denial that no modifier bypasses.",
        "domain §3, §2d (cgsmedicare MUEs & CUEs)",
        "BILATERAL_UNITS",
    ),
    F(
        "has_modifier_50",
        "boolean",
        "Modifier 50 (bilateral) on the line.",
        f"{LINES}.modifier_1..4",
        "Bilateral indicator 1: Medicare expects one line -50.",
        "domain §1 (CMS RVU bilateral indicator 1)",
        "BILATERAL_UNITS",
    ),
    F(
        "has_rt_or_lt",
        "boolean",
        "Modifier RT or LT on the line.",
        f"{LINES}.modifier_1..4",
        "Laterality modifiers decide how bilateral work is priced by the payer.",
        "domain §1 (CPT Assistant Dec 2010 via Becker's)",
        "BILATERAL_UNITS",
    ),
    F(
        "modifier_50_with_rt_lt",
        "boolean",
        "Modifier 50 together with RT or LT on the same line.",
        f"{LINES}.modifier_1..4",
        "Contradictory laterality is a CO-4 modifier denial.",
        "domain §5 (CARC 4)",
        "MODIFIER_CONFLICT",
    ),
    F(
        "rt_lt_two_lines_same_day",
        "boolean",
        "The patient has a 64520 line with RT and another with LT on the same service date.",
        f"{LINES}.modifier_1..4, patient_key, service_date",
        "Two-line RT/LT bilateral billing counts 2 units against MUE 1 on Medicare.",
        "domain §1, §3",
        "BILATERAL_UNITS",
    ),
    F(
        "units_billed_earlier_same_day",
        "numeric",
        "64520 units of the patient on the service date already billed before this line: on "
        "claims submitted earlier, or on lower line numbers of the same claim.",
        f"{LINES}.units, line_number, patient_key, service_date, submission_date",
        "Claim editors apply the MUE line by line in billing order; the later line of a "
        "bilateral RT/LT pair is the one denied by a payer that pays one line -50.",
        "domain §1, §3 (MUE 1, MAI 3: units per date of service)",
        "BILATERAL_UNITS",
    ),
    F(
        "line_exceeds_mue_cumulative",
        "boolean",
        "units_billed_earlier_same_day plus this line's units exceed the practitioner MUE of the "
        "code: this line is the one that takes the patient-day over the limit.",
        "units_billed_earlier_same_day, units; data_contracts ncci_mue_practitioner",
        "The second RT/LT line (or a repeat line on a new claim) is denied CO-151/N362 "
        "by payers that count 64520 units per day.",
        "domain §1, §3, §5 (CARC 151, RARC N362)",
        "BILATERAL_UNITS",
    ),
    F(
        "pctc_modifier_invalid",
        "boolean",
        "Modifier 26 or TC on a code whose PC/TC indicator is 0 (64520: 0).",
        f"{LINES}.modifier_1..4; data_contracts fee_schedule pctc_ind",
        "26/TC on a PC/TC-0 code is invalid: CO-4/CO-182.",
        "domain §1, §8.3",
        "MODIFIER_CONFLICT",
    ),
    F(
        "modifier_validity_edit",
        "boolean",
        "The line fails a modifier validity edit: 26/TC on a code whose PC/TC indicator is 0, "
        "or modifier 50 together with RT/LT.",
        "pctc_modifier_invalid, modifier_50_with_rt_lt",
        "Both deny as CO-4 on any payer; each alone is too rare for the model to learn, one flag "
        "pools them.",
        "domain §1 (PC/TC 0), §5 (CARC 4)",
        "MODIFIER_CONFLICT",
    ),
    F(
        "has_distinct_procedure_modifier",
        "boolean",
        "Modifier 59, XE, XP, XS or XU on the line.",
        f"{LINES}.modifier_1..4",
        "Distinct-procedure modifiers bypass indicator-1 NCCI edits; overuse draws review.",
        "domain §2d (ngsmedicare NCCI lookup)",
        "NCCI_BUNDLING",
    ),
    F(
        "bilateral_coding",
        "categorical",
        "How the work was coded: unilateral, modifier_50, rt_lt_two_lines, units_gt_1 or conflict "
        "(50 with RT/LT, or 50 with units > 1, or 50 plus RT/LT lines the same day).",
        f"{LINES}.modifier_1..4, units",
        "Bilateral coding style is the main modifier/units denial driver for 64520.",
        "domain §1, §3, §8.1",
        "BILATERAL_UNITS",
    ),
    F(
        "payer_bilateral_convention",
        "categorical",
        "The payer's bilateral style learned from its paid history before the submission date: "
        "modifier_50 or rt_lt_two_lines when at least 3 paid bilateral encounters exist and "
        "one style holds >= 60% of them, else unknown.",
        f"{LINES} + {OUT} (paid, adjudicated before submission)",
        "Payers differ: Medicare wants one line -50, many commercial/ASC payers two lines RT/LT.",
        "domain §1 (MAC article 60321: ASC facility RT/LT, professional 50)",
        "PAYER_HISTORY",
    ),
    F(
        "bilateral_matches_payer_convention",
        "numeric",
        "1 when the line's bilateral coding equals the payer's learned convention, 0 when it does "
        "not, null when the line is unilateral or the convention is unknown (Int8).",
        "bilateral_coding, payer_bilateral_convention",
        "Billing against the payer's own bilateral convention is a frequent modifier denial.",
        "domain §1",
        "BILATERAL_UNITS",
    ),
    F(
        "payer_coding_denial_rate",
        "numeric",
        "Smoothed coding-denial rate (CARC 4, 151, 182) of the payer's 64520 lines coded the same "
        "way (bilateral_coding x line_exceeds_mue_cumulative) known in the 180 days before the "
        "submission date, shrunk toward the overall rate (weight 10 lines).",
        f"{LINES} + {OUT}; bilateral_coding, line_exceeds_mue_cumulative",
        "Learns from the payer's own remits which bilateral styles and extra-unit lines it denies "
        "now, including convention changes, instead of hard-coding payer rules.",
        "domain §1 (payer bilateral variants), §3, §5 (CARC 4, 151, 182)",
        "BILATERAL_UNITS",
    ),
)

SAME_DAY_FEATURES = _family(
    "same_day",
    F(
        "ncci_edit_present",
        "boolean",
        "Another line of the patient on the service date forms an NCCI PTP pair with 64520 "
        "(either column) in the practitioner table, active on the service date.",
        f"{LINES}.cpt_code, patient_key, service_date; data_contracts ncci_ptp_pairs",
        "PTP pairs deny the column-2 code unless a modifier is allowed and used.",
        "domain §2 (CMS NCCI PTP 07-01-2024)",
        "NCCI_BUNDLING",
    ),
    F(
        "ncci_edit_bypassable",
        "boolean",
        "At least one of those active edits has modifier indicator 1.",
        "ncci_ptp_pairs.modifier_indicator",
        "Indicator 1 lets 59/X{EPSU}/25 bypass the edit.",
        "domain §2d",
        "NCCI_BUNDLING",
    ),
    F(
        "ncci_bypass_modifier_present",
        "boolean",
        "Every indicator-1 edit has a bypass modifier on its column-2 line (59, XE, XP, XS, XU; "
        "25 for an E/M column-2 line); false when there is no indicator-1 edit.",
        f"{LINES}.modifier_1..4 of the column-2 line",
        "An indicator-1 edit without a bypass modifier denies the column-2 code (CO-236/CO-97).",
        "domain §2d, §8.3",
        "NCCI_BUNDLING",
    ),
    F(
        "ncci_unbypassable_edit",
        "boolean",
        "An active edit with modifier indicator 0 (e.g. 62280-62282, 64624-64629, 99155-99157).",
        "ncci_ptp_pairs.modifier_indicator",
        "Indicator 0 edits deny the column-2 code whatever modifier is used.",
        "domain §2a, §2b",
        "NCCI_BUNDLING",
    ),
    F(
        "ncci_64520_column_2",
        "boolean",
        "Another line of the patient that day is the column-1 (comprehensive) code of an active "
        "practitioner PTP edit in which 64520 is the column-2 code (e.g. 64624, 62280, 64633, "
        "64680, 20553).",
        f"{LINES}.cpt_code, patient_key, service_date; data_contracts ncci_ptp_pairs",
        "When 64520 is column 2 it is the 64520 line itself that the payer denies; edits where "
        "64520 is column 1 (77002, 99155) deny the other line instead.",
        "domain §2b",
        "NCCI_BUNDLING",
    ),
    F(
        "ncci_64520_column_2_unbypassed",
        "boolean",
        "Such a column-2 edit has modifier indicator 0, or indicator 1 and the 64520 line carries "
        "no 59/XE/XP/XS/XU modifier.",
        f"{LINES}.modifier_1..4; ncci_ptp_pairs.modifier_indicator",
        "An unbypassed edit denies the 64520 line (CO-236 Medicare, CO-97 + M15/N19 others).",
        "domain §2b, §2d, §5",
        "NCCI_BUNDLING",
    ),
    F(
        "em_same_day_without_25",
        "boolean",
        "An E/M line (99202-99499, G0463) of the patient on the service date without modifier 25.",
        f"{LINES}.cpt_code, modifier_1..4",
        "E/M with 64520 needs modifier 25 (indicator 1) or the E/M is denied.",
        "domain §2a, §8.3",
        "EM_WITHOUT_25",
    ),
    F(
        "imaging_77002_same_day",
        "boolean",
        "A 77002 (fluoroscopic guidance) line on the same date.",
        f"{LINES}.cpt_code",
        "64520/77002 is an active indicator-1 NCCI pair.",
        "domain §1, §2a",
        "NCCI_BUNDLING",
    ),
    F(
        "imaging_77003_same_day",
        "boolean",
        "A 77003 line on the same date.",
        f"{LINES}.cpt_code",
        "64520/77003 edit was deleted 2016-12-31; payer preference for 77002 vs 77003 varies.",
        "domain §1 (AAPC fluoroscopy with 64520)",
        "NCCI_BUNDLING",
    ),
    F(
        "other_procedures_same_day",
        "numeric",
        "Lines of other surgical/procedure codes (10004-69990, not 64520) of the patient that day.",
        f"{LINES}.cpt_code",
        "Payer policies such as 'one procedure per visit' deny extra procedures.",
        "domain §2c (Centene CP.MP.170)",
        "NCCI_BUNDLING",
    ),
    F(
        "duplicate_of_earlier_claim",
        "boolean",
        "A 64520 line with the same patient, service date, rendering NPI and modifiers is on "
        "another claim submitted before this line's submission date.",
        f"{LINES}.patient_key, service_date, cpt_code, modifier_1..4, rendering_npi, "
        "submission_date",
        "Payers deny an exact repeat of an already billed service as a duplicate (OA-18).",
        "domain §5 (CARC 18), §8.3 (duplicate 1%)",
        "BILATERAL_UNITS",
    ),
    F(
        "payer_one_procedure_per_visit_rate",
        "numeric",
        "For a line with another procedure that day: the smoothed bundling-denial rate (CARC 97, "
        "236) of the payer's 64520 lines that had another procedure the same day, from outcomes "
        "adjudicated before the submission date (shrunk to the overall rate); 0 otherwise.",
        f"{LINES} + {OUT}",
        "Learns payer 'one procedure per visit' policies from remits.",
        "domain §2c, §8.1",
        "PAYER_HISTORY",
    ),
)

DOCUMENTATION_FEATURES = _family(
    "documentation",
    F(
        "note_present",
        "boolean",
        "A clinical note is linked to the line (encounter_id, else patient + service date, else "
        "the patient's procedure note without encounter id dictated 1-3 days later), dated no "
        "later than the submission date.",
        f"{NOTES}",
        "Records are requested on review.",
        "domain §4a (A52725 documentation)",
        "DOCUMENTATION",
    ),
    F(
        "doc_indication",
        "boolean",
        "The note names an indication (CRPS/RSD, causalgia, sympathetically maintained pain, PHN, "
        "phantom limb, vascular/ischemic pain, hyperhidrosis), not negated.",
        f"{NOTES}.text",
        "Coverage policies require a documented CRPS-type indication.",
        "domain §4b (Aetna CPB 0447, Centene CP.MP.170)",
        "DOCUMENTATION",
    ),
    F(
        "doc_symptom_months",
        "numeric",
        "How long the symptoms have lasted, in months, as stated with the complaint "
        "('for 8 months', 'x 2 yrs', 'began 13 mo ago'); treatment and relief durations skipped.",
        f"{NOTES}.text",
        "Indications are judged with their duration (established CRPS vs an acute presentation).",
        "domain §4b (ASA/ASRA guideline)",
        "DOCUMENTATION",
    ),
    F(
        "doc_conservative_failed",
        "boolean",
        "The note documents failed conservative treatment (PT, HEP, NSAIDs, gabapentinoids, "
        "TCAs, TENS, desensitisation...), not negated.",
        f"{NOTES}.text",
        "Blocks are covered after conservative care fails.",
        "domain §4b (Aetna CPB 0447)",
        "DOCUMENTATION",
    ),
    F(
        "doc_conservative_weeks",
        "numeric",
        "Duration of conservative treatment in weeks stated near it (months x 4.345).",
        f"{NOTES}.text",
        "Policies look for an adequate trial (typically >= 6 weeks).",
        "domain §4b",
        "DOCUMENTATION",
    ),
    F(
        "doc_functional_impact",
        "boolean",
        "The note documents functional limitation (ADLs, walking, weight bearing, work, sleep), "
        "not negated.",
        f"{NOTES}.text",
        "Medical necessity rests on functional impairment.",
        "domain §4b (ASA/ASRA guideline)",
        "DOCUMENTATION",
    ),
    F(
        "doc_level",
        "categorical",
        "Spinal level documented: lumbar, thoracic, both or not_documented (null without note).",
        f"{NOTES}.text",
        "64520 is lumbar or thoracic; the level must match the code.",
        "domain §1 (descriptor)",
        "DOCUMENTATION",
    ),
    F(
        "doc_side",
        "categorical",
        "Side documented: left, right, bilateral or not_documented (null without note). A side "
        "next to the block wins; sides in history clauses (s/p, hx of) are ignored.",
        f"{NOTES}.text",
        "Side must support RT/LT/50 on the claim.",
        "domain §1",
        "DOCUMENTATION",
    ),
    F(
        "doc_imaging_guidance",
        "boolean",
        "Imaging guidance documented (fluoroscopy, C-arm, ultrasound, CT), not negated.",
        f"{NOTES}.text",
        "Guidance supports 77002/77003 and the safety of the block.",
        "domain §1 (CPT Assistant on 77002/77003)",
        "DOCUMENTATION",
    ),
    F(
        "doc_images_saved",
        "boolean",
        "Saved/stored/archived images documented, not negated.",
        f"{NOTES}.text",
        "Some payers deny fluoroscopic procedures without stored images.",
        "domain §4a (20 Miss. Code R. 2-II)",
        "DOCUMENTATION",
    ),
    F(
        "fluoro_without_saved_images",
        "boolean",
        "Fluoroscopic guidance (77002/77003) is billed that day but the note does not document "
        "saved/stored images.",
        f"imaging_77002_same_day, imaging_77003_same_day, doc_images_saved ({NOTES}.text)",
        "Some payers (workers' compensation rules) deny fluoroscopic procedures without stored "
        "images.",
        "domain §4a (20 Miss. Code R. 2-II)",
        "DOCUMENTATION",
    ),
    F(
        "doc_aspiration",
        "boolean",
        "Negative aspiration (no blood/CSF) documented before injection.",
        f"{NOTES}.text",
        "Standard procedural safety documentation reviewers look for.",
        "EST (domain §4a records)",
        "DOCUMENTATION",
    ),
    F(
        "doc_anesthetic_agent",
        "categorical",
        "Local anesthetic documented: bupivacaine, ropivacaine, lidocaine or not_documented "
        "(brand names mapped; long-acting agent preferred).",
        f"{NOTES}.text",
        "64520 is an injection of anesthetic agent; the agent must be documented.",
        "domain §1 (descriptor)",
        "DOCUMENTATION",
    ),
    F(
        "doc_volume_ml",
        "numeric",
        "Injected volume in mL (mL/cc) near the agent, else first volume.",
        f"{NOTES}.text",
        "Volume documents the injection itself.",
        "domain §1",
        "DOCUMENTATION",
    ),
    F(
        "doc_response_measured",
        "boolean",
        "Measured response documented: pain score before and after (VAS/NRS, x/10) or a "
        "temperature rise.",
        f"{NOTES}.text",
        "Repeat blocks require documented, measured response.",
        "domain §4b (BSC6.04, Aetna)",
        "DOCUMENTATION",
    ),
    F(
        "doc_prior_relief_pct",
        "numeric",
        "Relief percentage from earlier blocks in the note ('70% relief'; 'no relief' = 0, "
        "'minimal relief' = 10, 'complete relief' = 100).",
        f"{NOTES}.text",
        "Repeat blocks need significant (~50%) relief of increasing duration.",
        "domain §4b (relief threshold)",
        "DOCUMENTATION",
    ),
    F(
        "doc_completeness",
        "numeric",
        "Share (0-1) of the 11 documentation elements present; 0 without a note.",
        f"{NOTES}.text",
        "One summary of how defensible the record is.",
        "domain §4a, §4b",
        "DOCUMENTATION",
    ),
)

DIAGNOSIS_FEATURES = _family(
    "diagnosis",
    F(
        "dx_primary_is_indication",
        "boolean",
        "Primary diagnosis is billable, on the shipped indication shortlist and not symptom-only, "
        "upper-limb CRPS or metabolic neuropathy.",
        f"{LINES}.primary_diagnosis; data_contracts sympathetic_block_indications",
        "Diagnosis must support medical necessity (CO-50/CO-167).",
        "domain §4c",
        "DIAGNOSIS",
    ),
    F(
        "dx_primary_valid",
        "boolean",
        "Primary diagnosis is a billable (leaf) code of the shipped ICD-10-CM release.",
        f"{LINES}.primary_diagnosis; data_contracts icd10cm_codes",
        "Invalid or truncated codes are rejected (CO-16/CO-146).",
        "domain §5",
        "DIAGNOSIS",
    ),
    F(
        "dx_symptom_only",
        "boolean",
        "Primary diagnosis is a symptom-only code (R-codes, M54.x, G89.29, M79.2, M79.6x, M25.5x).",
        f"{LINES}.primary_diagnosis",
        "Non-specific pain codes carry high denial risk.",
        "domain §4c (non-specific)",
        "DIAGNOSIS",
    ),
    F(
        "dx_upper_limb_crps",
        "boolean",
        "Primary diagnosis is upper-limb CRPS (G90.51x) or upper-limb causalgia (G56.4x).",
        f"{LINES}.primary_diagnosis",
        "Upper-limb CRPS is treated with 64510, so it mismatches a lumbar block (CO-11).",
        "domain §4c",
        "DIAGNOSIS",
    ),
    F(
        "dx_metabolic_neuropathy",
        "boolean",
        "Primary diagnosis is diabetic/metabolic neuropathy (E08-E13 .4x).",
        f"{LINES}.primary_diagnosis",
        "Nerve blockade for metabolic neuropathy is non-covered (L35457).",
        "domain §4a (L35457/A52725)",
        "DIAGNOSIS",
    ),
    F(
        "dx_group",
        "categorical",
        "Diagnosis group of the primary code: crps_lower_limb, crps_other, causalgia_lower_limb, "
        "crps_upper_limb, herpes_zoster, vascular, phantom_limb, hyperhidrosis, visceral_or_cancer, "
        "metabolic_neuropathy, symptom_only, other, invalid.",
        f"{LINES}.primary_diagnosis",
        "Coverage differs by indication (CRPS covered, vascular often not).",
        "domain §4b, §4c",
        "DIAGNOSIS",
    ),
    F(
        "payer_dx_denial_rate",
        "numeric",
        "Smoothed coverage-denial rate (CARC 50, 167, 11, 96) of the payer's earlier 64520 lines "
        "with the same dx_group, from outcomes adjudicated before the submission date (weight "
        "20 lines toward the overall rate).",
        f"{LINES} + {OUT}; dx_group",
        "Payers cover indications differently (ischemic pain, metabolic neuropathy, symptom-only "
        "codes); learned from the payer's remits.",
        "domain §4a (L35457), §4b (Centene CP.MP.170), §4c, §5",
        "DIAGNOSIS",
    ),
)

HISTORY_FEATURES = _family(
    "history",
    *(
        F(
            f"prior_64520_{d}d",
            "numeric",
            f"The patient's earlier 64520 sessions (distinct service dates) in the {d} days before "
            "the service date, counting only claims submitted before this line's submission date.",
            f"{LINES}",
            "Frequency limits: Aetna >= 7 days apart and <= 3; IBX <= 6 per 12 months.",
            "domain §4b (Aetna CPB 0447, IBX 08.00.57)",
            "FREQUENCY",
        )
        for d in (7, 14, 30, 365)
    ),
    F(
        "days_since_last_64520",
        "numeric",
        "Days from the patient's last earlier known 64520 session to this service date.",
        f"{LINES}",
        "Repeat blocks sooner than 7 days are not medically necessary (Aetna).",
        "domain §4b",
        "FREQUENCY",
    ),
    F(
        "payer_frequency_denial_rate",
        "numeric",
        "Smoothed frequency-denial rate (CARC 119, or 151 on a line within the MUE) of the "
        "payer's earlier 64520 lines with the same 12-month session count (capped at 6) and the "
        "same < 7-day interval flag, from outcomes adjudicated before the submission date.",
        f"{LINES} + {OUT}; prior_64520_365d, days_since_last_64520",
        "Learns each payer's yearly block limit and minimum interval from its own remits "
        "(Aetna 3 per 12 months, IBX 6) instead of hard-coding them.",
        "domain §4b (Aetna CPB 0447, IBX 08.00.57), §5 (CARC 119, 151; RARC N435)",
        "FREQUENCY",
    ),
    F(
        "prior_block_relief_pct",
        "numeric",
        "Relief percentage documented after the last earlier 64520 session, in notes dated before "
        "the submission date; null without an earlier session or documented relief.",
        f"{NOTES}.text, {LINES}",
        "Repeat blocks need relief from the previous one.",
        "domain §4b (relief threshold)",
        "FREQUENCY",
    ),
    F(
        "patient_prior_denials",
        "numeric",
        "The patient's denied lines (any code) adjudicated before the submission date.",
        f"{LINES} + {OUT}",
        "Patients with earlier denials (eligibility, benefit limits) deny again.",
        "domain §8.3",
        "PATIENT_HISTORY",
    ),
    F(
        "first_claim_with_payer",
        "boolean",
        "No claim of the patient with this payer was submitted before this line's submission date.",
        f"{LINES}",
        "Registration/eligibility errors concentrate on first claims with a payer.",
        "domain §6 (Change Healthcare 2020: registration/eligibility 26.6%)",
        "PATIENT_HISTORY",
    ),
    F(
        "payer_code_denial_rate",
        "numeric",
        "Denial rate of the payer for this CPT code from outcomes adjudicated before the "
        "submission month, smoothed toward the overall rate (prior weight 20 lines).",
        f"{LINES} + {OUT}",
        "Payers differ widely in denial rates.",
        "domain §6, §8.3",
        "PAYER_HISTORY",
    ),
    F(
        "provider_denial_rate",
        "numeric",
        "Denial rate of the rendering NPI's 64520 lines from outcomes adjudicated before the "
        "submission month, smoothed toward the overall rate (prior weight 20 lines).",
        f"{LINES} + {OUT}",
        "Provider billing habits persist.",
        "domain §6",
        "PROVIDER_HISTORY",
    ),
)

ACKS = "claim_acknowledgements"
FRONT_END_FEATURES = _family(
    "front end",
    F(
        "prior_front_end_rejections_patient",
        "numeric",
        "Front-end (277CA) rejections of the patient's claims (distinct claim and date) dated "
        "before this line's submission date.",
        f"{ACKS} (outcome rejected) + {LINES}.patient_key",
        "Registration and eligibility errors that stop a claim at the front end recur for the "
        "same patient and foreshadow eligibility denials.",
        "domain §6 (front-end causes 23.9%); presubmission.md (277CA, x12.org RFI 2203)",
        "PATIENT_HISTORY",
    ),
    F(
        "claim_rejected_front_end_before",
        "boolean",
        "This claim was rejected at the front end (277CA) before this submission: it is a "
        "corrected resubmission.",
        f"{ACKS} (outcome rejected), claim_id, {LINES}.submission_date",
        "A resubmitted claim was already found wrong once, and it goes out later in the filing "
        "window.",
        "presubmission.md (277CA: corrected and resubmitted within the filing limit)",
        "PATIENT_HISTORY",
    ),
)

TIMING_FEATURES = _family(
    "timing",
    F(
        "submission_lag_days",
        "numeric",
        "Days from service date to submission date.",
        f"{LINES}.service_date, submission_date",
        "Late claims deny for timely filing (CO-29).",
        "domain §5 (CARC 29)",
        "TIMELY_FILING",
    ),
    F(
        "payer_filing_limit_days",
        "numeric",
        "The payer's filing limit: configured when given, else learned before the submission "
        "date (one day under the smallest lag denied with CARC 29, else the largest paid lag).",
        f"{LINES} + {OUT}",
        "Filing limits differ by payer (90 days to 1 year).",
        "domain §5 (CARC 29)",
        "TIMELY_FILING",
    ),
    F(
        "lag_over_filing_limit",
        "boolean",
        "submission_lag_days exceeds payer_filing_limit_days (null when the limit is unknown).",
        "submission_lag_days, payer_filing_limit_days",
        "Past the limit the line is denied CO-29.",
        "domain §5",
        "TIMELY_FILING",
    ),
    F(
        "prior_auth_present",
        "boolean",
        "A prior-authorization number is on the line.",
        f"{LINES}.prior_auth_number",
        "Missing authorization is a top procedural denial (CO-197).",
        "domain §6 (authorization 11.6%), §8.3",
        "PRIOR_AUTH",
    ),
    F(
        "prior_auth_uses",
        "numeric",
        "Earlier 64520 service dates of the patient billed under the same prior-authorization "
        "number (trimmed, case-insensitive) on claims submitted before this line; 0 without a "
        "number.",
        f"{LINES}.prior_auth_number, patient_key, service_date, submission_date",
        "An authorization covers a set number of sessions; quoting it again after they are used "
        "up is denied CO-198 (+N54).",
        "domain §5 (CARC 198: more blocks than authorized), §8.1, §8.3",
        "PRIOR_AUTH",
    ),
    F(
        "payer_auth_denial_rate",
        "numeric",
        "Smoothed share of the payer's adjudicated lines denied for authorization (CARC 197, "
        "198, 15, 39, 95, 284 or category Invalid/Missing Authorization) before the submission date.",
        f"{LINES} + {OUT}",
        "Shows which payers enforce authorization; combine with prior_auth_present.",
        "domain §8.3",
        "PRIOR_AUTH",
    ),
    F(
        "payer_missing_auth_denial_rate",
        "numeric",
        "For a line without an authorization number: the smoothed authorization-denial rate of "
        "the payer's 64520 lines sent without one in the 120 days before the submission date; "
        "0 when the line carries a number or its service date is before the earliest service "
        "date the payer has denied for missing authorization (CARC 197, 15, 284).",
        f"{LINES}.prior_auth_number + {OUT}",
        "Shows which payers require authorization now; requirements start on an effective date "
        "and apply to services from that date, and only lines without a number deny CO-197.",
        "domain §5 (CARC 197), §6, §8.3",
        "PRIOR_AUTH",
    ),
)

CONTEXT_FEATURES = _family(
    "context",
    F(
        "plan_type",
        "categorical",
        "Plan type of the payer.",
        f"{LINES}.plan_type",
        "Denial rates differ by line of business (MA 15.7%, Medicaid 16.7%).",
        "domain §6 (Premier 2022)",
        "CONTEXT",
    ),
    F(
        "payer_id",
        "categorical",
        "Payer.",
        f"{LINES}.payer_id",
        "Payer policies differ.",
        "domain §4b",
        "CONTEXT",
    ),
    F(
        "place_of_service",
        "categorical",
        "Place of service code.",
        f"{LINES}.place_of_service",
        "Facility vs office changes pricing and bilateral conventions.",
        "domain §1, §8.1",
        "CONTEXT",
    ),
)

FEATURES: tuple[FeatureSpec, ...] = (
    MODIFIER_FEATURES
    + SAME_DAY_FEATURES
    + DOCUMENTATION_FEATURES
    + DIAGNOSIS_FEATURES
    + HISTORY_FEATURES
    + FRONT_END_FEATURES
    + TIMING_FEATURES
    + CONTEXT_FEATURES
)


def feature_names() -> list[str]:
    """Names of all model features in catalog order."""
    return [f.name for f in FEATURES]


def feature_dictionary_markdown() -> str:
    """The feature dictionary (docs/features.md) rendered from the catalog."""
    lines = [
        "# Feature dictionary",
        "",
        "Generated from `models/features/catalog.py`; do not edit by hand. Regenerate with",
        "`uv run python -m models.features.catalog` (a test fails when this file is stale).",
        "",
        "All history features are point in time: they use only claims submitted, outcomes",
        "adjudicated and notes dated before the line's submission date. 'domain §' refers to",
        "the domain notes `cpt-64520.md`.",
        "",
        "Documentation features (and `prior_block_relief_pct`) read each note's documentation",
        "elements, computed from `staged_notes.text` once when the note is loaded and stored in",
        "its `el_*` columns (`models/features/documentation.py`, `NOTE_ELEMENTS_VERSION`); the",
        "text is then cleared (docs/security.md). A line's value combines its linked notes in",
        "note order: an element found in any note counts, the first note stating a value gives",
        "it, counts add up. So every pattern is matched within one note, never across two:",
        "before the elements, a line's notes were joined into one text, and a match could span",
        "the end of one note and the start of the next (a duration split over two notes). The",
        "values are otherwise identical (tested on a synthetic world with the notes regrouped",
        "three to a line, `tests/features/test_note_elements.py`).",
        "",
    ]
    families = dict.fromkeys(f.family for f in FEATURES)
    for family in families:
        lines += [
            f"## {family}",
            "",
            "| name | kind | meaning | inputs | why it matters | citation | reason group |",
            "|---|---|---|---|---|---|---|",
        ]
        for f in FEATURES:
            if f.family == family:
                cells = [
                    f"`{f.name}`",
                    f.kind,
                    f.meaning,
                    f.inputs,
                    f.why,
                    f.citation,
                    f.reason_group,
                ]
                lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def write_feature_dictionary(path: Path) -> None:
    """Write the rendered dictionary to `path`."""
    path.write_text(feature_dictionary_markdown())


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/features.md")
    write_feature_dictionary(target)
