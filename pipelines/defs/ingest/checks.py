"""Data contracts on the staged tables: great-expectations suites run as blocking asset checks."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.
import dagster as dg
from dagster_duckdb import DuckDBResource

from data_contracts.expectations import notes, remits, staged_claims
from pipelines.defs.contract_checks import run_contract_check
from pipelines.defs.resources import WAREHOUSE_POOL, ProductPaths


@dg.asset_check(asset="staged_claim_lines", blocking=True, pool=WAREHOUSE_POOL)
def staged_claim_lines_contract(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.AssetCheckResult:
    """Staged claim lines: keys unique, codes known, dates ordered, 64520 present, row count held."""
    return run_contract_check(context, warehouse, paths, lambda con: staged_claims.contract())


@dg.asset_check(asset="staged_claim_lines", blocking=False, pool=WAREHOUSE_POOL)
def staged_claim_lines_payer_volume(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.AssetCheckResult:
    """Warns when a payer's claim lines drop below half of the last passing run's count."""
    return run_contract_check(
        context, warehouse, paths, lambda con: staged_claims.volume_contract()
    )


# On line_outcomes, not staged_remits: the contract's shares (unmatched remits, remits dated
# before their line) need this run's claims matched first, and a failure must stop the model
# without stopping `remit_line_outcomes`, which serves KPIs from remits alone (issue 21).
@dg.asset_check(asset="line_outcomes", blocking=True, pool=WAREHOUSE_POOL)
def staged_remits_contract(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.AssetCheckResult:
    """Remits and adjustments: group codes and CARCs known, dates ordered, lines matched."""
    return run_contract_check(context, warehouse, paths, lambda con: remits.contract())


@dg.asset_check(
    asset="staged_notes", additional_deps=["staged_claim_lines"], blocking=True, pool=WAREHOUSE_POOL
)
def staged_notes_contract(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.AssetCheckResult:
    """Notes: ids unique, note types known, encounters matched to claim lines."""
    return run_contract_check(context, warehouse, paths, lambda con: notes.contract())
