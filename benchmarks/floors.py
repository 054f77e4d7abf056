"""The hardware floors: DuckDB's bare CSV read, LightGBM train/predict/pred_contrib on the feature matrix."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

LANDING_FOLDERS = ("claims", "remits", "remit_adjustments", "notes")
RATE_SAMPLE_ROWS = 200_000


def ingest_floor(landing: Path, db: Path) -> dict[str, Any]:
    """`CREATE TABLE AS SELECT * FROM read_csv(...)` of every landing folder into a fresh DuckDB file."""
    import duckdb

    db.unlink(missing_ok=True)
    rows: dict[str, int] = {}
    started = time.perf_counter()
    with duckdb.connect(str(db)) as con:
        for folder in LANDING_FOLDERS:
            files = sorted(str(p) for p in (landing / folder).glob("*.csv"))
            con.execute(f"CREATE TABLE {folder} AS SELECT * FROM read_csv(?)", [files])
            rows[folder] = con.execute(f"SELECT count(*) FROM {folder}").fetchone()[0]
        con.execute("CHECKPOINT")
    seconds = time.perf_counter() - started
    db.unlink(missing_ok=True)
    return {"seconds": seconds, "rows": rows}


def _timed(fn):
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def _timed_cpu(fn) -> tuple[float, float]:
    """Wall and process CPU seconds of `fn()`; CPU time is what a busy machine does not inflate."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def model_floors(work: Path) -> dict[str, Any]:
    """Bare LightGBM on the finished modelling table, and the production model's scoring rates.

    Floors use the production parameters (models.train.DEFAULT_PARAMS, same rounds and early
    stopping) on matrices built beforehand, so only LightGBM is timed. Rates use the champion
    the pipeline registered, through the product's own `score` and `contributions`.
    """
    import duckdb
    import lightgbm as lgb
    import numpy as np
    import polars as pl

    from models.dataset import (
        catalog_features,
        category_lists,
        feature_matrix,
        out_of_time_split,
        pending,
    )
    from models.explain import contributions
    from models.registry import load_champion
    from models.scoring import score
    from models.train import _DRIVER_KEYS, DEFAULT_PARAMS

    with duckdb.connect(str(work / "warehouse.duckdb"), read_only=True) as con:
        table = con.sql("SELECT * FROM modelling_table").pl()
    champion = load_champion(work / "models")
    features = champion.features if champion is not None else catalog_features()
    p = DEFAULT_PARAMS
    split = out_of_time_split(table, valid_months=int(p["valid_months"]), by=p["split_by"])
    cats = category_lists(split.train, features)
    x_train = feature_matrix(split.train, features, cats)
    x_valid = feature_matrix(split.valid, features, cats)
    y_train = split.train["denied"].cast(pl.Int64).to_numpy()
    y_valid = split.valid["denied"].cast(pl.Int64).to_numpy()
    cat_idx = [i for i, f in enumerate(features) if f.kind == "categorical"]
    params = {k: v for k, v in p.items() if k not in _DRIVER_KEYS}

    def fit():
        dtrain = lgb.Dataset(x_train, y_train, categorical_feature=cat_idx, free_raw_data=False)
        dvalid = lgb.Dataset(x_valid, y_valid, reference=dtrain, categorical_feature=cat_idx)
        return lgb.train(
            params,
            dtrain,
            num_boost_round=int(p["num_boost_round"]),
            valid_sets=[dvalid],
            callbacks=[lgb.early_stopping(int(p["early_stopping_rounds"]), verbose=False)],
        )

    booster, train_s = _timed(fit)
    pend = pending(table)
    x_pend = feature_matrix(pend, features, cats)
    best = booster.best_iteration or booster.current_iteration()
    _, predict_s = _timed(lambda: booster.predict(x_pend, num_iteration=best))
    _, contrib_s = _timed(lambda: booster.predict(x_pend, num_iteration=best, pred_contrib=True))
    out: dict[str, Any] = {
        "train_rows": int(len(y_train)),
        "valid_rows": int(len(y_valid)),
        "pending_rows": int(pend.height),
        "features": len(features),
        "floor_train_s": train_s,
        "floor_trees": int(best),
        "floor_predict_pending_s": predict_s,
        "floor_pred_contrib_pending_s": contrib_s,
        "floor_score_explain_pending_s": predict_s + contrib_s,
    }
    if champion is None:
        return out
    # Rates on the whole modelling table (more lines than the pending set: steadier numbers),
    # pred_contrib on at most RATE_SAMPLE_ROWS lines to bound the time at 10M.
    sample = table.head(RATE_SAMPLE_ROWS)
    score_s, score_cpu = _timed_cpu(lambda: score(champion, table))
    x_all = feature_matrix(table, champion.features, champion.categories)
    raw_s, raw_cpu = _timed_cpu(lambda: champion.raw_probability(x_all))
    x_sample = feature_matrix(sample, champion.features, champion.categories)
    contrib_s, contrib_cpu = _timed_cpu(lambda: contributions(champion, x_sample))
    out.update(
        {
            "champion_trees": int(champion.best_iteration),
            "champion_num_threads": champion.params.get("num_threads"),
            "rate_rows": table.height,
            "score_lines_per_s": table.height / score_s,
            "score_lines_per_cpu_s": table.height / score_cpu,
            "booster_predict_lines_per_s": table.height / raw_s,
            "booster_predict_lines_per_cpu_s": table.height / raw_cpu,
            "pred_contrib_rows": sample.height,
            "pred_contrib_lines_per_s": sample.height / contrib_s,
            "pred_contrib_lines_per_cpu_s": sample.height / contrib_cpu,
            "matrix_shape": list(np.shape(x_all)),
        }
    )
    return out
