"""Synthetic worlds only: the champion and the baselines on pending lines against the truth.

Materialized when a truth file is configured (`DENIAL_RISK_TRUTH`, or `denial-risk demo` /
`evaluate --truth`); its group is outside the scheduled jobs, and `denial-risk run` leaves it out
when no truth is set. The published snapshot and the report are built after it.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.resources import WAREHOUSE_POOL, ProductPaths
from pipelines.oracle import compare_with_truth, read_truth, store_oracle_rows


@dg.asset(
    group_name="evaluation",
    kinds={"duckdb"},
    deps=["risk_scores", "denial_model"],
    pool=WAREHOUSE_POOL,
)
def oracle_evaluation(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.MaterializeResult:
    """Pending 64520 lines scored by the champion, logistic regression and scrubber vs the truth."""
    settings = paths.settings()
    if settings.truth is None:
        raise dg.Failure("no truth file configured (DENIAL_RISK_TRUTH): synthetic worlds only")
    truth = read_truth(settings.truth)
    with warehouse.get_connection() as con:
        table = con.sql("SELECT * FROM modelling_table").pl()
    comparison, version = compare_with_truth(settings.models, table, truth)
    with warehouse.get_connection() as con:
        rows = store_oracle_rows(con, comparison, version)
    by_scorer = {r["scorer"]: r for r in comparison.to_dicts()}
    model, oracle = by_scorer["model"], by_scorer["oracle"]
    context.log.info("oracle evaluation of %s stored (%d rows)", version, rows)
    return dg.MaterializeResult(
        metadata={
            "model_version": version,
            "truth": dg.MetadataValue.path(str(settings.truth)),
            "pending_lines": int(model["lines"]),
            "roc_auc": model["roc_auc"],
            "oracle_roc_auc": oracle["roc_auc"],
            "oracle_gap": oracle["roc_auc"] - model["roc_auc"],
            "ece_equal_count": model["ece_equal_count"],
            "expected_ece": model["expected_ece"],
            "mean_probability": model["mean_probability"],
            "realized_rate": model["denial_rate"],
            "dagster/row_count": rows,
        }
    )
