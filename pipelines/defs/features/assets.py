"""The modelling table asset: staged tables in, one feature row per 64520 line out."""

from __future__ import annotations

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from models.features.documentation import NOTE_ELEMENTS_VERSION
from models.features.front_end import rejection_history
from models.features.table import (
    CLAIM_LINE_COLUMNS,
    NOTE_COLUMNS,
    OUTCOME_COLUMNS,
    build_modelling_table,
)
from pipelines.defs.resources import WAREHOUSE_POOL

KEY_FEATURES = (
    "doc_completeness",
    "doc_level",
    "dx_primary_is_indication",
    "payer_code_denial_rate",
    "provider_denial_rate",
    "days_since_last_64520",
    "payer_filing_limit_days",
    "expected_payment_usd",
)


def _columns(names: tuple[str, ...]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def modelling_table_metadata(table: pl.DataFrame) -> dict[str, dg.MetadataValue | int | float]:
    """Row counts, denial rate and null shares of key features for the asset's metadata."""
    labelled = table.filter(~pl.col("is_pending"))
    denial_rate = float(labelled["denied"].mean()) if labelled.height else float("nan")
    metadata: dict[str, dg.MetadataValue | int | float] = {
        "dagster/row_count": table.height,
        "labelled_rows": labelled.height,
        "pending_rows": table.height - labelled.height,
        "denial_rate": round(denial_rate, 4),
    }
    for name in KEY_FEATURES:
        share = table[name].null_count() / table.height if table.height else 0.0
        metadata[f"null_share_{name}"] = round(share, 4)
    return metadata


@dg.asset(
    group_name="features",
    kinds={"duckdb", "polars"},
    deps=[
        "staged_claim_lines",
        "line_outcomes",
        "staged_notes",
        "reference_tables",
        "claim_acknowledgements",
    ],
    pool=WAREHOUSE_POOL,
)
def modelling_table(warehouse: DuckDBResource) -> dg.MaterializeResult:
    """One row per 64520 claim line (labelled and pending) with every model feature, point in time."""
    with warehouse.get_connection() as conn:
        outdated = conn.execute(
            "SELECT count(*) FROM staged_notes WHERE elements_version IS DISTINCT FROM ?",
            [NOTE_ELEMENTS_VERSION],
        ).fetchall()[0][0]
        if outdated:
            raise dg.Failure(
                f"{outdated} notes lack documentation elements of version "
                f"{NOTE_ELEMENTS_VERSION}: materialize staged_notes first"
            )
        claim_lines = conn.sql(
            f"SELECT {_columns(CLAIM_LINE_COLUMNS)} FROM staged_claim_lines"
        ).pl()
        outcomes = conn.sql(f"SELECT {_columns(OUTCOME_COLUMNS)} FROM line_outcomes").pl()
        notes = conn.sql(f"SELECT {_columns(NOTE_COLUMNS)} FROM staged_notes").pl()
        rejections = rejection_history(conn)
    table = build_modelling_table(
        claim_lines.lazy(),
        outcomes.lazy(),
        notes.lazy(),
        rejections=None if rejections is None else rejections.lazy(),
    )
    del claim_lines, outcomes, notes, rejections
    with warehouse.get_connection() as conn:
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.register("modelling_table_frame", table)
            conn.execute(
                "CREATE OR REPLACE TABLE modelling_table AS SELECT * FROM modelling_table_frame"
            )
            conn.unregister("modelling_table_frame")
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
    return dg.MaterializeResult(metadata=modelling_table_metadata(table))
