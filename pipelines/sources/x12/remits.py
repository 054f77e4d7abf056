"""Read 005010X221A1 (835) remittance advice into the flat remit and adjustment shapes.

Choices (documented for users in docs/x12.md "## X12"):
- adjudication_date: the transaction's DTM*405 production date, else BPR16.
- allowed_amount: AMT*B6, else SVC03 paid + the line's PR adjustments.
- line_number: REF*6R as sent; match_cpt_code/modifiers/service_date are always filled (SVC06
  original procedure when present, else SVC01; DTM*472, else DTM*150, else claim DTM*232).
- claim-level CAS: attached to the line when the claim has one SVC, else split over the lines in
  proportion to their charge (cents remainder on the last line).
- rarc: the line's LQ*HE codes, `;`-joined, on the first adjustment row of the line only.
- source_row: the SVC position for remit rows; CAS position × 1000 + row index for adjustments.
- CLP02 = 22 cancels every earlier outcome of that claim in the file; a later CLP for the same
  (claim, line) replaces the earlier one, so only the final outcome is returned.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import polars as pl

from pipelines.sources.x12.segments import (
    REJECTED_COLUMNS,
    Rejection,
    Segment,
    SegmentStream,
    format_money,
    iso_date,
    money,
    parse_decimal,
    read_text,
    split_segments,
)

logger = logging.getLogger(__name__)

MATCH_COLUMNS = ("match_cpt_code", "match_modifiers", "match_service_date")
REMIT_COLUMNS = (
    "claim_id",
    "line_number",
    "adjudication_date",
    "allowed_amount",
    "paid_amount",
    "source_row",
    *MATCH_COLUMNS,
    # SVC02, the line's submitted charge: the last tie-breaker when ingestion matches a line
    # by procedure, modifiers and date (two identical blocks billed at different charges).
    "match_charge_amount",
)
ADJUSTMENT_COLUMNS = (
    "claim_id",
    "line_number",
    "group_code",
    "carc",
    "amount",
    "rarc",
    "source_row",
    *MATCH_COLUMNS,
)
REVERSAL_STATUS = "22"
REVERSAL_SCHEMA = {
    "claim_id": pl.String,
    "source_row": pl.Int64,
    "cancelled_in_file": pl.Boolean,
    # The reversal's adjudication date (DTM*405, else BPR16): ingestion cancels outcomes of the
    # claim adjudicated up to then in other files (docs/x12.md "Reversals").
    "adjudication_date": pl.String,
}
CAS_TRIPLETS = 6
# Adjustment rows need a unique source_row, but one CAS holds up to six triplets and a claim-level
# CAS is shared by every line: source_row = CAS position × 1000 + triplet + 10 × line share.
ADJUSTMENT_ROW_SCALE = 1000
SHARE_ROW_STEP = 10
BALANCE_TOLERANCE = Decimal("0.005")


@dataclass
class X12RemitBatch:
    """Remit lines, adjustments and rejected segments read from one 835 file."""

    remits: pl.DataFrame
    adjustments: pl.DataFrame
    rejected: pl.DataFrame
    segments_read: int
    claims: int
    lines: int
    # Every CLP02 = 22 (claim_id, source_row, cancelled_in_file, adjudication_date): a reversal
    # whose original came in an earlier file cannot be applied here, so ingestion gets the list
    # to apply it across files.
    reversals: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=REVERSAL_SCHEMA))


@dataclass
class _Adjustment:
    group_code: str | None
    carc: str | None
    amount: str | None
    row: int


@dataclass
class _Line:
    svc: Segment
    cpt_code: str | None
    modifiers: list[str]
    charge: str | None
    paid: str | None
    line_number: str | None = None
    service_date: str | None = None
    allowed: str | None = None
    adjustments: list[_Adjustment] = field(default_factory=list)
    rarcs: list[str] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)


@dataclass
class _Claim:
    clp: Segment
    claim_id: str | None
    status: str | None
    adjudication_date: str | None
    statement_date: str | None = None
    adjustments: list[_Adjustment] = field(default_factory=list)
    lines: list[_Line] = field(default_factory=list)


def _cas_adjustments(segment: Segment) -> list[_Adjustment]:
    """All (CARC, amount) triplets of one CAS segment (up to six)."""
    group = segment.get(1)
    found = []
    last = min(len(segment.elements), 2 + 3 * CAS_TRIPLETS)
    for index in range(2, last, 3):
        carc, amount = segment.get(index), segment.get(index + 1)
        if carc is None and amount is None:
            continue
        row = segment.position * ADJUSTMENT_ROW_SCALE + (index - 2) // 3
        found.append(_Adjustment(group, carc, money(amount), row))
    return found


def _start_line(segment: Segment) -> _Line:
    procedure = segment.components(1)
    original = segment.components(6)
    # SVC06 is the procedure as submitted when the payer adjudicated a different one: match on it.
    submitted = original if len(original) > 1 else procedure
    return _Line(
        svc=segment,
        cpt_code=submitted[1] if len(submitted) > 1 and submitted[1] else None,
        modifiers=[m for m in submitted[2:6] if m],
        charge=segment.get(2),
        paid=segment.get(3),
        segments=[segment],
    )


def _line_balance_error(line: _Line) -> str | None:
    """Why the line fails SVC02 − ΣCAS = SVC03, or None when it balances or cannot be checked."""
    charge, paid = parse_decimal(line.charge), parse_decimal(line.paid)
    amounts = [parse_decimal(a.amount) for a in line.adjustments]
    if charge is None or paid is None or any(a is None for a in amounts):
        return None
    total = sum((a for a in amounts if a is not None), Decimal(0))
    if abs(charge - total - paid) > BALANCE_TOLERANCE:
        return f"SVC02 {charge} - CAS {total} != SVC03 {paid}"
    return None


def _share_claim_adjustments(claim: _Claim) -> dict[int, list[_Adjustment]]:
    """Claim-level CAS per line index: whole on a single line, else pro rata to line charge."""
    if not claim.adjustments or not claim.lines:
        return {}
    if len(claim.lines) == 1:
        return {0: list(claim.adjustments)}
    charges = [parse_decimal(line.charge) or Decimal(0) for line in claim.lines]
    total_charge = sum(charges, Decimal(0))
    shares: dict[int, list[_Adjustment]] = {i: [] for i in range(len(claim.lines))}
    for adjustment in claim.adjustments:
        amount = parse_decimal(adjustment.amount)
        if amount is None or total_charge == 0:
            shares[0].append(adjustment)
            continue
        remaining = amount
        for i, charge in enumerate(charges):
            last = i == len(charges) - 1
            part = remaining if last else (amount * charge / total_charge).quantize(Decimal("0.01"))
            remaining -= 0 if last else part
            shares[i].append(
                _Adjustment(
                    adjustment.group_code,
                    adjustment.carc,
                    format_money(part),
                    adjustment.row + SHARE_ROW_STEP * i,
                )
            )
    return shares


def _claim_rows(claim: _Claim, rejected: list[Rejection]) -> list[tuple[tuple, dict, list[dict]]]:
    """(line key, remit row, adjustment rows) for every usable line of a finished claim."""
    shared = _share_claim_adjustments(claim)
    rows = []
    seen: dict[tuple, int] = {}
    for index, line in enumerate(claim.lines):
        missing = "charge_amount" if line.charge is None else None
        missing = "paid_amount" if line.paid is None else missing
        if missing is not None:
            rejected.append(Rejection(line.svc.position, "missing_required", missing, line.svc.raw))
            continue
        problem = _line_balance_error(line)
        if problem is not None:
            raw = "~".join(s.raw for s in line.segments)
            rejected.append(
                Rejection(
                    line.svc.position, "unbalanced_segment", "paid_amount", f"{raw} ({problem})"
                )
            )
            continue
        service_date = line.service_date or claim.statement_date
        match = {
            "match_cpt_code": line.cpt_code,
            "match_modifiers": ";".join(line.modifiers) or None,
            "match_service_date": service_date,
        }
        allowed = line.allowed
        if allowed is None:
            paid = parse_decimal(line.paid)
            patient_share = [
                parse_decimal(a.amount) for a in line.adjustments if a.group_code == "PR"
            ]
            if paid is not None and all(a is not None for a in patient_share):
                allowed = format_money(paid + sum((a for a in patient_share if a), Decimal(0)))
        remit = {
            "claim_id": claim.claim_id,
            "line_number": line.line_number,
            "adjudication_date": claim.adjudication_date,
            "allowed_amount": allowed,
            "paid_amount": money(line.paid),
            "source_row": line.svc.position,
            **match,
            "match_charge_amount": money(line.charge),
        }
        rarc = ";".join(dict.fromkeys(line.rarcs)) or None
        adjustments = []
        for position, adjustment in enumerate([*line.adjustments, *shared.get(index, [])]):
            adjustments.append(
                {
                    "claim_id": claim.claim_id,
                    "line_number": line.line_number,
                    "group_code": adjustment.group_code,
                    "carc": adjustment.carc,
                    "amount": adjustment.amount,
                    "rarc": rarc if position == 0 else None,
                    "source_row": adjustment.row,
                    **match,
                }
            )
        key: tuple = ("match", line.cpt_code, match["match_modifiers"], service_date)
        if line.line_number:
            key = ("line", line.line_number)
        # Identical lines of one claim stay apart; a later CLP replaces them occurrence by occurrence.
        seen[key] = seen.get(key, 0) + 1
        key = (*key, seen[key])
        rows.append((key, remit, adjustments))
    return rows


class _RemitCollector:
    """Keeps the final outcome per (claim, line) in file order, applying reversals."""

    def __init__(self) -> None:
        self.outcomes: dict[tuple, tuple[dict, list[dict]]] = {}
        self.keys_by_claim: dict[str | None, set[tuple]] = {}
        self.reversals: list[tuple[str | None, int, bool, str | None]] = []
        self.rejected: list[Rejection] = []
        self.claims = 0

    def finish(self, claim: _Claim | None, truncated: bool = False) -> None:
        """Turn a finished CLP loop into rows, or reject it."""
        if claim is None:
            return
        self.claims += 1
        if truncated:
            self.rejected.append(
                Rejection(claim.clp.position, "truncated_file", None, claim.clp.raw)
            )
            return
        if claim.status == REVERSAL_STATUS:
            earlier = self.keys_by_claim.pop(claim.claim_id, set())
            self.reversals.append(
                (claim.claim_id, claim.clp.position, bool(earlier), claim.adjudication_date)
            )
            if not earlier:
                self.rejected.append(
                    Rejection(claim.clp.position, "unmatched_reversal", "claim_id", claim.clp.raw)
                )
            for key in earlier:
                del self.outcomes[key]
            return
        if not claim.lines:
            self.rejected.append(
                Rejection(claim.clp.position, "no_service_line", "line_number", claim.clp.raw)
            )
            return
        for key, remit, adjustments in _claim_rows(claim, self.rejected):
            full_key = (claim.claim_id, *key)
            self.outcomes.pop(full_key, None)
            self.outcomes[full_key] = (remit, adjustments)
            self.keys_by_claim.setdefault(claim.claim_id, set()).add(full_key)


def _read_segments(stream: SegmentStream, collector: _RemitCollector) -> int:
    """Collect the claims of every 835 transaction in the stream; returns the SVC line count."""
    production_date = payment_date = None
    claim: _Claim | None = None
    line: _Line | None = None
    in_835 = False
    lines = 0
    for segment in stream:
        tag = segment.tag
        if tag == "ST":
            collector.finish(claim)
            claim, line = None, None
            production_date = payment_date = None
            in_835 = segment.get(1) == "835"
            if not in_835:
                collector.rejected.append(Rejection(segment.position, "not_835", None, segment.raw))
        elif not in_835:
            continue
        elif tag == "BPR":
            payment_date = iso_date(segment.get(16))
        elif tag == "DTM" and segment.get(1) == "405" and claim is None:
            production_date = iso_date(segment.get(2))
        elif tag == "CLP":
            collector.finish(claim)
            claim = _Claim(
                clp=segment,
                claim_id=segment.get(1),
                status=segment.get(2),
                adjudication_date=production_date or payment_date,
            )
            line = None
        elif tag in ("SE", "PLB", "LX"):
            collector.finish(claim)
            claim, line = None, None
            in_835 = tag != "SE"
        elif claim is None:
            continue
        elif tag == "SVC":
            line = _start_line(segment)
            claim.lines.append(line)
            lines += 1
        elif tag == "CAS":
            target = line.adjustments if line is not None else claim.adjustments
            target.extend(_cas_adjustments(segment))
            if line is not None:
                line.segments.append(segment)
        elif tag == "DTM":
            qualifier, value = segment.get(1), iso_date(segment.get(2))
            # DTM*472 is the service date; DTM*150 (period start) stands in when it is absent.
            if line is not None and (
                qualifier == "472" or (qualifier == "150" and line.service_date is None)
            ):
                line.service_date = value
            elif line is None and qualifier == "232":
                claim.statement_date = value
        elif tag == "REF" and line is not None and segment.get(1) == "6R":
            line.line_number = segment.get(2)
        elif tag == "AMT" and line is not None and segment.get(1) == "B6":
            line.allowed = money(segment.get(2))
        elif tag == "LQ" and line is not None and segment.get(1) == "HE" and segment.get(2):
            line.rarcs.append(segment.get(2) or "")
    # A claim still open when the file ended may have lost lines or adjustments: reject it whole.
    collector.finish(claim, truncated=stream.truncated_at is not None)
    return lines


def rejected_frame(rejected: list[Rejection]) -> pl.DataFrame:
    """Rejections as the `rejected` frame, by position, one row per (segment, reason, column)."""
    unique = {(r.source_row, r.reason, r.column_name): r for r in reversed(rejected)}
    rejected = sorted(unique.values(), key=lambda r: r.source_row)
    return pl.DataFrame(
        {
            "source_row": [r.source_row for r in rejected],
            "reason": [r.reason for r in rejected],
            "column_name": [r.column_name for r in rejected],
            "raw_record": [r.raw_record for r in rejected],
        },
        schema={
            "source_row": pl.Int64,
            "reason": pl.String,
            "column_name": pl.String,
            "raw_record": pl.String,
        },
    ).select(REJECTED_COLUMNS)


def string_frame(rows: list[dict], columns: tuple[str, ...]) -> pl.DataFrame:
    """Rows as a frame of string columns (source_row Int64), in the given column order."""
    schema = {c: (pl.Int64 if c == "source_row" else pl.String) for c in columns}
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def read_x12_remits(path: Path) -> X12RemitBatch:
    """Read one 835 file into remit and adjustment frames plus rejected segments."""
    stream = split_segments(read_text(path))
    collector = _RemitCollector()
    lines = _read_segments(stream, collector)
    collector.rejected.extend(stream.rejected)
    remit_rows = [remit for remit, _ in collector.outcomes.values()]
    adjustment_rows = [row for _, rows in collector.outcomes.values() for row in rows]
    rejected = sorted(collector.rejected, key=lambda r: r.source_row)
    logger.info(
        "%s: %d segments, %d claims, %d lines, %d rejected",
        path.name,
        stream.segments_read,
        collector.claims,
        lines,
        len(rejected),
    )
    return X12RemitBatch(
        remits=string_frame(remit_rows, REMIT_COLUMNS),
        adjustments=string_frame(adjustment_rows, ADJUSTMENT_COLUMNS),
        rejected=rejected_frame(rejected),
        segments_read=stream.segments_read,
        claims=collector.claims,
        lines=lines,
        reversals=pl.DataFrame(collector.reversals, schema=REVERSAL_SCHEMA, orient="row"),
    )
