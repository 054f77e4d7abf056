"""Read 005010X222A1 (837P) professional claims into the flat claim-line shape.

Choices (documented for users in docs/x12.md "## X12"):
- encounter_id: REF*EA (medical record number) of the claim, null when absent.
- patient_id: NM1*IL NM109 when the subscriber is the patient; for a dependent (HL 23) NM1*QC
  NM109 when sent (4010 style), else "<subscriber id>:<patient DMG02>" so family members differ.
- plan_type: SBR09 of the 2000B subscriber loop through `PLAN_TYPE_BY_FILING_INDICATOR`.
- billing_npi: NM1*85 (2010AA); checked like the rendering NPI, and named when it fails.
- rendering_npi: line NM1*82 (2420A), else claim NM1*82 (2310B), else billing NM1*85 (2010AA).
- rendering_provider_name: the name on the same NM1*82 ("LAST, FIRST MIDDLE SUFFIX" for a
  person, NM103 for an organisation); empty when the NPI came from the billing provider.
- place_of_service: SV105, else CLM05-1. service_date: line DTP*472 (start of an RD8 range).
- submission_date: BHT04, else GS04.
- diagnosis_codes: the HI codes (ABK/ABF, or 4010 BK/BF) the SV107 pointers name, in pointer
  order (primary first), `;`-joined; all claim codes when the line has no pointers.
- prior_auth_number: line REF*G1, else claim REF*G1.
Other-payer loops (2320/2330, after a claim-level SBR) never overwrite the primary payer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.sources.x12.remits import rejected_frame, string_frame
from pipelines.sources.x12.segments import (
    Rejection,
    Segment,
    iso_date,
    money,
    parse_decimal,
    quantity,
    read_text,
    split_segments,
)

logger = logging.getLogger(__name__)

CLAIM_COLUMNS = (
    "claim_id",
    "line_number",
    "encounter_id",
    "patient_id",
    "patient_birth_date",
    "patient_sex",
    "payer_id",
    "payer_name",
    "plan_type",
    "billing_npi",
    "rendering_npi",
    "rendering_provider_name",
    "place_of_service",
    "service_date",
    "submission_date",
    "cpt_code",
    "modifier_1",
    "modifier_2",
    "modifier_3",
    "modifier_4",
    "units",
    "charge_amount",
    "diagnosis_codes",
    "prior_auth_number",
    "source_row",
)

# SBR09 claim filing indicator (X12 code list 1032) → contract plan type. 16 is "HMO Medicare
# Risk" (Medicare Advantage); HM is an HMO, Medicare Advantage only when the payer says Medicare.
PLAN_TYPE_BY_FILING_INDICATOR: dict[str, str] = {
    "MA": "medicare",
    "MB": "medicare",
    "16": "medicare_advantage",
    "MC": "medicaid",
    "CI": "commercial",
    "BL": "commercial",
    "12": "commercial",
    "13": "commercial",
    "14": "commercial",
    "15": "commercial",
    "HM": "commercial",
    "FI": "commercial",
    "WC": "workers_comp",
}
FILING_INDICATOR_BY_PLAN_TYPE: dict[str, str] = {
    "medicare": "MB",
    "medicare_advantage": "16",
    "medicaid": "MC",
    "commercial": "CI",
    "workers_comp": "WC",
    "other": "ZZ",
}
PRINCIPAL_DX = ("ABK", "BK")
OTHER_DX = ("ABF", "BF")


# NM103 the X12 writer puts on NM1*82 when the flat claims carry no name (NM103 is required):
# read back as no name.
UNNAMED_PROVIDER = "RENDERING"


def provider_name(nm1: Segment) -> str | None:
    """A provider's name from NM1: "LAST, FIRST MIDDLE SUFFIX" (person) or NM103 (organisation)."""
    last = (nm1.get(3) or "").strip()
    if last == UNNAMED_PROVIDER and not (nm1.get(4) or "").strip():
        return None
    if nm1.get(2) != "1":
        return last or None
    given = " ".join(p.strip() for p in (nm1.get(4), nm1.get(5), nm1.get(7)) if p and p.strip())
    return ", ".join(p for p in (last, given) if p) or None


def plan_type_for(filing_indicator: str | None, payer_name: str | None) -> str | None:
    """Contract plan type for an SBR09 claim filing indicator (other when unknown)."""
    if filing_indicator is None:
        return None
    if filing_indicator == "HM" and "MEDICARE" in (payer_name or "").upper():
        return "medicare_advantage"
    return PLAN_TYPE_BY_FILING_INDICATOR.get(filing_indicator, "other")


@dataclass
class X12ClaimBatch:
    """Claim lines and rejected segments read from one 837P file."""

    claims: pl.DataFrame
    rejected: pl.DataFrame
    segments_read: int
    claims_read: int
    lines: int


@dataclass
class _Party:
    member_id: str | None = None
    birth_date: str | None = None
    sex: str | None = None


@dataclass
class _Subscriber:
    filing_indicator: str | None = None
    subscriber: _Party = field(default_factory=_Party)
    payer_id: str | None = None
    payer_name: str | None = None


@dataclass
class _Claim:
    clm: Segment
    claim_id: str | None
    place_of_service: str | None
    encounter_id: str | None = None
    prior_auth_number: str | None = None
    rendering_npi: str | None = None
    rendering_provider_name: str | None = None
    diagnoses: list[str] = field(default_factory=list)
    other_payer: bool = False


@dataclass
class _Line:
    line_number: str | None
    sv1: Segment | None = None
    service_date: str | None = None
    rendering_npi: str | None = None
    rendering_provider_name: str | None = None
    prior_auth_number: str | None = None
    lx: Segment | None = None


class _ClaimReader:
    """State machine over the HL hierarchy of one 837P transaction."""

    def __init__(
        self, submission_date: str | None, rejected: list[Rejection], rows: list[dict]
    ) -> None:
        self.submission_date = submission_date
        self.rejected = rejected
        self.rows = rows
        self.billing_npi: str | None = None
        self.subscriber = _Subscriber()
        self.patient: _Party | None = None
        self.claim: _Claim | None = None
        self.line: _Line | None = None
        self.last_party: _Party | None = None
        self.claims = 0
        self.lines = 0
        self.bad_pointers = 0

    def _patient_fields(self) -> tuple[str | None, str | None, str | None]:
        subscriber = self.subscriber.subscriber
        if self.patient is None:
            return subscriber.member_id, subscriber.birth_date, subscriber.sex
        patient_id = self.patient.member_id
        if patient_id is None and subscriber.member_id is not None:
            patient_id = f"{subscriber.member_id}:{self.patient.birth_date or ''}"
        return patient_id, self.patient.birth_date, self.patient.sex

    def finish_line(self) -> None:
        """Emit the open service line as a contract row."""
        line, claim = self.line, self.claim
        self.line = None
        if line is None or claim is None:
            return
        if line.sv1 is None:
            anchor = line.lx or claim.clm
            self.rejected.append(
                Rejection(anchor.position, "missing_required", "cpt_code", anchor.raw)
            )
            return
        sv1 = line.sv1
        procedure = sv1.components(1)
        modifiers = [*(m or None for m in procedure[2:6])]
        modifiers += [None] * (4 - len(modifiers))
        pointers = [p for p in sv1.components(7) if p]
        diagnoses = claim.diagnoses
        if pointers:
            chosen = []
            for pointer in pointers:
                number = parse_decimal(pointer)
                if number is not None and number == int(number) and 1 <= number <= len(diagnoses):
                    chosen.append(diagnoses[int(number) - 1])
                else:
                    # The line still loads with the codes its valid pointers name; the row rules
                    # judge the diagnosis list, so a dangling pointer is logged, not quarantined.
                    self.bad_pointers += 1
            diagnoses = list(dict.fromkeys(chosen))
        patient_id, birth_date, sex = self._patient_fields()
        self.rows.append(
            {
                "claim_id": claim.claim_id,
                "line_number": line.line_number,
                "encounter_id": claim.encounter_id,
                "patient_id": patient_id,
                "patient_birth_date": birth_date,
                "patient_sex": sex,
                "payer_id": self.subscriber.payer_id,
                "payer_name": self.subscriber.payer_name,
                "plan_type": plan_type_for(
                    self.subscriber.filing_indicator, self.subscriber.payer_name
                ),
                "billing_npi": self.billing_npi,
                "rendering_npi": line.rendering_npi or claim.rendering_npi or self.billing_npi,
                "rendering_provider_name": (
                    line.rendering_provider_name
                    if line.rendering_npi
                    else claim.rendering_provider_name
                    if claim.rendering_npi
                    else None
                ),
                "place_of_service": sv1.get(5) or claim.place_of_service,
                "service_date": line.service_date,
                "submission_date": self.submission_date,
                "cpt_code": procedure[1] if len(procedure) > 1 and procedure[1] else None,
                "modifier_1": modifiers[0],
                "modifier_2": modifiers[1],
                "modifier_3": modifiers[2],
                "modifier_4": modifiers[3],
                "units": quantity(sv1.get(4)),
                "charge_amount": money(sv1.get(2)),
                "diagnosis_codes": ";".join(diagnoses) or None,
                "prior_auth_number": line.prior_auth_number or claim.prior_auth_number,
                "source_row": sv1.position,
            }
        )
        self.lines += 1

    def finish_claim(self) -> None:
        """Close the open claim (and its last line)."""
        self.finish_line()
        self.claim = None

    def read(self, segment: Segment) -> None:
        """Advance the state machine by one segment."""
        tag = segment.tag
        if tag == "HL":
            self.finish_claim()
            level = segment.get(3)
            if level == "20":
                self.billing_npi = None
                self.subscriber = _Subscriber()
                self.patient = None
            elif level == "22":
                self.subscriber = _Subscriber()
                self.patient = None
            elif level == "23":
                self.patient = _Party()
            self.last_party = None
        elif tag == "SBR":
            if self.claim is None:
                self.subscriber.filing_indicator = segment.get(9)
            else:
                self.finish_line()
                self.claim.other_payer = True
        elif tag == "NM1":
            self._name(segment)
        elif tag == "DMG" and self.last_party is not None:
            self.last_party.birth_date = iso_date(segment.get(2))
            self.last_party.sex = segment.get(3)
        elif tag == "CLM":
            self.finish_claim()
            self.claims += 1
            facility = segment.components(5)
            self.claim = _Claim(segment, segment.get(1), facility[0] if facility else None)
        elif self.claim is None:
            return
        elif tag == "HI" and not self.claim.other_payer and self.line is None:
            for index in range(1, len(segment.elements)):
                parts = segment.components(index)
                if len(parts) > 1 and parts[0] in (*PRINCIPAL_DX, *OTHER_DX) and parts[1]:
                    self.claim.diagnoses.append(parts[1].replace(".", "").upper())
        elif tag == "REF":
            self._reference(segment)
        elif tag == "LX":
            self.finish_line()
            self.line = _Line(segment.get(1), lx=segment)
        elif self.line is None:
            return
        elif tag == "SV1":
            self.line.sv1 = segment
        elif tag == "DTP" and segment.get(1) == "472":
            self.line.service_date = iso_date(segment.get(3))

    def _name(self, segment: Segment) -> None:
        entity, identifier = segment.get(1), segment.get(9)
        self.last_party = None
        if self.claim is None:
            if entity == "85":
                self.billing_npi = identifier
            elif entity == "IL":
                self.subscriber.subscriber.member_id = identifier
                self.last_party = self.subscriber.subscriber
            elif entity == "PR":
                self.subscriber.payer_id = identifier
                self.subscriber.payer_name = segment.get(3)
            elif entity == "QC" and self.patient is not None:
                self.patient.member_id = identifier
                self.last_party = self.patient
        elif entity == "82" and self.line is not None:
            self.line.rendering_npi = identifier
            self.line.rendering_provider_name = provider_name(segment)
        elif entity == "82" and not self.claim.other_payer:
            self.claim.rendering_npi = identifier
            self.claim.rendering_provider_name = provider_name(segment)

    def _reference(self, segment: Segment) -> None:
        qualifier, value = segment.get(1), segment.get(2)
        claim = self.claim
        if claim is None or (claim.other_payer and self.line is None):
            return
        if qualifier == "G1":
            if self.line is not None:
                self.line.prior_auth_number = value
            else:
                claim.prior_auth_number = value
        elif qualifier == "EA" and self.line is None:
            claim.encounter_id = value


def read_x12_claims(path: Path) -> X12ClaimBatch:
    """Read one 837P file into claim-line rows (contract columns as strings) and rejections."""
    stream = split_segments(read_text(path))
    rejected: list[Rejection] = []
    rows: list[dict] = []
    readers: list[_ClaimReader] = []
    reader: _ClaimReader | None = None
    group_date: str | None = None
    for segment in stream:
        tag = segment.tag
        if tag == "GS":
            group_date = iso_date(segment.get(4))
        elif tag == "ST":
            if reader is not None:
                reader.finish_claim()
            reader = None
            if segment.get(1) == "837":
                reader = _ClaimReader(group_date, rejected, rows)
                readers.append(reader)
            else:
                rejected.append(Rejection(segment.position, "not_837", None, segment.raw))
        elif reader is None:
            continue
        elif tag == "BHT":
            reader.submission_date = iso_date(segment.get(4)) or group_date
        elif tag == "SE":
            reader.finish_claim()
            reader = None
        else:
            reader.read(segment)
    if reader is not None and reader.claim is not None and stream.truncated_at is not None:
        # The claim open when the file ended may be missing lines: reject it whole.
        cut = reader.claim
        rows[:] = [r for r in rows if r["source_row"] < cut.clm.position]
        rejected.append(Rejection(cut.clm.position, "truncated_file", None, cut.clm.raw))
    elif reader is not None:
        reader.finish_claim()
    rejected.extend(stream.rejected)
    rejected.sort(key=lambda r: r.source_row)
    bad_pointers = sum(r.bad_pointers for r in readers)
    if bad_pointers:
        logger.warning("%s: %d SV107 pointers name no HI code", path.name, bad_pointers)
    claims = sum(r.claims for r in readers)
    logger.info(
        "%s: %d segments, %d claims, %d lines", path.name, stream.segments_read, claims, len(rows)
    )
    return X12ClaimBatch(
        claims=string_frame(rows, CLAIM_COLUMNS),
        rejected=rejected_frame(rejected),
        segments_read=stream.segments_read,
        claims_read=claims,
        lines=len(rows),
    )
