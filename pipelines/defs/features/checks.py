"""Data contract on the modelling table: a blocking great-expectations suite before training."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.
import dagster as dg
from dagster_duckdb import DuckDBResource

from data_contracts.expectations import modelling_table
from data_contracts.validation import table_columns
from pipelines.defs.contract_checks import run_contract_check
from pipelines.defs.resources import WAREHOUSE_POOL, ProductPaths


@dg.asset_check(asset="modelling_table", blocking=True, pool=WAREHOUSE_POOL)
def modelling_table_contract(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.AssetCheckResult:
    """Modelling table: keys unique, labels 0/1, denial rate in band, no feature gone null."""
    return run_contract_check(
        context,
        warehouse,
        paths,
        lambda con: modelling_table.contract(table_columns(con, modelling_table.TABLE)),
    )
