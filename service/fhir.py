"""FHIR R4 Claims in, contract rows out; scoring results back as a FHIR Bundle.

Resources are parsed and built with `fhir.resources.R4B` (Claim, Patient, Coverage,
RiskAssessment, DetectedIssue, OperationOutcome and Bundle are unchanged from R4 to R4B), so a
malformed resource is refused naming its element, and every answer is a valid resource. The
element-by-element mapping is documented in docs/api.md ("FHIR R4").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.detectedissue import DetectedIssue
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.riskassessment import RiskAssessment
from pydantic import ValidationError

from data_contracts.input_contract import CLAIMS, NOTE_TYPES, NOTES, PLAN_TYPES, TARGET_CPT
from pipelines.sources.x12.claims import PLAN_TYPE_BY_FILING_INDICATOR, plan_type_for

FHIR_MEDIA_TYPE = "application/fhir+json"
CPT_SYSTEM = "http://www.ama-assn.org/go/cpt"
HCPCS_SYSTEM = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
RISK_PROBABILITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/risk-probability"
# Identifiers and codes this product defines (URNs: no web page stands behind them).
CLAIM_LINE_SYSTEM = "urn:denial-risk:claim-line"
EDIT_SYSTEM = "urn:denial-risk:edit"
REASON_SYSTEM = "urn:denial-risk:reason"
EXPECTED_LOSS_URL = "urn:denial-risk:expected-loss-usd"
MAX_MODIFIERS = 4

LOINC_SYSTEM = "http://loinc.org"
# LOINC document types → contract note types (procedure note, H&P, progress note).
NOTE_TYPE_BY_LOINC = {"28570-0": "procedure", "34117-2": "history_physical", "11506-3": "follow_up"}
GENDER_TO_SEX = {"male": "M", "female": "F", "other": "U", "unknown": "U"}
# risk_band (by expected loss) → risk-probability code of the closest meaning.
BAND_TO_RISK = {"low": "low", "medium": "moderate", "high": "high"}

# Where each contract column comes from, as a FHIRPath-like element of the Claim (for rejected
# rows in the answer; docs/api.md has the same table in words).
COLUMN_ELEMENTS: dict[str, str] = {
    "claim_id": "Claim.identifier",
    "line_number": "Claim.item.sequence",
    "encounter_id": "Claim.item.encounter",
    "patient_id": "Claim.patient",
    "patient_birth_date": "Patient.birthDate",
    "patient_sex": "Patient.gender",
    "payer_id": "Claim.insurer",
    "payer_name": "Claim.insurer.display",
    "plan_type": "Coverage.type",
    "rendering_npi": "Claim.careTeam.provider",
    "rendering_provider_name": "Claim.careTeam.provider.display",
    "billing_npi": "Claim.provider",
    "place_of_service": "Claim.item.locationCodeableConcept",
    "service_date": "Claim.item.servicedDate",
    "submission_date": "Claim.created",
    "cpt_code": "Claim.item.productOrService",
    "modifier_1": "Claim.item.modifier",
    "modifier_2": "Claim.item.modifier",
    "modifier_3": "Claim.item.modifier",
    "modifier_4": "Claim.item.modifier",
    "units": "Claim.item.quantity",
    "charge_amount": "Claim.item.net",
    "diagnosis_codes": "Claim.diagnosis",
    "prior_auth_number": "Claim.insurance.preAuthRef",
}
OUTCOME_CODE_BY_REASON = {
    "missing_required": "required",
    "missing_plan_type": "required",
    "bad_code": "code-invalid",
    "bad_npi_check_digit": "code-invalid",
    "icd9_code": "code-invalid",
    "icd9_history": "code-invalid",
    "duplicate_key": "duplicate",
}


class FhirRequestError(ValueError):
    """A request that is not a usable FHIR Claim or Bundle; `errors` name the elements."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{e['loc']}: {e['msg']}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class ItemOrigin:
    """Where a contract row came from: its Claim (as referenced in answers) and item."""

    claim_reference: str | None
    claim_identifier: str
    item_sequence: int
    subject_reference: str | None


@dataclass(frozen=True)
class FhirClaims:
    """Contract rows (strings, `source_row` = position among all items), origins, and notes."""

    claim_lines: pl.DataFrame
    origins: dict[tuple[str, int], ItemOrigin]
    notes: pl.DataFrame | None = None


def _fail(loc: tuple[Any, ...], msg: str) -> FhirRequestError:
    return FhirRequestError([{"loc": loc, "msg": msg}])


def _validation_errors(exc: ValidationError, prefix: tuple[Any, ...]) -> FhirRequestError:
    return FhirRequestError(
        [{"loc": prefix + tuple(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
    )


class _Resolver:
    """Finds the resource a Reference names: contained (#id), or a Bundle entry by URL or Type/id."""

    def __init__(self, bundle_resources: dict[str, Any]) -> None:
        self.bundle = bundle_resources

    def resolve(self, reference: Any, claim: Claim, loc: tuple[Any, ...]) -> Any:
        target = getattr(reference, "reference", None) if reference is not None else None
        if not target:
            return None
        if target.startswith("#"):
            for resource in claim.contained or []:
                if resource.id == target[1:]:
                    return resource
            raise _fail(loc + ("reference",), f"no contained resource with id {target[1:]!r}")
        return self.bundle.get(target)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | float | int):
        return format(Decimal(str(value)), "f")
    return str(value)


def _identifier_value(
    reference: Any, resource: Any, preferred_system: str | None = None
) -> str | None:
    identifier = getattr(reference, "identifier", None) if reference is not None else None
    if identifier is not None and identifier.value:
        return identifier.value
    identifiers = list(getattr(resource, "identifier", None) or [])
    if preferred_system:
        identifiers.sort(key=lambda i: i.system != preferred_system)
    for candidate in identifiers:
        if candidate.value:
            return candidate.value
    return None


def _code(concept: Any, systems: tuple[str, ...] = ()) -> str | None:
    codings = list(getattr(concept, "coding", None) or [])
    for coding in codings:
        if coding.code and (not systems or coding.system in systems):
            return coding.code
    return codings[0].code if codings and not systems else None


def _plan_type(coverage: Any, payer_name: str | None) -> str | None:
    for coding in getattr(getattr(coverage, "type", None), "coding", None) or []:
        code = (coding.code or "").strip()
        if code.lower() in PLAN_TYPES:
            return code.lower()
        if code.upper() in PLAN_TYPE_BY_FILING_INDICATOR:
            return plan_type_for(code.upper(), payer_name)
    return None


def _focal_insurance(claim: Claim) -> tuple[int, Any]:
    for index, insurance in enumerate(claim.insurance or []):
        if insurance.focal:
            return index, insurance
    return 0, (claim.insurance or [None])[0]


def _diagnosis_codes(claim: Claim, item: Any, loc: tuple[Any, ...]) -> str | None:
    by_sequence = {}
    for diagnosis in claim.diagnosis or []:
        code = _code(diagnosis.diagnosisCodeableConcept, (ICD10CM_SYSTEM,)) or _code(
            diagnosis.diagnosisCodeableConcept
        )
        if code:
            by_sequence[diagnosis.sequence] = code
    pointers = item.diagnosisSequence or sorted(by_sequence)
    codes = []
    for position, pointer in enumerate(pointers):
        if pointer not in by_sequence:
            raise _fail(
                loc + ("diagnosisSequence", position),
                f"names diagnosis {pointer}, which the Claim does not list with a code",
            )
        codes.append(by_sequence[pointer])
    return ";".join(codes) or None


def _charge(item: Any) -> str | None:
    if item.net is not None and item.net.value is not None:
        return _text(item.net.value)
    if item.unitPrice is not None and item.unitPrice.value is not None:
        quantity = item.quantity.value if item.quantity and item.quantity.value is not None else 1
        factor = item.factor if item.factor is not None else 1
        return _text(
            Decimal(str(item.unitPrice.value)) * Decimal(str(quantity)) * Decimal(str(factor))
        )
    return None


def _provider_name(reference: Any, resource: Any) -> str | None:
    """The reference's display, else the Practitioner's first name as "FAMILY, GIVEN"."""
    display = getattr(reference, "display", None) if reference is not None else None
    if display:
        return display
    for name in getattr(resource, "name", None) or []:
        if getattr(name, "text", None):
            return name.text
        given = " ".join(getattr(name, "given", None) or [])
        text = ", ".join(p for p in (getattr(name, "family", None), given) if p)
        if text:
            return text
    return None


def _rendering_provider(
    claim: Claim, item: Any, resolver: _Resolver, loc: tuple[Any, ...]
) -> tuple[str | None, str | None]:
    """The rendering provider's NPI and name (the name only when it belongs to that NPI)."""
    team = {member.sequence: member for member in claim.careTeam or []}
    for position, pointer in enumerate(item.careTeamSequence or []):
        member = team.get(pointer)
        if member is None:
            raise _fail(
                loc + ("careTeamSequence", position),
                f"names care team member {pointer}, not listed",
            )
        provider = resolver.resolve(member.provider, claim, ("careTeam", pointer, "provider"))
        npi = _identifier_value(member.provider, provider, NPI_SYSTEM)
        if npi:
            return npi, _provider_name(member.provider, provider)
    provider = resolver.resolve(claim.provider, claim, ("provider",))
    return (
        _identifier_value(claim.provider, provider, NPI_SYSTEM),
        _provider_name(claim.provider, provider),
    )


def _reference_id(reference: Any) -> str | None:
    if reference is None:
        return None
    if reference.identifier is not None and reference.identifier.value:
        return reference.identifier.value
    target = reference.reference or ""
    return target.rsplit("/", 1)[-1] or None


def _claim_rows(
    claim: Claim, resolver: _Resolver, loc: tuple[Any, ...], claim_reference: str | None
) -> tuple[list[dict[str, str | None]], list[ItemOrigin]]:
    claim_id = next((i.value for i in claim.identifier or [] if i.value), None) or claim.id
    if not claim_id:
        raise _fail(loc + ("identifier",), "a Claim needs an identifier (or an id) to answer by")
    patient = resolver.resolve(claim.patient, claim, loc + ("patient",))
    insurance_index, insurance = _focal_insurance(claim)
    coverage = resolver.resolve(
        getattr(insurance, "coverage", None),
        claim,
        loc + ("insurance", insurance_index, "coverage"),
    )
    payer_name = claim.insurer.display if claim.insurer is not None else None
    payer_id = _identifier_value(
        claim.insurer, resolver.resolve(claim.insurer, claim, loc + ("insurer",))
    )
    if payer_id is None and coverage is not None and coverage.payor:
        payer_id = _identifier_value(coverage.payor[0], None)
    subject = claim.patient.reference if claim.patient is not None else None
    common = {
        "claim_id": claim_id,
        "patient_id": _identifier_value(claim.patient, patient),
        "patient_birth_date": _text(getattr(patient, "birthDate", None)),
        "patient_sex": GENDER_TO_SEX.get(getattr(patient, "gender", None) or ""),
        "payer_id": payer_id,
        "payer_name": payer_name,
        "plan_type": _plan_type(coverage, payer_name),
        "submission_date": _text(claim.created),
        # Claim.provider is the billing provider (837P NM1*85), checked like the rendering NPI.
        "billing_npi": _identifier_value(
            claim.provider, resolver.resolve(claim.provider, claim, loc + ("provider",)), NPI_SYSTEM
        ),
        "prior_auth_number": next(iter(getattr(insurance, "preAuthRef", None) or []), None),
    }
    rows, origins = [], []
    for index, item in enumerate(claim.item or []):
        item_loc = loc + ("item", index)
        modifiers = [_code(m) for m in item.modifier or []]
        if len(modifiers) > MAX_MODIFIERS:
            raise _fail(item_loc + ("modifier",), f"at most {MAX_MODIFIERS} modifiers per line")
        modifiers += [None] * (MAX_MODIFIERS - len(modifiers))
        period = item.servicedPeriod or claim.billablePeriod
        encounter = (item.encounter or [None])[0]
        npi, provider_name = _rendering_provider(claim, item, resolver, item_loc)
        row = {
            **common,
            "line_number": str(item.sequence),
            "encounter_id": _reference_id(encounter),
            "rendering_npi": npi,
            "rendering_provider_name": provider_name,
            "place_of_service": _code(item.locationCodeableConcept),
            "service_date": _text(item.servicedDate or (period.start if period else None)),
            "cpt_code": _code(item.productOrService, (CPT_SYSTEM, HCPCS_SYSTEM))
            or _code(item.productOrService),
            **{f"modifier_{n}": modifiers[n - 1] for n in range(1, MAX_MODIFIERS + 1)},
            "units": _text(item.quantity.value) if item.quantity is not None else None,
            "charge_amount": _charge(item),
            "diagnosis_codes": _diagnosis_codes(claim, item, item_loc),
        }
        rows.append(row)
        origins.append(
            ItemOrigin(
                claim_reference=claim_reference,
                claim_identifier=claim_id,
                item_sequence=item.sequence,
                subject_reference=subject if subject and not subject.startswith("#") else None,
            )
        )
    return rows, origins


def _bundle_resources(bundle: Bundle) -> dict[str, Any]:
    index: dict[str, Any] = {}
    for entry in bundle.entry or []:
        resource = entry.resource
        if resource is None:
            continue
        if entry.fullUrl:
            index[entry.fullUrl] = resource
        if resource.id:
            index[f"{resource.get_resource_type()}/{resource.id}"] = resource
    return index


def _note_type(document: DocumentReference) -> str | None:
    codings = getattr(document.type, "coding", None) or []
    for coding in codings:
        code = (coding.code or "").strip()
        if code.lower() in NOTE_TYPES:
            return code.lower()
        if code in NOTE_TYPE_BY_LOINC:
            return NOTE_TYPE_BY_LOINC[code]
    return "other" if codings else None


def _note_row(
    document: DocumentReference, resolver: _Resolver, loc: tuple[Any, ...]
) -> dict[str, str | None]:
    note_id = next((i.value for i in document.identifier or [] if i.value), None)
    note_id = note_id or (document.masterIdentifier.value if document.masterIdentifier else None)
    subject = document.subject
    patient = None
    if subject is not None and (subject.reference or "").startswith("#"):
        patient = next((r for r in document.contained or [] if r.id == subject.reference[1:]), None)
    elif subject is not None:
        patient = resolver.bundle.get(subject.reference or "")
    context = document.context
    encounter = (context.encounter or [None])[0] if context is not None else None
    text = None
    attachment = document.content[0].attachment if document.content else None
    if attachment is not None and attachment.data is not None:
        try:
            text = attachment.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _fail(loc + ("content", 0, "attachment", "data"), "not UTF-8 text") from exc
    note_date = document.date or (context.period.start if context and context.period else None)
    return {
        "note_id": note_id or document.id,
        "patient_id": _identifier_value(subject, patient),
        "encounter_id": _reference_id(encounter),
        "note_date": _text(note_date),
        "note_type": _note_type(document),
        "text": text,
    }


def _string_frame(rows: list[dict[str, str | None]], names: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {name: [row.get(name) for row in rows] for name in names},
        schema={name: pl.String for name in names},
    ).with_columns(pl.int_range(1, len(rows) + 1, dtype=pl.Int64).alias("source_row"))


def claims_from_fhir(resource: Any) -> FhirClaims:
    """A FHIR Claim or Bundle (JSON-decoded) as contract claim rows plus each item's origin."""
    if not isinstance(resource, dict):
        raise _fail(("body",), "expected a JSON object (a FHIR Claim or Bundle)")
    kind = resource.get("resourceType")
    claims: list[tuple[Claim, tuple[Any, ...], str | None]] = []
    documents: list[tuple[DocumentReference, tuple[Any, ...]]] = []
    if kind == "Claim":
        try:
            claim = Claim.model_validate(resource)
        except ValidationError as exc:
            raise _validation_errors(exc, ()) from exc
        resolver = _Resolver({})
        claims.append((claim, (), f"Claim/{claim.id}" if claim.id else None))
    elif kind == "Bundle":
        try:
            bundle = Bundle.model_validate(resource)
        except ValidationError as exc:
            raise _validation_errors(exc, ()) from exc
        resolver = _Resolver(_bundle_resources(bundle))
        for index, entry in enumerate(bundle.entry or []):
            if (
                entry.resource is not None
                and entry.resource.get_resource_type() == "DocumentReference"
            ):
                documents.append((entry.resource, ("entry", index, "resource")))
            if entry.resource is not None and entry.resource.get_resource_type() == "Claim":
                reference = entry.fullUrl or (
                    f"Claim/{entry.resource.id}" if entry.resource.id else None
                )
                claims.append((entry.resource, ("entry", index, "resource"), reference))
    else:
        raise _fail(("resourceType",), "expected 'Claim' or 'Bundle'")
    if not claims:
        raise _fail(("entry",), "the Bundle holds no Claim")
    rows: list[dict[str, str | None]] = []
    origins: dict[tuple[str, int], ItemOrigin] = {}
    for claim, loc, reference in claims:
        claim_rows, claim_origins = _claim_rows(claim, resolver, loc, reference)
        for row, origin in zip(claim_rows, claim_origins, strict=True):
            key = (origin.claim_identifier, origin.item_sequence)
            if key in origins:
                raise _fail(loc + ("item",), f"claim {key[0]} item {key[1]} appears twice")
            origins[key] = origin
            rows.append(row)
    if not rows:
        raise _fail(claims[0][1] + ("item",), "no Claim item to score")
    notes = [_note_row(document, resolver, loc) for document, loc in documents]
    return FhirClaims(
        claim_lines=_string_frame(rows, [spec.name for spec in CLAIMS]),
        origins=origins,
        notes=_string_frame(notes, [spec.name for spec in NOTES]) if notes else None,
    )


def _basis(origin: ItemOrigin | None, claim_id: str, line_number: int) -> dict[str, Any]:
    reference: dict[str, Any] = {
        "identifier": {"system": CLAIM_LINE_SYSTEM, "value": f"{claim_id}/{line_number}"},
        "display": f"Claim {claim_id} item {line_number}",
    }
    if origin is not None and origin.claim_reference:
        reference["reference"] = origin.claim_reference
    return reference


def _subject(origin: ItemOrigin | None, claim_id: str) -> dict[str, Any]:
    if origin is not None and origin.subject_reference:
        return {"reference": origin.subject_reference}
    return {"display": f"the patient of claim {claim_id}"}


def _risk_assessment(row: dict[str, Any], origin: ItemOrigin | None, result: Any) -> dict[str, Any]:
    claim_id, line_number = row["claim_id"], int(row["line_number"])
    reasons = list(zip(row["reason_codes"] or [], row["reason_texts"] or [], strict=True))
    rationale = "; ".join(f"{code}: {text}" for code, text in reasons) or None
    prediction: dict[str, Any] = {
        "outcome": {"text": f"CPT {TARGET_CPT} claim line denied by the payer"},
        "probabilityDecimal": float(row["denial_probability"]),
        "qualitativeRisk": {
            "coding": [
                {
                    "system": RISK_PROBABILITY_SYSTEM,
                    "code": BAND_TO_RISK.get(row["risk_band"], "low"),
                }
            ],
            "text": f"{row['risk_band']} (expected-loss band)",
        },
    }
    if rationale:
        prediction["rationale"] = rationale
    assessment: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "identifier": [{"system": CLAIM_LINE_SYSTEM, "value": f"{claim_id}/{line_number}"}],
        "status": "final",
        "code": {"text": f"denial risk of a CPT {TARGET_CPT} claim line before submission"},
        "method": {"text": f"denial-risk model {result.model_version}"},
        "subject": _subject(origin, claim_id),
        "occurrenceDateTime": result.scored_at.isoformat(),
        "basis": [_basis(origin, claim_id, line_number)],
        "prediction": [prediction],
        "extension": [
            {
                "url": EXPECTED_LOSS_URL,
                "valueMoney": {"value": float(row["expected_loss_usd"]), "currency": "USD"},
            }
        ],
    }
    if reasons:
        assessment["reasonCode"] = [
            {"coding": [{"system": REASON_SYSTEM, "code": code}], "text": text}
            for code, text in reasons
        ]
    if row.get("recommended_action"):
        assessment["mitigation"] = row["recommended_action"]
    return RiskAssessment.model_validate(assessment).model_dump(mode="json")


def _detected_issue(
    edit: dict[str, Any], claim_id: str, line_number: int, origin: ItemOrigin | None, result: Any
) -> dict[str, Any]:
    failed = edit["status"] == "failed"
    issue = {
        "resourceType": "DetectedIssue",
        "identifier": [{"system": CLAIM_LINE_SYSTEM, "value": f"{claim_id}/{line_number}"}],
        "status": "final" if failed else "preliminary",
        "code": {
            "coding": [{"system": EDIT_SYSTEM, "code": edit["code"]}],
            "text": edit["description"],
        },
        "severity": "high" if failed else "low",
        "patient": _subject(origin, claim_id) if origin and origin.subject_reference else None,
        "identifiedDateTime": result.scored_at.isoformat(),
        "implicated": [_basis(origin, claim_id, line_number)],
        "detail": ("" if failed else "not checked: ")
        + f"{edit['description']} (source: {edit['source']})",
        "mitigation": [{"action": {"text": edit["followup_action"]}}],
    }
    if issue["patient"] is None:
        del issue["patient"]
    return DetectedIssue.model_validate(issue).model_dump(mode="json")


def _operation_outcome(rejected: pl.DataFrame) -> dict[str, Any]:
    issues = []
    for row in rejected.iter_rows(named=True):
        element = COLUMN_ELEMENTS.get(row["field"] or "", "Claim")
        issues.append(
            {
                "severity": "error",
                "code": OUTCOME_CODE_BY_REASON.get(row["reason"], "value"),
                "details": {"text": row["reason"]},
                "diagnostics": f"claim {row['claim_id']} item {row['line_number']}: "
                f"{row['field']} failed the input contract ({row['reason']}); the line was not scored",
                "expression": [element],
            }
        )
    outcome = {"resourceType": "OperationOutcome", "issue": issues}
    return OperationOutcome.model_validate(outcome).model_dump(mode="json")


def bundle_for_result(result: Any, claims: FhirClaims) -> dict[str, Any]:
    """The answer Bundle: RiskAssessment per 64520 item, DetectedIssue per edit, rejected rows."""
    resources: list[dict[str, Any]] = []
    for row in result.lines.iter_rows(named=True):
        origin = claims.origins.get((row["claim_id"], int(row["line_number"])))
        resources.append(_risk_assessment(row, origin, result))
    edited = [result.lines.select("claim_id", "line_number", "edits")]
    if result.context_lines.height:
        edited.append(result.context_lines.select("claim_id", "line_number", "edits"))
    for frame in edited:
        for row in frame.iter_rows(named=True):
            line_number = int(row["line_number"])
            origin = claims.origins.get((row["claim_id"], line_number))
            for edit in row["edits"] or []:
                resources.append(
                    _detected_issue(edit, row["claim_id"], line_number, origin, result)
                )
    if result.rejected.height:
        resources.append(_operation_outcome(result.rejected))
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": result.scored_at.isoformat(),
        "entry": [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r} for r in resources],
    }
    return Bundle.model_validate(bundle).model_dump(mode="json")
