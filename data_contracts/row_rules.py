"""Row rules of input contract v1 as DuckDB SQL, evaluated set-based over a landing file.

Every landing row is read as text (nothing is lost to type inference), normalised with
`normalized_sql`, then checked against `rules(folder)` in order: the FIRST failing rule is the
row's quarantine reason and column. Rule order: column by column in contract order, each
column's presence, then its type/format, then its value or code set; cross-column rules last.
`duplicate_key` and `unparsable_line` are decided by the loader (they need the warehouse or the
reader), not here.

Reasons (the documented set, also in README "Input contract"):
- `missing_required`: a required value is empty.
- `bad_type`: a number column holds text (e.g. `12abc`, `$10`).
- `bad_date`: not `YYYY-MM-DD`, impossible (`2024-02-30`), out of order (submission before
  service) or implausible (age outside 0-120 at service).
- `bad_value`: a value outside its range or enumeration (units <= 0 or above `max_units()`, a
  negative amount or one above `MAX_AMOUNT_USD`, an unknown plan type).
- `bad_code`: a code outside its code set (CPT/HCPCS format, modifier, POS, ICD-10-CM, an NPI
  that is not 10 digits, group code, CARC, RARC).
- `bad_npi_check_digit`: a 10-digit NPI (billing or rendering; the column names which) whose
  check digit fails (Luhn over `80840` + the first nine digits; placeholder NPIs such as
  `1234567890` in sample files).
- `missing_plan_type`: no plan type: empty in the extract, no SBR09 in the 837P, and the payer is
  not in the practice's payer plan-type table (`ref_payer_plan_types`, docs/x12.md).
- `icd9_code`: an ICD-9-CM diagnosis code on a service on or after 2015-10-01 (ICD-10 compliance
  date): the line must be recoded in ICD-10-CM.
- `icd9_history`: an ICD-9-CM code on a service before 2015-10-01: coded right at the time, but
  the model's code sets are ICD-10-CM only, so the line is kept out (see docs/x12.md).
- `bad_identifier`: an identifier (claim, payer, encounter, patient, note, prior authorization)
  longer than `MAX_IDENTIFIER_LENGTH` or with characters outside letters, digits and `-_./:#`
  and inner spaces, or not starting with a letter or digit (so no formula, no control character).
- `bad_text`: free text (payer name, note text) over its length limit or holding control
  characters other than tab, CR and LF.
- `duplicate_key`: (claim_id, line_number) or note_id already loaded (first loaded wins).
- `unparsable_line`: the reader could not split the line (field count, broken quoting, bad JSON).

Code sets come from the `ref_*` tables that `reference_tables` loads from `codes.py`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from data_contracts.input_contract import (
    FOLDERS,
    GROUP_CODES,
    NOTE_TYPES,
    PATIENT_SEXES,
    PLAN_TYPES,
    ColumnSpec,
)

REASONS: tuple[str, ...] = (
    "missing_required",
    "bad_type",
    "bad_date",
    "bad_value",
    "bad_code",
    "bad_npi_check_digit",
    "missing_plan_type",
    "icd9_code",
    "icd9_history",
    "bad_identifier",
    "bad_text",
    "duplicate_key",
    "unparsable_line",
)

# Plausibility bounds: beyond them a value is a keying or column-swap error, not a coding choice.
# A line billed over its MUE (64520: 1 unit, MAI 3) is a denial risk to score, so the unit bound
# sits far above every MUE; the staged-table contracts use the same bounds, so a row either
# fails here (and is quarantined alone) or passes both.
MAX_UNITS_ENV = "DENIAL_RISK_MAX_UNITS"
DEFAULT_MAX_UNITS = 100.0
MAX_AMOUNT_USD = 100_000.0


def max_units() -> float:
    """The unit bound of a claim line (`DENIAL_RISK_MAX_UNITS`, default 100)."""
    raw = os.environ.get(MAX_UNITS_ENV, "").strip()
    return float(raw) if raw else DEFAULT_MAX_UNITS


# Identifiers: X12 allows 38 characters for a claim's patient control number and 80 for an
# entity identifier (NM109); a longer value is not an identifier but something pasted by mistake.
MAX_IDENTIFIER_LENGTH = 80
IDENTIFIER_COLUMNS = frozenset(
    {"claim_id", "payer_id", "encounter_id", "patient_id", "note_id", "prior_auth_number"}
)
# Starts with a letter or digit (never `=`, `+`, `-`, `@`: spreadsheet formulas), then letters,
# digits, spaces and the separators found in practice-management ids.
IDENTIFIER_PATTERN = "[A-Za-z0-9][A-Za-z0-9 ._/:#-]*"
# Free text: a payer's name, a clinical note (the longest real procedure notes are a few pages).
FREE_TEXT_MAX_LENGTH: dict[str, int] = {
    "payer_name": 200,
    "rendering_provider_name": 200,
    "text": 100_000,
}
# Control characters other than tab, LF and CR (NUL, escape, ...).
CONTROL_CHARACTER_PATTERN = "[\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F]"

# Every NPI a claim line carries is checked alike; the quarantine names the column that failed.
NPI_COLUMNS = ("billing_npi", "rendering_npi")

# Key columns that must be unique across all loaded files of a folder (first loaded wins).
UNIQUE_KEYS: dict[str, tuple[str, ...]] = {
    "claims": ("claim_id", "line_number"),
    "notes": ("note_id",),
    "remits": (),
    "remit_adjustments": (),
}

# Columns whose values are codes: compared upper case (a code is case-insensitive on paper).
UPPER_CASE_COLUMNS = frozenset(
    {
        "cpt_code",
        "modifier_1",
        "modifier_2",
        "modifier_3",
        "modifier_4",
        "patient_sex",
        "group_code",
        "carc",
        "rarc",
        "diagnosis_codes",
        "match_cpt_code",
        "match_modifiers",
    }
)
# Plan and note types are snake_case words in the contract.
LOWER_CASE_COLUMNS = frozenset({"plan_type", "note_type"})

# CPT: 4 digits + digit or category-II/III letter (0001F, 0178T); HCPCS level II: letter + 4 digits.
# ICD-9-CM shapes (dot removed): 3-5 digits (001-999 with up to two decimals), V01-V91 with up
# to two decimals, E800-E999 with one. ICD-10-CM never starts with a digit; its V and E codes
# are longer or in `ref_icd10cm`, so only codes outside ICD-10-CM are tested against these.
ICD9_PATTERN = "([0-9]{3,5}|V[0-9]{2,4}|E[0-9]{3,4})"
# HHS final rule (45 CFR 162.1002): ICD-10-CM for services on or after 2015-10-01.
ICD10_COMPLIANCE_DATE = "2015-10-01"
CPT_OR_HCPCS_PATTERN = "^([0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$"
ISO_DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
INTEGER_PATTERN = "^[0-9]+$"
MAX_AGE_YEARS = 120
# Space, tab, line feed, carriage return: trimmed from every value (CRLF files, padded cells).
WHITESPACE_SQL = "(' ' || chr(9) || chr(10) || chr(13))"


@dataclass(frozen=True)
class RowRule:
    """One contract rule: rows where `fails` (SQL over alias `r`) is true break it."""

    reason: str
    column: str | None
    fails: str


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_list(values: tuple[str, ...] | list[str]) -> str:
    return "(" + ", ".join(_q(v) for v in values) + ")"


def normalized_sql(column: str, source: str, spaces_only: bool = False) -> str:
    """SQL that trims a raw text value, maps '' to NULL and applies the column's case rule.

    `spaces_only`: the caller knows the text holds no tab, CR or LF (`files.scan_file`), so the
    plain space trim does; it is ~2.5x faster than trimming a character set (measured 1.1 s
    against 2.5 s over 22 columns × 1M rows).
    """
    if spaces_only:
        value = f"nullif(trim(CAST({source} AS VARCHAR)), '')"
    else:
        value = f"nullif(trim(CAST({source} AS VARCHAR), {WHITESPACE_SQL}), '')"
    if column in UPPER_CASE_COLUMNS:
        value = f"upper({value})"
    elif column in LOWER_CASE_COLUMNS:
        value = f"lower({value})"
    elif column == "place_of_service":
        # Spreadsheets drop the leading zero of POS 01-09; the code set is two characters.
        value = f"CASE WHEN length({value}) = 1 THEN lpad({value}, 2, '0') ELSE {value} END"
    return value


def icd10_list_sql(column: str) -> str:
    """`;`-separated ICD-10-CM codes as a list: upper case, dot removed, empties dropped."""
    return (
        f"list_filter(list_transform(str_split({column}, ';'), "
        "lambda c: upper(replace(trim(c), '.', ''))), lambda c: c <> '')"
    )


def rarc_list_sql(column: str) -> str:
    """`;`-separated RARCs as a list: upper case, empties dropped."""
    return (
        f"list_filter(list_transform(str_split({column}, ';'), "
        "lambda c: upper(trim(c))), lambda c: c <> '')"
    )


def age_at_sql(birth_date: str, at_date: str) -> str:
    """Whole years between two DATE expressions (birthday not yet reached counts one less)."""
    return (
        f"(year({at_date}) - year({birth_date}) - CASE WHEN month({at_date}) * 100 + "
        f"day({at_date}) < month({birth_date}) * 100 + day({birth_date}) THEN 1 ELSE 0 END)"
    )


def npi_valid_sql(column: str) -> str:
    """NPI check digit: Luhn over '80840' + the first 9 digits (CMS NPI standard, ISO 7812).

    The prefix contributes 24 to the Luhn sum; doubled digits are looked up in a list (measured
    ~40% faster in DuckDB than casting and splitting each digit).
    """
    terms = []
    for position in range(9):
        digit = f"(ascii({column}[{position + 1}]) - 48)"
        # Luhn doubles every second digit from the right of the 15-digit payload.
        terms.append(f"[0, 2, 4, 6, 8, 1, 3, 5, 7, 9][{digit} + 1]" if position % 2 == 0 else digit)
    total = "24 + " + " + ".join(terms)
    return (
        f"(regexp_full_match({column}, '[0-9]{{10}}') AND "
        f"(10 - ({total}) % 10) % 10 = ascii({column}[10]) - 48)"
    )


def npi_check_digit(base9: str) -> int:
    """Luhn check digit of the first nine NPI digits with the 80840 prefix (CMS NPI standard)."""
    total = 0
    for index, char in enumerate(reversed("80840" + base9)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return (10 - total % 10) % 10


def npi_is_valid(npi: str) -> bool:
    """The same NPI check in Python, for tests and the generator."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    return npi_check_digit(npi[:9]) == int(npi[9])


def icd9_on_line_sql(column: str, service_date: str, before_compliance: bool) -> str:
    """A code of the list is ICD-9-shaped and not ICD-10-CM, on a service after (or before)
    the ICD-10 compliance date; a service date that is not a date counts as after."""
    on_or_after = (
        f"coalesce(TRY_CAST({service_date} AS DATE) >= DATE '{ICD10_COMPLIANCE_DATE}', true)"
    )
    when = f"NOT {on_or_after}" if before_compliance else on_or_after
    return (
        f"({when} AND EXISTS (SELECT 1 FROM unnest({icd10_list_sql(column)}) AS t(c) "
        f"WHERE regexp_full_match(c, '{ICD9_PATTERN}') "
        "AND c NOT IN (SELECT code FROM ref_icd10cm)))"
    )


def _date_ok(col: str) -> str:
    return f"(regexp_full_match({col}, '{ISO_DATE_PATTERN[1:-1]}') AND TRY_CAST({col} AS DATE) IS NOT NULL)"


def _type_rule(spec: ColumnSpec, col: str) -> RowRule | None:
    if spec.type == "integer":
        return RowRule("bad_type", spec.name, f"NOT regexp_full_match({col}, '[0-9]+')")
    if spec.type == "number":
        return RowRule("bad_type", spec.name, f"TRY_CAST({col} AS DOUBLE) IS NULL")
    if spec.type == "decimal":
        return RowRule("bad_type", spec.name, f"TRY_CAST({col} AS DECIMAL(12,2)) IS NULL")
    if spec.type == "date":
        return RowRule("bad_date", spec.name, f"NOT {_date_ok(col)}")
    return None


def _line_number_fails(folder: str, col: str) -> str:
    """Below 1, or beyond the staged INTEGER column (a cast error at insert otherwise).

    A remit's number out of range (an echoed 12-digit line item control number, docs/x12.md)
    is not a contract break when the match_* columns can place the line instead.
    """
    out_of_range = f"{col} IS NOT NULL AND coalesce(TRY_CAST({col} AS INTEGER) < 1, true)"
    if folder in ("remits", "remit_adjustments"):
        return f"TRY_CAST({col} AS BIGINT) < 1 OR ({out_of_range} AND r.match_cpt_code IS NULL)"
    return out_of_range


def _amount_out_of_range(col: str) -> str:
    return f"NOT (TRY_CAST({col} AS DECIMAL(12,2)) BETWEEN 0 AND {MAX_AMOUNT_USD})"


def _value_rules(folder: str, name: str, col: str) -> list[RowRule]:
    """Range, enumeration and code-set rules of one column (NULL values never fail them)."""
    modifier_set = "(SELECT modifier FROM ref_modifiers)"
    by_column: dict[str, list[RowRule]] = {
        # The staged column is INTEGER: a longer number (e.g. an echoed 12-digit line item
        # control number) is out of range here rather than a cast error at insert.
        "line_number": [RowRule("bad_value", name, _line_number_fails(folder, col))],
        "patient_sex": [RowRule("bad_value", name, f"{col} NOT IN {_sql_list(PATIENT_SEXES)}")],
        "plan_type": [RowRule("bad_value", name, f"{col} NOT IN {_sql_list(PLAN_TYPES)}")],
        "place_of_service": [
            RowRule("bad_code", name, f"{col} NOT IN (SELECT pos_code FROM ref_pos)")
        ],
        "cpt_code": [
            RowRule(
                "bad_code", name, f"NOT regexp_full_match({col}, '{CPT_OR_HCPCS_PATTERN[1:-1]}')"
            )
        ],
        "units": [
            RowRule(
                "bad_value",
                name,
                f"NOT (TRY_CAST({col} AS DOUBLE) > 0 AND isfinite(TRY_CAST({col} AS DOUBLE)) "
                f"AND TRY_CAST({col} AS DOUBLE) <= {max_units()})",
            )
        ],
        "charge_amount": [RowRule("bad_value", name, _amount_out_of_range(col))],
        "allowed_amount": [RowRule("bad_value", name, _amount_out_of_range(col))],
        "paid_amount": [RowRule("bad_value", name, _amount_out_of_range(col))],
        "diagnosis_codes": [
            # Only separators, dots or blanks: no code at all.
            RowRule("missing_required", name, f"NOT regexp_matches({col}, '[^;.[:space:]]')"),
            RowRule("icd9_code", name, icd9_on_line_sql(col, "r.service_date", False)),
            RowRule("icd9_history", name, icd9_on_line_sql(col, "r.service_date", True)),
            RowRule(
                "bad_code",
                name,
                f"EXISTS (SELECT 1 FROM unnest({icd10_list_sql(col)}) AS t(c) "
                "WHERE c NOT IN (SELECT code FROM ref_icd10cm))",
            ),
        ],
        "group_code": [RowRule("bad_code", name, f"{col} NOT IN {_sql_list(GROUP_CODES)}")],
        "carc": [
            RowRule(
                "bad_code",
                name,
                f"{col} NOT IN (SELECT adj_code FROM ref_carc_rarc WHERE adj_type = 'CARC')",
            )
        ],
        "rarc": [
            RowRule(
                "bad_code",
                name,
                f"EXISTS (SELECT 1 FROM unnest({rarc_list_sql(col)}) AS t(c) WHERE c NOT IN "
                "(SELECT adj_code FROM ref_carc_rarc WHERE adj_type = 'RARC'))",
            )
        ],
        "note_type": [RowRule("bad_value", name, f"{col} NOT IN {_sql_list(NOTE_TYPES)}")],
    }
    if name in NPI_COLUMNS:
        return [
            RowRule("bad_code", name, f"NOT regexp_full_match({col}, '[0-9]{{10}}')"),
            RowRule("bad_npi_check_digit", name, f"NOT {npi_valid_sql(col)}"),
        ]
    if name.startswith("modifier_"):
        return [RowRule("bad_code", name, f"{col} NOT IN {modifier_set}")]
    if name in IDENTIFIER_COLUMNS:
        return [
            RowRule(
                "bad_identifier",
                name,
                f"(length({col}) > {MAX_IDENTIFIER_LENGTH} "
                f"OR NOT regexp_full_match({col}, '{IDENTIFIER_PATTERN}'))",
            )
        ]
    if name in FREE_TEXT_MAX_LENGTH:
        return [
            RowRule(
                "bad_text",
                name,
                f"(length({col}) > {FREE_TEXT_MAX_LENGTH[name]} "
                f"OR regexp_matches({col}, '{CONTROL_CHARACTER_PATTERN}'))",
            )
        ]
    return by_column.get(name, [])


def _cross_rules(folder: str) -> list[RowRule]:
    if folder == "claims":
        age = age_at_sql("CAST(r.patient_birth_date AS DATE)", "CAST(r.service_date AS DATE)")
        return [
            RowRule(
                "bad_date",
                "submission_date",
                "CAST(r.submission_date AS DATE) < CAST(r.service_date AS DATE)",
            ),
            RowRule("bad_date", "patient_birth_date", f"NOT ({age} BETWEEN 0 AND {MAX_AGE_YEARS})"),
        ]
    return []


def rules(folder: str) -> tuple[RowRule, ...]:
    """The ordered row rules of one landing folder."""
    out: list[RowRule] = []
    for spec in FOLDERS[folder]:
        col = f"r.{spec.name}"
        if spec.required:
            presence = f"{col} IS NULL"
            # Its own reason: the fix is SBR09 or the payer plan-type table, not the extract.
            missing = "missing_plan_type" if spec.name == "plan_type" else "missing_required"
            if folder in ("remits", "remit_adjustments") and spec.name == "line_number":
                # X12 remits may lack REF*6R: the line is then matched by procedure and date.
                presence += " AND r.match_cpt_code IS NULL"
            out.append(RowRule(missing, spec.name, presence))
        type_rule = _type_rule(spec, col)
        if type_rule is not None:
            out.append(type_rule)
        out.extend(_value_rules(folder, spec.name, col))
    out.extend(_cross_rules(folder))
    return tuple(out)


def first_failure_sql(folder: str) -> str:
    """A SQL CASE giving the 1-based index of the first failing rule, NULL when all pass.

    Later WHEN branches only run when earlier ones are false, so a code-set check never sees a
    value that is missing or of the wrong type.
    """
    whens = "\n".join(
        f"  WHEN coalesce({rule.fails}, false) THEN {index}"
        for index, rule in enumerate(rules(folder), start=1)
    )
    return f"CASE\n{whens}\n  ELSE NULL END"
