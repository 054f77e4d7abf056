"""Model assets: train and register the challenger, score pending lines, export to billing."""

import json
import time
from datetime import UTC, datetime

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from data_contracts.input_contract import TARGET_CPT
from data_contracts.warehouse_schema import FEATURES_CHANGED_SINCE_SCORING as CHANGED_SINCE_SCORING
from data_contracts.warehouse_schema import FEATURES_CHANGED_SINCE_SCORING_DDL as CHANGED_DDL
from models.dataset import catalog_features
from models.export import EXPORT_COLUMNS, write_export
from models.operating_point import HoldEconomics
from models.policy_flags import active_alerts, flags_for, with_policy_change
from models.registry import champion_version, json_safe, load_champion, load_model
from models.scoring import score_lines, with_payer_names
from monitoring.weights import WEIGHT_COLUMN, policy_change_weights
from pipelines.defs.operations.freshness import SCORES_FRESHNESS
from pipelines.defs.operations.jobs import FULL_REBUILD_TAG
from pipelines.defs.resources import WAREHOUSE_POOL, ProductPaths
from pipelines.memory import peak_rss_mb, reset_peak_rss

MODEL_REGISTRY_DDL = """
CREATE TABLE IF NOT EXISTS model_registry (
    model_version VARCHAR PRIMARY KEY,
    trained_at TIMESTAMPTZ,
    is_champion BOOLEAN,
    data_hash VARCHAR,
    metrics JSON,
    card_path VARCHAR
)
"""
VALIDATION_DDL = """
CREATE TABLE IF NOT EXISTS model_validation_predictions (
    model_version VARCHAR,
    claim_id VARCHAR,
    line_number INTEGER,
    service_month DATE,
    denied TINYINT,
    p_model DOUBLE,
    p_scrubber DOUBLE,
    p_logreg DOUBLE,
    expected_payment_usd DOUBLE
)
"""
HISTORY_DDL = """
CREATE TABLE IF NOT EXISTS risk_scores_history (
    scored_at TIMESTAMPTZ,
    model_version VARCHAR,
    claim_id VARCHAR,
    line_number INTEGER,
    denial_probability DOUBLE,
    risk_band VARCHAR,
    expected_loss_usd DOUBLE
);
CREATE TABLE IF NOT EXISTS scoring_runs (
    scored_at TIMESTAMPTZ PRIMARY KEY,
    model_version VARCHAR,
    exported BOOLEAN NOT NULL
)
"""
# History keeps the scores that were issued: a scoring whose run died before its export was
# written (killed, crashed) is taken out of the history by the next scoring.
DROP_UNEXPORTED_SCORES = (
    "DELETE FROM risk_scores_history WHERE scored_at IN "
    "(SELECT scored_at FROM scoring_runs WHERE NOT exported)",
    "DELETE FROM scoring_runs WHERE NOT exported",
)


def _export_rows(scored: pl.DataFrame) -> pl.DataFrame:
    return scored.select(*[c for c in EXPORT_COLUMNS if c in scored.columns]).with_columns(
        pl.col("line_number").cast(pl.Int32)
    )


def _scores_to_keep(con, pending: pl.DataFrame, champion_version: str) -> pl.DataFrame | None:
    """Stored scores still valid: same champion, issued (exported), features unchanged since.

    None when there is nothing to keep from (no scores yet).
    """
    known = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "risk_scores" not in known:
        return None
    con.register("pending_keys", pending.select("claim_id", "line_number"))
    kept = con.sql(
        "SELECT r.* FROM risk_scores r "
        "JOIN pending_keys p ON p.claim_id = r.claim_id AND p.line_number = r.line_number "
        "WHERE r.model_version = ? "
        "AND r.scored_at NOT IN (SELECT scored_at FROM scoring_runs WHERE NOT exported) "
        f"AND NOT EXISTS (SELECT 1 FROM {CHANGED_SINCE_SCORING} c "
        "WHERE c.claim_id = r.claim_id AND c.line_number = r.line_number)",
        params=[champion_version],
    ).pl()
    con.unregister("pending_keys")
    return kept.with_columns(
        pl.col("line_number").cast(pl.Int32),
        pl.col("scored_at").dt.convert_time_zone("UTC"),
    )


def _read_modelling_table(warehouse: DuckDBResource) -> pl.DataFrame:
    with warehouse.get_connection() as con:
        return con.sql("SELECT * FROM modelling_table").pl()


@dg.asset(
    group_name="model",
    kinds={"duckdb", "lightgbm"},
    deps=[dg.AssetKey("modelling_table")],
    pool=WAREHOUSE_POOL,
)
def denial_model(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.MaterializeResult:
    """LightGBM challenger trained out of time, measured against baselines, registered; champion decided."""
    # Training's stack (scikit-learn baselines) is imported by training runs only.
    from models.challenger import register_challenger, train_and_evaluate

    settings = paths.settings()
    table = _read_modelling_table(warehouse)
    # Payers with an active policy-drift alert: their post-change lines weigh more (docs/monitoring.md).
    with warehouse.get_connection() as con:
        alerts = active_alerts(con)
    weighted = alerts.height > 0
    if weighted:
        table = policy_change_weights(table, alerts)
    run = train_and_evaluate(
        table,
        catalog_features(),
        economics=HoldEconomics.from_env(),
        sample_weight=WEIGHT_COLUMN if weighted else None,
    )
    run = register_challenger(run, table, settings.models)
    art = run.artifact
    context.log.info("champion decision: %s", run.decision["reason"] if run.decision else "")
    card = settings.models / art.version / "model_card.md"
    metrics_json = json.dumps(json_safe(art.metrics), default=str)
    preds = run.validation_predictions.with_columns(pl.lit(art.version).alias("model_version"))
    with warehouse.get_connection() as con:
        con.execute(MODEL_REGISTRY_DDL)
        con.execute(VALIDATION_DDL)
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM model_registry WHERE model_version = ?", [art.version])
        con.execute(
            "INSERT INTO model_registry VALUES (?, ?, FALSE, ?, ?, ?)",
            [art.version, art.trained_at, art.data_hash, metrics_json, str(card)],
        )
        # registry.json is the one champion record (scoring reads it, it travels with the model
        # folders); this column is a copy derived from it here and at every scoring run.
        con.execute(
            "UPDATE model_registry SET is_champion = (model_version = ?)",
            [champion_version(settings.models)],
        )
        con.execute(
            "DELETE FROM model_validation_predictions WHERE model_version = ?", [art.version]
        )
        con.register("validation_frame", preds.to_arrow())
        con.execute(
            "INSERT INTO model_validation_predictions SELECT model_version, claim_id, line_number, "
            "service_month, denied, p_model, p_scrubber, p_logreg, expected_payment_usd "
            "FROM validation_frame"
        )
        con.unregister("validation_frame")
        con.execute("COMMIT")
    v = art.metrics["validation"]
    return dg.MaterializeResult(
        metadata={
            "model_version": art.version,
            "champion_version": run.champion_version or "",
            "promoted": run.promoted,
            "roc_auc": v["model"]["roc_auc"],
            "pr_auc": v["model"]["pr_auc"],
            "ece": v["model"]["ece"],
            "brier": v["model"]["brier"],
            "roc_auc_logistic_regression": v["logistic_regression"]["roc_auc"],
            "roc_auc_rules_scrubber": v["rules_scrubber"]["roc_auc"],
            "calibration": art.calibration["method"],
            "model_kind": art.model_kind,
            "policy_change_weighted_payers": ", ".join(sorted(set(alerts["payer_id"]))),
            "hold_threshold_usd": art.operating_point["hold_threshold_usd"],
            "trees": art.best_iteration,
            "training_seconds": art.training_seconds,
            "train_lines": art.counts["train_lines"],
            "valid_lines": art.counts["valid_lines"],
            "data_hash": art.data_hash,
            "model_card": dg.MetadataValue.path(str(card)),
            "dagster/row_count": preds.height,
        }
    )


def _payer_names(con) -> pl.DataFrame:
    """claim_id, line_number, payer_name of the staged claim lines (empty before any ingest)."""
    tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "staged_claim_lines" not in tables:
        return pl.DataFrame()
    return con.sql(
        "SELECT claim_id, line_number, payer_name FROM staged_claim_lines WHERE cpt_code = ?",
        params=[TARGET_CPT],
    ).pl()


@dg.asset(
    group_name="model",
    kinds={"duckdb", "lightgbm"},
    # modelling_table too: the daily job leaves denial_model out, and without this edge it ran
    # risk_scores before the day's ingest and features (scoring yesterday's table).
    deps=[denial_model, dg.AssetKey("modelling_table"), dg.AssetKey("policy_drift_alerts")],
    pool=WAREHOUSE_POOL,
    freshness_policy=SCORES_FRESHNESS,
)
def risk_scores(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.MaterializeResult:
    """Every pending 64520 line scored by the registry's champion, with reasons; history appended.

    Only lines whose feature row changed since the last scoring, new pending lines and lines
    scored by another model are rescored; the others keep their scores (a run tagged
    full_rebuild rescores every line). The table always holds every pending line.
    """
    started = time.perf_counter()
    reset_peak_rss()
    champion = load_champion(paths.settings().models)
    full = context.run.tags.get(FULL_REBUILD_TAG) == "true"
    with warehouse.get_connection() as con:
        con.execute(HISTORY_DDL)
        con.execute(CHANGED_DDL)
        pending = con.sql(
            "SELECT * FROM modelling_table WHERE denied IS NULL AND cpt_code = ?",
            params=[TARGET_CPT],
        ).pl()
        kept = _scores_to_keep(con, pending, champion.version) if not full else None
        names = _payer_names(con)
    now = datetime.now(UTC)
    if kept is not None:
        # A kept score keeps its probability and scored_at; its days to the filing limit count
        # down to this run, as a rescored line's do.
        kept = kept.with_columns(
            (
                pl.col("days_to_filing_limit")
                - (pl.lit(now.date()) - pl.col("scored_at").dt.date()).dt.total_days()
            ).cast(pl.Int64)
        )
    to_score = (
        pending.join(
            kept.select("claim_id", "line_number"), on=["claim_id", "line_number"], how="anti"
        )
        if kept is not None
        else pending
    )
    rescored = to_score.height
    if rescored == 0 and kept is not None:
        new_rows = kept.head(0)
    else:
        new_rows = _export_rows(
            with_payer_names(score_lines(champion, to_score, scored_at=now), names)
        )
    out = pl.concat([kept, new_rows], how="diagonal_relaxed") if kept is not None else new_rows
    with warehouse.get_connection() as con:
        flags = flags_for(out.get_column("payer_id").unique().to_list(), con)
    # Flags follow today's alerts on every line, rescored or kept.
    out = _export_rows(with_policy_change(out, flags)).sort(
        ["expected_loss_usd", "claim_id", "line_number"], descending=[True, False, False]
    )
    new_rows = out.join(new_rows.select("claim_id", "line_number"), on=["claim_id", "line_number"])
    with warehouse.get_connection() as con:
        con.execute("BEGIN TRANSACTION")
        for statement in DROP_UNEXPORTED_SCORES:
            con.execute(statement)
        con.register("scored_frame", out.to_arrow())
        con.execute("CREATE OR REPLACE TABLE risk_scores AS SELECT * FROM scored_frame")
        con.unregister("scored_frame")
        con.execute(MODEL_REGISTRY_DDL)
        con.execute(
            "UPDATE model_registry SET is_champion = (model_version = ?)", [champion.version]
        )
        con.register("rescored_frame", new_rows.to_arrow())
        con.execute(
            "INSERT INTO risk_scores_history SELECT scored_at, model_version, claim_id, "
            "line_number, denial_probability, risk_band, expected_loss_usd FROM rescored_frame"
        )
        con.execute(
            "INSERT INTO scoring_runs SELECT DISTINCT scored_at, model_version, false "
            "FROM rescored_frame"
        )
        con.unregister("rescored_frame")
        con.execute(f"DELETE FROM {CHANGED_SINCE_SCORING}")
        con.execute("COMMIT")
    bands = out.get_column("risk_band").value_counts()
    counts = {r["risk_band"]: r["count"] for r in bands.to_dicts()}
    context.log.info(
        "%d pending lines, %d rescored with champion %s", out.height, rescored, champion.version
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": out.height,
            "lines_rescored": rescored,
            "lines_kept": out.height - rescored,
            "full_rescore": kept is None,
            "seconds": round(time.perf_counter() - started, 2),
            "peak_rss_mb": peak_rss_mb(),
            "model_version": champion.version,
            "high_risk_lines": counts.get("high", 0),
            "medium_risk_lines": counts.get("medium", 0),
            "expected_loss_usd": float(out.get_column("expected_loss_usd").sum() or 0.0),
            "mean_denial_probability": float(out.get_column("denial_probability").mean() or 0.0),
        }
    )


@dg.asset(
    group_name="model",
    kinds={"csv"},
    deps=[risk_scores],
    pool=WAREHOUSE_POOL,
    freshness_policy=SCORES_FRESHNESS,
)
def risk_score_export(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.MaterializeResult:
    """The billing export: risk_scores_<UTC>.csv written atomically, then its manifest."""
    with warehouse.get_connection() as con:
        scored = con.sql("SELECT * FROM risk_scores").pl()
    version = scored.get_column("model_version").first() if scored.height else None
    # No pending line: the manifest still names the champion, its bands and its kind.
    version = version or champion_version(paths.settings().models) or ""
    model = load_model(paths.settings().models, version) if version else None
    result = write_export(
        scored,
        paths.settings().exports,
        version or "",
        model_kind=model.model_kind if model else None,
        operating_point=model.operating_point if model else None,
    )
    with warehouse.get_connection() as con:
        # The scores are issued: the history keeps them from now on.
        con.execute(HISTORY_DDL)
        con.execute(
            "UPDATE scoring_runs SET exported = true "
            "WHERE scored_at IN (SELECT DISTINCT scored_at FROM risk_scores)"
        )
    context.log.info("export %s (%d rows)", result.path, result.rows)
    return dg.MaterializeResult(
        metadata={
            "export_path": dg.MetadataValue.path(str(result.path)),
            "manifest_path": dg.MetadataValue.path(str(result.manifest_path)),
            "dagster/row_count": result.rows,
            "sha256": result.sha256,
            "model_version": version or "",
        }
    )
