"""A SYNTHETIC world with 277CA rejections: resubmitted claims carry the history, dropped ones
leave the scored lines, and the warehouse agrees with the recorded truth."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.defs.features.assets import modelling_table
from pipelines.defs.ingest import assets as ingest
from pipelines.defs.ingest.acknowledgements import claim_acknowledgements
from pipelines.defs.resources import build_resources
from pipelines.settings import ProductSettings
from pipelines.sources.synthetic import generate_world
from pipelines.sources.synthetic.acknowledgements import acknowledgements_truth_path
from pipelines.sources.x12.acknowledgements import read_x12_acknowledgements


def test_generated_rejections_load_and_match_their_truth(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    truth_file = tmp_path / "truth.parquet"
    plain = generate_world(tmp_path / "plain", lines=2_500, seed=5)
    summary = generate_world(landing, lines=2_500, seed=5, truth=truth_file, acknowledgements=0.08)
    # The share draws from its own stream: claims and outcomes are those of the plain world.
    for folder in ("claims", "remits"):
        for path in sorted((tmp_path / "plain" / folder).iterdir()):
            assert (landing / folder / path.name).read_bytes() == path.read_bytes()
    assert summary.claim_lines == plain.claim_lines
    truth = pl.read_parquet(acknowledgements_truth_path(truth_file))
    assert truth.height > 20
    assert set(truth["fate"]) <= {"resubmitted", "dropped"}
    assert (truth["rejection_date"] > truth["first_submission_date"]).all()

    settings = ProductSettings(
        landing=landing, warehouse=tmp_path / "data" / "warehouse.duckdb", exports=tmp_path / "x"
    )
    settings.warehouse.parent.mkdir(parents=True)
    result = dg.materialize(
        [
            ingest.reference_tables,
            ingest.staged_claim_lines,
            ingest.staged_remits,
            ingest.staged_notes,
            claim_acknowledgements,
            ingest.line_outcomes,
            modelling_table,
        ],
        resources=build_resources(settings),
    )
    assert result.success
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        acks = con.sql(
            "SELECT claim_id, status_category, status_code, entity_code, effective_date "
            "FROM claim_acknowledgements WHERE outcome = 'rejected'"
        ).pl()
        statuses = con.sql(
            "SELECT claim_id, list_distinct(list(status)) AS statuses FROM line_outcomes GROUP BY 1"
        ).pl()
        table = con.sql(
            "SELECT claim_id, claim_rejected_front_end_before FROM modelling_table"
        ).pl()
        assert con.execute("SELECT count(*) FROM held_claim_acknowledgements").fetchall() == [(0,)]
    # Every rejection of the truth was read with its codes and date.
    assert (
        acks.sort("claim_id").rows()
        == truth.select(
            "claim_id", "status_category", "status_code", "entity_code", "rejection_date"
        )
        .sort("claim_id")
        .rows()
    )
    fate = dict(truth.select("claim_id", "fate").iter_rows())
    status = dict(statuses.iter_rows())
    for claim_id, claim_fate in fate.items():
        if claim_fate == "dropped":
            assert status[claim_id] == ["rejected_front_end"], claim_id
        else:
            assert "rejected_front_end" not in status[claim_id], claim_id
    # Resubmitted 64520 claims carry their earlier rejection; dropped ones are not in the table.
    flagged = set(table.filter(pl.col("claim_rejected_front_end_before"))["claim_id"])
    resubmitted = {c for c, f in fate.items() if f == "resubmitted"}
    dropped = {c for c, f in fate.items() if f == "dropped"}
    assert flagged == resubmitted & set(table["claim_id"])
    assert not dropped & set(table["claim_id"])


def test_generate_command_writes_acknowledgements_on_request(tmp_path: Path) -> None:
    landing, truth = tmp_path / "l", tmp_path / "truth.parquet"
    result = CliRunner().invoke(
        app,
        [
            "generate",
            *("--out", str(landing), "--lines", "600", "--truth", str(truth)),
            *("--acknowledgements", "0.1"),
        ],
    )
    assert result.exit_code == 0, result.output
    files = sorted((landing / "acknowledgements").glob("acks_*.277"))
    assert files
    assert read_x12_acknowledgements(files[0]).acknowledgements.height > 0
    assert acknowledgements_truth_path(truth).exists()
    refused = CliRunner().invoke(
        app, ["generate", "--out", str(tmp_path / "m"), "--acknowledgements", "1.5"]
    )
    assert refused.exit_code == 2
    assert "--acknowledgements must be a share between 0 and 1" in refused.output
