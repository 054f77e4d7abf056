"""Monthly denial KPIs, partitioned by service month so one month can be backfilled alone."""

import time
from datetime import date

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.kpis.monthly import write_monthly_kpis
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
