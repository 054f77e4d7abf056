"""Code sets and reference tables shipped in `data_contracts/reference/` (sources in SOURCES.md).

Every package reads codes from here: the generator, the row rules and the features. A newer
quarterly CMS file can replace a shipped one by pointing `DENIAL_RISK_REFERENCE_DIR` at a folder
holding files of the same names and columns.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

import polars as pl

SHIPPED_REFERENCE_DIR = Path(__file__).parent / "reference"

NCCI_PTP_FILE = "ncci_ptp_64520_2024q3_prac_and_outpatient.csv"
NCCI_MUE_FILE = "ncci_mue_practitioner_2024q3_extract.csv"
ICD10CM_INDICATIONS_FILE = "icd10cm_2026_64520_relevant_extract.csv"
MODIFIER_CODES_FILE = "modifier_codes.csv"
FEE_SCHEDULE_FILE = "pfs_rvu_2025oct_64520_related.csv"

# Modifiers that bypass an NCCI PTP pair with modifier indicator 1 (distinct procedural service;
# domain cpt-64520.md §2d). 25 bypasses a pair only on an E/M line.
NCCI_BYPASS_MODIFIERS = ("59", "XE", "XP", "XS", "XU")
NCCI_EM_BYPASS_MODIFIER = "25"
# CARC 29 "The time limit for filing has expired" (domain §5).
TIMELY_FILING_CARC = "29"
# CARC 197 "Precertification/authorization/notification/pre-treatment absent" (domain §5).
MISSING_AUTH_CARC = "197"


def reference_dir() -> Path:
    return Path(os.environ.get("DENIAL_RISK_REFERENCE_DIR") or SHIPPED_REFERENCE_DIR)


def reference_file(name: str) -> Path:
    """A reference file from the configured folder, falling back to the shipped copy."""
    override = reference_dir() / name
    return override if override.exists() else SHIPPED_REFERENCE_DIR / name


def reference_release(file_name: str) -> str | None:
    """The quarter or year a reference file is for, read from its name (`2024q3` -> `2024Q3`)."""
    quarter = re.search(r"(\d{4})q([1-4])", file_name, re.IGNORECASE)
    if quarter:
        return f"{quarter.group(1)}Q{quarter.group(2)}"
    month = re.search(r"(\d{4})(jan|apr|jul|oct)", file_name, re.IGNORECASE)
    if month:
        return f"{month.group(1)} {month.group(2).capitalize()}"
    year = re.search(r"(?<!\d)(20\d{2})(?!\d)", file_name)
    return year.group(1) if year else None


# Reference tables whose release the export manifest and the API's model description report.
RELEASED_REFERENCE_FILES: dict[str, str] = {
    "ncci_ptp": NCCI_PTP_FILE,
    "ncci_mue": NCCI_MUE_FILE,
    "icd10cm": "icd10cm_2026_all_codes_list.txt",
    "physician_fee_schedule": FEE_SCHEDULE_FILE,
    "pfs_gpci": "pfs_gpci_2025.csv",
}


def reference_releases() -> dict[str, str]:
    """Release (quarter or year) of each reference table the edits and features read."""
    return {
        name: reference_release(reference_file(file).name) or "unknown"
        for name, file in RELEASED_REFERENCE_FILES.items()
    }


def reference_source(label: str, file_name: str) -> str:
    """How an edit names its reference table: label and release, e.g. `NCCI PTP 2024Q3`."""
    release = reference_release(file_name)
    return f"{label} {release}" if release else label


def carc_denial_category(carc: str) -> str | None:
    """The shipped denial category of one CARC (None when the map does not list it)."""
    frame = carc_denial_categories().filter(pl.col("adj_code") == carc)
    return frame["denial_category"][0] if frame.height else None


def normalize_icd10(code: str) -> str:
    """ICD-10-CM as stored: upper case, no dot, no spaces."""
    return code.strip().upper().replace(".", "")


def normalized_icd10(code: pl.Expr) -> pl.Expr:
    """The same normalisation as `normalize_icd10`, as a polars expression."""
    return code.str.strip_chars().str.to_uppercase().str.replace_all(".", "", literal=True)


@cache
def icd10cm_codes() -> frozenset[str]:
    """Every ICD-10-CM code of the shipped release (dotless, upper case)."""
    lines = reference_file("icd10cm_2026_all_codes_list.txt").read_text().split()
    return frozenset(normalize_icd10(c) for c in lines if "-" not in c)


@cache
def sympathetic_block_indications() -> pl.DataFrame:
    """Clinical shortlist of indications for a sympathetic block (not a payer coverage list)."""
    frame = pl.read_csv(reference_file(ICD10CM_INDICATIONS_FILE), infer_schema=False)
    return frame.with_columns(normalized_icd10(pl.col("code")))


@cache
def modifier_codes() -> frozenset[str]:
    frame = pl.read_csv(reference_file(MODIFIER_CODES_FILE), infer_schema=False)
    return frozenset(frame["modifier"].str.strip_chars().str.to_uppercase())


@cache
def place_of_service() -> pl.DataFrame:
    """CMS place-of-service codes with their facility / non-facility type."""
    return pl.read_csv(reference_file("place_of_service_codes.csv"), infer_schema=False)


@cache
def place_of_service_codes() -> frozenset[str]:
    return frozenset(place_of_service()["pos_code"].str.zfill(2))


@cache
def carc_rarc() -> pl.DataFrame:
    """CARC, RARC and group codes with descriptions and validity dates."""
    return pl.read_csv(reference_file("carc_rarc_group_codes.csv"), infer_schema=False)


@cache
def carc_codes() -> frozenset[str]:
    frame = carc_rarc().filter(pl.col("adj_type") == "CARC")
    return frozenset(frame["adj_code"].str.strip_chars())


@cache
def rarc_codes() -> frozenset[str]:
    frame = carc_rarc().filter(pl.col("adj_type") == "RARC")
    return frozenset(frame["adj_code"].str.strip_chars())


@cache
def carc_denial_categories() -> pl.DataFrame:
    """CARC → denial type and category (first mapping wins where the source lists two)."""
    frame = pl.read_csv(reference_file("carc_denial_category_map.csv"), infer_schema=False)
    return frame.unique(subset="adj_code", keep="first", maintain_order=True)


@cache
def ncci_ptp_pairs() -> pl.DataFrame:
    """NCCI procedure-to-procedure pairs involving 64520 (practitioner and outpatient tables)."""
    return pl.read_csv(
        reference_file(NCCI_PTP_FILE),
        infer_schema=False,
    ).with_columns(
        pl.col("deletion_date").str.to_date("%Y-%m-%d"),
        pl.col("modifier_indicator").cast(pl.Int8),
    )


@cache
def mue_limits() -> pl.DataFrame:
    """Medically Unlikely Edits: units per day and adjudication indicator, practitioner table."""
    return pl.read_csv(
        reference_file(NCCI_MUE_FILE),
        schema_overrides={"hcpcs_code": pl.String, "mue_units": pl.Int32, "mue_mai": pl.Int8},
    )


@cache
def fee_schedule() -> pl.DataFrame:
    """Physician fee schedule rows (RVUs, PC/TC, bilateral and multiple-procedure indicators)."""
    return pl.read_csv(reference_file(FEE_SCHEDULE_FILE), infer_schema=False)


@cache
def medicare_allowed_64520_by_locality() -> pl.DataFrame:
    return pl.read_csv(
        reference_file("derived_64520_medicare_pfs_2025_by_locality.csv"), infer_schema=False
    )
