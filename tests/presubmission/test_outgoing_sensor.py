"""The outgoing sensor asks for one run per new claims file; the run scores it beside the exports."""

from __future__ import annotations

import json
import shutil

import dagster as dg
import polars as pl

from pipelines.defs.presubmission.assets import presubmission_scores
from pipelines.defs.presubmission.sensors import outgoing_files_sensor
from pipelines.defs.resources import build_resources


def test_each_new_outgoing_file_is_scored_once_beside_the_exports(world_copy, monkeypatch):
    settings = world_copy.settings
    outgoing = settings.landing.parent / "outgoing"
    monkeypatch.setenv("DENIAL_RISK_LANDING", str(settings.landing))
    monkeypatch.setenv("DENIAL_RISK_WAREHOUSE", str(settings.warehouse))
    monkeypatch.setenv("DENIAL_RISK_EXPORTS", str(settings.exports))
    monkeypatch.delenv("DENIAL_RISK_OUTGOING", raising=False)  # default: beside landing
    monkeypatch.setenv("DENIAL_RISK_LANDING_SETTLE_SECONDS", "0")
    shutil.copytree(world_copy.unsent, outgoing)

    first = outgoing_files_sensor(dg.build_sensor_context(cursor=None))
    assert len(first.run_requests) == 1
    request = first.run_requests[0]
    assert request.run_key.startswith("outgoing:unsent_claims.csv:")
    again = outgoing_files_sensor(dg.build_sensor_context(cursor=first.cursor))
    assert again.run_requests == []

    result = dg.materialize(
        [presubmission_scores], resources=build_resources(settings), run_config=request.run_config
    )
    assert result.success
    metadata = result.asset_materializations_for_node("presubmission_scores")[0].metadata
    assert metadata["lines_scored"].value == 6
    assert metadata["rows_rejected"].value == 0
    manifest_path = next(settings.exports.glob("presubmission_*.manifest.json"))
    manifest = json.loads(manifest_path.read_text())
    scored = pl.read_csv(settings.exports / manifest["file"], infer_schema=False)
    assert set(scored["claim_id"]) == set(world_copy.held_out_claims)
    assert manifest["source"].endswith("outgoing/claims/unsent_claims.csv")

    # A changed file is a new version: scored again, under another run key.
    claims_file = outgoing / "claims" / "unsent_claims.csv"
    claims_file.write_text(claims_file.read_text() + "\n")
    changed = outgoing_files_sensor(dg.build_sensor_context(cursor=first.cursor))
    assert len(changed.run_requests) == 1
    assert changed.run_requests[0].run_key != request.run_key
