"""Data contracts on the staged tables: great-expectations suites run as blocking asset checks."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.
import dagster as dg
from dagster_duckdb import DuckDBResource

from data_contracts.expectations import notes, remits, staged_claims
from data_contracts.validation import ContractOutcome, run_contract
from pipelines.defs.resources import ProductPaths


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


@dg.asset_check(asset="staged_claim_lines", blocking=True)
def staged_claim_lines_contract(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.AssetCheckResult:
    """Staged claim lines: keys unique, codes known, dates ordered, 64520 present, row count held."""
    with warehouse.get_connection() as con:
        outcome = run_contract(
            con, staged_claims.contract(), context.run.run_id, paths.settings().data_docs
        )
    return contract_check_result(outcome)


@dg.asset_check(asset="staged_claim_lines", blocking=False)
def staged_claim_lines_payer_volume(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.AssetCheckResult:
    """Warns when a payer's claim lines drop below half of the last passing run's count."""
    with warehouse.get_connection() as con:
        outcome = run_contract(
            con, staged_claims.volume_contract(), context.run.run_id, paths.settings().data_docs
        )
    return contract_check_result(outcome)


@dg.asset_check(asset="staged_remits", additional_deps=["staged_claim_lines"], blocking=True)
def staged_remits_contract(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.AssetCheckResult:
    """Remits and adjustments: group codes and CARCs known, dates ordered, lines matched."""
    with warehouse.get_connection() as con:
        outcome = run_contract(
            con, remits.contract(), context.run.run_id, paths.settings().data_docs
        )
    return contract_check_result(outcome)


@dg.asset_check(asset="staged_notes", additional_deps=["staged_claim_lines"], blocking=True)
def staged_notes_contract(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.AssetCheckResult:
    """Notes: ids unique, note types known, encounters matched to claim lines."""
    with warehouse.get_connection() as con:
        outcome = run_contract(
            con, notes.contract(), context.run.run_id, paths.settings().data_docs
        )
    return contract_check_result(outcome)
