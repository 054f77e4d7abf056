"""The practice's payer → plan type table: where it is, how it is read, how it fills a line.

Claim lines without a plan type (an 837P without SBR09, an extract with the column empty) take
the plan type the practice lists for their payer (docs/x12.md "Plan type"). One home for the
setting, the reader and the SQL fill, shared by ingestion (`ref_payer_plan_types` in the
warehouse) and the pre-submission check, so an unsent line gets the plan type (or the
`missing_plan_type` rejection) it would get once loaded.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from data_contracts.input_contract import PLAN_TYPES

PAYER_PLAN_TYPES_ENV = "DENIAL_RISK_PAYER_PLAN_TYPES"
PAYER_PLAN_TYPES_TABLE = "ref_payer_plan_types"


def configured_payer_plan_types() -> Path | None:
    """The table `DENIAL_RISK_PAYER_PLAN_TYPES` names, None when unset."""
    configured = os.environ.get(PAYER_PLAN_TYPES_ENV)
    return Path(configured) if configured else None


def payer_plan_types_file(landing: Path) -> Path:
    """`DENIAL_RISK_PAYER_PLAN_TYPES` when set, else `<landing>/reference/payer_plan_types.csv`."""
    return configured_payer_plan_types() or landing / "reference" / "payer_plan_types.csv"


def read_payer_plan_types(path: Path | None) -> tuple[pl.DataFrame, list[str]]:
    """`payer_id, plan_type` rows of the practice's table, and what was wrong with the others.

    CSV with a header naming `payer_id` and `plan_type` (other columns, e.g. payer_name, are
    ignored); plan types as in the input contract, any case. A row with an empty payer, an
    unknown plan type or a payer already listed (the first row wins) is skipped and named.
    """
    empty = pl.DataFrame(schema={"payer_id": pl.String, "plan_type": pl.String})
    if path is None or not path.is_file():
        return empty, []
    frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    columns = {c.strip().lower(): c for c in frame.columns}
    missing = [c for c in ("payer_id", "plan_type") if c not in columns]
    if missing:
        return empty, [f"{path.name}: missing column(s) {', '.join(missing)}; table not used"]
    rows = frame.select(
        pl.col(columns["payer_id"]).str.strip_chars().alias("payer_id"),
        pl.col(columns["plan_type"]).str.strip_chars().str.to_lowercase().alias("plan_type"),
    ).with_row_index("row", offset=2)
    problems = []
    kept: dict[str, str] = {}
    for row, payer, plan in rows.iter_rows():
        if not payer:
            problems.append(f"{path.name} line {row}: empty payer_id")
        elif plan not in PLAN_TYPES:
            problems.append(f"{path.name} line {row}: unknown plan_type {plan!r} for {payer}")
        elif payer in kept:
            problems.append(f"{path.name} line {row}: {payer} listed again (first row kept)")
        else:
            kept[payer] = plan
    frame = pl.DataFrame(
        {"payer_id": list(kept), "plan_type": list(kept.values())},
        schema={"payer_id": pl.String, "plan_type": pl.String},
    )
    return frame, problems


def plan_type_filled_sql(plan_type: str, payer_id: str) -> str:
    """The line's plan type, else its payer's in `ref_payer_plan_types` (SQL over normalised
    text; qualified, so `payer_id` never binds to the table's own column)."""
    return (
        f"coalesce({plan_type}, (SELECT max(p.plan_type) FROM {PAYER_PLAN_TYPES_TABLE} p "
        f"WHERE p.payer_id = {payer_id}))"
    )
