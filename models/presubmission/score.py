"""Score claims that have not been sent: row rules, point-in-time features, champion, reasons, edits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import polars as pl

from data_contracts.input_contract import TARGET_CPT
from models.edits import evaluate_edits
from models.explain import top_reason_groups
from models.export import EXPORT_COLUMNS
from models.policy_flags import flags_from_alerts, with_policy_change
from models.presubmission.context import ScoringContext
from models.presubmission.validate import (
    REJECTED_SCHEMA,
    as_text_rows,
    check_rows,
    default_submission_date,
)
from models.reasons import line_reasons
from models.scoring import score_lines, with_payer_names

LINE_KEY = ["claim_id", "line_number"]
EDIT_STRUCT = pl.Struct(
    {
        "code": pl.String,
        "description": pl.String,
        "followup_action": pl.String,
        "source": pl.String,
        "status": pl.String,
    }
)
EDITS_SCHEMA = {"claim_id": pl.String, "line_number": pl.Int64, "edits": pl.List(EDIT_STRUCT)}
REASON_LIST_COLUMNS = ("reason_codes", "reason_texts", "reason_actions")
LINE_COLUMNS = (
    *EXPORT_COLUMNS,
    *REASON_LIST_COLUMNS,
    "edits",
    "edit_codes",
    "edit_messages",
)


@dataclass(frozen=True)
class PresubmissionResult:
    """What a pre-submission check returns for one request."""

    model_version: str
    scored_at: datetime
    lines: pl.DataFrame
    context_lines: pl.DataFrame
    rejected: pl.DataFrame


def _empty_lines() -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {c: pl.String for c in EXPORT_COLUMNS}
    schema.update(
        line_number=pl.Int64,
        service_date=pl.Date,
        charge_amount=pl.Float64,
        denial_probability=pl.Float64,
        expected_loss_usd=pl.Float64,
        scored_at=pl.Datetime("us", "UTC"),
        low_data=pl.Boolean,
        days_to_filing_limit=pl.Int64,
        reason_codes=pl.List(pl.String),
        reason_texts=pl.List(pl.String),
        reason_actions=pl.List(pl.String),
        edits=pl.List(EDIT_STRUCT),
        edit_codes=pl.String,
        edit_messages=pl.String,
    )
    return pl.DataFrame(schema={c: schema[c] for c in LINE_COLUMNS})


def reason_lists(features: pl.DataFrame, groups: pl.DataFrame) -> pl.DataFrame:
    """claim_id, line_number and the reasons as lists (code, sentence, fix), strongest first."""
    rows = features.to_dicts()
    names = [f"reason_group_{i}" for i in (1, 2, 3)]
    codes, texts, actions = [], [], []
    for row, picked in zip(rows, groups.select(names).iter_rows(), strict=True):
        reasons = line_reasons(picked, row)
        codes.append([code for code, _, _ in reasons])
        texts.append([text for _, text, _ in reasons])
        actions.append([fix for _, _, fix in reasons])
    return features.select(
        pl.col("claim_id").cast(pl.String), pl.col("line_number").cast(pl.Int64)
    ).with_columns(
        pl.Series("reason_codes", codes, dtype=pl.List(pl.String)),
        pl.Series("reason_texts", texts, dtype=pl.List(pl.String)),
        pl.Series("reason_actions", actions, dtype=pl.List(pl.String)),
    )


def _edits_for(
    context: ScoringContext, staged: pl.DataFrame, features: pl.DataFrame, today: date
) -> pl.DataFrame:
    """Failed and not-checked edits per request line (every CPT of the request)."""
    keys = staged.select(pl.col("claim_id").cast(pl.String), pl.col("line_number").cast(pl.Int64))
    if not staged.height:
        return keys.with_columns(pl.lit([], dtype=pl.List(EDIT_STRUCT)).alias("edits"))
    edits = evaluate_edits(
        staged,
        same_day=context.history.same_day(staged),
        features=features,
        rules=context.payer_rules,
        today=today,
    )
    edits = edits.select(
        pl.col("claim_id").cast(pl.String),
        pl.col("line_number").cast(pl.Int64),
        pl.col("edits").cast(pl.List(EDIT_STRUCT)),
    )
    return keys.join(edits, on=LINE_KEY, how="left").with_columns(
        pl.col("edits").fill_null(pl.lit([], dtype=pl.List(EDIT_STRUCT)))
    )


def edit_summary() -> list[pl.Expr]:
    """`edit_codes` (';'-joined) and `edit_messages` ('; '-joined) of the failed edits."""
    failed = pl.col("edits").list.eval(
        pl.element().filter(pl.element().struct["status"] == "failed")
    )
    return [
        failed.list.eval(pl.element().struct["code"]).list.join(";").alias("edit_codes"),
        failed.list.eval(pl.element().struct["description"]).list.join("; ").alias("edit_messages"),
    ]


def score_unsent(
    context: ScoringContext,
    claim_lines: pl.DataFrame,
    notes: pl.DataFrame | None = None,
    *,
    today: date | None = None,
    scored_at: datetime | None = None,
) -> PresubmissionResult:
    """Check, feature, score, explain and edit the request's lines; nothing is written anywhere."""
    at = (scored_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    today = today or at.date()
    cursor = context.cursor()
    try:
        claims_text = default_submission_date(as_text_rows(claim_lines, "claims"), today)
        claims = check_rows(cursor, claims_text, "claims", context.history.claim_keys)
        rejected = [claims.rejected]
        staged_notes = context.history.notes.clear()
        if notes is not None and notes.height:
            checked_notes = check_rows(
                cursor, as_text_rows(notes, "notes"), "notes", context.history.note_ids
            )
            staged_notes, rejected = checked_notes.staged, [*rejected, checked_notes.rejected]
    finally:
        cursor.close()
    staged = claims.staged
    features = context.history.features(staged, staged_notes)
    edits = _edits_for(context, staged, features, today)

    lines = _empty_lines()
    if features.height:
        groups = top_reason_groups(context.champion, features)
        scored = score_lines(context.champion, features, scored_at=at, groups=groups)
        flags = flags_from_alerts(scored.get_column("payer_id").unique(), context.policy_alerts)
        lines = (
            with_payer_names(with_policy_change(scored, flags), staged)
            .select(EXPORT_COLUMNS)
            .join(reason_lists(features, groups), on=LINE_KEY, how="left")
            .join(edits, on=LINE_KEY, how="left")
            .with_columns(pl.col("edits").fill_null(pl.lit([], dtype=pl.List(EDIT_STRUCT))))
            .with_columns(*edit_summary())
            .select(LINE_COLUMNS)
            .sort(["expected_loss_usd", "claim_id", "line_number"], descending=[True, False, False])
        )
    context_lines = (
        staged.filter(pl.col("cpt_code") != TARGET_CPT)
        .select(
            pl.col("claim_id").cast(pl.String),
            pl.col("line_number").cast(pl.Int64),
            pl.col("cpt_code").cast(pl.String),
        )
        .join(edits, on=LINE_KEY, how="left")
        .sort(LINE_KEY)
    )
    return PresubmissionResult(
        model_version=context.model_version,
        scored_at=at,
        lines=lines,
        context_lines=context_lines,
        rejected=pl.concat(rejected).cast(REJECTED_SCHEMA),
    )
