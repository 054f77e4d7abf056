"""Data contracts on the scores: probabilities valid before export; calibration drift warns."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.
import dagster as dg
from dagster_duckdb import DuckDBResource

from data_contracts.expectations import scores
from data_contracts.validation import run_contract, table_columns
from pipelines.defs.ingest.checks import contract_check_result
from pipelines.defs.resources import ProductPaths


@dg.asset_check(asset="risk_scores", blocking=True)
def risk_scores_contract(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.AssetCheckResult:
    """Scores: probabilities in 0-1, one score per line, every pending line scored."""
    with warehouse.get_connection() as con:
        contract = scores.contract(table_columns(con, scores.TABLE))
        outcome = run_contract(con, contract, context.run.run_id, paths.settings().data_docs)
    return contract_check_result(outcome)


@dg.asset_check(asset="risk_scores", additional_deps=["modelling_table"], blocking=False)
def risk_scores_calibration(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.AssetCheckResult:
    """Warns when the batch's mean score strays from the recent denial rate."""
    with warehouse.get_connection() as con:
        outcome = run_contract(
            con, scores.drift_contract(), context.run.run_id, paths.settings().data_docs
        )
    return contract_check_result(outcome)
