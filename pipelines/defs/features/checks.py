"""Data contract on the modelling table: a blocking great-expectations suite before training."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.
import dagster as dg
from dagster_duckdb import DuckDBResource

from data_contracts.expectations import modelling_table
from data_contracts.validation import run_contract, table_columns
from pipelines.defs.ingest.checks import contract_check_result
from pipelines.defs.resources import ProductPaths


@dg.asset_check(asset="modelling_table", blocking=True)
def modelling_table_contract(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.AssetCheckResult:
    """Modelling table: keys unique, labels 0/1, denial rate in band, no feature gone null."""
    with warehouse.get_connection() as con:
        contract = modelling_table.contract(table_columns(con, modelling_table.TABLE))
        outcome = run_contract(con, contract, context.run.run_id, paths.settings().data_docs)
    return contract_check_result(outcome)
