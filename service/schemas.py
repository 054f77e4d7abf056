"""Request and response bodies of the HTTP API, derived from the one input contract.

Request rows carry the contract columns (`data_contracts.input_contract.CLAIMS` / `NOTES`); a
value may be a string or a number and is handed to the scoring path as the string a CSV cell
would hold, so the same row rules decide it. A required column left out or empty is a row-rule
failure (`missing_required` in `rejected`), not a request error; an unknown key, an object, a
list or a boolean where a value belongs is a request error (422 naming the field).
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema, create_model

from data_contracts.input_contract import CLAIMS, NOTES, ColumnSpec
from models.export import EXPORT_COLUMNS


def cell_text(value: str | int | float | None) -> str | None:
    """The text a CSV cell would hold for a JSON value; floats never in exponent notation."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return format(Decimal(repr(value)), "f")
    return str(value)


def _cell(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a string or a number")
    return cell_text(value)


# One validator (not a union) so an error names the field itself, not a union member.
CellValue = Annotated[
    str | None,
    PlainValidator(_cell),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]}),
]


def _column_description(spec: ColumnSpec) -> str:
    parts = [f"contract type {spec.type}", "required" if spec.required else "optional"]
    if spec.rule:
        parts.append(spec.rule)
    return "; ".join(parts)


def _row_model(name: str, specs: tuple[ColumnSpec, ...], doc: str) -> type[BaseModel]:
    fields: dict[str, Any] = {
        spec.name: (
            CellValue,
            Field(default=None, description=_column_description(spec)),
        )
        for spec in specs
    }
    return create_model(
        name,
        __config__=ConfigDict(extra="forbid"),
        __doc__=doc,
        **fields,
    )


ClaimLineIn = _row_model(
    "ClaimLineIn", CLAIMS, "One claim line in input contract v1 (the claims folder's columns)."
)
NoteIn = _row_model("NoteIn", NOTES, "One clinical note in input contract v1 (the notes folder).")


class ScoreRequest(BaseModel):
    """Unsent claim lines (all CPT codes of each claim) and, optionally, their notes."""

    model_config = ConfigDict(extra="forbid")

    claim_lines: Annotated[list[ClaimLineIn], Field(min_length=1)]  # type: ignore[valid-type]
    notes: list[NoteIn] | None = None  # type: ignore[valid-type]


def contract_frame(rows: list[BaseModel], specs: tuple[ColumnSpec, ...]) -> pl.DataFrame:
    """Rows as an all-string frame in contract column order plus `source_row` (1-based)."""
    columns = {spec.name: [getattr(row, spec.name) for row in rows] for spec in specs}
    frame = pl.DataFrame(columns, schema={spec.name: pl.String for spec in specs})
    return frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias("source_row"))


class ReasonOut(BaseModel):
    """One reason for the risk, strongest first: stable code, sentence, recommended action."""

    code: str
    text: str
    action: str


class EditOut(BaseModel):
    """One deterministic edit the line fails (`failed`) or that could not be checked."""

    code: str
    description: str
    followup_action: str
    source: str = Field(description="reference table and quarter, e.g. 'NCCI PTP 2024Q3'")
    status: str = Field(description="failed or not_checked")


class ScoredLine(BaseModel):
    """A 64520 line: the export contract's columns, reasons as objects, and its edits."""

    claim_id: str
    line_number: int
    cpt_code: str
    payer_id: str | None
    service_date: str | None = Field(description="YYYY-MM-DD")
    charge_amount: float | None
    denial_probability: float = Field(ge=0, le=1)
    risk_band: str
    expected_loss_usd: float
    recommended_action: str | None
    policy_change: str = Field(
        description="reason categories of the payer's active policy-drift alerts ('' when none)"
    )
    low_data: bool | None = Field(
        description="the payer has fewer labelled lines than the model card's minimum"
    )
    payer_name: str | None = Field(default=None, description="payer name as sent, if any")
    days_to_filing_limit: int | None = Field(
        default=None,
        description="the payer's filing limit minus the days from service to scoring; null when unknown",
    )
    reasons: list[ReasonOut]
    edit_errors: list[EditOut]


class ContextLine(BaseModel):
    """A line of another CPT code in the request: scored only through its edits."""

    claim_id: str
    line_number: int
    cpt_code: str | None
    edit_errors: list[EditOut]


class RejectedRow(BaseModel):
    """A request row that failed an input-contract row rule; it was not scored."""

    claim_id: str | None
    line_number: str | None = Field(description="as given in the request")
    source_row: int | None = Field(description="1-based position in claim_lines")
    field: str | None = Field(description="the contract column that failed")
    reason: str = Field(description="ingestion reason code, e.g. missing_required, bad_code")
    value: str | None


class ScoreResponse(BaseModel):
    """The answer to one scoring request."""

    model_version: str
    scored_at: datetime
    lines: list[ScoredLine]
    context_lines: list[ContextLine]
    rejected: list[RejectedRow]


class HealthResponse(BaseModel):
    """Liveness and whether a champion model is loaded."""

    status: str
    champion_loaded: bool
    model_version: str | None


class ErrorDetail(BaseModel):
    """One request problem, naming the field it is about."""

    field: str
    message: str


class ErrorResponse(BaseModel):
    """A request the service could not take."""

    detail: list[ErrorDetail] | str


# Export columns the response carries elsewhere: the reason codes (reason_1..3) and sentences are
# the `reasons` objects (action_1..3 their `action`); the model version and scoring time are
# answered once per response.
EXPORT_COLUMNS_NOT_PER_LINE = frozenset(
    {
        "reason_1",
        "reason_2",
        "reason_3",
        "action_1",
        "action_2",
        "action_3",
        "model_version",
        "scored_at",
    }
)
SCORED_LINE_EXPORT_COLUMNS = tuple(
    c for c in EXPORT_COLUMNS if c not in EXPORT_COLUMNS_NOT_PER_LINE
)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic error location as a field path: claim_lines[3].units."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("body",) and not path:
            continue
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def _edits(value: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [dict(edit) for edit in value or []]


def _iso_date(value: Any) -> str | None:
    return None if value is None else str(value)[:10]


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def scored_lines(lines: pl.DataFrame) -> list[dict[str, Any]]:
    """Result rows of 64520 lines as `ScoredLine` dictionaries, in the result's order."""
    answers = []
    for row in lines.iter_rows(named=True):
        reasons = [
            {"code": code, "text": text, "action": action}
            for code, text, action in zip(
                row["reason_codes"] or [],
                row["reason_texts"] or [],
                row["reason_actions"] or [],
                strict=True,
            )
        ]
        answers.append(
            {
                "claim_id": row["claim_id"],
                "line_number": int(row["line_number"]),
                "cpt_code": row["cpt_code"],
                "payer_id": row["payer_id"],
                "service_date": _iso_date(row["service_date"]),
                "charge_amount": _number(row["charge_amount"]),
                "denial_probability": float(row["denial_probability"]),
                "risk_band": row["risk_band"],
                "expected_loss_usd": float(row["expected_loss_usd"]),
                "recommended_action": row["recommended_action"],
                "policy_change": row["policy_change"] or "",
                "low_data": row["low_data"],
                "payer_name": row.get("payer_name"),
                "days_to_filing_limit": row.get("days_to_filing_limit"),
                "reasons": reasons,
                "edit_errors": _edits(row["edits"]),
            }
        )
    return answers


def score_response(result: Any) -> dict[str, Any]:
    """A `PresubmissionResult` as the `ScoreResponse` body (plain JSON-ready values)."""
    context = [
        {
            "claim_id": row["claim_id"],
            "line_number": int(row["line_number"]),
            "cpt_code": row["cpt_code"],
            "edit_errors": _edits(row["edits"]),
        }
        for row in result.context_lines.iter_rows(named=True)
    ]
    rejected = [
        {
            "claim_id": row["claim_id"],
            "line_number": None if row["line_number"] is None else str(row["line_number"]),
            "source_row": row.get("source_row"),
            "field": row["field"],
            "reason": row["reason"],
            "value": None if row["value"] is None else str(row["value"]),
        }
        for row in result.rejected.iter_rows(named=True)
    ]
    return {
        "model_version": result.model_version,
        "scored_at": result.scored_at.isoformat(),
        "lines": scored_lines(result.lines),
        "context_lines": context,
        "rejected": rejected,
    }
