"""Score pending lines with a stored model: calibrated probability, expected loss, band, reasons."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

from models.dataset import FIXED_COLUMNS, feature_matrix
from models.explain import top_reason_groups
from models.operating_point import expected_loss_expr, risk_band_expr
from models.reasons import NO_ACTION, reason_columns
from models.train import MIN_PAYER_LABELLED_LINES, ModelArtifact


class FeatureSchemaError(ValueError):
    """The frame's feature columns differ from the ones the model was trained on."""


def check_feature_schema(artifact: ModelArtifact, frame: pl.DataFrame) -> None:
    """Fail with the missing and extra feature names when the frame does not match the model."""
    expected = artifact.feature_names
    present = [c for c in frame.columns if c not in FIXED_COLUMNS]
    missing = [c for c in expected if c not in frame.columns]
    extra = [c for c in present if c not in expected]
    wrong_kind = [
        f.name
        for f in artifact.features
        if f.name in frame.columns
        and (f.kind == "categorical") != (frame.schema[f.name] in (pl.String, pl.Categorical))
        and frame.schema[f.name] != pl.Null
    ]
    if missing or extra or wrong_kind:
        raise FeatureSchemaError(
            f"feature schema differs from model {artifact.version or '(unsaved)'}: "
            f"missing features {missing}, extra features {extra}, wrong type {wrong_kind}"
        )


def score(artifact: ModelArtifact, frame: pl.DataFrame) -> np.ndarray:
    """Calibrated denial probabilities for every line of the frame."""
    check_feature_schema(artifact, frame)
    return artifact.probability(feature_matrix(frame, artifact.features, artifact.categories))


def low_data_expr(artifact: ModelArtifact) -> pl.Expr:
    """True when the line's payer had fewer than MIN_PAYER_LABELLED_LINES labelled lines in training."""
    counts = artifact.data_window.get("payer_labelled_lines") or {}
    known = [payer for payer, n in counts.items() if n >= MIN_PAYER_LABELLED_LINES]
    return (~pl.col("payer_id").cast(pl.String).is_in(known)).fill_null(True).alias("low_data")


def days_to_filing_limit_expr(scored_at: str = "scored_at") -> pl.Expr:
    """The payer's filing limit minus the days from service to scoring (null when unknown).

    Negative past the limit. The one definition: the export carries it and the work queue ranks
    by it (`dashboards.figures.work_queue.urgency`).
    """
    elapsed = (pl.col(scored_at).dt.date() - pl.col("service_date").cast(pl.Date)).dt.total_days()
    return (
        (pl.col("payer_filing_limit_days").cast(pl.Int64) - elapsed)
        .cast(pl.Int64)
        .alias("days_to_filing_limit")
    )


def with_payer_names(scored: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """Scored lines with `payer_name` from their claim lines (claim_id, line_number, payer_name).

    The modelling table holds no payer name (it is not a feature), so the caller brings it from
    the staged claim lines; a line without one gets null (an empty export cell).
    """
    names = (
        lines.select(
            pl.col("claim_id").cast(pl.String),
            pl.col("line_number").cast(pl.Int64),
            pl.col("payer_name").cast(pl.String),
        ).unique(["claim_id", "line_number"], keep="first")
        if "payer_name" in lines.columns
        else pl.DataFrame(
            schema={"claim_id": pl.String, "line_number": pl.Int64, "payer_name": pl.String}
        )
    )
    return scored.drop("payer_name", strict=False).join(
        names, on=["claim_id", "line_number"], how="left", maintain_order="left"
    )


def score_lines(
    artifact: ModelArtifact,
    frame: pl.DataFrame,
    scored_at: datetime | None = None,
    groups: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Export rows for the lines: probability, expected loss, band, top-3 reasons and the fix.

    `groups`: the lines' `top_reason_groups`, when the caller has them already.
    """
    at = (scored_at or datetime.now(UTC)).replace(microsecond=0)
    probability = score(artifact, frame)
    if groups is None:
        groups = top_reason_groups(artifact, frame)
    reasons = reason_columns(frame, groups)
    scored = pl.concat(
        [
            frame.select(
                pl.col("claim_id").cast(pl.String),
                pl.col("line_number").cast(pl.Int64),
                pl.col("cpt_code").cast(pl.String),
                pl.col("payer_id").cast(pl.String),
                pl.col("service_date").cast(pl.Date),
                pl.col("charge_amount").cast(pl.Float64),
                pl.col("expected_payment_usd").cast(pl.Float64),
                (
                    pl.col("payer_filing_limit_days")
                    if "payer_filing_limit_days" in frame.columns
                    else pl.lit(None)
                )
                .cast(pl.Int64)
                .alias("payer_filing_limit_days"),
            ).with_columns(pl.Series("denial_probability", probability, dtype=pl.Float64)),
            reasons,
        ],
        how="horizontal",
    )
    return (
        scored.with_columns(expected_loss_expr())
        .with_columns(
            risk_band_expr(artifact.operating_point),
            low_data_expr(artifact),
            pl.lit(artifact.version).alias("model_version"),
            pl.lit(at).cast(pl.Datetime("us", "UTC")).alias("scored_at"),
        )
        .with_columns(days_to_filing_limit_expr())
        .drop("payer_filing_limit_days")
        # Low-risk lines go out as they are; the fix is only a recommendation to hold or review.
        .with_columns(
            pl.when(pl.col("risk_band") == "low")
            .then(pl.lit(NO_ACTION))
            .otherwise(pl.col("recommended_action"))
            .alias("recommended_action")
        )
        .sort(["expected_loss_usd", "claim_id", "line_number"], descending=[True, False, False])
    )
