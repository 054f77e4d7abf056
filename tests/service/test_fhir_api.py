"""POST /fhir/r4/Claim/$denial-risk: FHIR Claims in, a valid FHIR Bundle out, same scores as JSON."""

from __future__ import annotations

import copy

import polars as pl
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir_claims import claim_resource, claims_bundle

from data_contracts.input_contract import TARGET_CPT
from service.fhir import EDIT_SYSTEM, claims_from_fhir

ROUTE = "/fhir/r4/Claim/$denial-risk"
FHIR_JSON = {"Content-Type": "application/fhir+json"}


def _planted(claims: pl.DataFrame) -> pl.DataFrame:
    """The unsent claims with one 64520 line billed at 3 units (over the MUE of 64520)."""
    target = claims.filter(pl.col("cpt_code") == TARGET_CPT).row(0, named=True)
    return claims.with_columns(
        pl.when(
            (pl.col("claim_id") == target["claim_id"])
            & (pl.col("line_number") == target["line_number"])
        )
        .then(pl.lit("3"))
        .otherwise(pl.col("units"))
        .alias("units")
    )


@pytest.fixture(scope="module")
def planted(unsent) -> pl.DataFrame:
    return _planted(unsent[0])


@pytest.fixture(scope="module")
def fhir_answer(client, planted) -> Bundle:
    response = client.post(ROUTE, json=claims_bundle(planted), headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    return Bundle.model_validate(response.json())


@pytest.fixture(scope="module")
def json_answer(client, planted) -> dict:
    response = client.post("/v1/score", json={"claim_lines": planted.to_dicts()})
    assert response.status_code == 200, response.text
    return response.json()


def _resources(bundle: Bundle, kind: str) -> list:
    return [e.resource for e in bundle.entry if e.resource.get_resource_type() == kind]


def test_fhir_claims_map_to_the_same_contract_rows(planted):
    mapped = claims_from_fhir(claims_bundle(planted)).claim_lines
    columns = [c for c in planted.columns if c != "prior_auth_number"]
    key = ["claim_id", "line_number"]
    left = planted.select(columns).sort(key)
    right = mapped.select(columns).sort(key)
    for column in columns:
        if column in ("units", "charge_amount"):
            assert (
                left[column].cast(pl.Float64).to_list() == right[column].cast(pl.Float64).to_list()
            )
        else:
            assert left[column].to_list() == right[column].to_list(), column


def test_bundle_has_a_risk_assessment_per_64520_item_with_json_parity(fhir_answer, json_answer):
    assessments = _resources(fhir_answer, "RiskAssessment")
    assert len(assessments) == len(json_answer["lines"]) > 0
    by_key = {(r["claim_id"], r["line_number"]): r for r in json_answer["lines"]}
    for assessment in assessments:
        claim_id, line_number = assessment.identifier[0].value.rsplit("/", 1)
        line = by_key[(claim_id, int(line_number))]
        prediction = assessment.prediction[0]
        assert abs(float(prediction.probabilityDecimal) - line["denial_probability"]) <= 1e-6
        assert assessment.status == "final"
        assert assessment.basis[0].reference.startswith("urn:uuid:")
        assert assessment.basis[0].display == f"Claim {claim_id} item {line_number}"
        assert assessment.mitigation == line["recommended_action"]
        if line["reasons"]:
            assert prediction.rationale.startswith(line["reasons"][0]["code"])
            assert [c.coding[0].code for c in assessment.reasonCode] == [
                r["code"] for r in line["reasons"]
            ]


def test_a_detected_issue_per_failed_edit(fhir_answer, json_answer, planted):
    failed = [
        (line["claim_id"], line["line_number"], edit["code"])
        for line in [*json_answer["lines"], *json_answer["context_lines"]]
        for edit in line["edit_errors"]
        if edit["status"] == "failed"
    ]
    issues = [i for i in _resources(fhir_answer, "DetectedIssue") if i.status == "final"]
    found = []
    for issue in issues:
        claim_id, line_number = issue.identifier[0].value.rsplit("/", 1)
        assert issue.code.coding[0].system == EDIT_SYSTEM
        assert issue.mitigation[0].action.text
        found.append((claim_id, int(line_number), issue.code.coding[0].code))
    assert sorted(found) == sorted(failed)
    target = planted.filter(pl.col("units") == "3").row(0, named=True)
    assert any(c == target["claim_id"] and n == int(target["line_number"]) for c, n, _ in found), (
        "the line billed at 3 units fails no edit"
    )


def test_single_claim_is_accepted(client, planted):
    rows = planted.filter(pl.col("claim_id") == planted["claim_id"][0]).to_dicts()
    response = client.post(ROUTE, json=claim_resource(rows), headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    bundle = Bundle.model_validate(response.json())
    assessment = _resources(bundle, "RiskAssessment")
    assert len(assessment) == sum(r["cpt_code"] == TARGET_CPT for r in rows)
    assert all(a.basis[0].reference.startswith("Claim/") for a in assessment)


def test_rejected_item_comes_back_as_operation_outcome(client, planted):
    rows = planted.filter(pl.col("claim_id") == planted["claim_id"][0]).to_dicts()
    claim = claim_resource(rows)
    claim["item"][0]["quantity"] = {"value": 0}
    response = client.post(ROUTE, json=claim, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    bundle = Bundle.model_validate(response.json())
    (outcome,) = _resources(bundle, "OperationOutcome")
    (issue,) = outcome.issue
    assert issue.expression == ["Claim.item.quantity"]
    assert issue.details.text == "bad_value"


def test_a_billing_npi_failing_its_check_digit_is_named_as_claim_provider(client, planted):
    rows = planted.filter(pl.col("claim_id") == planted["claim_id"][0]).to_dicts()
    claim = claim_resource(rows)
    claim["provider"]["identifier"]["value"] = "1234567890"  # 1234567893 passes the Luhn check
    response = client.post(ROUTE, json=claim, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    bundle = Bundle.model_validate(response.json())
    assert not _resources(bundle, "RiskAssessment")
    issues = [i for o in _resources(bundle, "OperationOutcome") for i in o.issue]
    assert issues and {(tuple(i.expression), i.details.text) for i in issues} == {
        (("Claim.provider",), "bad_npi_check_digit")
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: c["item"][0].update(sequence="first"), "item[0].sequence"),
        (lambda c: c.pop("patient"), "patient"),
        (lambda c: c["item"][0].update(diagnosisSequence=[99]), "item[0].diagnosisSequence[0]"),
        (lambda c: c.update(resourceType="Patient"), "resourceType"),
        (lambda c: c.update(identifier=[], id=None), "identifier"),
        (
            lambda c: c["item"][0].update(modifier=[{"coding": [{"code": "LT"}]}] * 5),
            "item[0].modifier",
        ),
    ],
)
def test_malformed_claim_is_422_naming_the_element(client, planted, change, field):
    rows = planted.filter(pl.col("claim_id") == planted["claim_id"][0]).to_dicts()
    claim = copy.deepcopy(claim_resource(rows))
    change(claim)
    claim = {k: v for k, v in claim.items() if v is not None}
    response = client.post(ROUTE, json=claim, headers=FHIR_JSON)
    assert response.status_code == 422, response.text
    assert field in [d["field"] for d in response.json()["detail"]]


def test_bundle_entry_errors_name_the_entry(client, planted):
    bundle = claims_bundle(planted)
    bundle["entry"][1]["resource"]["item"][0]["quantity"] = {"value": "many"}
    response = client.post(ROUTE, json=bundle, headers=FHIR_JSON)
    assert response.status_code == 422
    fields = [d["field"] for d in response.json()["detail"]]
    assert any(f.startswith("entry[1].resource.item[0].quantity") for f in fields), fields


def test_notes_as_document_references_map_and_score_like_json_notes(client, unsent):
    claims, notes = unsent
    assert notes is not None and notes.height
    bundle = claims_bundle(claims, notes)
    mapped = claims_from_fhir(bundle).notes
    columns = [c for c in notes.columns]
    assert mapped.select(columns).sort("note_id").to_dicts() == notes.sort("note_id").to_dicts()
    as_fhir = client.post(ROUTE, json=bundle, headers=FHIR_JSON)
    as_json = client.post(
        "/v1/score", json={"claim_lines": claims.to_dicts(), "notes": notes.to_dicts()}
    )
    without_notes = client.post("/v1/score", json={"claim_lines": claims.to_dicts()})
    assert as_fhir.status_code == as_json.status_code == without_notes.status_code == 200
    expected = {
        (r["claim_id"], r["line_number"]): r["denial_probability"] for r in as_json.json()["lines"]
    }
    bare = {
        (r["claim_id"], r["line_number"]): r["denial_probability"]
        for r in without_notes.json()["lines"]
    }
    assert expected != bare, "the notes changed no score: the test would not see them dropped"
    got = {}
    for assessment in _resources(Bundle.model_validate(as_fhir.json()), "RiskAssessment"):
        claim_id, line_number = assessment.identifier[0].value.rsplit("/", 1)
        got[(claim_id, int(line_number))] = float(assessment.prediction[0].probabilityDecimal)
    assert got.keys() == expected.keys()
    assert all(abs(got[k] - expected[k]) <= 1e-6 for k in expected)
