"""277CA acknowledgements asset: landing/acknowledgements into claim_acknowledgements."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.resources import WAREHOUSE_POOL, ProductPaths
from pipelines.sources.landing.acknowledgements import ingest_acknowledgements


@dg.asset(
    group_name="ingest",
    kinds={"duckdb"},
    deps=["reference_tables", "staged_claim_lines"],
    pool=WAREHOUSE_POOL,
)
def claim_acknowledgements(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.MaterializeResult:
    """Claim acknowledgements (X12 277CA) from landing/acknowledgements, matched to loaded claims."""
    with warehouse.get_connection() as con:
        summary = ingest_acknowledgements(con, paths.settings(), context.log)
    metadata: dict[str, object] = dict(summary.metadata())
    metadata["dagster/row_count"] = summary.acknowledgements
    metadata["rejected_files"] = dg.MetadataValue.text(summary.ingest.rejected_files)
    return dg.MaterializeResult(metadata=metadata)
