"""The independent world: a second pain practice, written from the input contract and domain notes only.

Written without reading the project's generator (pipelines/sources/synthetic, docs/synthetic-data.md)
so that the model can be checked on data whose mechanism it was not developed against. Sources:
README "Input contract", data_contracts/{input_contract,row_rules,codes}.py, the domain notes
(`../shared/domain/cpt-64520.md`, cited as "domain §") and the shipped reference tables.

The denial mechanism is a logistic model on the log-odds scale: a payer base rate plus additive
terms for the real rules (bilateral convention and MUE, NCCI column-2 bundling, modifier validity,
prior authorization, frequency, diagnosis coverage, documentation, timely filing, duplicates,
eligibility) with payer-specific strengths and a few interactions (Humana checks authorization
only for new patients, Aetna/Cigna want failed conservative care documented only on the first
block of a series, a provider with poor notes draws targeted Medicare review). The 64520 lines of
one claim share one uniform draw, so claim-level causes (authorization, eligibility, filing)
deny the lines together. The denial reason of a denied line is drawn among the active terms in
proportion to the odds they add, and the remit carries the CARC/RARC of that reason (domain §5,
§8.3).
"""

from __future__ import annotations

import logging
import math
import random
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from benchmarks.independent_world.notes import (
    NoteFacts,
    consult_note,
    follow_up_note,
    procedure_note,
)
from benchmarks.independent_world.policy import (
    BUILTIN_SHIFTS,
    PolicyShift,
    check_shifts,
    payer_rules_on,
)
from data_contracts.codes import icd10cm_codes, normalize_icd10
from data_contracts.input_contract import TARGET_CPT
from data_contracts.row_rules import npi_is_valid

log = logging.getLogger(__name__)

AS_OF = date(2026, 11, 20)
# The posting team is four weeks behind: ERAs adjudicated after this date are not in the extract,
# so roughly the last eight weeks of submitted lines are pending (domain §7: remits lag claims).
REMITS_POSTED_THROUGH = AS_OF - timedelta(days=28)
FIRST_SERVICE = date(2024, 8, 1)
LAST_SERVICE = date(2026, 11, 17)
SHARE_64520_PATIENT_LINES = 0.58


@dataclass(frozen=True)
class Payer:
    """One payer of the practice and the rules it applies to 64520 (domain §3, §4b, §8.3)."""

    payer_id: str
    name: str
    plan_type: str
    share: float
    base_logit: float
    bilateral: str  # "mod50" or "rtlt" (domain §1: Medicare one line -50; many others RT/LT)
    mue_strict: bool  # counts 64520 units per day against MUE 1 (domain §3)
    auth: str  # "none", "always", "new_patient"
    auth_blocks: int | None  # blocks one authorization covers per 365 days (CO-198 beyond)
    max_per_year: int | None  # blocks per 365 days (Aetna 3+, IBX 6; domain §4b)
    min_interval_days: int | None  # Aetna: not more often than every 7 days
    filing_limit_days: int
    one_procedure_per_visit: bool  # Centene-style CP.MP.170 (domain §2c)
    requires_saved_images: bool  # state WC rule (domain §4a)
    wants_conservative: float  # strength of the failed-conservative-care criterion (first block)
    wants_relief: float  # strength of the >= 50% relief criterion for repeats
    adjudication_days: tuple[int, int]
    fee_multiplier: float


# fmt: off
# Columns: see Payer. Shares and strengths are this practice's (EST), the rules are cited there.
PAYERS: tuple[Payer, ...] = (
    Payer("MCR-J15", "Medicare Part B (CGS J15)", "medicare", 0.25, -3.6,
          "mod50", True, "none", None, None, None, 365, False, False, 0.3, 0.5, (14, 24), 1.0),
    Payer("HUM-MAPD", "Humana Gold Plus HMO", "medicare_advantage", 0.12, -3.3,
          "mod50", True, "new_patient", None, None, None, 180, False, False, 0.6, 0.6, (18, 45), 1.0),
    Payer("UHC-MA", "UnitedHealthcare AARP Medicare Advantage", "medicare_advantage", 0.09, -3.2,
          "mod50", True, "always", 6, None, None, 365, False, False, 0.6, 0.6, (18, 40), 1.02),
    Payer("ANTH-PPO", "Anthem Blue Cross Blue Shield PPO", "commercial", 0.13, -3.4,
          "mod50", False, "none", None, 6, None, 180, False, False, 1.0, 1.0, (15, 35), 1.75),
    Payer("AET-OA", "Aetna Open Access", "commercial", 0.09, -3.1,
          "rtlt", False, "always", 3, None, 7, 90, False, False, 1.9, 2.0, (16, 38), 1.95),
    Payer("CIG-OAP", "Cigna Open Access Plus", "commercial", 0.06, -3.2,
          "rtlt", False, "always", None, 4, 7, 90, False, False, 1.6, 1.6, (20, 42), 1.85),
    Payer("MMO-SM", "Medical Mutual SuperMed", "commercial", 0.05, -3.6,
          "rtlt", False, "none", None, 6, None, 180, False, False, 0.8, 0.8, (14, 30), 1.55),
    Payer("BUCK-MCD", "Buckeye Health Plan (Medicaid MCO)", "medicaid", 0.09, -2.8,
          "rtlt", True, "always", 4, 4, None, 365, True, False, 1.2, 1.0, (25, 70), 0.72),
    Payer("OH-BWC", "Ohio Bureau of Workers' Compensation", "workers_comp", 0.09, -3.3,
          "mod50", False, "always", None, None, None, 365, False, True, 0.8, 0.8, (30, 85), 1.35),
    Payer("TRI-EAST", "TRICARE East", "other", 0.03, -3.7,
          "mod50", True, "none", None, None, None, 365, False, False, 0.5, 0.5, (20, 45), 1.0),
)
# fmt: on


@dataclass(frozen=True)
class Clinician:
    """A rendering clinician: note style, documentation habits, billing-office habits."""

    name: str
    npi: str
    style: str  # structured, narrative, terse
    share: float  # of 64520 patients
    p_note: float
    p_conservative: float
    p_functional: float
    p_imaging_doc: float
    p_images_saved: float
    p_aspiration: float
    p_response: float
    p_agent: float
    p_multilevel_units: float  # bills 64520 per level (CPT Assistant Dec 2010, domain §1)
    submission_days: tuple[int, int]
    lowercase_modifiers: bool = False


def _npi(rng: random.Random) -> str:
    while True:
        candidate = "1" + "".join(str(rng.randint(0, 9)) for _ in range(9))
        if npi_is_valid(candidate):
            return candidate


def _clinicians(rng: random.Random) -> tuple[Clinician, ...]:
    # fmt: off
    return (
        Clinician("Ramesh Iyer MD", _npi(rng), "structured", 0.26, 0.99, 0.92, 0.85, 0.97, 0.9, 0.95, 0.9, 0.97, 0.01, (1, 5)),
        Clinician("Katherine O'Donnell DO", _npi(rng), "terse", 0.22, 0.96, 0.7, 0.5, 0.9, 0.6, 0.8, 0.75, 0.85, 0.02, (1, 8), lowercase_modifiers=True),
        Clinician("Miguel Serrano MD", _npi(rng), "narrative", 0.2, 0.97, 0.8, 0.7, 0.93, 0.75, 0.85, 0.8, 0.9, 0.08, (2, 9)),
        Clinician("Paul Whitaker MD", _npi(rng), "terse", 0.17, 0.82, 0.38, 0.3, 0.7, 0.35, 0.5, 0.4, 0.6, 0.03, (3, 24)),
        Clinician("Anya Petrov MD", _npi(rng), "narrative", 0.15, 0.97, 0.85, 0.75, 0.95, 0.8, 0.9, 0.85, 0.93, 0.02, (1, 6)),
    )
    # fmt: on


@dataclass
class Line:
    """One claim service line as the practice-management system exports it."""

    claim_id: str
    line_number: int
    encounter_id: str
    patient_id: str
    birth_date: date
    sex: str
    payer: Payer
    npi: str
    pos: str
    service_date: date
    submission_date: date
    cpt: str
    modifiers: list[str]
    units: int
    charge: float
    diagnoses: list[str]
    auth_number: str
    # outcome
    true_probability: float | None = None
    denied: bool = False
    cause: str = ""
    defect: str = ""
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Summary:
    """What was written: counts, rates and the planted defects the ingest must quarantine."""

    landing: str
    truth: str
    lines: int = 0
    lines_64520: int = 0
    pending_64520: int = 0
    denied_labelled_64520: int = 0
    labelled_64520: int = 0
    notes: int = 0
    remits: int = 0
    remit_adjustments: int = 0
    files: dict[str, int] = field(default_factory=dict)
    rows_written: dict[str, int] = field(default_factory=dict)
    planted: dict[str, dict[str, int]] = field(default_factory=dict)
    causes: dict[str, int] = field(default_factory=dict)
    # Planted policy shifts and the world's own (policy.py), as PAYER:YYYY-MM:KIND.
    policy_shifts: list[str] = field(default_factory=list)

    @property
    def denial_rate_labelled(self) -> float:
        return self.denied_labelled_64520 / max(1, self.labelled_64520)


# Practice charge master (professional fees); Medicare allowed amounts (non-facility, facility)
# near the 2025-26 national PFS (domain §1, §8.2; the others are estimates of the same order).
CHARGES = {
    "64520": 1185.0,
    "77003": 295.0,
    "77002": 320.0,
    "99203": 255.0,
    "99204": 385.0,
    "99213": 165.0,
    "99214": 240.0,
    "99215": 330.0,
    "99152": 175.0,
    "99153": 55.0,
    "64483": 1290.0,
    "64484": 520.0,
    "64493": 990.0,
    "64494": 455.0,
    "62323": 1120.0,
    "20552": 215.0,
    "64510": 1060.0,
    "64635": 2450.0,
    "64636": 890.0,
    "64624": 1950.0,
    "27096": 905.0,
    "J1100": 6.0,
    "99155": 190.0,
    "J2001": 18.0,
}
MEDICARE_FEE = {
    "64520": (236.1, 78.6),
    "77003": (118.0, 34.0),
    "77002": (131.0, 37.0),
    "99203": (108.0, 80.0),
    "99204": (167.0, 134.0),
    "99213": (91.0, 65.0),
    "99214": (129.0, 95.0),
    "99215": (182.0, 142.0),
    "99152": (51.0, 51.0),
    "99153": (9.0, 9.0),
    "64483": (328.0, 158.0),
    "64484": (139.0, 69.0),
    "64493": (238.0, 104.0),
    "64494": (74.0, 51.0),
    "62323": (253.0, 109.0),
    "20552": (61.0, 39.0),
    "64510": (209.0, 74.0),
    "64635": (478.0, 209.0),
    "64636": (171.0, 64.0),
    "64624": (418.0, 171.0),
    "27096": (199.0, 84.0),
    "J1100": (0.12, 0.12),
    "99155": (88.0, 88.0),
    "J2001": (1.5, 1.5),
}
FACILITY_POS = {"19", "22", "24"}
PROCEDURE_CODES_WITH_GUIDANCE = {"64483", "64493", "62323", "27096", "64635", "64624"}

DX_CODES: dict[str, tuple[tuple[str, float], ...]] = {
    # domain §4c; weights are this practice's mix (more vascular and symptom coding than §8.1).
    "crps_lower": (
        ("G90.521", 0.34),
        ("G90.522", 0.34),
        ("G90.523", 0.12),
        ("G90.529", 0.1),
        ("G90.59", 0.1),
    ),
    "causalgia": (("G57.71", 0.45), ("G57.72", 0.45), ("G57.73", 0.1)),
    "crps_upper": (("G90.511", 0.5), ("G90.512", 0.5)),
    "vascular": (("I73.9", 0.6), ("I70.221", 0.2), ("I70.222", 0.2)),
    "phn": (("B02.29", 0.7), ("B02.23", 0.3)),
    "phantom": (("G54.6", 1.0),),
    "hyperhidrosis": (("L74.510", 0.6), ("L74.513", 0.4)),
    "symptom": (("M79.604", 0.25), ("M79.605", 0.25), ("G89.29", 0.3), ("M54.50", 0.2)),
    "metabolic": (("E11.42", 0.8), ("E11.40", 0.2)),
}
CONDITION_MIX = (
    ("crps_lower", 0.56),
    ("causalgia", 0.08),
    ("crps_upper", 0.02),
    ("vascular", 0.07),
    ("phn", 0.06),
    ("phantom", 0.03),
    ("hyperhidrosis", 0.015),
    ("symptom", 0.11),
    ("metabolic", 0.045),
)
SECONDARY_DX = (
    "G89.4",
    "M79.672",
    "M79.671",
    "Z79.899",
    "M25.571",
    "M25.572",
    "F41.1",
    "Z87.891",
    "R20.2",
)
BACKGROUND_DX = (
    "M54.16",
    "M54.17",
    "M51.16",
    "M47.816",
    "M54.50",
    "M54.2",
    "M47.26",
    "M48.061",
    "M54.41",
    "M54.42",
    "M79.1",
    "M62.830",
    "G89.29",
    "G89.4",
)

# Reason → (group, CARC, RARC) per payer family (domain §3, §5, §8.3).
MEDICARE_LIKE = {"medicare", "medicare_advantage", "other"}


def denial_codes(cause: str, payer: Payer, rng: random.Random) -> tuple[str, str, str]:
    medicare = payer.plan_type in MEDICARE_LIKE
    if cause in ("mue_units", "mue_second_line"):
        return ("CO", "151", rng.choice(("N362", "MA01")) if medicare else "N362")
    if cause in ("bilateral_convention", "modifier_conflict"):
        return ("CO", "4", rng.choice(("", "N56")))
    if cause == "ncci_column2":
        return ("CO", "236", "") if medicare else ("CO", "97", rng.choice(("M15", "N19")))
    if cause == "one_procedure":
        return ("CO", "97", "N20")
    if cause == "no_auth":
        return ("CO", "197", "")
    if cause == "auth_exceeded":
        return ("CO", "198", "N54")
    if cause == "auth_mismatch":
        return ("CO", "284", "N54")
    # Denials of a planted policy shift (policy.py): the codes those payers use.
    if cause == "auth_now_required":
        return ("CO", rng.choice(("15", "15", "15", "197")), "")
    if cause == "mod50_refused":
        return ("CO", "4", "N56")
    if cause == "cap_reached":
        return ("CO", "119", "M86")
    if cause == "cap_too_soon":
        return ("CO", "151", "N435")
    if cause == "records_review":
        return ("CO", rng.choice(("252", "252", "226")), rng.choice(("N706", "M127")))
    if cause in ("too_soon", "over_yearly"):
        return ("CO", "119", "N435") if not medicare else ("CO", "151", "N435")
    if cause == "dx_upper_limb":
        return ("CO", "11", "")
    if cause == "dx_coverage":
        if medicare:
            return ("CO", "50", "N115")
        return ("CO", rng.choice(("167", "50", "96")), "N130" if rng.random() < 0.4 else "")
    if cause == "documentation":
        return ("CO", rng.choice(("272", "50", "252")), "")
    if cause == "images":
        return ("CO", "252", "M127")
    if cause == "records":
        return ("CO", rng.choice(("226", "252")), "N29" if rng.random() < 0.3 else "")
    if cause == "provider_review":
        return ("CO", "50", "N115")
    if cause == "timely":
        return ("CO", "29", "")
    if cause == "duplicate":
        return ("OA", "18", "")
    if cause == "eligibility":
        return ("CO", rng.choice(("27", "27", "31")), "")
    # Background: registration and claim-data errors (domain §8.3 root-cause mix).
    roll = rng.random()
    if roll < 0.35:
        return ("CO", "16", rng.choice(("M76", "MA130", "M51")))
    if roll < 0.55:
        return ("CO", "31", "")
    if roll < 0.7:
        return ("CO", "22", "")
    if roll < 0.8:
        return ("CO", "109", "")
    if roll < 0.9:
        return ("CO", "B7", "")
    return ("PI", "A1", "N56")


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    """A value drawn with the given weights."""
    roll = rng.random() * sum(w for _, w in weighted)
    for value, weight in weighted:
        roll -= weight
        if roll <= 0:
            return value
    return weighted[-1][0]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass
class PatientState:
    """What the payer has seen of a patient: 64520 blocks and their authorizations."""

    blocks: list[date] = field(default_factory=list)
    auth_used: dict[str, list[date]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class BlockPatient:
    """A patient receiving sympathetic blocks: who, covered by whom, treated for what."""

    pid: str
    birth: date
    sex: str
    payer: Payer
    doc: Clinician
    condition: str
    primary: str
    side: str
    level: str
    dates: list[date]
    months: int
    injury: str
    lapse: date | None
    symptom_primary: bool
    state: PatientState


@dataclass(frozen=True)
class BlockClaim:
    """What the payer sees on one block claim: the inputs of the 64520 denial model."""

    service: date
    submitted: date
    primary_code: str
    new_patient: bool
    year_blocks: list[date]
    auth: str
    auth_mismatch: bool
    convention: str
    style: str
    has_note: bool
    facts: NoteFacts
    other: str
    bypass_59: bool
    fluoro_code: str
    relief: int | None
    # The rules the payer applies on the service day and the kind of shift in force (policy.py).
    rules: Payer | None = None
    shift_kind: str = ""


class World:
    """Builds the claim lines, notes and outcomes of the independent practice."""

    def __init__(self, lines: int, seed: int, shifts: Sequence[PolicyShift] = ()) -> None:
        check_shifts((*BUILTIN_SHIFTS, *shifts), {p.payer_id for p in PAYERS})
        self.shifts = {s.payer_id: s for s in shifts}
        self.rng = random.Random(seed)
        self.target = lines
        self.clinicians = _clinicians(self.rng)
        self.background_npis = (_npi(self.rng), _npi(self.rng))  # NP and spine interventionalist
        self.lines: list[Line] = []
        self.notes: list[dict[str, str | None]] = []
        self.claim_seq = self.rng.randint(100_000, 200_000)
        self.patient_seq = self.rng.randint(200_000, 300_000)
        self.encounter_seq = 0
        self.note_seq = 0
        used = [c for codes in DX_CODES.values() for c, _ in codes] + [
            *SECONDARY_DX,
            *BACKGROUND_DX,
        ]
        unknown = [c for c in used if normalize_icd10(c) not in icd10cm_codes()]
        if unknown:
            raise ValueError(f"diagnosis codes outside the shipped ICD-10-CM release: {unknown}")

    # identifiers -------------------------------------------------------------------------
    def _claim_id(self, service: date) -> str:
        self.claim_seq += self.rng.randint(1, 3)
        return f"CS{service:%y}-{self.claim_seq:07d}"

    def _patient(self) -> str:
        self.patient_seq += self.rng.randint(1, 9)
        return f"MRN{self.patient_seq:07d}"

    def _encounter(self) -> str:
        self.encounter_seq += 1
        return f"V{self.encounter_seq:08d}"

    def _note_id(self) -> str:
        self.note_seq += 1
        return f"DICT-{self.note_seq:07d}"

    # building blocks ------------------------------------------------------------------------
    def _birth_date(self, payer: Payer) -> date:
        if payer.plan_type in ("medicare", "medicare_advantage"):
            age = self.rng.randint(66, 88) if self.rng.random() < 0.88 else self.rng.randint(35, 64)
        else:
            age = self.rng.randint(22, 64)
        return date(2026 - age, self.rng.randint(1, 12), self.rng.randint(1, 28))

    def _submission(self, service: date, days: tuple[int, int]) -> date:
        roll = self.rng.random()
        if roll < 0.015:
            lag = self.rng.randint(70, 260)  # lost claim refiled late
        elif roll < 0.05:
            lag = self.rng.randint(25, 60)
        else:
            lag = self.rng.randint(*days)
        return service + timedelta(days=lag)

    def _fee(self, line: Line) -> float:
        nf, fac = MEDICARE_FEE[line.cpt]
        base = fac if line.pos in FACILITY_POS else nf
        if line.cpt in ("77002", "77003") and line.pos in FACILITY_POS:
            base = base * 0.9
        amount = base * line.payer.fee_multiplier * line.units
        if "50" in line.modifiers:
            amount = base * line.payer.fee_multiplier * 1.5  # bilateral indicator 1, domain §1
        return round(min(amount, line.charge), 2)

    def _line(
        self,
        claim_id: str,
        number: int,
        enc: str,
        pid: str,
        birth: date,
        sex: str,
        payer: Payer,
        npi: str,
        pos: str,
        service: date,
        submitted: date,
        cpt: str,
        modifiers: list[str],
        units: int,
        diagnoses: list[str],
        auth: str,
    ) -> Line:
        """One claim line priced from the charge master (-50 at 150%, domain §1)."""
        charge = CHARGES[cpt] * units
        if cpt == TARGET_CPT and "50" in modifiers:
            charge = CHARGES[cpt] * 1.5
        return Line(
            claim_id,
            number,
            enc,
            pid,
            birth,
            sex,
            payer,
            npi,
            pos,
            service,
            submitted,
            cpt,
            [m for m in modifiers if m],
            units,
            round(charge, 2),
            diagnoses,
            auth,
        )

    # 64520 patients --------------------------------------------------------------------------
    def _series_dates(self, start: date) -> list[date]:
        rng = self.rng
        n = int(
            _pick(
                rng,
                (
                    ("1", 0.32),
                    ("2", 0.24),
                    ("3", 0.2),
                    ("4", 0.1),
                    ("5", 0.06),
                    ("6", 0.04),
                    ("8", 0.03),
                    ("10", 0.01),
                ),
            )
        )
        dates = [start]
        for _ in range(n - 1):
            roll = rng.random()
            if roll < 0.07:
                gap = rng.randint(3, 6)  # scheduled too soon for Aetna/Cigna (domain §4b)
            elif roll < 0.85:
                gap = rng.randint(7, 30)
            else:
                gap = rng.randint(60, 200)  # flare, a new series
            dates.append(dates[-1] + timedelta(days=gap))
        return [d for d in dates if d <= LAST_SERVICE]

    def add_block_patient(self) -> None:
        rng = self.rng
        payer = PAYERS[int(_pick(rng, [(str(i), p.share) for i, p in enumerate(PAYERS)]))]
        doc = self.clinicians[
            int(_pick(rng, [(str(i), c.share) for i, c in enumerate(self.clinicians)]))
        ]
        pid = self._patient()
        sex = _pick(rng, (("F", 0.6), ("M", 0.39), ("U", 0.01)))
        birth = self._birth_date(payer)
        condition = _pick(rng, CONDITION_MIX)
        if payer.plan_type == "workers_comp" and condition in ("metabolic", "phn", "hyperhidrosis"):
            condition = "crps_lower"
        primary = _pick(rng, DX_CODES[condition])
        side = _pick(rng, (("left", 0.41), ("right", 0.41), ("bilateral", 0.18)))
        if primary.endswith("523") or primary == "G57.73":
            side = "bilateral"
        # PHN of the trunk is blocked at thoracic levels; plantar hyperhidrosis at lumbar ones.
        level = "thoracic" if condition == "phn" else "lumbar"
        span = (LAST_SERVICE - FIRST_SERVICE).days
        start = FIRST_SERVICE + timedelta(days=rng.randint(0, span))
        dates = self._series_dates(start)
        months = rng.randint(3, 40)
        injury = rng.choice(
            (
                "s/p R ankle ORIF ",
                "s/p crush injury of foot ",
                "s/p L knee TKA ",
                "after a fall at work ",
                "",
                "",
                "",
            )
        )
        lapse = None
        if rng.random() < (0.1 if payer.plan_type == "medicaid" else 0.03):
            lapse = start + timedelta(days=rng.randint(0, 240))
        consult_day = start - timedelta(days=rng.randint(0, 28))
        state = PatientState()
        symptom_primary = rng.random() < (0.08 if doc.style == "terse" else 0.04)
        patient = BlockPatient(
            pid,
            birth,
            sex,
            payer,
            doc,
            condition,
            primary,
            side,
            level,
            dates,
            months,
            injury,
            lapse,
            symptom_primary,
            state,
        )
        # Initial consult (E/M new patient, H&P note); same day as block 1 for some.
        if consult_day >= FIRST_SERVICE:
            same_day = consult_day == start
            self._em_visit(
                patient,
                consult_day,
                "99204" if rng.random() < 0.6 else "99203",
                consult=True,
                block_same_day=same_day,
            )
        relief = None
        for index, service in enumerate(dates):
            self._block_encounter(patient, index, relief)
            relief = int(
                _pick(
                    rng,
                    (
                        ("0", 0.14),
                        ("10", 0.1),
                        ("30", 0.14),
                        ("50", 0.18),
                        ("70", 0.26),
                        ("80", 0.12),
                        ("90", 0.06),
                    ),
                )
            )
            if rng.random() < 0.35:
                fu = service + timedelta(days=rng.randint(10, 30))
                if fu <= LAST_SERVICE:
                    self._em_visit(patient, fu, rng.choice(("99213", "99214")), relief=relief)

    def _block_encounter(self, patient: BlockPatient, index: int, relief: int | None) -> None:
        """One block claim: 64520 line(s) coded per convention, companions, note, outcomes."""
        rng = self.rng
        pid, birth, sex, payer, doc = (
            patient.pid,
            patient.birth,
            patient.sex,
            patient.payer,
            patient.doc,
        )
        condition, primary, side, level = (
            patient.condition,
            patient.primary,
            patient.side,
            patient.level,
        )
        dates, state, months, injury = patient.dates, patient.state, patient.months, patient.injury
        symptom_primary = patient.symptom_primary
        service = dates[index]
        submitted = self._submission(service, doc.submission_days)
        if submitted > AS_OF:
            return
        claim_id = self._claim_id(service)
        enc = self._encounter()
        pos = _pick(rng, (("11", 0.34), ("24", 0.36), ("22", 0.25), ("19", 0.05)))
        if payer.plan_type == "medicaid" and pos == "24":
            pos = "22"
        diagnoses = [primary]
        if symptom_primary:
            diagnoses = [rng.choice(("M79.604", "M79.605", "G89.29")), primary]
        diagnoses += rng.sample(SECONDARY_DX, rng.randint(0, 2))
        # A planted policy shift: the payer's rules on this day, and the rules the billing office
        # codes by (the old ones until it catches up).
        shift = self.shifts.get(payer.payer_id)
        rules = payer_rules_on(payer, service, shift)
        office = rules if shift is None or shift.office_follows(service) else payer
        # Prior authorization (domain §8.3: no auth on plans that need it dominates).
        year_blocks = [d for d in state.blocks if (service - d).days < 365]
        new_patient = len(year_blocks) == 0
        if office.auth == "always":
            p_auth = 0.9 if new_patient else 0.95
        elif office.auth == "new_patient":
            p_auth = 0.8 if new_patient else 0.45
        else:
            p_auth = 0.15
        auth = ""
        auth_mismatch = False
        if rng.random() < p_auth:
            key = f"{payer.payer_id[:3]}{service.year}{zlib.crc32(f'{pid}/{len(year_blocks) // 3}'.encode()) % 10**7:07d}"
            auth = key if rng.random() < 0.97 else f"PA-{rng.randint(10**6, 10**7)}"
            auth_mismatch = office.auth != "none" and rng.random() < 0.015
        # Bilateral coding against the payer's convention (domain §1, §3). Anthem moved to two
        # RT/LT lines on 2026-01-01; the billing office took two months to follow.
        convention, believed = rules.bilateral, office.bilateral
        if payer.payer_id == "ANTH-PPO" and service >= date(2026, 1, 1):
            convention = believed = "rtlt"
        knows = 0.8
        if payer.payer_id == "ANTH-PPO" and date(2026, 1, 1) <= service < date(2026, 3, 1):
            knows = 0.15
        units_multi = side != "bilateral" and rng.random() < doc.p_multilevel_units
        if side == "bilateral":
            if rng.random() < knows:
                style = believed
            else:
                style = rng.choice([s for s in ("mod50", "rtlt", "units2") if s != believed])
        else:
            style = "unilateral"
        lat = {"left": "LT", "right": "RT"}.get(side, "")
        block_lines: list[tuple[list[str], int]] = []
        if style == "mod50":
            mods = ["50"]
            if rng.random() < 0.03:
                mods.append(rng.choice(("RT", "LT")))  # contradictory laterality
            block_lines.append((mods, 1))
        elif style == "rtlt":
            block_lines += [(["RT"], 1), (["LT"], 1)]
        elif style == "units2":
            block_lines.append(([], 2))
        else:
            mods = [lat] if rng.random() < 0.92 else []
            if rng.random() < 0.004:
                mods.append("26")
            block_lines.append((mods, 2 if units_multi else 1))
        # Companion lines (domain §8.1): fluoroscopy, E/M, sedation, other procedures.
        companions: list[tuple[str, list[str], int]] = []
        fluoro_roll = rng.random()
        fluoro_code = ""
        if fluoro_roll < 0.42:
            fluoro_code = "77003"
        elif fluoro_roll < 0.68:
            fluoro_code = "77002"
        if fluoro_code:
            mods = ["26"] if pos in FACILITY_POS else []
            if fluoro_code == "77002" and rng.random() < 0.65:
                mods.append(rng.choice(("59", "XU", "XS")))
            companions.append((fluoro_code, mods, 1))
        if rng.random() < 0.17:
            companions.append(
                (rng.choice(("99213", "99214")), ["25"] if rng.random() < 0.72 else [], 1)
            )
        if pos == "11" and rng.random() < 0.12:
            companions.append(("99152", [], 1))
        if rng.random() < 0.006:
            companions.append(("99155", [], 1))
        other = ""
        roll = rng.random()
        if roll < 0.05:
            other = "64483"
        elif roll < 0.08:
            other = "64493"
        elif roll < 0.095:
            other = "64510"
        elif roll < 0.104:
            other = "64635"
        elif roll < 0.109:
            other = "64624"
        if other:
            companions.append((other, [lat] if lat else [], 1))
        bypass_59 = other in ("64635",) and rng.random() < 0.45
        if pos == "11" and rng.random() < 0.05:
            companions.append(("J2001", [], rng.randint(1, 4)))
        # Lines in the order the biller keyed them.
        entries: list[tuple[str, list[str], int]] = []
        for mods, units in block_lines:
            entries.append((TARGET_CPT, mods + (["59"] if bypass_59 else []), units))
        if rng.random() < 0.25:
            entries = companions[:1] + entries + companions[1:]
        else:
            entries = entries + companions
        lines = []
        for number, (cpt, mods, units) in enumerate(entries, start=1):
            mods = [
                m.lower() if doc.lowercase_modifiers and rng.random() < 0.3 else m for m in mods
            ]
            lines.append(
                self._line(
                    claim_id,
                    number,
                    enc,
                    pid,
                    birth,
                    sex,
                    payer,
                    doc.npi,
                    pos,
                    service,
                    submitted,
                    cpt,
                    mods[:4],
                    units,
                    diagnoses,
                    auth,
                )
            )
        # Documentation facts of the note (decided here; worded in notes.py).
        has_note = rng.random() < doc.p_note
        imaging_documented = rng.random() < doc.p_imaging_doc
        facts = NoteFacts(
            age=service.year - birth.year,
            sex=sex,
            indication=condition,
            symptom_months=months + (service - dates[0]).days // 30,
            side=side,
            level=level,
            block_number=index + 1,
            conservative=rng.random() < doc.p_conservative,
            conservative_weeks=rng.choice((4, 6, 8, 10, 12, 16, 24)),
            functional=rng.random() < doc.p_functional,
            prior_relief_pct=relief,
            imaging=imaging_documented,
            # Saved images are only documented together with the guidance itself.
            images_saved=imaging_documented and rng.random() < doc.p_images_saved,
            aspiration=rng.random() < doc.p_aspiration,
            response=rng.random() < doc.p_response,
            agent=rng.random() < doc.p_agent,
            injury=injury,
        )
        if has_note:
            note_day = (
                service if rng.random() < 0.85 else service + timedelta(days=rng.randint(1, 3))
            )
            self.notes.append(
                {
                    "note_id": self._note_id(),
                    "encounter_id": enc if rng.random() < 0.85 else None,
                    "patient_id": pid,
                    "note_type": "procedure",
                    "note_date": note_day.isoformat(),
                    "author_npi": doc.npi,
                    "text": procedure_note(rng, facts, doc.style),
                }
            )
        duplicate_of = None
        if rng.random() < 0.008:
            duplicate_of = claim_id
        # Outcome of the 64520 lines.
        claim = BlockClaim(
            service,
            submitted,
            primary if not symptom_primary else diagnoses[0],
            new_patient,
            year_blocks,
            auth,
            auth_mismatch,
            convention,
            style,
            has_note,
            facts,
            other,
            bypass_59,
            fluoro_code,
            relief,
            rules,
            shift.kind if shift is not None and shift.in_force(service) else "",
        )
        self._decide_64520(lines, patient, claim)
        self._decide_companions(lines)
        self.lines.extend(lines)
        state.blocks.append(service)
        if duplicate_of:
            resubmitted = submitted + timedelta(days=rng.randint(5, 20))
            if resubmitted <= AS_OF:
                dup_id = self._claim_id(service)
                copies = []
                for line in lines:
                    copy = Line(
                        dup_id,
                        line.line_number,
                        line.encounter_id,
                        pid,
                        birth,
                        sex,
                        payer,
                        line.npi,
                        pos,
                        service,
                        resubmitted,
                        line.cpt,
                        list(line.modifiers),
                        line.units,
                        line.charge,
                        diagnoses,
                        auth,
                    )
                    copies.append(copy)
                for copy in copies:
                    if copy.cpt == TARGET_CPT:
                        self._score(copy, {"duplicate": 5.5}, payer, self.rng.random())
                    else:
                        copy.true_probability, copy.denied, copy.cause = 0.97, True, "duplicate"
                self.lines.extend(copies)

    def _decide_64520(self, lines: list[Line], patient: BlockPatient, claim: BlockClaim) -> None:
        """True probability, drawn outcome and cause of each 64520 line of one claim."""
        rng = self.rng
        base, doc, state, lapse = patient.payer, patient.doc, patient.state, patient.lapse
        payer, shifted = claim.rules or base, claim.shift_kind
        service, submitted, primary_code = claim.service, claim.submitted, claim.primary_code
        new_patient, year_blocks, auth = claim.new_patient, claim.year_blocks, claim.auth
        auth_mismatch, convention, style = claim.auth_mismatch, claim.convention, claim.style
        has_note, facts, other, relief = claim.has_note, claim.facts, claim.other, claim.relief
        bypass_59, fluoro_code = claim.bypass_59, claim.fluoro_code
        terms: dict[str, float] = {}
        medicare = payer.plan_type in MEDICARE_LIKE
        # Authorization (CO-197/198/284).
        needs_auth = payer.auth == "always" or (payer.auth == "new_patient" and new_patient)
        needed_before = base.auth == "always" or (base.auth == "new_patient" and new_patient)
        if needs_auth and not auth and not needed_before:
            terms["auth_now_required"] = 3.6  # a shift: the payer's new authorization rule
        elif needs_auth and not auth:
            terms["no_auth"] = 3.4 if payer.auth == "always" else 2.9
        if auth and auth_mismatch:
            terms["auth_mismatch"] = 3.0
        if payer.auth_blocks and auth and len(year_blocks) >= payer.auth_blocks:
            terms["auth_exceeded"] = 2.6
        # Frequency (domain §4b: Aetna >= 7 days, IBX/Anthem 6 per year, our Cigna 4).
        gap = (service - year_blocks[-1]).days if year_blocks else None
        if gap is not None and payer.min_interval_days and gap < payer.min_interval_days:
            if base.min_interval_days and gap < base.min_interval_days:
                terms["too_soon"] = 2.8
            else:
                terms["cap_too_soon"] = 3.2  # a shift: the payer's new minimum interval
        if payer.max_per_year and len(year_blocks) >= payer.max_per_year:
            if base.max_per_year and len(year_blocks) >= base.max_per_year:
                terms["over_yearly"] = 2.4
            else:
                terms["cap_reached"] = 3.4  # a shift: the payer's new yearly cap
        elif medicare and len(year_blocks) >= 6:
            terms["over_yearly"] = 1.2
        # Diagnosis coverage (domain §4a L35457, §4b Centene, §4c).
        code = primary_code
        if code.startswith("G90.51"):
            terms["dx_upper_limb"] = 2.7
        elif code.startswith("E11.4"):
            terms["dx_coverage"] = (
                3.0 if payer.plan_type in ("medicare", "medicare_advantage") else 1.3
            )
        elif code.startswith(("I73", "I70")):
            terms["dx_coverage"] = {"BUCK-MCD": 2.5, "CIG-OAP": 1.4}.get(payer.payer_id, 0.35)
        elif code.startswith(("M79", "G89", "M54")):
            terms["dx_coverage"] = (
                2.0 if payer.plan_type == "medicaid" else 1.1 if medicare else 1.8
            )
        elif code.startswith("L74"):
            terms["dx_coverage"] = 1.0 if medicare else 1.7
        elif code.startswith("B02"):
            terms["dx_coverage"] = 0.3 if medicare else 0.9
        elif code == "G54.6":
            terms["dx_coverage"] = 0.5
        # Documentation (domain §4a records, §4b criteria): what the payer reads in the note.
        if not has_note:
            terms["records"] = 1.3 if medicare else 1.0
        else:
            if facts.block_number == 1 and not facts.conservative:
                terms["documentation"] = payer.wants_conservative
            if relief is not None and relief < 50 and len(year_blocks) > 0:
                terms["documentation"] = terms.get("documentation", 0.0) + payer.wants_relief
            if not facts.imaging:
                terms["records"] = 0.5
        if shifted == "records_review":
            # A shift: the payer reads every block's note before paying.
            if not has_note:
                terms["records_review"] = 3.2
            elif not (facts.conservative and facts.functional):
                terms["records_review"] = 2.8
            else:
                terms["records_review"] = 0.4
        if payer.requires_saved_images and fluoro_code and (not has_note or not facts.images_saved):
            terms["images"] = 2.2
        if doc.name.startswith("Paul Whitaker") and payer.plan_type in (
            "medicare",
            "medicare_advantage",
        ):
            terms["provider_review"] = 0.7  # targeted probe-and-educate review of one provider
        # Bundling (domain §2b): 64520 is column 2 of 64635 (ind. 1) and 64624 (ind. 0).
        if other == "64635":
            terms["ncci_column2"] = 0.4 if bypass_59 else 3.8
        elif other == "64624":
            terms["ncci_column2"] = 4.2
        elif other and payer.one_procedure_per_visit:
            terms["one_procedure"] = 2.5
        # Timely filing and eligibility.
        if (submitted - service).days > payer.filing_limit_days:
            terms["timely"] = 5.5
        if lapse is not None and lapse <= service <= lapse + timedelta(days=75):
            terms["eligibility"] = 4.5
        if payer.plan_type in ("commercial", "medicare_advantage") and service.month == 1:
            terms["eligibility"] = terms.get("eligibility", 0.0) + 0.45  # plan-year changes
        if new_patient and not year_blocks and not state.blocks:
            terms["background"] = 0.3  # registration errors on the first claim
        # Line-specific: bilateral convention, MUE, modifier validity (domain §1, §3).
        shared_draw = rng.random()
        blocks = [ln for ln in lines if ln.cpt == TARGET_CPT]
        for position, line in enumerate(blocks):
            own = dict(terms)
            mods = {m.upper() for m in line.modifiers}
            if "50" in mods and mods & {"RT", "LT"} or "26" in mods:
                own["modifier_conflict"] = 3.6
            if style == "rtlt" and convention == "mod50":
                if payer.mue_strict and position == 1:
                    own["mue_second_line"] = 4.0
                elif position == 1:
                    own["bilateral_convention"] = 2.2
            elif style == "mod50" and convention == "rtlt" and shifted == "rtlt_only":
                own["mod50_refused"] = 5.0  # a shift: the payer no longer pays one -50 line
            elif style == "mod50" and convention == "rtlt":
                own["bilateral_convention"] = 2.3
            if line.units > 1:
                own["mue_units"] = 4.0 if payer.mue_strict else 1.8
            self._score(line, own, payer, shared_draw)

    def _score(self, line: Line, terms: dict[str, float], payer: Payer, draw: float) -> None:
        logit = payer.base_logit + sum(terms.values())
        p = _sigmoid(logit)
        line.true_probability = p
        line.denied = draw < p
        if line.denied:
            weights = [("background", 1.0)] + [
                (k, math.exp(v) - 1.0) for k, v in terms.items() if v > 0 and k != "background"
            ]
            line.cause = _pick(self.rng, weights)

    def _decide_companions(self, lines: list[Line]) -> None:
        """Non-64520 lines: NCCI column-2 codes without a bypass modifier deny (domain §2a)."""
        blocks = [ln for ln in lines if ln.cpt == TARGET_CPT]
        claim_level = next(
            (
                b.cause
                for b in blocks
                if b.denied and b.cause in ("no_auth", "eligibility", "timely", "duplicate")
            ),
            "",
        )
        for line in lines:
            if line.cpt == TARGET_CPT:
                continue
            mods = {m.upper() for m in line.modifiers}
            p, cause = 0.04, "background"
            if line.cpt.startswith("992") and blocks and "25" not in mods:
                p, cause = 0.9, "ncci_column2"
            elif line.cpt == "77002" and not mods & {"59", "XU", "XS", "XE", "XP"}:
                p, cause = 0.88, "ncci_column2"
            elif line.cpt in ("99155", "J2001"):
                p, cause = 0.95, "ncci_column2"
            if claim_level:
                p, cause = 0.97, claim_level
            line.true_probability = p
            line.denied = self.rng.random() < p
            line.cause = cause if line.denied else ""

    # background ------------------------------------------------------------------------------
    def _em_visit(
        self,
        patient: BlockPatient,
        day: date,
        cpt: str,
        consult: bool = False,
        relief: int | None = None,
        block_same_day: bool = False,
    ) -> None:
        """A consult or follow-up E/M visit of a block patient, with its note."""
        rng = self.rng
        pid, birth, sex, payer, doc = (
            patient.pid,
            patient.birth,
            patient.sex,
            patient.payer,
            patient.doc,
        )
        primary, months = patient.primary, patient.months
        if block_same_day:
            return  # billed on the block's claim instead
        submitted = self._submission(day, doc.submission_days)
        if submitted > AS_OF:
            return
        claim_id = self._claim_id(day)
        enc = self._encounter()
        line = self._line(
            claim_id,
            1,
            enc,
            pid,
            birth,
            sex,
            payer,
            doc.npi,
            "11",
            day,
            submitted,
            cpt,
            [],
            1,
            [primary, *rng.sample(SECONDARY_DX, rng.randint(0, 1))],
            "",
        )
        line.true_probability = 0.05
        line.denied = rng.random() < 0.05
        line.cause = "background" if line.denied else ""
        self.lines.append(line)
        if consult or rng.random() < 0.7:
            text = (
                consult_note(rng, day.year - birth.year, sex, "burning leg pain, ?CRPS", months)
                if consult
                else follow_up_note(rng, relief if relief is not None else 0, day)
            )
            self.notes.append(
                {
                    "note_id": self._note_id(),
                    "encounter_id": enc,
                    "patient_id": pid,
                    "note_type": "history_physical" if consult else "follow_up",
                    "note_date": day.isoformat(),
                    "author_npi": doc.npi,
                    "text": text,
                }
            )

    def add_background_patient(self) -> None:
        """A spine patient without sympathetic blocks: E/M visits and other injections."""
        rng = self.rng
        payer = PAYERS[int(_pick(rng, [(str(i), p.share) for i, p in enumerate(PAYERS)]))]
        pid = self._patient()
        sex = _pick(rng, (("F", 0.55), ("M", 0.45)))
        birth = self._birth_date(payer)
        npi = rng.choice((*self.background_npis, *(c.npi for c in self.clinicians)))
        dx = rng.sample(BACKGROUND_DX, 2)
        span = (LAST_SERVICE - FIRST_SERVICE).days
        day = FIRST_SERVICE + timedelta(days=rng.randint(0, span))
        visits = rng.randint(1, 5)
        for visit in range(visits):
            if day > LAST_SERVICE:
                break
            submitted = self._submission(day, (1, 7))
            if submitted > AS_OF:
                break
            claim_id = self._claim_id(day)
            enc = self._encounter()
            kind = _pick(
                rng,
                (
                    ("em", 0.45),
                    ("tfesi", 0.17),
                    ("facet", 0.12),
                    ("esi", 0.1),
                    ("tpi", 0.06),
                    ("rfa", 0.05),
                    ("si", 0.05),
                ),
            )
            pos = (
                "11"
                if kind in ("em", "tpi")
                else _pick(rng, (("11", 0.3), ("24", 0.45), ("22", 0.25)))
            )
            if kind == "em":
                entries = [
                    (
                        (("99203", "99204") if visit == 0 else ("99213", "99214", "99215"))[
                            rng.randint(0, 1)
                        ],
                        [],
                        1,
                    )
                ]
            elif kind == "tfesi":
                entries = [("64483", [rng.choice(("RT", "LT"))], 1)]
                if rng.random() < 0.4:
                    entries.append(("64484", [entries[0][1][0]], 1))
            elif kind == "facet":
                entries = [
                    ("64493", ["50"] if rng.random() < 0.4 else [rng.choice(("RT", "LT"))], 1)
                ]
                if rng.random() < 0.5:
                    entries.append(("64494", list(entries[0][1]), 1))
            elif kind == "esi":
                entries = [("62323", [], 1)]
            elif kind == "tpi":
                entries = [("20552", [], 1)]
            elif kind == "rfa":
                entries = [("64635", [rng.choice(("RT", "LT"))], 1)]
                if rng.random() < 0.5:
                    entries.append(("64636", list(entries[0][1]), 1))
            else:
                entries = [("27096", [rng.choice(("RT", "LT"))], 1)]
            if kind != "em" and rng.random() < 0.25:
                entries.append(("J1100", [], rng.choice((4, 10))))
            if kind != "em" and rng.random() < 0.12:
                entries.append(
                    (
                        (("99213", "99214")[rng.randint(0, 1)]),
                        ["25"] if rng.random() < 0.8 else [],
                        1,
                    )
                )
            needs_auth = payer.auth != "none" and kind in ("rfa", "facet", "tfesi", "esi")
            auth = (
                f"{payer.payer_id[:3]}{rng.randint(10**6, 10**7)}"
                if needs_auth and rng.random() < 0.9
                else ""
            )
            lines = []
            for number, (cpt, mods, units) in enumerate(entries, start=1):
                line = self._line(
                    claim_id,
                    number,
                    enc,
                    pid,
                    birth,
                    sex,
                    payer,
                    npi,
                    pos,
                    day,
                    submitted,
                    cpt,
                    mods,
                    units,
                    dx,
                    auth,
                )
                p = 0.06
                if needs_auth and not auth:
                    p = 0.85
                if cpt.startswith("992") and kind != "em" and "25" not in mods:
                    p = 0.9
                line.true_probability = p
                line.denied = rng.random() < p
                line.cause = "background" if line.denied else ""
                lines.append(line)
            self.lines.extend(lines)
            if rng.random() < 0.5:
                self.notes.append(
                    {
                        "note_id": self._note_id(),
                        "encounter_id": enc,
                        "patient_id": pid,
                        "note_type": "follow_up" if kind == "em" else "procedure",
                        "note_date": day.isoformat(),
                        "author_npi": npi,
                        "text": f"{kind.upper()} visit. Axial LBP w/ radicular sx, "
                        + rng.choice(("MRI reviewed.", "Cont PT.", "Procedure tolerated well.")),
                    }
                )
            day = day + timedelta(days=rng.randint(14, 120))

    def policy_change_of(self, line: Line) -> str:
        """The label of the policy shift in force for the line's payer on its service day, or ''."""
        shifts = {**{s.payer_id: s for s in BUILTIN_SHIFTS}, **self.shifts}
        shift = shifts.get(line.payer.payer_id)
        return shift.label if shift is not None and shift.in_force(line.service_date) else ""

    def build(self) -> None:
        """Add block patients and background patients until the line target is reached."""
        while len(self.lines) < self.target * SHARE_64520_PATIENT_LINES:
            self.add_block_patient()
        while len(self.lines) < self.target:
            self.add_background_patient()


# remits ------------------------------------------------------------------------------------------
