"""Peer loading: every landing CSV into pandas, typed, checked with plain asserts-as-counts, labelled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REFERENCE = Path(__file__).resolve().parents[2] / "data_contracts" / "reference"
DATE_COLUMNS = {
    "claims": ("patient_birth_date", "service_date", "submission_date"),
    "remits": ("adjudication_date",),
    "remit_adjustments": (),
    "notes": ("note_date",),
}
NUMERIC_COLUMNS = {
    "claims": ("line_number", "units", "charge_amount"),
    "remits": ("line_number", "allowed_amount", "paid_amount"),
    "remit_adjustments": ("line_number", "amount"),
    "notes": (),
}


def read_folder(folder: Path, kind: str) -> pd.DataFrame:
    """All CSVs (and JSON Lines, which the contract allows for notes) of a landing folder
    concatenated; codes kept as text, dates and numbers parsed."""
    files = sorted(folder.glob("*.csv"))
    lines_files = sorted([*folder.glob("*.jsonl"), *folder.glob("*.ndjson")])
    frame = pd.concat(
        [pd.read_csv(f, dtype=str, keep_default_na=False, na_values=[""]) for f in files]
        + [pd.read_json(f, lines=True, dtype=str) for f in lines_files],
        ignore_index=True,
    )
    for col in DATE_COLUMNS[kind]:
        frame[col] = pd.to_datetime(frame[col], format="%Y-%m-%d", errors="coerce")
    for col in NUMERIC_COLUMNS[kind]:
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    return frame


def read_landing(landing: Path) -> dict[str, pd.DataFrame]:
    """claims, remits, remit_adjustments and notes frames."""
    return {kind: read_folder(landing / kind, kind) for kind in DATE_COLUMNS}


def validate(frames: dict[str, pd.DataFrame]) -> dict[str, int]:
    """The checks an analyst writes: nulls, duplicate keys, known codes, date order (counts of failures)."""
    claims, remits = frames["claims"], frames["remits"]
    adjustments, notes = frames["remit_adjustments"], frames["notes"]
    pos = pd.read_csv(REFERENCE / "place_of_service_codes.csv", dtype=str)["pos_code"].str.zfill(2)
    carcs = pd.read_csv(REFERENCE / "carc_rarc_group_codes.csv", dtype=str)
    carc_set = set(carcs.loc[carcs["adj_type"] == "CARC", "adj_code"].str.strip())
    required = ["claim_id", "line_number", "patient_id", "payer_id", "service_date", "cpt_code"]
    return {
        "claims_required_null": int(claims[required].isna().any(axis=1).sum()),
        "claims_duplicate_key": int(claims.duplicated(["claim_id", "line_number"]).sum()),
        "claims_bad_pos": int((~claims["place_of_service"].str.zfill(2).isin(pos)).sum()),
        "claims_submitted_before_service": int(
            (claims["submission_date"] < claims["service_date"]).sum()
        ),
        "claims_units_not_positive": int((claims["units"] <= 0).sum()),
        "claims_charge_negative": int((claims["charge_amount"] < 0).sum()),
        "claims_no_64520": int((claims["cpt_code"] == "64520").sum() == 0),
        "remits_duplicate_key": int(
            remits.duplicated(["claim_id", "line_number", "adjudication_date"]).sum()
        ),
        "remits_paid_over_allowed": int((remits["paid_amount"] > remits["allowed_amount"]).sum()),
        "adjustments_bad_group": int(
            (~adjustments["group_code"].isin(["CO", "OA", "PI", "PR", "CR"])).sum()
        ),
        "adjustments_unknown_carc": int((~adjustments["carc"].isin(carc_set)).sum()),
        "notes_duplicate_id": int(notes["note_id"].duplicated().sum()),
        "notes_empty_text": int(notes["text"].isna().sum()),
    }


def line_outcomes(
    claims: pd.DataFrame,
    remits: pd.DataFrame,
    adjustments: pd.DataFrame,
    spec: dict[str, Any],
) -> pd.DataFrame:
    """The label per claim line, same rule as data_contracts/label.py (latest remit counts)."""
    key = ["claim_id", "line_number"]
    latest = remits.sort_values(["adjudication_date"]).drop_duplicates(key, keep="last")[
        [*key, "adjudication_date", "paid_amount"]
    ]
    adj = adjustments.copy()
    adj["is_denial"] = adj["group_code"].isin(spec["denial_groups"]) & ~adj["carc"].isin(
        spec["non_denial_carcs"]
    )
    adj["is_pr"] = adj["group_code"] == "PR"
    denial = adj[adj["is_denial"]].sort_values(["amount", "carc"], ascending=[False, True])
    per_line = adj.groupby(key, sort=False).agg(
        has_denial=("is_denial", "any"), has_pr=("is_pr", "any")
    )
    carcs = denial.groupby(key, sort=False).agg(
        denial_carcs=("carc", lambda s: ";".join(dict.fromkeys(s))),
        primary_denial_carc=("carc", "first"),
    )
    out = (
        claims[key]
        .merge(latest, on=key, how="left")
        .merge(per_line, on=key, how="left")
        .merge(carcs, on=key, how="left")
    )
    has_denial = out["has_denial"].fillna(False).astype(bool)
    has_pr = out["has_pr"].fillna(False).astype(bool)
    zero = out["paid_amount"] == 0
    status = np.select(
        [out["adjudication_date"].isna(), zero & has_denial, zero & has_pr],
        ["pending", "denied", "patient_liability"],
        "paid",
    )
    out["status"] = status
    out["denied"] = np.where(status == "pending", np.nan, (status == "denied").astype(float))
    categories = pd.read_csv(REFERENCE / "carc_denial_category_map.csv", dtype=str)
    categories = categories.drop_duplicates("adj_code")[["adj_code", "denial_category"]]
    out = out.merge(categories, left_on="primary_denial_carc", right_on="adj_code", how="left")
    denied = out["status"] == "denied"
    for col in ("denial_carcs", "primary_denial_carc", "denial_category"):
        out[col] = out[col].where(denied)
    return out.drop(columns=["adj_code", "has_denial", "has_pr"])
