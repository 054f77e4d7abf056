"""How every data-contract asset check runs: a GX suite over the warehouse, one check result."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.
from collections.abc import Callable

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from data_contracts.expectations import ContractSuite
from data_contracts.validation import ContractOutcome, run_contract
from pipelines.defs.operations.jobs import FULL_REBUILD_TAG, FULL_RUN_JOB_NAME, JOB_TAG
from pipelines.defs.resources import ProductPaths

ContractFactory = Callable[[duckdb.DuckDBPyConnection], ContractSuite]
"""Builds a suite, possibly from the table's current columns."""


def contract_check_result(outcome: ContractOutcome) -> dg.AssetCheckResult:
    """A check result naming the suite, failed expectations, observed values and the Data Docs."""
    metadata = outcome.metadata()
    docs = metadata.pop("data_docs_index")
    return dg.AssetCheckResult(
        passed=outcome.success,
        severity=(
            dg.AssetCheckSeverity.WARN
            if outcome.severity == "warn"
            else dg.AssetCheckSeverity.ERROR
        ),
        description=outcome.description(),
        metadata={
            **metadata,
            "failed_expectations": dg.MetadataValue.json(metadata["failed_expectations"]),
            "data_docs": dg.MetadataValue.path(docs) if docs else dg.MetadataValue.text(""),
        },
    )


def validates_everything(run: dg.DagsterRun) -> bool:
    """A full run (`--job full`, `--full`) validates every row; other runs validate their batch."""
    return (
        run.job_name == FULL_RUN_JOB_NAME
        or run.tags.get(FULL_REBUILD_TAG) == "true"
        or run.tags.get(JOB_TAG) == "full"
    )


def run_contract_check(
    context: dg.AssetCheckExecutionContext,
    warehouse: DuckDBResource,
    paths: ProductPaths,
    make_contract: ContractFactory,
) -> dg.AssetCheckResult:
    """Validate the contract (on a daily run: the batch) against the warehouse, build Data Docs."""
    with warehouse.get_connection() as con:
        outcome = run_contract(
            con,
            make_contract(con),
            context.run.run_id,
            paths.settings().data_docs,
            only_new_rows=not validates_everything(context.run),
        )
    return contract_check_result(outcome)
