"""Contract claim rows written as FHIR R4 Claims (what a billing system would send), for tests."""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

import polars as pl

from service.fhir import CPT_SYSTEM, ICD10CM_SYSTEM, NPI_SYSTEM

POS_SYSTEM = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
SEX_TO_GENDER = {"M": "male", "F": "female", "U": "unknown"}


def _fhir_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "-", text)[:64]


def claim_resource(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One Claim (with a contained Patient and Coverage) from the rows of one claim_id."""
    first = rows[0]
    diagnoses: list[str] = []
    for row in rows:
        for code in (row["diagnosis_codes"] or "").split(";"):
            if code and code not in diagnoses:
                diagnoses.append(code)
    npis: list[str] = []
    names: dict[str, str | None] = {}
    for row in rows:
        if row["rendering_npi"] not in npis:
            npis.append(row["rendering_npi"])
            names[row["rendering_npi"]] = row.get("rendering_provider_name")
    items = []
    for row in rows:
        modifiers = [row[f"modifier_{n}"] for n in range(1, 5) if row[f"modifier_{n}"]]
        item: dict[str, Any] = {
            "sequence": int(row["line_number"]),
            "careTeamSequence": [npis.index(row["rendering_npi"]) + 1],
            "diagnosisSequence": [
                diagnoses.index(code) + 1
                for code in (row["diagnosis_codes"] or "").split(";")
                if code
            ],
            "productOrService": {"coding": [{"system": CPT_SYSTEM, "code": row["cpt_code"]}]},
            "servicedDate": row["service_date"],
            "locationCodeableConcept": {
                "coding": [{"system": POS_SYSTEM, "code": row["place_of_service"]}]
            },
            "quantity": {"value": float(row["units"])},
            "net": {"value": float(row["charge_amount"]), "currency": "USD"},
        }
        if modifiers:
            item["modifier"] = [{"coding": [{"code": m}]} for m in modifiers]
        if row["encounter_id"]:
            item["encounter"] = [{"identifier": {"value": row["encounter_id"]}}]
        items.append(item)
    insurance: dict[str, Any] = {
        "sequence": 1,
        "focal": True,
        "coverage": {"reference": "#coverage"},
    }
    if first["prior_auth_number"]:
        insurance["preAuthRef"] = [first["prior_auth_number"]]
    patient = {
        "resourceType": "Patient",
        "id": "patient",
        "identifier": [{"value": first["patient_id"]}],
        "birthDate": first["patient_birth_date"],
    }
    if first["patient_sex"]:
        patient["gender"] = SEX_TO_GENDER[first["patient_sex"]]
    claim: dict[str, Any] = {
        "resourceType": "Claim",
        "id": _fhir_id(first["claim_id"]),
        "identifier": [{"value": first["claim_id"]}],
        "contained": [
            patient,
            {
                "resourceType": "Coverage",
                "id": "coverage",
                "status": "active",
                "beneficiary": {"reference": "#patient"},
                "payor": [{"identifier": {"value": first["payer_id"]}}],
                "type": {"coding": [{"code": first["plan_type"]}]},
            },
        ],
        "status": "active",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/claim-type",
                    "code": "professional",
                }
            ]
        },
        "use": "claim",
        "patient": {"reference": "#patient"},
        "created": first["submission_date"],
        "insurer": {"identifier": {"value": first["payer_id"]}, "display": first["payer_name"]},
        "provider": {
            "identifier": {"system": NPI_SYSTEM, "value": first.get("billing_npi") or npis[0]}
        },
        "priority": {"coding": [{"code": "normal"}]},
        "careTeam": [
            {
                "sequence": n + 1,
                "provider": {
                    "identifier": {"system": NPI_SYSTEM, "value": npi},
                    **({"display": names[npi]} if names.get(npi) else {}),
                },
            }
            for n, npi in enumerate(npis)
        ],
        "diagnosis": [
            {
                "sequence": n + 1,
                "diagnosisCodeableConcept": {"coding": [{"system": ICD10CM_SYSTEM, "code": code}]},
            }
            for n, code in enumerate(diagnoses)
        ],
        "insurance": [insurance],
        "item": items,
    }
    return claim


NOTE_LOINC = {"procedure": "28570-0", "history_physical": "34117-2", "follow_up": "11506-3"}


def note_resource(row: dict[str, Any]) -> dict[str, Any]:
    """One contract note row as a DocumentReference with the text as a plain-text attachment."""
    note_type = row["note_type"]
    coding = (
        {"system": "http://loinc.org", "code": NOTE_LOINC[note_type]}
        if note_type in NOTE_LOINC
        else {"code": note_type}
    )
    document: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "identifier": [{"value": row["note_id"]}],
        "status": "current",
        "type": {"coding": [coding]},
        "subject": {"identifier": {"value": row["patient_id"]}},
        "date": f"{row['note_date']}T12:00:00Z",
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(row["text"].encode()).decode(),
                }
            }
        ],
    }
    if row["encounter_id"]:
        document["context"] = {"encounter": [{"identifier": {"value": row["encounter_id"]}}]}
    return document


def claims_bundle(claims: pl.DataFrame, notes: pl.DataFrame | None = None) -> dict[str, Any]:
    """A Bundle (collection): one Claim per claim_id of the rows, one DocumentReference per note."""
    entries = []
    for claim_id in claims.get_column("claim_id").unique(maintain_order=True).to_list():
        rows = claims.filter(pl.col("claim_id") == claim_id).sort(
            pl.col("line_number").cast(pl.Int64)
        )
        resource = claim_resource(rows.to_dicts())
        entries.append(
            {
                "fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, claim_id)}",
                "resource": resource,
            }
        )
    for row in [] if notes is None else notes.to_dicts():
        entries.append(
            {
                "fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, row['note_id'])}",
                "resource": note_resource(row),
            }
        )
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}
