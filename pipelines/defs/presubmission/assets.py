"""Pre-submission check of the `outgoing/` folder: unsent claims scored beside the exports."""

from pathlib import Path

import dagster as dg

from models.presubmission import ScoringContext
from pipelines.defs.resources import WAREHOUSE_POOL, ProductPaths
from pipelines.presubmission import score_folder
from pipelines.sources.landing.files import discover


class OutgoingConfig(dg.Config):
    """Which claims file of `outgoing/claims/` to score; empty scores each file there."""

    claims_file: str = ""


@dg.asset(
    group_name="presubmission",
    kinds={"polars", "lightgbm"},
    deps=[dg.AssetKey("modelling_table")],
    # Reads the warehouse (read-only) while loading: never beside a writer of the same file.
    pool=WAREHOUSE_POOL,
)
def presubmission_scores(
    context: dg.AssetExecutionContext, config: OutgoingConfig, paths: ProductPaths
) -> dg.MaterializeResult:
    """Unsent claims of `outgoing/` scored by the champion with reasons and edits, one file each."""
    settings = paths.settings()
    if config.claims_file:
        files = [Path(config.claims_file)]
        outgoing = files[0].parent.parent
    else:
        outgoing = settings.outgoing
        files = [f.path for f in discover(outgoing, "claims")]
    if not files:
        return dg.MaterializeResult(metadata={"scored_files": 0, "outgoing": str(outgoing)})
    scoring = ScoringContext.load(settings.warehouse, settings.models)
    written = [score_folder(scoring, outgoing, settings.exports, only=file) for file in files]
    for result in written:
        context.log.info(
            "scored %s: %d lines, %d rejected rows → %s",
            result.files[0],
            result.result.lines.height,
            result.rejected_rows,
            result.path.name,
        )
    return dg.MaterializeResult(
        metadata={
            "scored_files": len(written),
            "model_version": scoring.model_version,
            "lines_scored": sum(w.result.lines.height for w in written),
            "rows_rejected": sum(w.rejected_rows for w in written),
            "high_band": sum(w.high_band for w in written),
            "output_paths": "\n".join(str(w.path) for w in written),
        }
    )


presubmission_job = dg.define_asset_job(
    name="presubmission_job",
    selection=dg.AssetSelection.assets(presubmission_scores),
    description="Score one file of unsent claims from outgoing/ (started by the outgoing sensor).",
    executor_def=dg.in_process_executor,
)
