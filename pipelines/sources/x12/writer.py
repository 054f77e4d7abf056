"""Write a flat landing folder's claims and remits as 837P and 835 files (the `--x12` demo input).

Each claims/*.csv|parquet becomes claims/<stem>.837 (005010X222A1) and each remits/* becomes
remits/<stem>.835 (005010X221A1) carrying the remit_adjustments rows of its lines; the converted
flat files are deleted, notes stay. Every SVC balances by construction (SVC02 = SVC03 + ΣCAS), and
REF*6R carries the line number so the reader needs no procedure matching. Values pass through as
text, so bad rows in the flat data reach the row rules the same way after the round trip.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from pipelines.sources.x12.claims import FILING_INDICATOR_BY_PLAN_TYPE, UNNAMED_PROVIDER
from pipelines.sources.x12.segments import format_money, parse_decimal

logger = logging.getLogger(__name__)

ELEMENT, COMPONENT, SEGMENT, REPETITION = "*", ":", "~", "^"
_FORBIDDEN = str.maketrans({c: " " for c in (ELEMENT, COMPONENT, SEGMENT, REPETITION, "\n", "\r")})
FLAT_SUFFIXES = (".csv", ".parquet")
MAX_TRIPLETS = 6
MAX_DIAGNOSES = 12
MAX_POINTERS = 4
SENDER_ID = "DENIALRISK"
# CLP06 has no CI/BL code (unlike SBR09): commercial remits say 12 (PPO).
CLP06_BY_PLAN_TYPE = {**FILING_INDICATOR_BY_PLAN_TYPE, "commercial": "12"}
RECEIVER_ID = "RECEIVER"


class _Composite(str):
    """An element already joined from cleaned components; its separators are kept."""


def _person_name(row: dict) -> tuple[str, str, str]:
    """NM103-NM105 (last, first, middle) from "LAST, FIRST MIDDLE"; a placeholder when unnamed."""
    name = (row.get("rendering_provider_name") or "").strip()
    if not name:
        return UNNAMED_PROVIDER, "", ""
    last, _, given = name.partition(",")
    first, _, middle = given.strip().partition(" ")
    return last.strip(), first, middle.strip()


def _clean(value: object) -> str:
    """Element text: None → empty, delimiters in data replaced by a space."""
    if isinstance(value, _Composite):
        return str(value)
    return "" if value is None else str(value).translate(_FORBIDDEN).strip()


def _segment(tag: str, *elements: object) -> str:
    """One segment with trailing empty elements dropped."""
    values = [_clean(e) for e in elements]
    while values and values[-1] == "":
        values.pop()
    return ELEMENT.join([tag, *values]) + SEGMENT


def _composite(*components: object) -> _Composite:
    """A composite element from its components, trailing empty ones dropped."""
    values = [_clean(c) for c in components]
    while values and values[-1] == "":
        values.pop()
    return _Composite(COMPONENT.join(values))


def _d8(value: str | None) -> str:
    """ISO date as CCYYMMDD; any other text unchanged (the reader passes it back as is)."""
    if value is None:
        return ""
    text = value.strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        return text.replace("-", "")
    return text


def _total(values: Iterable[str | None]) -> str:
    return format_money(sum((parse_decimal(v) or Decimal(0) for v in values), Decimal(0)))


def read_flat(path: Path) -> pl.DataFrame:
    """A flat landing file with every column as text (like a CSV read with all_varchar)."""
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        return frame.with_columns(pl.all().cast(pl.String))
    return pl.read_csv(path, infer_schema=False)


@dataclass
class _Envelope:
    """ISA/GS/GE/IEA wrapper of one output file."""

    functional_id: str
    version: str
    control: int = 1

    def wrap(self, transactions: list[list[str]]) -> str:
        """The file text: ISA, GS, the transactions, GE, IEA."""
        now = datetime.now(UTC)
        # ISA is fixed width and carries the delimiters themselves, so it is built verbatim.
        isa = (
            ELEMENT.join(
                [
                    "ISA",
                    "00",
                    " " * 10,
                    "00",
                    " " * 10,
                    "ZZ",
                    SENDER_ID.ljust(15),
                    "ZZ",
                    RECEIVER_ID.ljust(15),
                    now.strftime("%y%m%d"),
                    now.strftime("%H%M"),
                    REPETITION,
                    "00501",
                    f"{self.control:09d}",
                    "0",
                    "T",
                    COMPONENT,
                ]
            )
            + SEGMENT
        )
        lines = [
            isa,
            _segment(
                "GS",
                self.functional_id,
                SENDER_ID,
                RECEIVER_ID,
                now.strftime("%Y%m%d"),
                now.strftime("%H%M"),
                self.control,
                "X",
                self.version,
            ),
        ]
        for number, body in enumerate(transactions, start=1):
            control = f"{number:04d}"
            st = body[0].replace("{control}", control)
            count = len(body) + 1
            lines += [st, *body[1:], _segment("SE", count, control)]
        lines += [
            _segment("GE", len(transactions), self.control),
            _segment("IEA", 1, f"{self.control:09d}"),
        ]
        return "\n".join(lines) + "\n"


def _claim_transactions(claims: pl.DataFrame) -> list[list[str]]:
    """837P transaction bodies (ST … last segment before SE), one per submission date."""
    transactions = []
    rows = claims.to_dicts()
    by_date: dict[str | None, list[dict]] = {}
    for row in rows:
        by_date.setdefault(row.get("submission_date"), []).append(row)
    for submission_date, date_rows in by_date.items():
        body = [
            "ST*837*{control}*005010X222A1" + SEGMENT,
            _segment(
                "BHT", "0019", "00", "DR" + _d8(submission_date), _d8(submission_date), "1200", "CH"
            ),
            _segment("NM1", "41", "2", "DENIAL RISK DEMO", "", "", "", "", "46", SENDER_ID),
            _segment("PER", "IC", "BILLING OFFICE", "TE", "5555550100"),
            _segment("NM1", "40", "2", "RECEIVER", "", "", "", "", "46", RECEIVER_ID),
        ]
        by_claim: dict[str | None, list[dict]] = {}
        for row in date_rows:
            by_claim.setdefault(row.get("claim_id"), []).append(row)
        hl = 0
        for claim_id, lines in by_claim.items():
            first = lines[0]
            hl += 1
            billing = hl
            body += [
                _segment("HL", billing, "", "20", "1"),
                _segment(
                    "NM1",
                    "85",
                    "2",
                    "BILLING PROVIDER",
                    "",
                    "",
                    "",
                    "",
                    "XX",
                    first.get("billing_npi") or first.get("rendering_npi"),
                ),
                _segment("N3", "1 MAIN ST"),
                _segment("N4", "ANYTOWN", "NY", "10001"),
                _segment("REF", "EI", "000000000"),
            ]
            hl += 1
            plan = first.get("plan_type")
            body += [
                _segment("HL", hl, billing, "22", "0"),
                _segment(
                    "SBR",
                    "P",
                    "18",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    FILING_INDICATOR_BY_PLAN_TYPE.get(plan or "", "ZZ"),
                ),
                _segment(
                    "NM1", "IL", "1", "PATIENT", "", "", "", "", "MI", first.get("patient_id")
                ),
                _segment(
                    "DMG", "D8", _d8(first.get("patient_birth_date")), first.get("patient_sex")
                ),
                _segment(
                    "NM1",
                    "PR",
                    "2",
                    first.get("payer_name"),
                    "",
                    "",
                    "",
                    "",
                    "PI",
                    first.get("payer_id"),
                ),
            ]
            diagnoses: list[str] = []
            for line in lines:
                for code in (line.get("diagnosis_codes") or "").split(";"):
                    code = code.strip().replace(".", "").upper()
                    if code and code not in diagnoses and len(diagnoses) < MAX_DIAGNOSES:
                        diagnoses.append(code)
            # Claim-level REF*G1 only when every line carries the same number; else per line.
            line_auths = {line.get("prior_auth_number") for line in lines}
            claim_auth = line_auths.pop() if len(line_auths) == 1 else None
            claim_pos = first.get("place_of_service")
            claim_npi = first.get("rendering_npi")
            body.append(
                _segment(
                    "CLM",
                    claim_id,
                    _total(line.get("charge_amount") for line in lines),
                    "",
                    "",
                    _composite(claim_pos, "B", "1"),
                    "Y",
                    "A",
                    "Y",
                    "Y",
                )
            )
            if claim_auth:
                body.append(_segment("REF", "G1", claim_auth))
            if first.get("encounter_id"):
                body.append(_segment("REF", "EA", first.get("encounter_id")))
            if diagnoses:
                qualifiers = ["ABK", *["ABF"] * (len(diagnoses) - 1)]
                body.append(
                    _segment(
                        "HI",
                        *(_composite(q, c) for q, c in zip(qualifiers, diagnoses, strict=True)),
                    )
                )
            body.append(_segment("NM1", "82", "1", *_person_name(first), "", "", "XX", claim_npi))
            for line in lines:
                codes = [
                    c.strip().replace(".", "").upper()
                    for c in (line.get("diagnosis_codes") or "").split(";")
                ]
                pointers = [
                    str(diagnoses.index(c) + 1) for c in dict.fromkeys(codes) if c in diagnoses
                ]
                pos = line.get("place_of_service")
                body += [
                    _segment("LX", line.get("line_number")),
                    _segment(
                        "SV1",
                        _composite(
                            "HC",
                            line.get("cpt_code"),
                            *(line.get(f"modifier_{i}") for i in range(1, 5)),
                        ),
                        line.get("charge_amount"),
                        "UN",
                        line.get("units"),
                        pos if pos != claim_pos else "",
                        "",
                        _composite(*pointers[:MAX_POINTERS]),
                    ),
                    _segment("DTP", "472", "D8", _d8(line.get("service_date"))),
                    _segment("REF", "6R", line.get("line_number")),
                ]
                if line.get("prior_auth_number") != claim_auth and line.get("prior_auth_number"):
                    body.append(_segment("REF", "G1", line.get("prior_auth_number")))
                if line.get("rendering_npi") != claim_npi:
                    body.append(
                        _segment(
                            "NM1",
                            "82",
                            "1",
                            *_person_name(line),
                            "",
                            "",
                            "XX",
                            line.get("rendering_npi"),
                        )
                    )
        transactions.append(body)
    return transactions


def _cas_segments(adjustments: list[dict]) -> list[str]:
    """CAS segments keeping row order: one per run of a group code, at most six triplets each."""
    segments: list[str] = []
    run: list[dict] = []
    for adjustment in [*adjustments, None]:
        if run and (
            adjustment is None
            or adjustment.get("group_code") != run[0].get("group_code")
            or len(run) == MAX_TRIPLETS
        ):
            triplets = [v for a in run for v in (a.get("carc"), a.get("amount"), "")]
            segments.append(_segment("CAS", run[0].get("group_code"), *triplets))
            run = []
        if adjustment is not None:
            run.append(adjustment)
    return segments


def _remit_transactions(
    remits: pl.DataFrame, adjustments: dict[tuple, list[dict]], claim_lines: dict[tuple, dict]
) -> list[list[str]]:
    """835 transaction bodies, one per (payer, adjudication date)."""
    groups: dict[tuple, list[dict]] = {}
    for row in remits.to_dicts():
        claim = claim_lines.get((row.get("claim_id"), row.get("line_number")), {})
        key = (claim.get("payer_id"), claim.get("payer_name"), row.get("adjudication_date"))
        groups.setdefault(key, []).append(row)
    transactions = []
    used: set[tuple] = set()
    for (payer_id, payer_name, adjudication_date), rows in groups.items():
        date = _d8(adjudication_date)
        body = [
            "ST*835*{control}" + SEGMENT,
            _segment(
                "BPR", "I", _total(r.get("paid_amount") for r in rows), "C", "NON", *[""] * 11, date
            ),
            _segment("TRN", "1", f"DR{date}{len(transactions) + 1:04d}", "1000000000"),
            _segment("DTM", "405", date),
            _segment("N1", "PR", payer_name or "PAYER"),
            _segment("N3", "1 PAYER WAY"),
            _segment("N4", "ANYTOWN", "NY", "10001"),
            _segment("REF", "2U", payer_id),
            _segment("PER", "BL", "PROVIDER SERVICES", "TE", "5555550199"),
            _segment("N1", "PE", "DENIAL RISK PRACTICE", "XX", "1000000004"),
            _segment("LX", "1"),
        ]
        by_claim: dict[str | None, list[dict]] = {}
        for row in rows:
            by_claim.setdefault(row.get("claim_id"), []).append(row)
        for claim_id, lines in by_claim.items():
            services = []
            for row in lines:
                key = (claim_id, row.get("line_number"))
                line_adjustments = [] if key in used else adjustments.get(key, [])
                used.add(key)
                claim_line = claim_lines.get(key, {})
                amounts = [parse_decimal(row.get("paid_amount"))]
                amounts += [parse_decimal(a.get("amount")) for a in line_adjustments]
                charge = (
                    format_money(sum((a for a in amounts if a is not None), Decimal(0)))
                    if all(a is not None for a in amounts)
                    else claim_line.get("charge_amount")
                )
                services.append((row, claim_line, line_adjustments, charge))
            paid_total = _total(r.get("paid_amount") for r in lines)
            patient_total = _total(
                a.get("amount")
                for _, _, adj, _ in services
                for a in adj
                if a.get("group_code") == "PR"
            )
            first_claim_line = services[0][1]
            body += [
                _segment(
                    "CLP",
                    claim_id,
                    "1" if (parse_decimal(paid_total) or 0) > 0 else "4",
                    _total(charge for *_, charge in services),
                    paid_total,
                    patient_total,
                    CLP06_BY_PLAN_TYPE.get(first_claim_line.get("plan_type") or "", "ZZ"),
                    f"PCN{claim_id or ''}",
                ),
                _segment(
                    "NM1",
                    "QC",
                    "1",
                    "PATIENT",
                    "",
                    "",
                    "",
                    "",
                    "MI",
                    first_claim_line.get("patient_id"),
                ),
            ]
            for row, claim_line, line_adjustments, charge in services:
                procedure = _composite(
                    "HC",
                    claim_line.get("cpt_code"),
                    *(claim_line.get(f"modifier_{i}") for i in range(1, 5)),
                )
                body += [
                    _segment(
                        "SVC",
                        procedure,
                        charge,
                        row.get("paid_amount"),
                        "",
                        claim_line.get("units"),
                    ),
                ]
                if claim_line.get("service_date"):
                    body.append(_segment("DTM", "472", _d8(claim_line.get("service_date"))))
                body += _cas_segments(line_adjustments)
                body.append(_segment("REF", "6R", row.get("line_number")))
                if row.get("allowed_amount") is not None:
                    body.append(_segment("AMT", "B6", row.get("allowed_amount")))
                rarcs: list[str] = []
                for adjustment in line_adjustments:
                    for code in (adjustment.get("rarc") or "").split(";"):
                        if code.strip() and code.strip() not in rarcs:
                            rarcs.append(code.strip())
                body += [_segment("LQ", "HE", code) for code in rarcs]
        transactions.append(body)
    return transactions


def _flat_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in FLAT_SUFFIXES)


def write_x12_landing(landing: Path) -> list[Path]:
    """Convert a flat landing folder's claims and remits to X12 files; returns the files written."""
    written: list[Path] = []
    claim_files = _flat_files(landing / "claims")
    claim_frames = [read_flat(p) for p in claim_files]
    claim_lines: dict[tuple, dict] = {}
    for frame in claim_frames:
        for row in frame.to_dicts():
            claim_lines.setdefault((row.get("claim_id"), row.get("line_number")), row)
    for control, (path, frame) in enumerate(zip(claim_files, claim_frames, strict=True), start=1):
        target = path.with_suffix(".837")
        text = _Envelope("HC", "005010X222A1", control).wrap(_claim_transactions(frame))
        target.write_text(text, encoding="utf-8")
        path.unlink()
        written.append(target)

    adjustment_files = _flat_files(landing / "remit_adjustments")
    adjustments: dict[tuple, list[dict]] = {}
    for path in adjustment_files:
        for row in read_flat(path).to_dicts():
            adjustments.setdefault((row.get("claim_id"), row.get("line_number")), []).append(row)
    remit_keys: set[tuple] = set()
    for control, path in enumerate(_flat_files(landing / "remits"), start=len(written) + 1):
        remits = read_flat(path)
        remit_keys.update((r.get("claim_id"), r.get("line_number")) for r in remits.to_dicts())
        target = path.with_suffix(".835")
        body = _remit_transactions(remits, adjustments, claim_lines)
        target.write_text(_Envelope("HP", "005010X221A1", control).wrap(body), encoding="utf-8")
        path.unlink()
        written.append(target)
    orphans = [row for key, rows in adjustments.items() if key not in remit_keys for row in rows]
    for path in adjustment_files:
        path.unlink()
    if orphans:
        # An adjustment needs an SVC to live under; rows without a remit line stay flat.
        target = landing / "remit_adjustments" / "unconverted_adjustments.csv"
        pl.DataFrame(orphans, infer_schema_length=None).write_csv(target)
        logger.warning(
            "%d adjustment rows without a remit line kept flat in %s", len(orphans), target
        )
    logger.info("wrote %d X12 files under %s", len(written), landing)
    return written
