"""Reference tables (`ref_*`) in the warehouse, loaded from `data_contracts.codes`.

A newer quarterly CMS file replaces a shipped one when `DENIAL_RISK_REFERENCE_DIR` points at a
folder with a file of the same name; every table keeps the file it came from in `source_file`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from data_contracts import codes
from data_contracts.payer_plan_types import PAYER_PLAN_TYPES_TABLE, read_payer_plan_types

logger = logging.getLogger(__name__)

# The practice's payer → plan type table (docs/x12.md "Plan type") fills `plan_type` of claim
# lines that carry none; its reader is shared with the pre-submission check.
__all__ = [
    "PAYER_PLAN_TYPES_TABLE",
    "REFERENCE_TABLES",
    "ReferenceSummary",
    "load_reference_tables",
    "read_payer_plan_types",
    "reference_tables_present",
]


@dataclass(frozen=True)
class ReferenceSpec:
    """One reference table: its loader in `codes.py` and the shipped file it reads."""

    table: str
    file_name: str
    frame: Callable[[], pl.DataFrame]


def _modifiers() -> pl.DataFrame:
    frame = pl.read_csv(codes.reference_file(codes.MODIFIER_CODES_FILE), infer_schema=False)
    return frame.with_columns(pl.col("modifier").str.strip_chars().str.to_uppercase()).unique(
        subset="modifier", keep="first", maintain_order=True
    )


def _pos() -> pl.DataFrame:
    return codes.place_of_service().with_columns(pl.col("pos_code").str.zfill(2))


def _carc_rarc() -> pl.DataFrame:
    return codes.carc_rarc().with_columns(pl.col("adj_code").str.strip_chars())


def _icd10cm() -> pl.DataFrame:
    indications = set(codes.sympathetic_block_indications()["code"].to_list())
    listed = sorted(codes.icd10cm_codes())
    return pl.DataFrame(
        {"code": listed, "is_indication": [c in indications for c in listed]},
        schema={"code": pl.String, "is_indication": pl.Boolean},
    )


REFERENCE_TABLES: tuple[ReferenceSpec, ...] = (
    ReferenceSpec("ref_ncci_ptp", codes.NCCI_PTP_FILE, codes.ncci_ptp_pairs),
    ReferenceSpec("ref_mue", codes.NCCI_MUE_FILE, codes.mue_limits),
    ReferenceSpec("ref_fee_schedule", codes.FEE_SCHEDULE_FILE, codes.fee_schedule),
    ReferenceSpec("ref_pos", "place_of_service_codes.csv", _pos),
    ReferenceSpec("ref_modifiers", codes.MODIFIER_CODES_FILE, _modifiers),
    ReferenceSpec("ref_carc_rarc", "carc_rarc_group_codes.csv", _carc_rarc),
    ReferenceSpec(
        "ref_carc_category", "carc_denial_category_map.csv", codes.carc_denial_categories
    ),
    ReferenceSpec("ref_icd10cm", "icd10cm_2026_all_codes_list.txt", _icd10cm),
    ReferenceSpec(
        "ref_indications", codes.ICD10CM_INDICATIONS_FILE, codes.sympathetic_block_indications
    ),
)

_CACHED_LOADERS = (
    codes.icd10cm_codes,
    codes.sympathetic_block_indications,
    codes.modifier_codes,
    codes.place_of_service,
    codes.place_of_service_codes,
    codes.carc_rarc,
    codes.carc_codes,
    codes.rarc_codes,
    codes.carc_denial_categories,
    codes.ncci_ptp_pairs,
    codes.mue_limits,
    codes.fee_schedule,
)


@dataclass(frozen=True)
class ReferenceSummary:
    """Rows and source file of every reference table loaded."""

    rows: dict[str, int]
    sources: dict[str, str]
    # Rows of the payer plan-type table left out (unknown plan type, empty or repeated payer).
    payer_plan_types_skipped: int = 0
    payer_plan_types_problems: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def load_reference_tables(
    con: duckdb.DuckDBPyConnection, payer_plan_types: Path | None = None
) -> ReferenceSummary:
    """Replace every `ref_*` table from the configured reference files, in one transaction.

    `payer_plan_types`: the practice's payer plan-type table (`ProductSettings.payer_plan_types`);
    `ref_payer_plan_types` is empty without it.
    """
    for loader in _CACHED_LOADERS:
        # A newer CMS file may have been dropped in since the last run of this process.
        loader.cache_clear()
    rows: dict[str, int] = {}
    sources: dict[str, str] = {}
    frames = {}
    for spec in REFERENCE_TABLES:
        source = codes.reference_file(spec.file_name)
        frames[spec.table] = spec.frame().with_columns(source_file=pl.lit(source.name))
        sources[spec.table] = str(source)
    payers, problems = read_payer_plan_types(payer_plan_types)
    for problem in problems:
        logger.warning("payer plan-type table: %s", problem)
    frames[PAYER_PLAN_TYPES_TABLE] = payers.with_columns(
        source_file=pl.lit(payer_plan_types.name if payer_plan_types else None, pl.String)
    )
    if payers.height:
        sources[PAYER_PLAN_TYPES_TABLE] = str(payer_plan_types)
    con.execute("BEGIN TRANSACTION")
    try:
        for table, frame in frames.items():
            con.register("_reference_frame", frame.to_arrow())
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _reference_frame")
            con.unregister("_reference_frame")
            rows[table] = frame.height
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return ReferenceSummary(
        rows=rows,
        sources=sources,
        payer_plan_types_skipped=len(problems),
        payer_plan_types_problems=problems,
    )


def reference_tables_present(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether every `ref_*` table exists (the row rules read their code sets from them)."""
    existing = {
        name
        for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    }
    return all(spec.table in existing for spec in REFERENCE_TABLES)
