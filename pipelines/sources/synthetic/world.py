"""The synthetic world: calendar, payers with their policies, rendering providers, indications.

Everything here is invented but anchored on /work/shared/domain/cpt-64520.md (section numbers
in comments); code sets come from `data_contracts.codes`, never from private copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import cache

import numpy as np
import polars as pl

from data_contracts import codes
from data_contracts.row_rules import npi_check_digit

WORLD_START = date(2024, 9, 1)
# The extract is cut the day before the project's "today" (2026-11-26).
WORLD_END = date(2026, 11, 25)
# Claims submitted from this date on have no remit yet: the pending lines the pipeline scores.
PENDING_FROM = date(2026, 9, 1)

EPOCH = date(1970, 1, 1)


def day_number(d: date) -> int:
    """Days since 1970-01-01, the integer calendar the simulation runs on."""
    return (d - EPOCH).days


START_DAY = day_number(WORLD_START)
END_DAY = day_number(WORLD_END)
PENDING_DAY = day_number(PENDING_FROM)


@dataclass(frozen=True)
class Payer:
    """One payer and the 64520 policies it applies (cpt-64520.md §4, §8)."""

    payer_id: str
    payer_name: str
    plan_type: str
    share: float
    # "modifier_50" pays one line 64520-50 x1; "rt_lt_two_lines" pays two lines RT + LT (§1).
    bilateral_convention: str
    filing_limit_days: int
    auth_required: bool
    # Blocks allowed per rolling 365 days (Aetna CPB 0447: 3; IBX 08.00.57: 6), 0 = no limit.
    max_blocks_365d: int
    min_interval_days: int
    medical_review_rate: float
    # Fee level as a multiple of the Medicare physician fee schedule (§8.2).
    fee_multiplier: float
    # Centene CP.MP.170: only one procedure per visit (§4b).
    one_procedure_per_visit: bool = False
    # L35457: nerve blockade non-covered for metabolic neuropathy (§4a).
    metabolic_neuropathy_noncovered: bool = False
    # Centene: ischemic-leg indication not medically necessary (§4b).
    ischemic_not_covered: bool = False
    # Aetna: no relief after earlier blocks means further blocks are not necessary (§4b).
    requires_prior_relief: bool = False
    # Mississippi WC style: fluoroscopy needs saved images (§4a).
    requires_saved_images: bool = False
    # Medicare: MUE 1 / MAI 3 enforced on units and RT/LT lines (§3).
    strict_mue: bool = False
    sequestration: bool = False
    # Dated policy changes (drift).
    auth_required_from: date | None = None
    bilateral_convention_from: date | None = None
    bilateral_convention_before: str | None = None
    # Planted changes (test worlds, `PolicyChange`): a tighter frequency limit and a stricter
    # documentation review from a date on; offices are not told.
    frequency_limit_from: date | None = None
    max_blocks_365d_after: int = 0
    min_interval_days_after: int = 0
    documentation_review_from: date | None = None
    medical_review_rate_after: float = 0.0


PAYERS: tuple[Payer, ...] = (
    Payer(
        "MCR-J15",
        "CGS J15 Medicare Part B",
        "medicare",
        0.17,
        "modifier_50",
        365,
        False,
        0,
        0,
        0.03,
        1.0,
        metabolic_neuropathy_noncovered=True,
        strict_mue=True,
        sequestration=True,
    ),
    Payer(
        "MCR-JH",
        "Novitas JH Medicare Part B",
        "medicare",
        0.16,
        "modifier_50",
        365,
        False,
        0,
        0,
        0.04,
        1.0,
        metabolic_neuropathy_noncovered=True,
        strict_mue=True,
        sequestration=True,
    ),
    Payer(
        "HUMANA-MA",
        "Humana Medicare Advantage",
        "medicare_advantage",
        0.11,
        "modifier_50",
        365,
        False,
        6,
        7,
        0.05,
        1.05,
        strict_mue=True,
        auth_required_from=date(2026, 4, 1),
    ),
    Payer(
        "UHC-MA",
        "UnitedHealthcare Medicare Advantage",
        "medicare_advantage",
        0.09,
        "modifier_50",
        180,
        True,
        6,
        7,
        0.05,
        1.05,
        strict_mue=True,
    ),
    Payer(
        "AETNA-COMM",
        "Aetna Commercial PPO",
        "commercial",
        0.09,
        "rt_lt_two_lines",
        90,
        True,
        3,
        7,
        0.04,
        1.9,
        requires_prior_relief=True,
    ),
    Payer(
        "IBX-PPO",
        "Independence Blue Cross PPO",
        "commercial",
        0.08,
        "modifier_50",
        180,
        False,
        6,
        7,
        0.03,
        1.7,
    ),
    Payer(
        "CIGNA-COMM",
        "Cigna Open Access Plus",
        "commercial",
        0.07,
        "rt_lt_two_lines",
        90,
        True,
        0,
        0,
        0.04,
        2.1,
        bilateral_convention_from=date(2026, 1, 1),
        bilateral_convention_before="modifier_50",
    ),
    Payer(
        "UHC-COMM",
        "UnitedHealthcare Choice Plus",
        "commercial",
        0.06,
        "rt_lt_two_lines",
        90,
        True,
        6,
        7,
        0.04,
        1.8,
    ),
    Payer(
        "CENTENE-MCD",
        "Centene Managed Medicaid",
        "medicaid",
        0.05,
        "rt_lt_two_lines",
        120,
        True,
        6,
        7,
        0.05,
        0.75,
        one_procedure_per_visit=True,
        ischemic_not_covered=True,
    ),
    Payer(
        "STATE-MCD",
        "State Medicaid Fee-for-Service",
        "medicaid",
        0.03,
        "modifier_50",
        365,
        True,
        0,
        0,
        0.03,
        0.7,
    ),
    Payer(
        "TRAVELERS-WC",
        "Travelers Workers Compensation",
        "workers_comp",
        0.07,
        "rt_lt_two_lines",
        365,
        True,
        0,
        0,
        0.05,
        1.6,
        requires_saved_images=True,
    ),
    Payer(
        "MERITAIN-TPA",
        "Meritain Health TPA",
        "other",
        0.02,
        "modifier_50",
        180,
        False,
        0,
        0,
        0.02,
        1.5,
    ),
)


def payer_convention(payer: Payer, day: int) -> str:
    """The bilateral convention the payer applies on a given service day."""
    if payer.bilateral_convention_from and day < day_number(payer.bilateral_convention_from):
        return payer.bilateral_convention_before or payer.bilateral_convention
    return payer.bilateral_convention


def payer_requires_auth(payer: Payer, day: int) -> bool:
    """Whether the payer requires prior authorisation for 64520 on a given service day."""
    if payer.auth_required_from is not None:
        return day >= day_number(payer.auth_required_from)
    return payer.auth_required


def payer_policy_on(payer: Payer, day: int) -> Payer:
    """The payer with the frequency limit and review rate it enforces on a given service day."""
    if payer.frequency_limit_from is not None and day >= day_number(payer.frequency_limit_from):
        payer = replace(
            payer,
            max_blocks_365d=payer.max_blocks_365d_after,
            min_interval_days=payer.min_interval_days_after,
        )
    if payer.documentation_review_from is not None and day >= day_number(
        payer.documentation_review_from
    ):
        payer = replace(payer, medical_review_rate=payer.medical_review_rate_after)
    return payer


POLICY_CHANGE_KINDS: tuple[str, ...] = (
    "prior_auth",
    "bilateral_rtlt",
    "frequency",
    "documentation",
)
# Stricter documentation review: the share of lines whose records are requested rises to this
# floor (or five times the payer's rate), so poorly documented lines draw CO-252/226.
STRICT_REVIEW_RATE = 0.45
# Tighter frequency limit: at most this many blocks per 365 days and this many days apart.
TIGHT_MAX_BLOCKS_365D = 3
TIGHT_MIN_INTERVAL_DAYS = 14


@dataclass(frozen=True)
class PolicyChange:
    """A planted, unannounced change of one payer's 64520 policy from the first day of a month."""

    payer_id: str
    start: date
    kind: str

    @property
    def first_month(self) -> str:
        return self.start.strftime("%Y-%m")

    def as_record(self) -> dict[str, str]:
        return {"payer_id": self.payer_id, "first_month": self.first_month, "kind": self.kind}


def parse_policy_change(text: str) -> PolicyChange:
    """`PAYER_ID:YYYY-MM:kind` (e.g. `IBX-PPO:2025-06:prior_auth`) → a `PolicyChange`."""
    parts = text.rsplit(":", 2)
    if len(parts) != 3:
        raise ValueError(f"policy change {text!r}: expected PAYER_ID:YYYY-MM:kind")
    payer_id, month, kind = parts
    known = {p.payer_id for p in PAYERS}
    if payer_id not in known:
        raise ValueError(f"policy change {text!r}: unknown payer {payer_id!r} ({sorted(known)})")
    if kind not in POLICY_CHANGE_KINDS:
        raise ValueError(f"policy change {text!r}: kind must be one of {POLICY_CHANGE_KINDS}")
    try:
        year, mon = (int(x) for x in month.split("-"))
        start = date(year, mon, 1)
    except ValueError as exc:
        raise ValueError(f"policy change {text!r}: month must be YYYY-MM") from exc
    if not WORLD_START < start <= WORLD_END:
        raise ValueError(f"policy change {text!r}: month outside {WORLD_START}..{WORLD_END}")
    return PolicyChange(payer_id, start, kind)


def with_policy_change(payer: Payer, change: PolicyChange) -> Payer:
    """The payer with one planted change from `change.start` on."""
    if change.kind == "prior_auth":
        if payer.auth_required or payer.auth_required_from is not None:
            raise ValueError(f"{payer.payer_id} already requires prior authorization")
        return replace(payer, auth_required_from=change.start)
    if change.kind == "bilateral_rtlt":
        if payer.bilateral_convention != "modifier_50" or payer.bilateral_convention_from:
            raise ValueError(f"{payer.payer_id} does not pay 64520-50 throughout")
        return replace(
            payer,
            bilateral_convention="rt_lt_two_lines",
            bilateral_convention_from=change.start,
            bilateral_convention_before="modifier_50",
        )
    if change.kind == "frequency":
        tighter = min(payer.max_blocks_365d or TIGHT_MAX_BLOCKS_365D, TIGHT_MAX_BLOCKS_365D)
        return replace(
            payer,
            frequency_limit_from=change.start,
            max_blocks_365d_after=tighter,
            min_interval_days_after=max(payer.min_interval_days, TIGHT_MIN_INTERVAL_DAYS),
        )
    if change.kind == "documentation":
        return replace(
            payer,
            documentation_review_from=change.start,
            medical_review_rate_after=max(STRICT_REVIEW_RATE, 5 * payer.medical_review_rate),
        )
    raise ValueError(change.kind)


def payers_with_changes(changes: Sequence[PolicyChange]) -> tuple[Payer, ...]:
    """`PAYERS` with the planted changes applied (one change per payer)."""
    by_payer = {c.payer_id: c for c in changes}
    if len(by_payer) != len(changes):
        raise ValueError("at most one planted policy change per payer")
    return tuple(
        with_policy_change(p, by_payer[p.payer_id]) if p.payer_id in by_payer else p for p in PAYERS
    )


def builtin_policy_changes() -> tuple[PolicyChange, ...]:
    """The dated policy changes every world has (docs/synthetic-data.md "Drift")."""
    out = []
    for p in PAYERS:
        if p.auth_required_from is not None:
            out.append(PolicyChange(p.payer_id, p.auth_required_from, "prior_auth"))
        if p.bilateral_convention_from is not None:
            out.append(PolicyChange(p.payer_id, p.bilateral_convention_from, "bilateral_rtlt"))
    return tuple(out)


@dataclass(frozen=True)
class Indication:
    """A diagnosis group for 64520 patients (cpt-64520.md §4c, §8.1 mix)."""

    group: str
    share: float
    codes: tuple[tuple[str, str], ...]  # (dotted ICD-10-CM, side RT/LT/B/U)
    conditions: str  # wording used in notes


INDICATIONS: tuple[Indication, ...] = (
    Indication(
        "crps_lower",
        0.55,
        (("G90.521", "RT"), ("G90.522", "LT"), ("G90.523", "B"), ("G90.529", "U")),
        "CRPS",
    ),
    Indication(
        "causalgia_lower", 0.08, (("G57.71", "RT"), ("G57.72", "LT"), ("G57.73", "B")), "causalgia"
    ),
    Indication("zoster_phn", 0.06, (("B02.29", "U"), ("B02.23", "U")), "post-herpetic neuralgia"),
    Indication(
        "vascular",
        0.06,
        (("I73.9", "U"), ("I70.221", "RT"), ("I70.222", "LT")),
        "ischemic rest pain",
    ),
    Indication("phantom", 0.03, (("G54.6", "U"),), "phantom limb pain"),
    Indication("hyperhidrosis", 0.01, (("L74.510", "U"),), "hyperhidrosis"),
    Indication(
        "symptom_only",
        0.15,
        (("M54.50", "U"), ("G89.29", "U"), ("M79.2", "U"), ("G89.4", "U"), ("M54.16", "U")),
        "chronic pain",
    ),
    Indication("crps_upper", 0.02, (("G90.511", "RT"), ("G90.512", "LT")), "CRPS of the arm"),
    Indication(
        "metabolic_neuropathy", 0.04, (("E11.42", "U"), ("E11.40", "U")), "diabetic neuropathy"
    ),
)

# Non-billable category headers that exist in the code set; billed as primary they draw CO-16/M76.
HEADER_CODES: dict[str, str] = {
    "crps_lower": "G90.52",
    "causalgia_lower": "G57.7",
    "symptom_only": "M54.5",
    "crps_upper": "G90.51",
    "zoster_phn": "B02.2",
    "metabolic_neuropathy": "E11.4",
    "vascular": "I70.22",
    "phantom": "G54",
    "hyperhidrosis": "L74.51",
}

COMORBIDITIES: tuple[str, ...] = (
    "I10",
    "E78.5",
    "E11.9",
    "F32.A",
    "F41.9",
    "K21.9",
    "Z79.891",
    "M25.571",
    "G47.00",
    "E66.9",
    "Z87.891",
    "M17.11",
)


@cache
def checked_indications() -> tuple[Indication, ...]:
    """Indications whose codes all exist in the shipped ICD-10-CM release."""
    valid = codes.icd10cm_codes()
    for ind in INDICATIONS:
        for code, _ in ind.codes:
            if codes.normalize_icd10(code) not in valid:
                raise ValueError(f"ICD-10-CM code {code} is not in the shipped release")
    for code in (*HEADER_CODES.values(), *COMORBIDITIES):
        if codes.normalize_icd10(code) not in valid:
            raise ValueError(f"ICD-10-CM code {code} is not in the shipped release")
    return INDICATIONS


def make_npi(base9: int) -> str:
    """A valid 10-digit NPI from a 9-digit number starting with 1."""
    text = f"{base9:09d}"
    return text + str(npi_check_digit(text))


@dataclass(frozen=True)
class Provider:
    """A rendering provider and the habits that show in its claims and notes."""

    npi: str
    locality_factor: float
    charge_multiplier: float
    pos_weights: tuple[float, ...]  # over POS_CODES
    documentation: float  # chance each note element is written
    note_missing_rate: float
    mod59_rate: float  # 59/XU on bypassable companions
    mod25_rate: float  # 25 on a same-day E/M
    knows_payer_convention: float
    default_bilateral: str  # modifier_50, rt_lt_two_lines, units_gt_1
    per_level_units_rate: float
    pctc_error_rate: float
    auth_rate: float
    lag_mean_days: float
    late_filing_rate: float
    dx_with_dot: float
    verbosity: float
    name: str = ""  # "LAST, FIRST" as on the claim (837P NM1*82); fictitious


# Fictitious provider names: 20 × 20 combinations cover the 400 providers of the largest world.
# Drawn from the index, not the random stream, so every other value of a world stays the same.
PROVIDER_SURNAMES: tuple[str, ...] = (
    "ALDEN",
    "BRANDT",
    "CARVER",
    "DELACROIX",
    "ELLIS",
    "FARROW",
    "GALLOWAY",
    "HALVORSEN",
    "IBARRA",
    "JANSSEN",
    "KOVAC",
    "LINDQVIST",
    "MARSH",
    "NAKAMURA",
    "OKAFOR",
    "PRZYBYL",
    "QUINTERO",
    "ROWE",
    "SANTOS",
    "THORNE",
)
PROVIDER_GIVEN_NAMES: tuple[str, ...] = (
    "ANNA",
    "BEN",
    "CLARA",
    "DEV",
    "ELENA",
    "FARID",
    "GRACE",
    "HUGO",
    "IRIS",
    "JONAS",
    "KEIKO",
    "LIAM",
    "MAYA",
    "NOOR",
    "OMAR",
    "PRIYA",
    "RAFAEL",
    "SOFIA",
    "TOMAS",
    "YARA",
)


def provider_name(index: int) -> str:
    """The fictitious "LAST, FIRST" name of the index-th provider of a world."""
    surnames, given = PROVIDER_SURNAMES, PROVIDER_GIVEN_NAMES
    turn = index // len(surnames)
    return f"{surnames[index % len(surnames)]}, {given[(index + turn) % len(given)]}"


POS_CODES: tuple[str, ...] = ("11", "24", "22", "19", "21")
# §8.1: office 30%, ASC 30%, HOPD 35%, inpatient 3% (other folded in).
POS_BASE: tuple[float, ...] = (0.30, 0.30, 0.25, 0.12, 0.03)


def make_providers(rng: np.random.Generator, count: int) -> tuple[Provider, ...]:
    """Rendering providers with varied documentation and coding habits."""
    localities = codes.medicare_allowed_64520_by_locality()
    ratio = (
        localities["nonfacility_allowed"].cast(pl.Float64)
        / localities.filter(pl.col("mac") == "NATIONAL")["nonfacility_allowed"].cast(pl.Float64)[0]
    ).to_numpy()
    bases = rng.choice(np.arange(100_000_000, 199_999_999), size=count, replace=False)
    providers = []
    for i in range(count):
        pos = np.asarray(POS_BASE) * rng.gamma(1.0, 1.0, size=len(POS_BASE))
        pos = pos / pos.sum()
        providers.append(
            Provider(
                npi=make_npi(int(bases[i])),
                locality_factor=float(ratio[rng.integers(1, len(ratio))]),
                charge_multiplier=float(rng.uniform(2.6, 4.5)),
                pos_weights=tuple(float(x) for x in pos),
                documentation=float(rng.beta(6.0, 1.6)),
                note_missing_rate=float(
                    rng.choice([0.0, 0.01, 0.03, 0.08], p=[0.4, 0.3, 0.2, 0.1])
                ),
                mod59_rate=float(rng.beta(6.0, 2.0)),
                mod25_rate=float(rng.beta(7.0, 1.5)),
                knows_payer_convention=float(rng.beta(5.0, 1.2)),
                default_bilateral=str(
                    rng.choice(
                        ["modifier_50", "rt_lt_two_lines", "units_gt_1"], p=[0.55, 0.38, 0.07]
                    )
                ),
                per_level_units_rate=float(rng.choice([0.0, 0.01, 0.05], p=[0.6, 0.3, 0.1])),
                pctc_error_rate=float(rng.choice([0.0, 0.003, 0.02], p=[0.7, 0.25, 0.05])),
                auth_rate=float(rng.beta(20.0, 1.0)),
                lag_mean_days=float(rng.gamma(2.0, 4.0) + 1.0),
                late_filing_rate=float(rng.choice([0.005, 0.015, 0.05], p=[0.5, 0.4, 0.1])),
                dx_with_dot=float(rng.choice([0.0, 1.0, 0.5], p=[0.45, 0.45, 0.1])),
                verbosity=float(rng.uniform(0.0, 1.0)),
                name=provider_name(i),
            )
        )
    return tuple(providers)


def provider_count(lines: int) -> int:
    """Number of rendering providers for a world of the given size."""
    return int(min(400, max(12, lines // 2500)))


@cache
def fee_table() -> dict[str, tuple[float, float]]:
    """Medicare national non-facility / facility allowed per code from the shipped RVU file."""
    frame = codes.fee_schedule().filter(pl.col("mod").is_null() | (pl.col("mod") == ""))
    out: dict[str, tuple[float, float]] = {}
    for row in frame.iter_rows(named=True):
        cf = float(row["conv_factor"])
        nf, fac = float(row["nonfacility_total"]) * cf, float(row["facility_total"]) * cf
        if nf > 0:
            out[row["hcpcs"]] = (round(nf, 2), round(fac, 2))
    # Codes outside the shipped RVU extract (drugs, PT, labs, imaging): invented world prices.
    for code, price in OTHER_PRICES.items():
        out.setdefault(code, (price, price))
    return out


OTHER_PRICES: dict[str, float] = {
    "J1030": 6.2,
    "J1040": 9.8,
    "J3301": 1.6,
    "J1100": 0.12,
    "J2001": 0.9,
    "J0702": 6.1,
    "97110": 29.5,
    "97140": 27.1,
    "97530": 33.8,
    "97161": 99.6,
    "72148": 228.0,
    "72100": 38.4,
    "73610": 36.9,
    "80053": 10.6,
    "85025": 7.8,
    "99152": 55.2,
    "99155": 80.1,
    "01991": 120.0,
    "64680": 260.0,
    "64624": 380.0,
    "62280": 330.0,
    "64636": 240.0,
    "64634": 240.0,
}

# Non-facility POS for pricing (§8.2: facility vs non-facility RVUs).
NON_FACILITY_POS: frozenset[str] = frozenset({"11"})
