"""Denial hazards of a 64520 line and the 835-style adjudication of every line.

Each cause is a hazard computed only from what the landing data shows (the line, its claim, the
note text, the patient's earlier claims, the payer and the dates) plus flat noise; a line's true
probability is p = 1 - prod(1 - h). Triggers and CARC/RARC follow cpt-64520.md §2-§5 and §8.3.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from data_contracts.codes import NCCI_BYPASS_MODIFIERS
from pipelines.sources.synthetic.notes import NoteFacts
from pipelines.sources.synthetic.world import Payer

CAUSES: tuple[str, ...] = (
    "eligibility",
    "provider_eligibility",
    "claim_data",
    "prior_auth",
    "auth_exceeded",
    "documentation_request",
    "medical_necessity",
    "diagnosis_mismatch",
    "frequency",
    "units_mue",
    "bilateral_convention",
    "modifier_invalid",
    "ncci_bundling",
    "one_procedure_per_visit",
    "timely_filing",
    "duplicate",
)

# Industry root-cause groups (cpt-64520.md §8.3 table) each cause is reported under.
CAUSE_GROUP: dict[str, str] = {
    "eligibility": "registration_eligibility",
    "provider_eligibility": "provider_eligibility",
    "claim_data": "missing_invalid_claim_data",
    "prior_auth": "authorization",
    "auth_exceeded": "authorization",
    "documentation_request": "documentation_requested",
    "medical_necessity": "medical_necessity",
    "diagnosis_mismatch": "medical_necessity",
    "frequency": "frequency_units",
    "units_mue": "frequency_units",
    "bilateral_convention": "coding_bundling_modifier",
    "modifier_invalid": "coding_bundling_modifier",
    "ncci_bundling": "coding_bundling_modifier",
    "one_procedure_per_visit": "coding_bundling_modifier",
    "timely_filing": "untimely_filing",
    "duplicate": "duplicate",
}

# Claim-level events shared by every line of the claim.
CLAIM_LEVEL_CAUSES: frozenset[str] = frozenset({"eligibility", "timely_filing"})

BYPASS_MODIFIERS: frozenset[str] = frozenset(NCCI_BYPASS_MODIFIERS)


@dataclass
class LineContext:
    """Observable facts about one 64520 line that the hazards read."""

    payer: Payer
    convention: str  # the payer's bilateral convention on the service date
    requires_auth: bool
    units: float
    modifiers: tuple[str, ...]
    second_rt_lt_line: bool
    ncci_col1_bypassable: bool
    ncci_col1_unbypassable: bool
    other_procedure_same_day: bool
    dx_group: str
    dx_header: bool
    note: NoteFacts
    prior_blocks_365d: int
    days_since_last_block: int | None
    first_claim_with_payer: bool
    auth_present: bool
    auth_reused: bool
    lag_days: int
    fluoro_billed: bool
    duplicate: bool
    hazards: dict[str, float] = field(default_factory=dict)


def line_hazards(c: LineContext) -> dict[str, float]:
    """Per-cause denial hazards of a 64520 line (insertion order = CAUSES order)."""
    p = c.payer
    mods = set(c.modifiers)
    h: dict[str, float] = {}
    h["eligibility"] = eligibility_hazard(p, c.first_claim_with_payer)
    h["provider_eligibility"] = 0.003
    h["claim_data"] = 0.85 if c.dx_header else 0.004
    if c.requires_auth and not c.auth_present:
        h["prior_auth"] = 0.85
    if c.requires_auth and c.auth_present and c.auth_reused:
        h["auth_exceeded"] = 0.6
    n = c.note
    review = p.medical_review_rate
    h["documentation_request"] = review * (
        3.0 if not n.present else 0.15 + 1.2 * (1 - n.completeness)
    )
    necessity = []
    if c.dx_group == "symptom_only":
        necessity.append(0.06 if p.plan_type == "medicare" else 0.1)
    elif c.dx_group == "metabolic_neuropathy":
        necessity.append(0.85 if p.metabolic_neuropathy_noncovered else 0.2)
    elif c.dx_group == "vascular":
        necessity.append(0.75 if p.ischemic_not_covered else 0.05)
    elif c.dx_group in ("phantom", "zoster_phn", "hyperhidrosis"):
        necessity.append(0.03 if p.plan_type == "medicare" else 0.07)
    if n.present:
        if not n.conservative_failed and p.plan_type != "medicare":
            necessity.append(0.04)
        if not n.indication:
            necessity.append(0.04)
        if not n.functional:
            necessity.append(0.01)
        if n.is_repeat:
            if n.prior_relief_pct is not None and n.prior_relief_pct < 50:
                necessity.append(0.45 if p.requires_prior_relief else 0.03)
            elif n.prior_relief_pct is None and p.requires_prior_relief:
                necessity.append(0.1)
        if p.requires_saved_images and c.fluoro_billed and n.images_saved is not True:
            necessity.append(0.2)
    if necessity:
        h["medical_necessity"] = combine(necessity)
    if c.dx_group == "crps_upper":
        h["diagnosis_mismatch"] = 0.6
    freq = []
    if p.max_blocks_365d and c.prior_blocks_365d >= p.max_blocks_365d:
        freq.append(0.7)
    if (
        p.min_interval_days
        and c.days_since_last_block is not None
        and c.days_since_last_block < p.min_interval_days
    ):
        freq.append(0.75)
    if freq:
        h["frequency"] = combine(freq)
    if c.units > 1:
        # MUE 1 / MAI 3 (§3): no modifier bypasses it.
        h["units_mue"] = 0.95 if p.strict_mue else 0.5
    if c.second_rt_lt_line and c.convention == "modifier_50":
        h["bilateral_convention"] = 0.9
    elif "50" in mods and c.convention == "rt_lt_two_lines" and not mods & {"RT", "LT"}:
        h["bilateral_convention"] = 0.8
    invalid = []
    if mods & {"26", "TC"}:
        invalid.append(0.95)  # PC/TC indicator 0 (§1)
    if "50" in mods and mods & {"RT", "LT"}:
        invalid.append(0.7)
    if invalid:
        h["modifier_invalid"] = combine(invalid)
    if c.ncci_col1_unbypassable:
        h["ncci_bundling"] = 0.9
    elif c.ncci_col1_bypassable:
        h["ncci_bundling"] = 0.06 if mods & BYPASS_MODIFIERS else 0.9
    if p.one_procedure_per_visit and c.other_procedure_same_day:
        h["one_procedure_per_visit"] = 0.55
    if c.lag_days > p.filing_limit_days:
        h["timely_filing"] = 0.97
    if c.duplicate:
        h["duplicate"] = 0.95
    return h


def eligibility_hazard(payer: Payer, first_claim_with_payer: bool) -> float:
    """Registration/eligibility errors: flat noise, higher on a first claim and on Medicaid churn."""
    # §6 2020 cause mix: registration/eligibility is the largest single share of denials.
    hazard = 0.03 + (0.035 if first_claim_with_payer else 0.0)
    return hazard + (0.015 if payer.plan_type == "medicaid" else 0.0)


def combine(hazards: list[float]) -> float:
    """1 - prod(1 - h)."""
    survive = 1.0
    for x in hazards:
        survive *= 1.0 - x
    return 1.0 - survive


def denial_codes(
    r: random.Random, cause: str, payer: Payer, mods: tuple[str, ...] = ()
) -> tuple[str, str, str | None]:
    """Group code, CARC and RARC(s) a payer sends for a cause (§2d, §3, §5)."""
    medicare = payer.plan_type == "medicare"
    if cause == "eligibility":
        return "CO", r.choice(("27", "27", "31", "31", "22")), None
    if cause == "provider_eligibility":
        return "CO", ("B7" if medicare else r.choice(("185", "242"))), None
    if cause == "claim_data":
        return "CO", "16", "M76"
    if cause == "prior_auth":
        return "CO", "197", None
    if cause == "auth_exceeded":
        return "CO", "198", "N54"
    if cause == "documentation_request":
        return "CO", r.choice(("252", "252", "226")), "N29"
    if cause == "medical_necessity":
        if medicare:
            return "CO", "50", "N115"
        if payer.plan_type == "medicaid":
            return "CO", "50", "N130"
        return "CO", r.choice(("50", "50", "167")), None
    if cause == "diagnosis_mismatch":
        return "CO", "11", None
    if cause == "frequency":
        return "CO", r.choice(("119", "151")), "N435"
    if cause == "units_mue":
        return "CO", "151", ("N362" if r.random() < 0.8 else "MA01") if medicare else "N362"
    if cause == "bilateral_convention":
        return ("CO", "151", "N362") if "50" not in mods else ("CO", "4", None)
    if cause == "modifier_invalid":
        return "CO", "4", None
    if cause == "ncci_bundling":
        return ("CO", "236", None) if medicare else ("CO", "97", r.choice(("M15", "N19")))
    if cause == "one_procedure_per_visit":
        return "CO", "97", "N20"
    if cause == "timely_filing":
        return "CO", "29", None
    if cause == "duplicate":
        return "OA", "18", None
    raise ValueError(cause)


def companion_hazards(
    code: str, mods: tuple[str, ...], payer: Payer, em_needs_25: bool, bundled_into_64520: bool
) -> tuple[str, float]:
    """Cause and hazard of a non-64520 line (no truth is recorded for these)."""
    mset = set(mods)
    if code in ("99155", "99156", "99157"):
        return "ncci_bundling", 0.95  # modifier indicator 0 (§2a)
    if em_needs_25 and "25" not in mset:
        return "ncci_bundling", 0.92
    if bundled_into_64520:
        return "ncci_bundling", (0.06 if mset & BYPASS_MODIFIERS else 0.9)
    if code.startswith("97"):
        return "medical_necessity", 0.05
    return "medical_necessity", 0.03 if payer.plan_type == "medicare" else 0.05
