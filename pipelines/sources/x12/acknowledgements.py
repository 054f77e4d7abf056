"""Read 005010X214 (277CA) claim acknowledgements: one row per claim- or line-level STC.

Choices (documented for users in docs/x12.md "### 277CA"):
- Hierarchy: HL03 = 20 information source, 21 receiver, 19 billing provider, PT patient. Only
  the patient level (2000D) carries claims: each TRN*2 there opens a claim (loop 2200D, TRN02 =
  the patient control number sent in CLM01, i.e. our claim_id); each SVC opens a service line
  (loop 2220D) of that claim. TRN, STC, REF and DTP of the source, receiver and provider levels
  are batch totals, not claims, and are skipped.
- Per STC: STC01-1 status category, STC01-2 status code, STC01-3 entity code, STC02 effective
  date, STC03 action code (WQ accepted, U rejected), STC04 the claim's (or line's) charge.
  STC10 and STC11 (further status composites) are kept `;`-joined in `additional_statuses`.
- Claim references: REF*1K payer claim control number, REF*D9 clearinghouse trace number.
  Service line: REF*FJ line item control number, which echoes the 837's REF*6R (our writer sends
  the line number there) → line_number when it is a whole number, else null; DTP*472 service date.
- `outcome` is accepted, rejected or other (data_contracts/acknowledgements.py).
- source_row is the STC segment's position in the file (ISA = 1), unique per row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from data_contracts.acknowledgements import acknowledgement_outcome
from pipelines.sources.x12.remits import rejected_frame, string_frame
from pipelines.sources.x12.segments import (
    Rejection,
    Segment,
    SegmentStream,
    iso_date,
    money,
    read_text,
    split_segments,
)

logger = logging.getLogger(__name__)

ACKNOWLEDGEMENT_COLUMNS = (
    "claim_id",
    "line_number",
    "level",
    "payer_claim_id",
    "clearinghouse_trace_id",
    "status_category",
    "status_code",
    "entity_code",
    "effective_date",
    "action_code",
    "charge_amount",
    "additional_statuses",
    "outcome",
    "service_cpt_code",
    "service_date",
    "source_row",
)
PATIENT_LEVEL = "PT"


@dataclass(frozen=True)
class X12AcknowledgementBatch:
    """What one 277CA file holds: its STC rows, rejected segments and counts."""

    acknowledgements: pl.DataFrame
    rejected: pl.DataFrame
    segments_read: int
    transactions: int
    claims: int


@dataclass
class _Line:
    svc: Segment
    line_number: str | None = None
    service_date: str | None = None
    statuses: list[Segment] = field(default_factory=list)


@dataclass
class _Claim:
    trn: Segment
    claim_id: str | None
    payer_claim_id: str | None = None
    trace_id: str | None = None
    service_date: str | None = None
    statuses: list[Segment] = field(default_factory=list)
    lines: list[_Line] = field(default_factory=list)


# An 837P claim has at most 50 service lines; a longer number is the payer's own control number.
MAX_LINE_NUMBER = 999


def _whole_number(value: str | None) -> str | None:
    """The echoed line number, or None when it is not one of ours."""
    if value is None:
        return None
    text = value.strip()
    return str(int(text)) if text.isdigit() and 0 < int(text) <= MAX_LINE_NUMBER else None


def _status_row(stc: Segment, claim: _Claim, line: _Line | None) -> dict[str, object]:
    first = stc.components(1)
    category = first[0] or None if first else None
    code = first[1] or None if len(first) > 1 else None
    entity = first[2] or None if len(first) > 2 else None
    more = [":".join(c for c in stc.components(i) if c) for i in (10, 11)]
    action = stc.get(3)
    service = line.svc.components(1) if line is not None else []
    return {
        "claim_id": claim.claim_id,
        "line_number": line.line_number if line is not None else None,
        "level": "line" if line is not None else "claim",
        "payer_claim_id": claim.payer_claim_id,
        "clearinghouse_trace_id": claim.trace_id,
        "status_category": category,
        "status_code": code,
        "entity_code": entity,
        "effective_date": iso_date(stc.get(2)),
        "action_code": action,
        "charge_amount": money(stc.get(4)),
        "additional_statuses": ";".join(m for m in more if m) or None,
        "outcome": acknowledgement_outcome(category, action),
        "service_cpt_code": service[1] if len(service) > 1 and service[1] else None,
        "service_date": (line.service_date if line is not None else None) or claim.service_date,
        "source_row": stc.position,
    }


class _Collector:
    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []
        self.rejected: list[Rejection] = []
        self.claims = 0

    def finish(self, claim: _Claim | None, truncated: bool = False) -> None:
        if claim is None:
            return
        if truncated:
            # The file ended inside this claim: its statuses may be incomplete, drop it whole.
            self.rejected.append(
                Rejection(claim.trn.position, "truncated_file", None, claim.trn.raw)
            )
            return
        self.claims += 1
        statuses = [(stc, None) for stc in claim.statuses] + [
            (stc, line) for line in claim.lines for stc in line.statuses
        ]
        if not statuses:
            self.rejected.append(
                Rejection(claim.trn.position, "missing_required", "status_category", claim.trn.raw)
            )
            return
        for stc, line in statuses:
            row = _status_row(stc, claim, line)
            if row["status_category"] is None:
                self.rejected.append(
                    Rejection(stc.position, "missing_required", "status_category", stc.raw)
                )
            elif row["claim_id"] is None:
                self.rejected.append(
                    Rejection(stc.position, "missing_required", "claim_id", stc.raw)
                )
            else:
                self.rows.append(row)


def _read_segments(stream: SegmentStream, collector: _Collector) -> int:
    """Collect the claims of every 277 transaction; returns the number of transactions."""
    claim: _Claim | None = None
    line: _Line | None = None
    in_277 = False
    patient_level = False
    transactions = 0
    for segment in stream:
        tag = segment.tag
        if tag == "ST":
            collector.finish(claim)
            claim, line, patient_level = None, None, False
            in_277 = segment.get(1) == "277"
            transactions += in_277
            if not in_277:
                collector.rejected.append(Rejection(segment.position, "not_277", None, segment.raw))
        elif not in_277:
            continue
        elif tag == "SE":
            collector.finish(claim)
            claim, line, in_277 = None, None, False
        elif tag == "HL":
            collector.finish(claim)
            claim, line = None, None
            patient_level = segment.get(3) == PATIENT_LEVEL
        elif not patient_level:
            continue
        elif tag == "TRN":
            collector.finish(claim)
            claim, line = _Claim(trn=segment, claim_id=segment.get(2)), None
        elif claim is None:
            continue
        elif tag == "SVC":
            line = _Line(svc=segment)
            claim.lines.append(line)
        elif tag == "STC":
            (line.statuses if line is not None else claim.statuses).append(segment)
        elif tag == "REF":
            qualifier, value = segment.get(1), segment.get(2)
            if line is not None and qualifier == "FJ":
                line.line_number = _whole_number(value)
            elif line is None and qualifier == "1K":
                claim.payer_claim_id = value
            elif line is None and qualifier == "D9":
                claim.trace_id = value
        elif tag == "DTP" and segment.get(1) == "472":
            value = iso_date(segment.get(3))
            if line is not None:
                line.service_date = value
            else:
                claim.service_date = value
    collector.finish(claim, truncated=stream.truncated_at is not None)
    return transactions


def read_x12_acknowledgements(path: Path) -> X12AcknowledgementBatch:
    """Read one 277CA file (UTF-8 with or without BOM, UTF-16 LE or BE: `segments.read_text`, as
    the 837P and 835 readers) into STC rows plus rejected segments."""
    stream = split_segments(read_text(path))
    collector = _Collector()
    transactions = _read_segments(stream, collector)
    collector.rejected.extend(stream.rejected)
    logger.info(
        "%s: %d segments, %d claims, %d statuses, %d rejected",
        path.name,
        stream.segments_read,
        collector.claims,
        len(collector.rows),
        len(collector.rejected),
    )
    return X12AcknowledgementBatch(
        acknowledgements=string_frame(
            [tuple(row[c] for c in ACKNOWLEDGEMENT_COLUMNS) for row in collector.rows],
            ACKNOWLEDGEMENT_COLUMNS,
        ),
        rejected=rejected_frame(collector.rejected),
        segments_read=stream.segments_read,
        transactions=transactions,
        claims=collector.claims,
    )
