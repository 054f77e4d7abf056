"""Small synthetic landing folders with the unlucky files of issue 20 planted in them."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

from data_contracts.input_contract import column_names
from pipelines.sources.synthetic import generate_world

VALID_NPI = "1234567893"  # CMS's worked example of the check digit
# New pending 64520 lines in the out-of-range claims file (claim ids no other file uses).
GOOD_PENDING_CLAIMS = ("OOR-GOOD-1", "OOR-GOOD-2", "OOR-GOOD-3")
OUT_OF_RANGE_CLAIM = "OOR-BAD-150"


def world(landing: Path, lines: int = 2_000, seed: int = 20) -> Path:
    """A SYNTHETIC X12 landing folder (837P claims, 835 remits, CSV notes)."""
    generate_world(landing, lines=lines, seed=seed, x12=True)
    return landing


def truncate_835(path: Path, keep: float = 0.55) -> int:
    """Cut an 835 in the middle of a segment, as an interrupted transfer leaves it; claims cut."""
    data = path.read_bytes()
    cut = int(len(data) * keep)
    path.write_bytes(data[:cut])
    return len(re.findall(rb"~\s*CLP\*", data[cut:]))


def unmatched_835(source: Path, target: Path) -> int:
    """A valid 835 of another practice: claim ids no claim file has, no REF*6R line numbers."""
    segments = [s.strip() for s in source.read_text().split("~") if s.strip()]
    kept: list[str] = []
    in_transaction = 0
    for segment in segments:
        if segment.startswith("REF*6R*"):
            continue
        if segment.startswith("ST*"):
            in_transaction = 0
        in_transaction += 1
        if segment.startswith("SE*"):
            # SE01 counts the transaction's segments, ST and SE included.
            segment = f"SE*{in_transaction}*{segment.split('*')[2]}"
        kept.append(segment.replace("CLP*CLM", "CLP*OTHER"))
    target.write_text("~\n".join(kept) + "~\n")
    return sum(s.startswith("CLP*OTHER") for s in kept)


def claim_line(claim_id: str, units: str, service_date: str = "2026-10-20") -> dict[str, str]:
    """A 64520 claim line in the flat input contract (no remit: pending, so it gets scored)."""
    row = dict.fromkeys(column_names("claims"), "")
    row.update(
        claim_id=claim_id,
        line_number="1",
        patient_id=f"PT-{claim_id}",
        patient_birth_date="1958-02-03",
        patient_sex="F",
        payer_id="MCR-J15",
        payer_name="CGS J15 Medicare Part B",
        plan_type="medicare",
        rendering_npi=VALID_NPI,
        place_of_service="22",
        service_date=service_date,
        submission_date="2026-10-24",
        cpt_code="64520",
        modifier_1="LT",
        units=units,
        charge_amount="921.00",
        diagnosis_codes="G90.522",
    )
    return row


def out_of_range_claims(path: Path) -> None:
    """A claims CSV with three good pending lines and one billed with 150 units."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [claim_line(c, "1") for c in GOOD_PENDING_CLAIMS]
    rows.insert(1, claim_line(OUT_OF_RANGE_CLAIM, "150"))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=column_names("claims"))
        writer.writeheader()
        writer.writerows(rows)


def plant_bad_files(landing: Path) -> dict[str, Path]:
    """One truncated 835, one unmatched 835 and one claims file with an out-of-range row."""
    remits = sorted((landing / "remits").glob("*.835"))
    truncated = remits[-1]
    truncate_835(truncated)
    unmatched = landing / "remits" / "zz_other_practice.835"
    unmatched_835(remits[-2], unmatched)
    claims = landing / "claims" / "zz_out_of_range.csv"
    out_of_range_claims(claims)
    return {"truncated": truncated, "unmatched": unmatched, "claims": claims}


def copy_landing(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


# Sentinels that must never leave the rows that need them (issue 20, PHI).
SENTINEL_NAME = "ZZSENTINELNAME"
SENTINEL_MEMBER = "ZZSENTINELMBR"
SENTINEL_BIRTH = ("19330303", "1933-03-03")
SENTINEL_NOTE = "ZZNOTESENTINEL"


def plant_sentinels(landing: Path) -> None:
    """Sentinel names, member ids and birth dates in an 837 and a truncated 835; note text."""
    claims = sorted((landing / "claims").glob("*.837"))[-2]
    text = claims.read_text()
    text = re.sub(r"NM1\*IL\*1\*PATIENT\*", f"NM1*IL*1*{SENTINEL_NAME}*", text)
    text = re.sub(r"(NM1\*IL\*1\*[^~]*\*MI\*)P(\d+)", rf"\g<1>{SENTINEL_MEMBER}\2", text)
    text = re.sub(r"DMG\*D8\*\d{8}", f"DMG*D8*{SENTINEL_BIRTH[0]}", text)
    claims.write_text(text)
    # A copy under another name: every line is a duplicate key, quarantined with its raw record.
    (landing / "claims" / "zz_resent.837").write_text(text)
    remit = sorted((landing / "remits").glob("*.835"))[-3]
    text = remit.read_text()
    cut = text.rindex("NM1*QC*1*PATIENT")
    remit.write_text(text[:cut] + f"NM1*QC*1*{SENTINEL_NAME}*ANN****MI*{SENTINEL_MEMBER}77")
    notes = sorted((landing / "notes").glob("*.csv"))[-1]
    lines = notes.read_text().splitlines()
    header = lines[0].split(",")
    row = dict.fromkeys(header, "")
    row.update(
        note_id="N-SENTINEL-1",
        patient_id=f"{SENTINEL_MEMBER}5",
        note_date="2026-10-20",
        note_type="procedure",
        text=f"{SENTINEL_NOTE} lumbar sympathetic block L2 left",
    )
    with notes.open("a", newline="") as handle:
        csv.DictWriter(handle, fieldnames=header, lineterminator="\n").writerow(row)
