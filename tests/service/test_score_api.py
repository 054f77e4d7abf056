"""POST /v1/score over real HTTP against a real warehouse and champion: answers and parity."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import polars as pl
import pytest

from data_contracts.input_contract import TARGET_CPT
from data_contracts.row_rules import REASONS
from service.schemas import SCORED_LINE_EXPORT_COLUMNS, ScoredLine, ScoreResponse


def _rows(frame: pl.DataFrame | None) -> list[dict]:
    return [] if frame is None else frame.to_dicts()


@pytest.fixture(scope="module")
def answer(client, unsent) -> dict:
    claims, notes = unsent
    body = {"claim_lines": _rows(claims), "notes": _rows(notes)}
    response = client.post("/v1/score", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_score_answers_every_64520_line_with_export_columns_reasons_and_edits(
    answer, unsent, service_world
):
    claims, _ = unsent
    ScoreResponse.model_validate(answer)
    assert answer["model_version"] == service_world.champion_version
    target = claims.filter(pl.col("cpt_code") == TARGET_CPT)
    assert {(r["claim_id"], r["line_number"]) for r in answer["lines"]} == {
        (c, int(n)) for c, n in target.select("claim_id", "line_number").iter_rows()
    }
    others = claims.filter(pl.col("cpt_code") != TARGET_CPT)
    assert len(answer["context_lines"]) == others.height
    assert answer["rejected"] == []
    assert any(line["reasons"] for line in answer["lines"])
    losses = [line["expected_loss_usd"] for line in answer["lines"]]
    assert losses == sorted(losses, reverse=True)
    for line in answer["lines"]:
        assert 0 < line["denial_probability"] < 1
        assert line["risk_band"] in ("low", "medium", "high")
        assert all(r["code"] and r["text"] and r["action"] for r in line["reasons"])
        for edit in line["edit_errors"]:
            assert edit["status"] in ("failed", "not_checked") and edit["source"]


def test_scored_line_carries_the_export_contract_columns():
    assert set(SCORED_LINE_EXPORT_COLUMNS) <= set(ScoredLine.model_fields)


def test_http_answer_equals_direct_score_unsent(answer, unsent, service_world):
    from models.presubmission import ScoringContext, score_unsent

    claims, notes = unsent
    settings = service_world.settings
    context = ScoringContext.load(settings.warehouse, settings.models)
    direct = score_unsent(context, claims, notes)
    by_key = {(r["claim_id"], r["line_number"]): r for r in answer["lines"]}
    assert len(by_key) == direct.lines.height > 0
    for row in direct.lines.iter_rows(named=True):
        served = by_key[(row["claim_id"], row["line_number"])]
        assert abs(served["denial_probability"] - row["denial_probability"]) <= 1e-6
        assert abs(served["expected_loss_usd"] - row["expected_loss_usd"]) <= 1e-6
        assert [r["code"] for r in served["reasons"]] == row["reason_codes"]
        assert [e["code"] for e in served["edit_errors"]] == [e["code"] for e in row["edits"]]


def test_rejected_rows_carry_ingestion_reason_codes_and_good_rows_still_score(client, unsent):
    claims, notes = unsent
    rows = _rows(claims)
    first = rows[0]
    bad_units = {**first, "claim_id": "BAD-UNITS", "units": "two"}
    no_payer = {**first, "claim_id": "NO-PAYER", "payer_id": None}
    bad_modifier = {**first, "claim_id": "BAD-MOD", "modifier_1": "ZZ"}
    response = client.post(
        "/v1/score",
        json={"claim_lines": [*rows, bad_units, no_payer, bad_modifier], "notes": _rows(notes)},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    rejected = {r["claim_id"]: r for r in body["rejected"]}
    assert rejected["BAD-UNITS"]["field"] == "units"
    assert rejected["BAD-UNITS"]["reason"] == "bad_type"
    assert rejected["BAD-UNITS"]["value"] == "two"
    assert rejected["NO-PAYER"]["field"] == "payer_id"
    assert rejected["NO-PAYER"]["reason"] == "missing_required"
    assert rejected["BAD-MOD"]["field"] == "modifier_1"
    assert rejected["BAD-MOD"]["reason"] == "bad_code"
    assert all(r["reason"] in REASONS for r in body["rejected"])
    assert rejected["BAD-UNITS"]["source_row"] == len(rows) + 1
    assert {line["claim_id"] for line in body["lines"]} == set(
        claims.filter(pl.col("cpt_code") == TARGET_CPT).get_column("claim_id")
    )


def test_numbers_are_accepted_and_read_like_csv_text(client, answer, unsent):
    claims, notes = unsent
    numeric = []
    for row in _rows(claims):
        numeric.append(
            {
                **row,
                "line_number": int(row["line_number"]),
                "units": float(row["units"]),
                "charge_amount": float(row["charge_amount"]),
            }
        )
    response = client.post("/v1/score", json={"claim_lines": numeric, "notes": _rows(notes)})
    assert response.status_code == 200, response.text
    expected = {(r["claim_id"], r["line_number"]): r["denial_probability"] for r in answer["lines"]}
    got = {
        (r["claim_id"], r["line_number"]): r["denial_probability"] for r in response.json()["lines"]
    }
    assert got.keys() == expected.keys()
    assert all(abs(got[k] - expected[k]) <= 1e-6 for k in expected)


def test_x12_837p_body_scores_like_the_same_rows_as_json(client, unsent, tmp_path):
    from pipelines.sources.x12.writer import write_x12_landing

    claims, _ = unsent
    folder = tmp_path / "landing"
    (folder / "claims").mkdir(parents=True)
    claims.write_csv(folder / "claims" / "unsent.csv")
    (written,) = write_x12_landing(folder)
    interchange = written.read_bytes()
    as_x12 = client.post(
        "/v1/score", content=interchange, headers={"Content-Type": "application/edi-x12"}
    )
    as_json = client.post("/v1/score", json={"claim_lines": _rows(claims)})
    assert as_x12.status_code == as_json.status_code == 200, as_x12.text
    x12_lines = {(r["claim_id"], r["line_number"]): r for r in as_x12.json()["lines"]}
    json_lines = {(r["claim_id"], r["line_number"]): r for r in as_json.json()["lines"]}
    assert x12_lines.keys() == json_lines.keys() and x12_lines
    for key, line in json_lines.items():
        assert abs(x12_lines[key]["denial_probability"] - line["denial_probability"]) <= 1e-6


def test_truncated_837p_reports_the_rejected_claim(client, unsent, tmp_path):
    from pipelines.sources.x12.writer import write_x12_landing

    claims, _ = unsent
    folder = tmp_path / "landing"
    (folder / "claims").mkdir(parents=True)
    claims.write_csv(folder / "claims" / "unsent.csv")
    (written,) = write_x12_landing(folder)
    text = written.read_text()
    cut = text[: text.rindex("CLM*") + 40]
    response = client.post(
        "/v1/score", content=cut, headers={"Content-Type": "application/edi-x12"}
    )
    assert response.status_code == 200, response.text
    reasons = [r["reason"] for r in response.json()["rejected"]]
    assert "truncated_file" in reasons


def test_model_route_describes_the_champion(client, service_world):
    response = client.get("/v1/model")
    assert response.status_code == 200
    described = response.json()
    assert described["model_version"] == service_world.champion_version
    assert described["features"] and described["reference_tables"]


def test_healthz_needs_no_token_and_names_the_champion(service_url, service_world):
    response = httpx.get(f"{service_url}/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "champion_loaded": True,
        "model_version": service_world.champion_version,
    }


def _promote_copy_of_champion(models_dir) -> str:
    """Register the champion again under a new version and promote it (as a daily run would)."""
    from models.registry import load_champion, record_decision, save_model
    from models.train import new_version

    artifact = load_champion(models_dir)
    artifact.version = new_version(datetime.now(UTC))
    save_model(artifact, models_dir, calibration_png=False)
    record_decision(models_dir, artifact.version, True, "test promotion", {})
    return artifact.version


def _wait_for_version(url: str, version: str) -> None:
    deadline = time.monotonic() + 60
    while httpx.get(f"{url}/healthz").json()["model_version"] != version:
        assert time.monotonic() < deadline, "the new champion was never loaded"
        time.sleep(0.2)


def test_new_champion_is_served_without_restart_and_in_flight_requests_keep_theirs(
    service_world, unsent, tmp_path
):
    import json
    import threading

    from service_helpers import served, service_settings, world_fixtures

    claims, _ = unsent
    world = world_fixtures.copy_world(service_world, tmp_path / "world")
    body = json.dumps({"claim_lines": claims.to_dicts()}).encode()
    release = threading.Event()
    answers: list[httpx.Response] = []

    def slow_body():
        yield body[:100]
        release.wait(timeout=120)
        yield body[100:]

    with served(service_settings(world, reload_check_seconds=0.0)) as url:
        assert httpx.get(f"{url}/healthz").json()["model_version"] == world.champion_version
        in_flight = threading.Thread(
            target=lambda: answers.append(
                httpx.post(
                    f"{url}/v1/score",
                    content=slow_body(),
                    headers={"Content-Type": "application/json"},
                    timeout=120,
                )
            )
        )
        in_flight.start()
        time.sleep(1.0)  # the request is routed and holds its context while its body trickles in
        new = _promote_copy_of_champion(world.settings.models)
        _wait_for_version(url, new)
        release.set()
        in_flight.join(timeout=120)
        assert answers[0].status_code == 200, answers[0].text
        assert answers[0].json()["model_version"] == world.champion_version
        assert httpx.get(f"{url}/v1/model").json()["model_version"] == new
        fresh = httpx.post(
            f"{url}/v1/score", content=body, headers={"Content-Type": "application/json"}
        )
        assert fresh.json()["model_version"] == new


def test_busy_warehouse_at_start_is_retried_until_it_loads(service_world, tmp_path):
    import duckdb
    from service_helpers import served, service_settings, world_fixtures

    world = world_fixtures.copy_world(service_world, tmp_path / "world")
    writer = duckdb.connect(str(world.settings.warehouse))
    try:
        with served(service_settings(world, reload_check_seconds=0.0)) as url:
            health = httpx.get(f"{url}/healthz").json()
            assert health["champion_loaded"] is False
            refused = httpx.post(f"{url}/v1/score", json={"claim_lines": [{}]})
            assert refused.status_code == 503
            assert "busy" in refused.json()["detail"]
            writer.close()
            _wait_for_version(url, world.champion_version)
    finally:
        writer.close()
