"""Synthetic worlds only: measure the champion and the baselines against the generator's truth.

The scheduled pipeline never sees the truth file; `denial-risk demo` and `denial-risk evaluate
--truth` call this after a run, write `oracle_evaluation` and republish the dashboards' snapshot.
"""

import logging
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from dashboards.report import write_report
from dashboards.snapshot import publish_snapshot
from data_contracts.input_contract import TARGET_CPT
from models.baselines import fit_logistic_baseline, rules_scrubber_score
from models.dataset import out_of_time_split, pending
from models.evaluate import oracle_comparison
from models.registry import load_champion, record_oracle_evaluation
from models.scoring import score
from pipelines.settings import ProductSettings

log = logging.getLogger(__name__)

REPORTED_METRICS = ("roc_auc", "expected_roc_auc", "pr_auc", "brier", "ece", "log_loss")
ORACLE_DDL = """
CREATE TABLE IF NOT EXISTS oracle_evaluation (
    evaluated_at TIMESTAMPTZ,
    model_version VARCHAR,
    scorer VARCHAR,
    metric VARCHAR,
    value DOUBLE,
    lines BIGINT
)
"""


def read_truth(path: Path) -> pl.DataFrame:
    """The generator's truth file (CSV or Parquet) with the columns the comparison needs."""
    if not path.is_file():
        raise FileNotFoundError(
            f"truth file {path} does not exist (write it with generate --truth)"
        )
    frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
    missing = {"claim_id", "line_number", "true_probability", "denied"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: truth file lacks columns {sorted(missing)}")
    return frame


def pending_scores(settings: ProductSettings) -> tuple[pl.DataFrame, str]:
    """Champion, logistic-regression and scrubber probabilities of every pending 64520 line."""
    champion = load_champion(settings.models)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        table = con.sql("SELECT * FROM modelling_table").pl()
    table = table.filter(pl.col("cpt_code") == TARGET_CPT)
    pend = pending(table)
    if pend.height == 0:
        raise ValueError("the modelling table has no pending 64520 lines to compare with the truth")
    logistic = fit_logistic_baseline(out_of_time_split(table).train, champion.features)
    frame = pend.select(
        pl.col("claim_id").cast(pl.String),
        pl.col("line_number").cast(pl.Int64),
        pl.col("expected_payment_usd").cast(pl.Float64),
    ).with_columns(
        pl.Series("p_model", score(champion, pend)),
        pl.Series("p_logreg", logistic.predict(pend)),
        pl.Series("p_scrubber", rules_scrubber_score(pend)),
    )
    return frame, champion.version


def long_metrics(comparison: pl.DataFrame, model_version: str) -> pl.DataFrame:
    """One row per (scorer, metric), the shape `oracle_evaluation` keeps."""
    return (
        comparison.select("scorer", "lines", *REPORTED_METRICS)
        .unpivot(index=["scorer", "lines"], variable_name="metric", value_name="value")
        .select(
            pl.lit(datetime.now(UTC)).alias("evaluated_at"),
            pl.lit(model_version).alias("model_version"),
            "scorer",
            "metric",
            pl.col("value").cast(pl.Float64),
            pl.col("lines").cast(pl.Int64),
        )
    )


def evaluate_against_truth(settings: ProductSettings, truth_path: Path) -> pl.DataFrame:
    """Compare pending-line scores with the truth, store them (warehouse and the champion's model
    card), republish; return the wide table."""
    truth = read_truth(Path(truth_path))
    frame, version = pending_scores(settings)
    comparison = oracle_comparison(frame, truth)
    if comparison.get_column("lines").max() == 0:
        raise ValueError(f"no pending line of the warehouse appears in {truth_path}")
    rows = long_metrics(comparison, version)
    record_oracle_evaluation(
        settings.models, version, {r["scorer"]: r for r in comparison.to_dicts()}
    )
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(ORACLE_DDL)
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM oracle_evaluation WHERE model_version = ?", [version])
        con.register("oracle_rows", rows.to_arrow())
        con.execute("INSERT INTO oracle_evaluation SELECT * FROM oracle_rows")
        con.unregister("oracle_rows")
        con.execute("COMMIT")
    publish_snapshot(settings.warehouse, settings.published_snapshot)
    write_report(settings.published_snapshot, settings.reports)
    log.info("oracle evaluation of %s stored and the snapshot republished", version)
    return comparison.select("scorer", "lines", *REPORTED_METRICS)
