"""SYNTHETIC 277CA front-end rejections for a small share of a world's claims, with their truth.

A picked claim was rejected at the front end before it was adjudicated (presubmission.md):
- `resubmitted`: its first submission, some days after service and before the submission date
  the claim file carries, was rejected the next day; the claim in the landing folder is the
  corrected resubmission, so its lines, outcome and true probability are those generated;
- `dropped`: a claim still without a remit was rejected the day after its submission and never
  sent again: it is `rejected_front_end` in the warehouse, neither scored nor labelled.
The generated claims, remits and truth stay as they are; the rejections go to
`acknowledgements/acks_<YYYY-MM>.277` and their truth to `<truth>.acknowledgements.parquet`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.sources.x12.acknowledgement_writer import ClaimAcknowledgement, write_277ca

# (category, status code, entity): invalid billing NPI, invalid subscriber data, missing patient
# data, unprocessable claim (codes from the X12 claim status code lists, presubmission.md).
REJECTION_STATUSES: tuple[tuple[str, str, str], ...] = (
    ("A7", "562", "85"),
    ("A7", "21", "IL"),
    ("A6", "21", "QC"),
    ("A3", "21", "PR"),
)
TRUTH_SCHEMA = {
    "claim_id": pl.String,
    "fate": pl.String,
    "first_submission_date": pl.Date,
    "rejection_date": pl.Date,
    "status_category": pl.String,
    "status_code": pl.String,
    "entity_code": pl.String,
}
_EPOCH = date(1970, 1, 1)


def pick_rejections(
    claims: pl.DataFrame,
    remits: pl.DataFrame,
    rng: np.random.Generator,
    share: float,
    dropped_share: float = 0.25,
) -> tuple[list[ClaimAcknowledgement], list[dict[str, object]]]:
    """Rejections of about `share` of the chunk's claims (dates as days since 1970 in `claims`)."""
    if share <= 0 or claims.height == 0:
        return [], []
    remitted = set(remits.get_column("claim_id").to_list())
    per_claim = (
        claims.group_by("claim_id", maintain_order=True)
        .agg(
            pl.col("patient_id").first(),
            pl.col("payer_id").first(),
            pl.col("rendering_npi").first(),
            pl.col("service_date").min(),
            pl.col("submission_date").min(),
            pl.col("charge_amount").sum(),
        )
        .sort("claim_id")
    )
    acknowledgements: list[ClaimAcknowledgement] = []
    truth: list[dict[str, object]] = []
    draws = rng.random((per_claim.height, 3))
    for row, (pick, fate_draw, day_draw) in zip(
        per_claim.iter_rows(named=True), draws, strict=True
    ):
        if pick >= share:
            continue
        service = _EPOCH + timedelta(days=int(row["service_date"]))
        submitted = _EPOCH + timedelta(days=int(row["submission_date"]))
        lag = (submitted - service).days
        if row["claim_id"] not in remitted and fate_draw < dropped_share:
            fate, first = "dropped", submitted
        elif lag >= 4:
            fate, first = "resubmitted", service + timedelta(days=int(day_draw * (lag - 3)))
        else:
            continue
        category, code, entity = REJECTION_STATUSES[int(day_draw * 1000) % len(REJECTION_STATUSES)]
        rejected_on = first + timedelta(days=1)
        acknowledgements.append(
            ClaimAcknowledgement(
                claim_id=row["claim_id"],
                patient_id=row["patient_id"],
                payer_id=row["payer_id"],
                billing_npi=row["rendering_npi"],
                service_date=service,
                charge=f"{Decimal(int(row['charge_amount'])) / 100:.2f}",
                category=category,
                status_code=code,
                entity_code=entity,
                effective_date=rejected_on,
            )
        )
        truth.append(
            {
                "claim_id": row["claim_id"],
                "fate": fate,
                "first_submission_date": first,
                "rejection_date": rejected_on,
                "status_category": category,
                "status_code": code,
                "entity_code": entity,
            }
        )
    return acknowledgements, truth


def acknowledgements_truth_path(truth: Path) -> Path:
    """The sidecar of the world's front-end rejections beside the truth file."""
    return truth.with_name(truth.stem + ".acknowledgements.parquet")


def write_rejections(
    out: Path,
    acknowledgements: Sequence[ClaimAcknowledgement],
    truth_rows: list[dict],
    truth: Path | None,
) -> list[Path]:
    """One 277CA file per month of rejection in `out/acknowledgements`, and the truth sidecar."""
    by_month: dict[str, list[ClaimAcknowledgement]] = {}
    for ack in sorted(acknowledgements, key=lambda a: (a.effective_date, a.claim_id)):
        by_month.setdefault(ack.effective_date.strftime("%Y-%m"), []).append(ack)
    files = [
        write_277ca(out / "acknowledgements" / f"acks_{month}.277", acks, control)
        for control, (month, acks) in enumerate(sorted(by_month.items()), start=1)
    ]
    if truth is not None:
        pl.DataFrame(truth_rows, schema=TRUTH_SCHEMA).write_parquet(
            acknowledgements_truth_path(truth)
        )
    return files
