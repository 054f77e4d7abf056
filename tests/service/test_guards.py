"""Token, bind refusal, body limits, request errors and what reaches the logs."""

from __future__ import annotations

import logging

import httpx
import polars as pl
import pytest
from service_helpers import TOKEN, served, service_settings
from typer.testing import CliRunner

from service.app import serve
from service.security import InsecureBindError, bearer_matches, check_bind, is_loopback

SCORE = "/v1/score"


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3") and not is_loopback("::")


def test_refuses_to_start_beyond_loopback_without_a_token(service_world):
    with pytest.raises(InsecureBindError, match="DENIAL_RISK_API_TOKEN"):
        serve(service_settings(service_world, token=None), "0.0.0.0", 0)
    check_bind("0.0.0.0", TOKEN)
    check_bind("127.0.0.1", None)


def test_serve_command_exits_2_on_0_0_0_0_without_a_token(service_world, monkeypatch):
    from pipelines.cli import app

    monkeypatch.delenv("DENIAL_RISK_API_TOKEN", raising=False)
    result = CliRunner().invoke(
        app, ["serve", "--warehouse", str(service_world.settings.warehouse), "--host", "0.0.0.0"]
    )
    assert result.exit_code == 2
    assert "DENIAL_RISK_API_TOKEN" in result.output


def test_bearer_comparison():
    assert bearer_matches(f"Bearer {TOKEN}", TOKEN)
    assert bearer_matches(f"bearer {TOKEN}", TOKEN)
    assert not bearer_matches(f"Bearer {TOKEN}x", TOKEN)
    assert not bearer_matches(TOKEN, TOKEN)
    assert not bearer_matches(None, TOKEN)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["none", "wrong", "basic"],
)
@pytest.mark.parametrize("path", ["/v1/model", "/openapi.json", "/docs"])
def test_every_route_but_healthz_needs_the_token(service_url, headers, path):
    response = httpx.get(f"{service_url}{path}", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    scored = httpx.post(f"{service_url}{SCORE}", json={"claim_lines": [{}]}, headers=headers)
    assert scored.status_code == 401
    assert httpx.get(f"{service_url}/healthz", headers=headers).status_code == 200


def test_no_token_configured_means_open_on_loopback(service_world):
    with served(service_settings(service_world, token=None)) as url:
        assert httpx.get(f"{url}/v1/model").status_code == 200


@pytest.fixture(scope="module")
def small_limit_url(service_world):
    with served(service_settings(service_world, token=None, max_body_bytes=2_000)) as url:
        yield url


def test_body_over_the_limit_is_413_by_content_length(small_limit_url):
    response = httpx.post(f"{small_limit_url}{SCORE}", content=b"{" + b" " * 5_000 + b"}")
    assert response.status_code == 413
    assert "2000 bytes" in response.json()["detail"]


def test_streamed_body_over_the_limit_is_413(small_limit_url):
    def chunks():
        for _ in range(10):
            yield b" " * 1_000

    response = httpx.post(
        f"{small_limit_url}{SCORE}", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


def test_default_limit_is_5_mb(service_world):
    settings = service_settings(service_world)
    assert settings.max_body_bytes == 5 * 1024 * 1024


def test_limit_comes_from_the_environment(service_world, monkeypatch):
    monkeypatch.setenv("DENIAL_RISK_API_MAX_BODY_BYTES", "1234")
    assert service_settings(service_world).max_body_bytes == 1234


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b"{}", "claim_lines"),
        (b'{"claim_lines": []}', "claim_lines"),
        (b'{"claim_lines": "C1"}', "claim_lines"),
        (b'{"claim_lines": [{"units": {"n": 1}}]}', "claim_lines[0].units"),
        (b'{"claim_lines": [{"claim_id": true}]}', "claim_lines[0].claim_id"),
        (b'{"claim_lines": [{}, {"patient_name": "x"}]}', "claim_lines[1].patient_name"),
        (b'{"claim_lines": [{}], "notes": {"text": "x"}}', "notes"),
        (b'{"claim_lines": [{}], "extra": 1}', "extra"),
    ],
)
def test_malformed_json_is_422_naming_the_field(client, body, field):
    response = client.post(SCORE, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert field in [d["field"] for d in response.json()["detail"]]


def test_unsupported_content_type_is_415(client):
    response = client.post(SCORE, content=b"claim", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.json()["detail"][0]["field"] == "Content-Type"


def test_no_champion_is_503_with_a_plain_message(tmp_path):
    from service.settings import ServiceSettings

    settings = ServiceSettings.for_warehouse(tmp_path / "warehouse.duckdb", token=None)
    with served(settings) as url:
        assert httpx.get(f"{url}/healthz").json()["champion_loaded"] is False
        response = httpx.post(f"{url}{SCORE}", json={"claim_lines": [{}]})
        assert response.status_code == 503
        assert response.json()["detail"].startswith("No champion model is loaded")


def test_logs_hold_no_patient_identifier_or_note_text(client, unsent, caplog):
    claims, notes = unsent
    caplog.set_level(logging.DEBUG)
    for name in ("service", "service.access", "uvicorn", "uvicorn.error", "httpx"):
        caplog.set_level(logging.DEBUG, logger=name)
    bad = {**claims.row(0, named=True), "claim_id": "BAD-DOB", "patient_birth_date": "1900-13-45"}
    body = {"claim_lines": [*claims.to_dicts(), bad], "notes": notes.to_dicts()}
    assert client.post(SCORE, json=body).status_code == 200
    assert client.post(SCORE, content=b'{"claim_lines": [{"units": [1]}]}').status_code == 422
    text = caplog.text
    access = [r.getMessage() for r in caplog.records if r.name == "service.access"]
    assert any(
        f"POST {SCORE} 200" in line and f"lines={claims.height + 1}" in line for line in access
    )
    assert any(f"POST {SCORE} 422" in line for line in access)
    secrets = set(claims.get_column("patient_id")) | set(claims.get_column("patient_birth_date"))
    secrets |= {"1900-13-45"}
    secrets |= set(notes.get_column("patient_id"))
    for note in notes.get_column("text"):
        secrets |= {chunk for chunk in note.split(". ") if len(chunk) > 20}
    leaked = sorted(s for s in secrets if s and s in text)
    assert not leaked, leaked


def test_healthz_and_model_in_openapi(client):
    schema = client.get("/openapi.json").json()
    assert {"/healthz", "/v1/model", SCORE, "/fhir/r4/Claim/$denial-risk"} <= set(schema["paths"])
    content = schema["paths"][SCORE]["post"]["requestBody"]["content"]
    assert {"application/json", "application/edi-x12"} <= set(content)
    claim_line = schema["components"]["schemas"]["ClaimLineIn"]["properties"]
    from data_contracts.input_contract import column_names

    assert list(claim_line) == column_names("claims")
    assert pl.Series(list(claim_line)).is_unique().all()
