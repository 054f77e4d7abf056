"""The peer's stages (load, validate, features, train, score+explain, export) and its end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.peer import features as feats
from benchmarks.peer import load as loading
from benchmarks.peer import model as peer_model
from benchmarks.peer.guard import check_memory
from benchmarks.peer.spec import load_spec

FRAMES = ("claims", "remits", "remit_adjustments", "notes")


def _paths(work: Path) -> dict[str, Path]:
    return {
        **{
            name: work / f"{name}.parquet"
            for name in (*FRAMES, "outcomes", "modelling_table", "scored")
        },
        "model": work / "model.pkl",
        "exports": work / "exports",
    }


def run_stage(stage: str, landing: Path, work: Path, spec_path: Path) -> dict[str, Any]:
    """One stage, reading the previous stage's parquet hand-off from `work`."""
    check_memory(landing)
    spec = load_spec(spec_path)
    p = _paths(work)
    if stage == "ingest":
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        frames = loading.read_landing(landing)
        outcomes = loading.line_outcomes(
            frames["claims"], frames["remits"], frames["remit_adjustments"], spec
        )
        for name in FRAMES:
            frames[name].to_parquet(p[name])
        outcomes.to_parquet(p["outcomes"])
        return {
            "claim_lines": len(frames["claims"]),
            "denied": int((outcomes["status"] == "denied").sum()),
        }
    if stage == "validate":
        frames = {name: pd.read_parquet(p[name]) for name in FRAMES}
        failures = loading.validate(frames)
        return {"failures": failures}
    if stage == "features":
        claims, notes = pd.read_parquet(p["claims"]), pd.read_parquet(p["notes"])
        table = feats.modelling_table(claims, pd.read_parquet(p["outcomes"]), notes, spec)
        table.to_parquet(p["modelling_table"])
        return {"rows": len(table), "features_missing": feats.missing_features(table, spec)}
    if stage == "train":
        bundle = peer_model.train(pd.read_parquet(p["modelling_table"]), spec)
        peer_model.save(bundle, p["model"])
        return {"roc_auc_valid": bundle["roc_auc_valid"], "iterations": bundle["iterations"]}
    if stage == "score_explain":
        scored = peer_model.score_explain(
            peer_model.load(p["model"]), pd.read_parquet(p["modelling_table"]), spec
        )
        scored.to_parquet(p["scored"])
        return {"rows": len(scored)}
    if stage == "export":
        path = peer_model.export(pd.read_parquet(p["scored"]), p["exports"])
        return {"export_path": str(path)}
    raise ValueError(f"unknown peer stage {stage!r}")


def run_all(landing: Path, work: Path, spec_path: Path) -> dict[str, Any]:
    """Every stage in one process, frames kept in memory (the analyst's notebook, run top to bottom)."""
    check_memory(landing)
    spec = load_spec(spec_path)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    frames = loading.read_landing(landing)
    outcomes = loading.line_outcomes(
        frames["claims"], frames["remits"], frames["remit_adjustments"], spec
    )
    failures = loading.validate(frames)
    table = feats.modelling_table(frames["claims"], outcomes, frames["notes"], spec)
    del frames, outcomes
    bundle = peer_model.train(table, spec)
    scored = peer_model.score_explain(bundle, table, spec)
    path = peer_model.export(scored, work / "exports")
    return {
        "rows": len(table),
        "export_rows": len(scored),
        "export_path": str(path),
        "roc_auc_valid": bundle["roc_auc_valid"],
        "validation_failures": json.loads(json.dumps(failures)),
        "features_missing": feats.missing_features(table, spec),
    }
