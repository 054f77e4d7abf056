"""`denial-risk score`: files, manifest, exit codes, and rejected rows with ingestion's reasons."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
from typer.testing import CliRunner

from models.presubmission import ScoringContext, score_unsent
from pipelines.cli import SCORE_CANNOT_RUN, SCORE_OK, SCORE_SOME_REJECTED, app
from pipelines.presubmission import OUTPUT_COLUMNS


def _score(world, folder: Path, out: Path):
    args = ["score", "--input", str(folder), "--warehouse", str(world.settings.warehouse)]
    return CliRunner().invoke(app, [*args, "--out", str(out)])


def _flat(output: str) -> str:
    """The console output with rich's line wrapping undone."""
    return " ".join(output.split())


def _broken_claims(world) -> pl.DataFrame:
    """Held-out rows plus one row per row rule broken (and two duplicate keys)."""
    claims = pl.read_csv(world.unsent / "claims" / "unsent_claims.csv", infer_schema=False)
    good = claims.row(0, named=True)
    with duckdb.connect(str(world.settings.warehouse), read_only=True) as con:
        loaded_claim = con.sql("SELECT claim_id FROM staged_claim_lines LIMIT 1").fetchall()[0][0]
    broken = [
        {"claim_id": "BAD1", "rendering_npi": "1234567890"},  # check digit
        {"claim_id": "BAD2", "units": "0"},
        {"claim_id": "BAD3", "service_date": "2026-02-30"},
        {"claim_id": "BAD4", "diagnosis_codes": "ZZZ99"},
        {"claim_id": "BAD5", "payer_id": ""},
        {"claim_id": "BAD6", "modifier_1": "Z9"},
        {"claim_id": "BAD7", "charge_amount": "12abc"},
        {"claim_id": good["claim_id"]},  # the same key again in the file
        {"claim_id": loaded_claim, "line_number": "1"},  # a key the warehouse holds
    ]
    rows = [{**good, "line_number": good["line_number"], **change} for change in broken]
    return pl.concat([claims, pl.DataFrame(rows, schema=claims.schema)])


def test_score_writes_results_manifest_last_and_exits_0(presubmission_world, tmp_path):
    out = tmp_path / "out"
    result = _score(presubmission_world, presubmission_world.unsent, out)
    assert result.exit_code == SCORE_OK, result.output
    assert "Scored 6 64520 lines" in _flat(result.output)
    manifest_path = next(out.glob("presubmission_*.manifest.json"))
    manifest = json.loads(manifest_path.read_text())
    scored = pl.read_csv(out / manifest["file"], infer_schema=False)
    assert scored.columns == list(OUTPUT_COLUMNS) == manifest["columns"]
    assert manifest["rows"] == scored.height == 6
    assert manifest["rejected_rows"] == 0
    assert manifest["model_version"] == presubmission_world.champion_version
    loss = scored["expected_loss_usd"].cast(pl.Float64).to_list()
    assert loss == sorted(loss, reverse=True)
    assert set(scored["claim_id"]) == set(presubmission_world.held_out_claims)
    # No patient identifier or note text in the output.
    text = (out / manifest["file"]).read_text()
    for claim in pl.read_csv(
        presubmission_world.unsent / "claims" / "unsent_claims.csv", infer_schema=False
    ).iter_rows(named=True):
        assert claim["patient_id"] not in text
    assert not list(out.glob(".*.tmp"))


def test_cli_scores_match_score_unsent(
    presubmission_world, scoring_context, unsent_frames, tmp_path
):
    out = tmp_path / "out"
    assert _score(presubmission_world, presubmission_world.unsent, out).exit_code == SCORE_OK
    scored = pl.read_csv(next(out.glob("presubmission_*[0-9Z].csv")), infer_schema=False)
    direct = score_unsent(scoring_context, *unsent_frames).lines
    joined = scored.join(
        direct.with_columns(pl.col("line_number").cast(pl.String)),
        on=["claim_id", "line_number"],
        suffix="_direct",
    )
    assert joined.height == direct.height
    gap = (
        joined["denial_probability"].cast(pl.Float64) - joined["denial_probability_direct"]
    ).abs()
    assert gap.max() <= 5e-5  # the export rounds to 4 decimals, as the daily export does
    for column in ("reason_1", "reasons", "edit_codes", "edit_messages"):
        assert (
            joined[column].fill_null("").to_list()
            == joined[f"{column}_direct"].fill_null("").to_list()
        )


def test_rejected_rows_carry_ingestion_reasons_and_exit_1(world_copy, tmp_path):
    folder = tmp_path / "request"
    (folder / "claims").mkdir(parents=True)
    claims = _broken_claims(world_copy)
    claims.write_csv(folder / "claims" / "claims.csv")
    out = tmp_path / "out"
    result = _score(world_copy, folder, out)
    assert result.exit_code == SCORE_SOME_REJECTED, result.output
    rejected = pl.read_csv(next(out.glob("*.rejected.csv")), infer_schema=False)
    assert rejected.height == 9
    assert set(rejected["source_file"]) == {"claims/claims.csv"}

    # The same file through ingestion: the same rows, reasons and columns are quarantined.
    landing_file = world_copy.settings.landing / "claims" / "zz_request.csv"
    shutil.copy(folder / "claims" / "claims.csv", landing_file)
    from pipelines.sources.landing import ingest_claims, prepare_warehouse
    from pipelines.sources.privacy import load_phi_key

    with duckdb.connect(str(world_copy.settings.warehouse)) as con:
        prepare_warehouse(con, load_phi_key(world_copy.settings.phi_key_file))
        ingest_claims(con, world_copy.settings)
        quarantined = con.sql(
            "SELECT source_row, reason, column_name FROM quarantined_rows "
            "WHERE source_file = 'claims/zz_request.csv'"
        ).pl()
    ours = {(int(r["source_row"]), r["reason"], r["field"]) for r in rejected.iter_rows(named=True)}
    theirs = {
        (r["source_row"], r["reason"], r["column_name"]) for r in quarantined.iter_rows(named=True)
    }
    assert ours == theirs
    assert {r[1] for r in ours} >= {"bad_code", "bad_value", "bad_date", "missing_required"}
    assert "duplicate_key" in {r[1] for r in ours}
    # Rejected rows are not scored; the rest are.
    scored = pl.read_csv(next(out.glob("presubmission_*[0-9Z].csv")), infer_schema=False)
    assert not set(scored["claim_id"]) & {f"BAD{i}" for i in range(1, 8)}
    assert scored.height == 6


def test_score_exits_2_without_claims_or_champion(presubmission_world, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _score(presubmission_world, empty, tmp_path / "out")
    assert result.exit_code == SCORE_CANNOT_RUN
    assert "no claim files" in _flat(result.output)

    no_warehouse = CliRunner().invoke(
        app,
        [
            "score",
            "--input",
            str(presubmission_world.unsent),
            "--warehouse",
            str(tmp_path / "missing" / "warehouse.duckdb"),
        ],
    )
    assert no_warehouse.exit_code == SCORE_CANNOT_RUN
    assert "no warehouse" in _flat(no_warehouse.output)

    missing_column = tmp_path / "missing_column"
    (missing_column / "claims").mkdir(parents=True)
    pl.read_csv(
        presubmission_world.unsent / "claims" / "unsent_claims.csv", infer_schema=False
    ).drop("payer_id").write_csv(missing_column / "claims" / "c.csv")
    result = _score(presubmission_world, missing_column, tmp_path / "out2")
    assert result.exit_code == SCORE_CANNOT_RUN
    assert "claims/c.csv: missing required column(s): payer_id" in _flat(result.output)


def test_score_unsent_defaults_submission_date_to_today(scoring_context, unsent_frames):
    from datetime import date

    claims, notes = unsent_frames
    undated = claims.drop("submission_date")
    today = date(2026, 12, 1)
    result = score_unsent(scoring_context, undated, notes, today=today)
    assert result.rejected.height == 0
    assert result.lines.height == 6
    dated = score_unsent(
        scoring_context, claims.with_columns(submission_date=pl.lit("2026-12-01")), notes
    )
    assert (
        result.lines.sort("claim_id")["denial_probability"].to_list()
        == dated.lines.sort("claim_id")["denial_probability"].to_list()
    )


def test_context_loads_read_only_and_describes_the_champion(presubmission_world):
    settings = presubmission_world.settings
    context = ScoringContext.load(settings.warehouse, settings.models)
    described = context.describe()
    assert described["model_version"] == presubmission_world.champion_version
    assert described["reference_tables"]["ncci_ptp"] == "2024Q3"
    assert "payer_code_denial_rate" in described["features"]
    assert not context.champion_changed()
