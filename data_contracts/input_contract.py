"""Input contract v1: the landing folder's four sub-folders and their columns.

One place for the column list, types and required flags; row rules live in `row_rules.py`,
code sets in `codes.py`. Documented for users in README.md ("Input contract").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["string", "integer", "number", "decimal", "date"]

CONTRACT_VERSION = "1"


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: ColumnType
    required: bool
    rule: str = ""


CLAIMS: tuple[ColumnSpec, ...] = (
    ColumnSpec("claim_id", "string", True, "non-empty"),
    ColumnSpec("line_number", "integer", True, ">= 1; (claim_id, line_number) unique"),
    ColumnSpec("encounter_id", "string", False, "links notes to the visit"),
    ColumnSpec("patient_id", "string", True, "stored only as a keyed hash"),
    ColumnSpec("patient_birth_date", "date", True, "age 0-120 at service"),
    ColumnSpec("patient_sex", "string", False, "M, F or U"),
    ColumnSpec("payer_id", "string", True),
    ColumnSpec("payer_name", "string", False),
    ColumnSpec("plan_type", "string", True, "one of PLAN_TYPES"),
    ColumnSpec("billing_npi", "string", False, "10 digits, valid check digit (837P NM1*85)"),
    ColumnSpec("rendering_npi", "string", True, "10 digits, valid check digit"),
    ColumnSpec("rendering_provider_name", "string", False, "as on the claim (837P NM1*82)"),
    ColumnSpec("place_of_service", "string", True, "a CMS place-of-service code"),
    ColumnSpec("service_date", "date", True),
    ColumnSpec("submission_date", "date", True, ">= service_date"),
    ColumnSpec("cpt_code", "string", True, "5-character CPT or HCPCS code"),
    ColumnSpec("modifier_1", "string", False, "known CPT/HCPCS modifier"),
    ColumnSpec("modifier_2", "string", False, "known CPT/HCPCS modifier"),
    ColumnSpec("modifier_3", "string", False, "known CPT/HCPCS modifier"),
    ColumnSpec("modifier_4", "string", False, "known CPT/HCPCS modifier"),
    ColumnSpec("units", "number", True, "> 0"),
    ColumnSpec("charge_amount", "decimal", True, ">= 0"),
    ColumnSpec(
        "diagnosis_codes", "string", True, "ICD-10-CM codes separated by ';', first primary"
    ),
    ColumnSpec("prior_auth_number", "string", False),
)

REMITS: tuple[ColumnSpec, ...] = (
    ColumnSpec("claim_id", "string", True),
    ColumnSpec("line_number", "integer", True, ">= 1"),
    ColumnSpec("adjudication_date", "date", True, ">= the line's submission date"),
    ColumnSpec("allowed_amount", "decimal", True, ">= 0"),
    ColumnSpec("paid_amount", "decimal", True, ">= 0"),
)

REMIT_ADJUSTMENTS: tuple[ColumnSpec, ...] = (
    ColumnSpec("claim_id", "string", True),
    ColumnSpec("line_number", "integer", True, ">= 1"),
    ColumnSpec("group_code", "string", True, "CO, PR, OA, PI or CR"),
    ColumnSpec("carc", "string", True, "a known CARC"),
    ColumnSpec("amount", "decimal", True),
    ColumnSpec("rarc", "string", False, "known RARCs separated by ';'"),
)

NOTES: tuple[ColumnSpec, ...] = (
    ColumnSpec("note_id", "string", True),
    ColumnSpec("patient_id", "string", True, "stored only as a keyed hash"),
    ColumnSpec("encounter_id", "string", False),
    ColumnSpec("note_date", "date", True),
    ColumnSpec("note_type", "string", True, "procedure, history_physical, follow_up or other"),
    ColumnSpec("text", "string", True),
)

FOLDERS: dict[str, tuple[ColumnSpec, ...]] = {
    "claims": CLAIMS,
    "remits": REMITS,
    "remit_adjustments": REMIT_ADJUSTMENTS,
    "notes": NOTES,
}

PLAN_TYPES = ("medicare", "medicare_advantage", "medicaid", "commercial", "workers_comp", "other")
# Each plan type in words, for pages and reports.
PLAN_TYPE_LABELS: dict[str, str] = {
    "medicare": "Medicare (fee for service)",
    "medicare_advantage": "Medicare Advantage",
    "medicaid": "Medicaid",
    "commercial": "Commercial",
    "workers_comp": "Workers' compensation",
    "other": "Other",
}
PATIENT_SEXES = ("M", "F", "U")
GROUP_CODES = ("CO", "PR", "OA", "PI", "CR")
NOTE_TYPES = ("procedure", "history_physical", "follow_up", "other")

TARGET_CPT = "64520"


def column_names(folder: str) -> list[str]:
    return [c.name for c in FOLDERS[folder]]


def required_columns(folder: str) -> list[str]:
    return [c.name for c in FOLDERS[folder] if c.required]
