"""Our pipeline's stages as asset selections of the real Dagster graph, run through `run_pipeline`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INGEST_ASSETS = (
    "reference_tables",
    "staged_claim_lines",
    "staged_remits",
    "staged_notes",
    "line_outcomes",
)


@dataclass(frozen=True)
class Stage:
    """One measured step: the assets it materializes, or (checks=True) only their asset checks."""

    name: str
    group: str
    assets: tuple[str, ...]
    checks: bool = False


# The checks are separable from their assets (Dagster runs a checks-only selection), so
# validation is measured on its own rather than by subtraction. `group` is the reported stage.
STAGES: tuple[Stage, ...] = (
    Stage("ingest", "ingest", INGEST_ASSETS),
    Stage("validate_ingest", "validate", INGEST_ASSETS, checks=True),
    Stage("features", "features", ("modelling_table",)),
    Stage("validate_features", "validate", ("modelling_table",), checks=True),
    Stage("train", "train", ("denial_model",)),
    Stage("score_explain", "score_explain", ("risk_scores",)),
    Stage("validate_scores", "validate", ("risk_scores",), checks=True),
    Stage("export", "export", ("risk_score_export",)),
    Stage("report", "report", ("published_snapshot", "static_report")),
)
REPORTED = ("ingest", "validate", "features", "train", "score_explain", "export", "report")


def stage_by_name(name: str) -> Stage:
    """The stage called `name`."""
    return next(s for s in STAGES if s.name == name)


def settings_for(landing: Path, work: Path) -> Any:
    """Product settings with the warehouse, models and exports under `work`."""
    from pipelines.settings import ProductSettings

    return ProductSettings(
        landing=landing, warehouse=work / "warehouse.duckdb", exports=work / "exports"
    )


def load_code_location() -> dict[str, Any]:
    """Import Dagster and load the definitions: the fixed cost every stage process pays."""
    started = time.perf_counter()
    from pipelines.runner import load_definitions

    load_definitions()
    return {"load_s": round(time.perf_counter() - started, 3)}


def run_stage(stage: Stage | None, landing: Path, work: Path) -> dict[str, Any]:
    """Materialize one stage's selection (or, with None, every unpartitioned asset and check)."""
    import dagster as dg

    from pipelines.runner import load_definitions, run_pipeline

    # Loaded once before the clock starts (imports are cached), so `pipeline_s` is the run itself;
    # the process wall time still includes it.
    loaded = time.perf_counter()
    load_definitions()
    definitions_s = time.perf_counter() - loaded
    selection = None
    if stage is not None:
        selection = (
            dg.AssetSelection.checks_for_assets(*stage.assets)
            if stage.checks
            else dg.AssetSelection.assets(*stage.assets).without_checks()
        )
    steps: dict[str, float] = {}
    begun: dict[str, float] = {}

    def on_step(event: str, key: str) -> None:
        now = time.perf_counter()
        if event == "step_start":
            begun[key] = now
        elif key in begun:
            steps[key] = round(now - begun.pop(key), 3)

    started = time.perf_counter()
    report = run_pipeline(settings_for(landing, work), selection=selection, on_step=on_step)
    pipeline_s = time.perf_counter() - started
    return {
        "pipeline_s": round(pipeline_s, 3),
        "definitions_s": round(definitions_s, 3),
        "step_s": steps,
        "success": report.success and not report.failed_steps,
        "failed_steps": [f"{k}: {m[:300]}" for k, m in report.failed_steps],
        "skipped_steps": report.skipped_steps,
        "checks": {f"{c.asset}.{c.name}": c.passed for c in report.checks},
        "row_counts": {
            k: v.get("dagster/row_count")
            for k, v in report.metadata.items()
            if "dagster/row_count" in v
        },
        "roc_auc": report.value("denial_model", "roc_auc"),
        "trees": report.value("denial_model", "trees"),
    }
