"""Data contracts on the scores: probabilities valid before export; calibration drift warns."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.
import dagster as dg
from dagster_duckdb import DuckDBResource

from data_contracts.expectations import scores
from data_contracts.validation import table_columns
from pipelines.defs.contract_checks import run_contract_check
from pipelines.defs.resources import WAREHOUSE_POOL, ProductPaths


@dg.asset_check(asset="risk_scores", blocking=True, pool=WAREHOUSE_POOL)
def risk_scores_contract(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.AssetCheckResult:
    """Scores: probabilities in 0-1, one score per line, every pending line scored."""
    return run_contract_check(
        context, warehouse, paths, lambda con: scores.contract(table_columns(con, scores.TABLE))
    )


@dg.asset_check(
    asset="risk_scores", additional_deps=["modelling_table"], blocking=False, pool=WAREHOUSE_POOL
)
def risk_scores_calibration(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.AssetCheckResult:
    """Warns when the batch's mean score strays from the recent denial rate."""
    return run_contract_check(context, warehouse, paths, lambda con: scores.drift_contract())
