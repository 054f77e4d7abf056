"""Jobs the schedules, sensors and `denial-risk run --job` launch: daily, retrain and full."""

import dagster as dg

from pipelines.practices import PRACTICE_TAG

# Every run these jobs start carries this tag; `dagster.yaml` limits runs to one per value of
# it, so two writers never hold the same DuckDB file together (docs/operations.md). The embedded
# installation's runs carry "writer"; a practice's runs carry the practice's name, so practices
# run side by side while each keeps one writer.
WAREHOUSE_TAG = "denial_risk/warehouse"
WAREHOUSE_RUN_TAGS = {WAREHOUSE_TAG: "writer"}
# A run with this tag set to "true" rebuilds the whole modelling table and rescores every pending
# line instead of the incremental update (`denial-risk run --full`, docs/architecture.md).
FULL_REBUILD_TAG = "denial_risk/full_rebuild"
# `denial-risk run --job NAME` records NAME (daily, retrain, full) in this tag.
JOB_TAG = "denial_risk/job"
FULL_RUN_JOB_NAME = "full_run_job"
RETRAIN_JOB_NAME = "retrain_job"


def practice_run_tags(practice: str | None) -> dict[str, str]:
    """Tags of a run for `practice` (None: the embedded installation, the job's own tags)."""
    if practice is None:
        return {}
    return {PRACTICE_TAG: practice, WAREHOUSE_TAG: practice}


PIPELINE_GROUPS = ("ingest", "features", "model", "monitoring", "reporting")

# Partitioned assets are backfilled on their own (kpis job); an asset job cannot mix them with
# the unpartitioned daily graph without choosing a partition for every run.
# Selections by key string resolve leniently: the code location still loads while an asset
# module is being rewritten (tests/operations check the resolved jobs on the full graph).
_partitioned = dg.AssetSelection.from_string("key:monthly_denial_kpis")
_denial_model = dg.AssetSelection.from_string("key:denial_model")

ingest_and_score_selection = (
    dg.AssetSelection.groups(*PIPELINE_GROUPS) - _denial_model - _partitioned
)
# The synthetic-only oracle comparison (group "evaluation") runs only when a truth file is set.
_evaluation = dg.AssetSelection.groups("evaluation")
retrain_selection = _denial_model.downstream() - _partitioned - _evaluation
# Everything unpartitioned: ingest, features, training, scoring, export, report, publish and the
# pre-submission check of outgoing/; the oracle comparison is added by the runner with a truth.
full_run_selection = dg.AssetSelection.all() - _partitioned - _evaluation

# In-process: one step at a time inside a run (DuckDB takes one writer per file) and a
# ~4x shorter run than the multiprocess executor, which re-imports the code per step
# (STACK-NOTES: 17 s vs 4.8 s for five steps).
ingest_and_score_job = dg.define_asset_job(
    name="ingest_and_score_job",
    selection=ingest_and_score_selection,
    description="Daily: ingest landing files, rebuild features, score pending lines with the champion, export, report, publish.",
    tags=WAREHOUSE_RUN_TAGS,
    executor_def=dg.in_process_executor,
)

retrain_job = dg.define_asset_job(
    name=RETRAIN_JOB_NAME,
    selection=retrain_selection,
    description="Monthly: train a challenger, promote it if it beats the champion, then rescore, export, report, publish.",
    tags=WAREHOUSE_RUN_TAGS,
    executor_def=dg.in_process_executor,
)

full_run_job = dg.define_asset_job(
    name=FULL_RUN_JOB_NAME,
    selection=full_run_selection,
    description="On demand: ingest, features, train and promote, score, export, report, publish (`denial-risk run --job full`).",
    tags=WAREHOUSE_RUN_TAGS,
    executor_def=dg.in_process_executor,
)
