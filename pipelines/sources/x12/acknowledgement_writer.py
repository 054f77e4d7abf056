"""Write 005010X214 (277CA) claim acknowledgements, for the synthetic world and tests.

One interchange per file, one transaction: information source (HL 20, the payer), receiver
(HL 21, the practice), billing provider (HL 19), then one patient level (HL PT) per claim with
TRN*2 = the claim id (CLM01), STC (category:code:entity, date, action code, charge) and the
claim's service date (DTP*472). The reader (`acknowledgements.py`) reads these back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from data_contracts.acknowledgements import REJECT_ACTION_CODE, REJECTED_CATEGORIES

ACCEPT_ACTION_CODE = "WQ"


@dataclass(frozen=True)
class ClaimAcknowledgement:
    """One claim-level status of a 277CA."""

    claim_id: str
    patient_id: str
    payer_id: str
    billing_npi: str
    service_date: date
    charge: str
    category: str
    status_code: str
    entity_code: str
    effective_date: date


def _d8(day: date) -> str:
    return day.strftime("%Y%m%d")


def format_277ca(acknowledgements: Sequence[ClaimAcknowledgement], control: int = 1) -> str:
    """The X12 text of one 277CA interchange holding every acknowledgement given."""
    sent = max((a.effective_date for a in acknowledgements), default=date(2000, 1, 1))
    rejected = [a for a in acknowledgements if a.category in REJECTED_CATEGORIES]
    body = [
        f"ST*277*{control:04d}*005010X214",
        f"BHT*0085*08*277CA{control:06d}*{_d8(sent)}*1200*TH",
        "HL*1**20*1",
        "NM1*PR*2*SYNTHETIC PAYER*****PI*SYNTHETIC",
        f"TRN*1*{control}",
        f"DTP*050*D8*{_d8(sent)}",
        f"DTP*009*D8*{_d8(sent)}",
        "HL*2*1*21*1",
        "NM1*41*2*SYNTHETIC PRACTICE*****46*PRACTICE",
        f"TRN*2*BATCH{control}",
        f"STC*A1:19:PR*{_d8(sent)}*{ACCEPT_ACTION_CODE}",
        f"QTY*90*{len(acknowledgements) - len(rejected)}",
        f"QTY*AA*{len(rejected)}",
        "HL*3*2*19*1",
        "NM1*85*2*SYNTHETIC PRACTICE*****XX*"
        + (acknowledgements[0].billing_npi if acknowledgements else "1234567893"),
        "TRN*1*0",
        f"STC*A1:19:PR*{_d8(sent)}*{ACCEPT_ACTION_CODE}",
    ]
    for index, ack in enumerate(acknowledgements, start=4):
        action = REJECT_ACTION_CODE if ack.category in REJECTED_CATEGORIES else ACCEPT_ACTION_CODE
        body += [
            f"HL*{index}*3*PT",
            f"NM1*QC*1*PATIENT*****MI*{ack.patient_id}",
            f"TRN*2*{ack.claim_id}",
            f"STC*{ack.category}:{ack.status_code}:{ack.entity_code}*{_d8(ack.effective_date)}"
            f"*{action}*{ack.charge}",
            f"DTP*472*RD8*{_d8(ack.service_date)}-{_d8(ack.service_date)}",
        ]
    body.append(f"SE*{len(body) + 1}*{control:04d}")
    isa = (
        "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*PRACTICE       "
        f"*{sent.strftime('%y%m%d')}*1200*^*00501*{control:09d}*0*T*:"
    )
    segments = [
        isa,
        f"GS*HN*CLEARINGHOUSE*PRACTICE*{_d8(sent)}*1200*{control}*X*005010X214",
        *body,
        f"GE*1*{control}",
        f"IEA*1*{control:09d}",
    ]
    return "~\n".join(segments) + "~\n"


def write_277ca(
    path: Path, acknowledgements: Sequence[ClaimAcknowledgement], control: int = 1
) -> Path:
    """Write one 277CA file atomically (temporary name, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_text(format_277ca(acknowledgements, control), encoding="utf-8")
    partial.replace(path)
    return path
