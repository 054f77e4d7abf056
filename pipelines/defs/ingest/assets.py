"""Ingest assets: reference tables, staged landing files and the per-line label table."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.resources import WAREHOUSE_POOL, ProductPaths
from pipelines.sources.landing import (
    IngestSummary,
    build_line_outcomes,
    build_remit_line_outcomes,
    ingest_claims,
    ingest_notes,
    ingest_remit_files,
    load_reference_tables,
)


def _staging_metadata(summary: IngestSummary) -> dict[str, object]:
    metadata: dict[str, object] = dict(summary.metadata())
    metadata["dagster/row_count"] = sum(summary.table_rows.values())
    metadata["rejected_files"] = dg.MetadataValue.text(summary.rejected_files)
    for table, rows in summary.table_rows.items():
        metadata[f"{table}_rows"] = rows
    return metadata


@dg.asset(group_name="ingest", kinds={"duckdb"}, pool=WAREHOUSE_POOL)
def reference_tables(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.MaterializeResult:
    """Code sets and CMS tables (NCCI PTP, MUE, fee schedule, POS, modifiers, CARC/RARC, ICD-10-CM)."""
    with warehouse.get_connection() as con:
        summary = load_reference_tables(con, paths.settings().payer_plan_types)
    for problem in summary.payer_plan_types_problems:
        context.log.warning("payer plan-type table: %s", problem)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": summary.total_rows,
            **{f"{table}_rows": rows for table, rows in summary.rows.items()},
            "sources": dg.MetadataValue.json(summary.sources),
            "payer_plan_types_skipped": summary.payer_plan_types_skipped,
        }
    )


@dg.asset(group_name="ingest", kinds={"duckdb"}, deps=[reference_tables], pool=WAREHOUSE_POOL)
def staged_claim_lines(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.MaterializeResult:
    """Claim lines from landing/claims (CSV, Parquet, X12 837P), checked against input contract v1."""
    with warehouse.get_connection() as con:
        summary = ingest_claims(con, paths.settings(), context.log)
    return dg.MaterializeResult(metadata=_staging_metadata(summary))


# No dependency on staged_claim_lines: remits load, and `remit_line_outcomes` is built, even
# when the claims contract stops the run (issue 21); matching to claim lines is `line_outcomes`.
@dg.asset(group_name="ingest", kinds={"duckdb"}, deps=[reference_tables], pool=WAREHOUSE_POOL)
def staged_remits(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.MaterializeResult:
    """Remit lines and adjustments from landing/remits and landing/remit_adjustments (CSV, Parquet, X12 835)."""
    with warehouse.get_connection() as con:
        summary = ingest_remit_files(con, paths.settings(), context.log)
    return dg.MaterializeResult(metadata=_staging_metadata(summary))


@dg.asset(group_name="ingest", kinds={"duckdb"}, deps=[staged_remits], pool=WAREHOUSE_POOL)
def remit_line_outcomes(warehouse: DuckDBResource) -> dg.MaterializeResult:
    """Every remit line with its CARCs, amounts and label, matched to a claim line or not."""
    with warehouse.get_connection() as con:
        summary = build_remit_line_outcomes(con)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": summary.lines,
            "rebuild": "every line" if summary.rebuilt else "skipped: inputs unchanged",
            **{f"remit_lines_{status}": n for status, n in sorted(summary.status_counts.items())},
            "remit_lines_without_claim_line": summary.without_claim_line,
            "top_denial_carcs": ", ".join(f"{c} {n}" for c, n in summary.top_denial_carcs),
        }
    )


@dg.asset(group_name="ingest", kinds={"duckdb"}, deps=[reference_tables], pool=WAREHOUSE_POOL)
def staged_notes(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.MaterializeResult:
    """Clinical notes from landing/notes (JSON Lines, CSV, Parquet), patient ids hashed."""
    with warehouse.get_connection() as con:
        summary = ingest_notes(con, paths.settings(), context.log)
    return dg.MaterializeResult(metadata=_staging_metadata(summary))


@dg.asset(
    group_name="ingest",
    kinds={"duckdb"},
    deps=[staged_claim_lines, staged_remits, "claim_acknowledgements"],
    pool=WAREHOUSE_POOL,
)
def line_outcomes(warehouse: DuckDBResource) -> dg.MaterializeResult:
    """Label per claim line: denied, paid, patient_liability, pending or rejected_front_end.

    First matches remits to this run's claim lines and sets aside those without one
    (data_contracts/label.py).
    """
    with warehouse.get_connection() as con:
        summary = build_line_outcomes(con)
    match = summary.match
    return dg.MaterializeResult(
        metadata={
            "remits_matched_by_procedure": match.remits_matched if match else 0,
            "rows_set_aside": match.rows_set_aside if match else 0,
            "set_aside": ", ".join(
                f"{k} {v}" for k, v in sorted((match.set_aside if match else {}).items())
            ),
            "dagster/row_count": summary.lines,
            **{f"lines_{status}": n for status, n in sorted(summary.status_counts.items())},
            "denial_rate": summary.denial_rate if summary.denial_rate is not None else float("nan"),
            "unmatched_remits": summary.unmatched_remits,
            "unmatched_adjustments": summary.unmatched_adjustments,
            "adjudicated_before_submission": summary.adjudicated_before_submission,
            "remits_cancelled_by_reversal": summary.remits_cancelled_by_reversal,
            "reversals_without_original": summary.reversals_without_original,
        }
    )
