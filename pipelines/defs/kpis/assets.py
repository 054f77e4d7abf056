"""Monthly denial KPIs, partitioned by service month so one month can be backfilled alone."""

import time
from datetime import date

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.kpis.monthly import write_monthly_kpis, write_remit_denial_kpis
from pipelines.defs.resources import WAREHOUSE_POOL

# Service month, not run date: remits for a month keep arriving for months, so a month's KPIs
# are recomputed (and backfilled) by its own key. end_offset=1 exposes the month in progress.
service_month_partitions = dg.MonthlyPartitionsDefinition(start_date="2024-01-01", end_offset=1)


@dg.asset(
    group_name="reporting",
    kinds={"duckdb"},
    partitions_def=service_month_partitions,
    deps=["line_outcomes", "staged_claim_lines"],
    pool=WAREHOUSE_POOL,
)
def monthly_denial_kpis(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    """64520 lines, denials and line-level denial rate (count and dollars) by payer for one service month."""
    month = date.fromisoformat(context.partition_key)
    started = time.perf_counter()
    with warehouse.get_connection() as conn:
        totals = write_monthly_kpis(conn, month)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": totals["row_count"],
            "service_month": context.partition_key,
            "lines": totals["lines"],
            "adjudicated_lines": totals["adjudicated_lines"],
            "denied_lines": totals["denied_lines"],
            "denial_rate_count": dg.MetadataValue.float(totals["denial_rate_count"]),
            "denial_rate_dollars": dg.MetadataValue.float(totals["denial_rate_dollars"]),
            "front_end_rejection_rate": dg.MetadataValue.float(totals["front_end_rejection_rate"]),
            "payers": totals["payers"],
            "duration_s": round(time.perf_counter() - started, 3),
        }
    )


@dg.asset(
    group_name="reporting",
    kinds={"duckdb"},
    deps=["remit_line_outcomes"],
    pool=WAREHOUSE_POOL,
)
def remit_denial_kpis(warehouse: DuckDBResource) -> dg.MaterializeResult:
    """Denial rate and CARC Pareto from remittances alone, by adjudication month (claims or not)."""
    with warehouse.get_connection() as conn:
        totals = write_remit_denial_kpis(conn)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": totals["months"],
            "remit_lines": totals["remit_lines"],
            "denied_lines": totals["denied_lines"],
            "denial_rate": dg.MetadataValue.float(float(totals["denial_rate"])),
            "lines_64520": totals["lines_64520"],
            "denial_rate_64520": dg.MetadataValue.float(float(totals["denial_rate_64520"])),
            "lines_without_claim_line": totals["lines_without_claim_line"],
            "carc_pareto": ", ".join(f"{c} {n}" for c, n in totals["carc_pareto"]),
        }
    )
