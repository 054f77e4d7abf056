"""The independent world written out: landing CSV/JSON Lines files in the input contract, planted
defects, and the truth file of every 64520 line."""

from __future__ import annotations

import csv
import json
import logging
import zlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from benchmarks.independent_world.world import (
    REMITS_POSTED_THROUGH,
    Line,
    Summary,
    World,
    denial_codes,
)
from data_contracts.input_contract import TARGET_CPT

log = logging.getLogger(__name__)


def _remit_rows(world: World, line: Line) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The line's remit row and its CAS adjustments (balanced: charge - sum(adj) = paid)."""
    rng = world.rng
    charge = line.charge
    adjustments: list[dict[str, str]] = []
    if line.denied:
        group, carc, rarc = denial_codes(line.cause, line.payer, rng)
        adjustments.append(
            {"group_code": group, "carc": carc, "amount": f"{charge:.2f}", "rarc": rarc}
        )
        remit = {"allowed_amount": "0.00", "paid_amount": "0.00"}
        return remit, adjustments
    allowed = world._fee(line)
    patient = 0.0
    plan = line.payer.plan_type
    if plan in ("medicare", "other"):
        if line.service_date.month <= 2 and rng.random() < 0.25:
            deductible = min(allowed, 257.0)
            adjustments.append(
                {"group_code": "PR", "carc": "1", "amount": f"{deductible:.2f}", "rarc": ""}
            )
            patient += deductible
        coins = round((allowed - patient) * 0.2, 2)
        if coins > 0:
            adjustments.append(
                {"group_code": "PR", "carc": "2", "amount": f"{coins:.2f}", "rarc": ""}
            )
            patient += coins
    elif plan in ("commercial", "medicare_advantage"):
        if line.service_date.month <= 4 and rng.random() < (0.3 if plan == "commercial" else 0.1):
            deductible = min(allowed, round(rng.uniform(150, 1500), 2))
            adjustments.append(
                {"group_code": "PR", "carc": "1", "amount": f"{deductible:.2f}", "rarc": ""}
            )
            patient += deductible
        rest = allowed - patient
        if rest > 0:
            if rng.random() < 0.5:
                share = round(min(rest, rng.choice((30.0, 40.0, 50.0))), 2)
                carc = "3"
            else:
                share = round(rest * 0.2, 2)
                carc = "2"
            if share > 0:
                adjustments.append(
                    {"group_code": "PR", "carc": carc, "amount": f"{share:.2f}", "rarc": ""}
                )
                patient += share
    paid = round(allowed - patient, 2)
    if plan == "medicare" and paid > 0:
        seq = round(paid * 0.02, 2)
        adjustments.append({"group_code": "CO", "carc": "253", "amount": f"{seq:.2f}", "rarc": ""})
        paid = round(paid - seq, 2)
    contractual = round(charge - allowed, 2)
    if contractual > 0:
        adjustments.insert(
            0, {"group_code": "CO", "carc": "45", "amount": f"{contractual:.2f}", "rarc": ""}
        )
    return {"allowed_amount": f"{allowed:.2f}", "paid_amount": f"{paid:.2f}"}, adjustments


CLAIM_COLUMNS = (
    "claim_id",
    "line_number",
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
    "place_of_service",
    "rendering_npi",
    "payer_id",
    "payer_name",
    "plan_type",
    "prior_auth_number",
    "patient_id",
    "patient_birth_date",
    "patient_sex",
    "encounter_id",
    "billing_tin",
    "export_batch",
)
REMIT_COLUMNS = (
    "adjudication_date",
    "claim_id",
    "line_number",
    "allowed_amount",
    "paid_amount",
    "payer_icn",
)
ADJUSTMENT_COLUMNS = ("claim_id", "line_number", "group_code", "carc", "rarc", "amount")


def _claim_row(line: Line) -> dict[str, str]:
    mods = line.modifiers + [""] * (4 - len(line.modifiers))
    row = {
        "claim_id": line.claim_id,
        "line_number": str(line.line_number),
        "service_date": line.service_date.isoformat(),
        "submission_date": line.submission_date.isoformat(),
        "cpt_code": line.cpt,
        "modifier_1": mods[0],
        "modifier_2": mods[1],
        "modifier_3": mods[2],
        "modifier_4": mods[3],
        "units": str(line.units),
        "charge_amount": f"{line.charge:.2f}",
        "diagnosis_codes": ";".join(line.diagnoses),
        "place_of_service": line.pos,
        "rendering_npi": line.npi,
        "payer_id": line.payer.payer_id,
        "payer_name": line.payer.name,
        "plan_type": line.payer.plan_type,
        "prior_auth_number": line.auth_number,
        "patient_id": line.patient_id,
        "patient_birth_date": line.birth_date.isoformat(),
        "patient_sex": line.sex,
        "encounter_id": line.encounter_id,
        "billing_tin": "31-1234567",
        "export_batch": f"B{line.submission_date:%Y%m%d}",
    }
    row.update(line.extra)
    return row


def _plant_claim_defects(
    world: World, rows: list[dict[str, str]], lines: list[Line]
) -> dict[str, int]:
    """Realistic export defects on non-64520 lines; each must be quarantined with its reason."""
    rng = world.rng
    with_block = {ln.claim_id for ln in lines if ln.cpt == TARGET_CPT}
    candidates = [i for i, ln in enumerate(lines) if ln.claim_id not in with_block]
    rng.shuffle(candidates)
    planted: dict[str, int] = defaultdict(int)
    plan = (
        [("bad_npi_check_digit", "rendering_npi")] * 5
        + [("bad_value", "charge_amount")] * 4
        + [("missing_required", "patient_birth_date")] * 4
        + [("missing_required", "diagnosis_codes")] * 2
        + [("bad_date", "service_date")] * 2
        + [("bad_type", "units")] * 2
        + [("bad_code", "modifier_1")] * 2
    )
    for (reason, column), index in zip(plan, candidates, strict=False):
        row = rows[index]
        if column == "rendering_npi":
            npi = row["rendering_npi"]
            row["rendering_npi"] = npi[:9] + str((int(npi[9]) + rng.randint(1, 9)) % 10)
        elif column == "charge_amount":
            row["charge_amount"] = f"-{row['charge_amount']}"  # a reversal keyed as a charge
        elif column in ("patient_birth_date", "diagnosis_codes"):
            row[column] = ""
        elif column == "service_date":
            row["service_date"] = f"{row['service_date'][:5]}02-30"
        elif column == "units":
            row["units"] = "1 UN"
        else:
            row["modifier_1"] = "5O"  # letter O keyed for zero
        lines[index].defect = reason
        row["_defect"] = reason
        planted[reason] += 1
    return dict(planted)


def _write_csv(
    path: Path,
    columns: Sequence[str],
    rows: list[dict[str, str]],
    *,
    quote_all: bool,
    crlf: bool,
) -> None:
    """One CSV file in the given quoting and line-end style (both allowed by RFC 4180)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(
            handle,
            fieldnames=list(columns),
            quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
            lineterminator="\r\n" if crlf else "\n",
            extrasaction="ignore",
        )
        writer.writeheader()
        writer.writerows(rows)


def write_claims(world: World, landing: Path) -> tuple[int, dict[str, int]]:
    """Monthly claim exports with the planted defects; rows written and planted reasons."""
    rows = [_claim_row(ln) for ln in world.lines]
    planted_claims = _plant_claim_defects(world, rows, world.lines)

    # Claims: one export per submission month; three months overlap the previous export by its
    # last rows (re-exported), which the ingest must quarantine as duplicate keys.
    by_month: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_month[row["submission_date"][:7]].append(row)
    months = sorted(by_month)
    overlap_months = set(months[3:-1:7])
    duplicates = 0
    claim_rows = 0
    for i, month in enumerate(months):
        out = list(by_month[month])
        if month in overlap_months and i > 0:
            carried = [r for r in by_month[months[i - 1]] if not _row_defect(r)][-5:]
            out = carried + out
            duplicates += len(carried)
        _write_csv(
            landing / "claims" / f"pm_export_{month.replace('-', '')}.csv",
            CLAIM_COLUMNS,
            out,
            quote_all=True,
            crlf=True,
        )
        claim_rows += len(out)
    planted_claims["duplicate_key"] = duplicates
    return claim_rows, planted_claims


def write_remits(world: World, landing: Path) -> tuple[int, int, dict[str, int], dict[str, int]]:
    """Weekly remit and CAS files of posted claims; rows written and planted reasons."""
    # Remits and CAS adjustments, weekly by adjudication date; pending lines have none.
    remit_weeks: dict[str, list[dict[str, str]]] = defaultdict(list)
    adj_weeks: dict[str, list[dict[str, str]]] = defaultdict(list)
    claim_adjudication: dict[str, date] = {}
    for line in world.lines:
        if line.claim_id not in claim_adjudication:
            lo, hi = line.payer.adjudication_days
            claim_adjudication[line.claim_id] = line.submission_date + timedelta(
                days=world.rng.randint(lo, hi)
            )
        adjudicated = claim_adjudication[line.claim_id]
        unposted = adjudicated > REMITS_POSTED_THROUGH
        line.extra["_pending"] = "1" if unposted or line.defect else ""
        if unposted or line.defect:
            continue
        icn = f"{line.payer.payer_id[:2]}{zlib.crc32(line.claim_id.encode()) % 10**11:011d}"
        remit, adjustments = _remit_rows(world, line)
        iso = adjudicated.isocalendar()
        week = f"{iso.year}-W{iso.week:02d}"
        remit_weeks[week].append(
            {
                "adjudication_date": adjudicated.isoformat(),
                "claim_id": line.claim_id,
                "line_number": str(line.line_number),
                **remit,
                "payer_icn": icn,
            }
        )
        for adj in adjustments:
            adj_weeks[week].append(
                {"claim_id": line.claim_id, "line_number": str(line.line_number), **adj}
            )
    # Remit defects go on claims without a 64520 line, so the 64520 labels stay exact.
    with_block = {ln.claim_id for ln in world.lines if ln.cpt == TARGET_CPT}
    background = {ln.claim_id for ln in world.lines} - with_block
    planted_remits: dict[str, int] = {}
    planted_adjustments: dict[str, int] = {}
    weeks = sorted(remit_weeks)
    # One remit row without its adjudication date and one CAS row with the group keyed into the
    # CARC (payer file glitches) on background lines.
    for week in weeks[len(weeks) // 2 :]:
        cands = [r for r in remit_weeks[week] if r["claim_id"] in background]
        if cands:
            cands[0]["adjudication_date"] = ""
            planted_remits["missing_required"] = 1
            break
    for week in weeks[len(weeks) // 3 :]:
        cands = [a for a in adj_weeks[week] if a["carc"] == "45" and a["claim_id"] in background]
        if cands:
            cands[0]["carc"] = "CO45"
            planted_adjustments["bad_code"] = 1
            break
    remit_rows = adj_rows = 0
    for week, rws in remit_weeks.items():
        _write_csv(
            landing / "remits" / f"era_{week}.csv", REMIT_COLUMNS, rws, quote_all=False, crlf=False
        )
        remit_rows += len(rws)
    for week, rws in adj_weeks.items():
        _write_csv(
            landing / "remit_adjustments" / f"era_cas_{week}.csv",
            ADJUSTMENT_COLUMNS,
            rws,
            quote_all=False,
            crlf=False,
        )
        adj_rows += len(rws)
    return remit_rows, adj_rows, planted_remits, planted_adjustments


def write_notes(world: World, landing: Path) -> int:
    """Monthly JSON Lines of the notes; the number of notes given an unknown type."""
    # Notes: monthly JSON Lines; two rows with a note type the contract does not know.
    notes_by_month: dict[str, list[dict]] = defaultdict(list)
    for note in world.notes:
        notes_by_month[str(note["note_date"])[:7]].append(note)
    bad_types = 0
    for month in sorted(notes_by_month)[5:7]:
        for note in notes_by_month[month]:
            if note["note_type"] == "follow_up":
                note["note_type"] = "telephone encounter"
                bad_types += 1
                break
    for month, notes in notes_by_month.items():
        with (landing / "notes" / f"dictations_{month.replace('-', '_')}.jsonl").open(
            "w", encoding="utf-8"
        ) as handle:
            for note in notes:
                handle.write(json.dumps(note) + "\n")
    return bad_types


def write_truth(world: World, truth: Path, summary: Summary) -> None:
    """The truth file of every loadable 64520 line; fills the 64520 counts of `summary`."""
    # Truth: every 64520 line, its true probability and the drawn outcome (pending lines too:
    # the outcome is drawn, only its remit is not yet there).
    truth.parent.mkdir(parents=True, exist_ok=True)
    with truth.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "claim_id",
                "line_number",
                "true_probability",
                "denied",
                "pending",
                "cause",
                "payer_id",
                "policy_change",
            ]
        )
        for line in world.lines:
            if line.cpt != TARGET_CPT or line.defect:
                continue
            pending = line.extra["_pending"] == "1"
            writer.writerow(
                [
                    line.claim_id,
                    line.line_number,
                    f"{line.true_probability:.6f}",
                    int(line.denied),
                    int(pending),
                    line.cause,
                    line.payer.payer_id,
                    world.policy_change_of(line),
                ]
            )
            summary.lines_64520 += 1
            if pending:
                summary.pending_64520 += 1
            else:
                summary.labelled_64520 += 1
                summary.denied_labelled_64520 += int(line.denied)
            if line.denied:
                summary.causes[line.cause] = summary.causes.get(line.cause, 0) + 1


def _row_defect(row: dict[str, str]) -> bool:
    return bool(row.get("_defect"))
