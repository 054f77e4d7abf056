"""Export contract v2 on a real run: a small generated world through Dagster to the export files."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from data_contracts.export_schema import (
    COLUMN_NAMES,
    MANIFEST_SCHEMA_FILE,
    ROW_SCHEMA_FILE,
    committed_schema,
)
from models.reasons import NO_ACTION, NO_SPECIFIC_FACTOR, REASONS, line_reasons, reason_columns
from models.registry import load_champion
from models.scoring import days_to_filing_limit_expr
from pipelines.defs.resources import build_resources
from pipelines.settings import ProductSettings

WORLD_LINES = 4_000


@pytest.fixture(scope="module")
def exported_run(tmp_path_factory) -> tuple[ProductSettings, list[Path]]:
    """Ingest, features, model, scores and export of a 4,000-line world; the export files."""
    from pipelines.defs.features.assets import modelling_table
    from pipelines.defs.ingest import assets as ingest
    from pipelines.defs.model.assets import denial_model, risk_score_export, risk_scores
    from pipelines.sources.synthetic import generate_world

    root = tmp_path_factory.mktemp("export_run")
    generate_world(root / "landing", lines=WORLD_LINES, seed=5, fmt="csv")
    settings = ProductSettings(
        landing=root / "landing",
        warehouse=root / "wh" / "warehouse.duckdb",
        exports=root / "exports",
    )
    settings.warehouse.parent.mkdir(parents=True)
    result = dg.materialize(
        [
            ingest.reference_tables,
            ingest.staged_claim_lines,
            ingest.staged_remits,
            ingest.staged_notes,
            ingest.line_outcomes,
            modelling_table,
            denial_model,
            risk_scores,
            risk_score_export,
        ],
        resources=build_resources(settings),
    )
    assert result.success
    return settings, sorted(settings.exports.glob("risk_scores_*.csv"))


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _manifest(path: Path) -> dict:
    return json.loads(path.with_suffix(".manifest.json").read_text(encoding="utf-8"))


def test_every_export_of_the_run_validates_against_the_json_schemas(exported_run):
    _, exports = exported_run
    assert exports, "the run wrote no export"
    rows_schema = Draft202012Validator(
        committed_schema(ROW_SCHEMA_FILE), format_checker=FormatChecker()
    )
    manifest_schema = Draft202012Validator(
        committed_schema(MANIFEST_SCHEMA_FILE), format_checker=FormatChecker()
    )
    for path in exports:
        raw = path.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
        assert raw.decode("utf-8").splitlines()[0] == ",".join(COLUMN_NAMES)
        manifest = _manifest(path)
        assert list(manifest_schema.iter_errors(manifest)) == []
        rows = _rows(path)
        assert manifest["rows"] == len(rows) > 0 and manifest["file"] == path.name
        assert manifest["sha256"] == hashlib.sha256(raw).hexdigest()
        for number, row in enumerate(rows, start=2):
            errors = [e.message for e in rows_schema.iter_errors(row)]
            assert errors == [], f"{path.name} line {number}: {errors}"


def test_new_columns_are_present_and_well_formed(exported_run):
    settings, exports = exported_run
    rows = _rows(exports[-1])
    assert all(list(r) == list(COLUMN_NAMES) for r in rows[:1])
    # Money has two decimals, reasons are never empty, every reason has its own action.
    for row in rows:
        for money in ("charge_amount", "expected_loss_usd"):
            whole, cents = row[money].split(".")
            assert whole.isdigit() and len(cents) == 2, row[money]
        assert row["reasons"] and row["reason_1"] and row["action_1"]
        for i in (1, 2, 3):
            assert bool(row[f"reason_{i}"]) == bool(row[f"action_{i}"])
        assert row["low_data"] in {"true", "false"}
        assert "policy_change" in row  # empty without policy-drift alerts, never missing
    # The generated claims carry payer names; the export has them for every line.
    assert all(row["payer_name"] for row in rows)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        names = dict(
            con.execute(
                "SELECT claim_id || '/' || line_number, payer_name FROM staged_claim_lines"
            ).fetchall()
        )
        limits = con.sql(
            "SELECT claim_id, line_number, service_date, payer_filing_limit_days "
            "FROM modelling_table"
        ).pl()
    assert all(names[f"{r['claim_id']}/{r['line_number']}"] == r["payer_name"] for r in rows)
    # days_to_filing_limit: the payer's limit minus the days from service to the scoring day.
    exported = pl.DataFrame(rows).select(
        "claim_id",
        pl.col("line_number").cast(pl.Int32),
        pl.col("days_to_filing_limit").replace("", None).cast(pl.Int64),
        pl.col("scored_at").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC"),
    )
    joined = exported.join(limits, on=["claim_id", "line_number"], how="left")
    expected = joined.select(
        (
            pl.col("payer_filing_limit_days")
            - (pl.col("scored_at").dt.date() - pl.col("service_date")).dt.total_days()
        ).alias("days")
    )["days"]
    assert joined["days_to_filing_limit"].to_list() == expected.to_list()
    assert joined["days_to_filing_limit"].null_count() < joined.height


def test_manifest_lists_bands_reasons_model_and_references(exported_run):
    settings, exports = exported_run
    manifest = _manifest(exports[-1])
    champion = load_champion(settings.models)
    assert manifest["schema_version"] == "2.0"
    assert manifest["model_version"] == champion.version
    assert manifest["model_kind"] == champion.model_kind
    bands = manifest["risk_bands"]
    assert bands["chosen_by"] == "expected_loss_usd" and "overlap in probability" in bands["rule"]
    assert bands["hold_threshold_usd"] == champion.operating_point["hold_threshold_usd"]
    assert bands["medium_threshold_usd"] == champion.operating_point["medium_threshold_usd"]
    assert [b["band"] for b in bands["bands"]] == ["high", "medium", "low"]
    dictionary = {r["code"]: r for r in manifest["reasons"]}
    assert set(dictionary) == {r.code for r in REASONS.values()} | {NO_SPECIFIC_FACTOR.code}
    assert manifest["reference_tables"]["ncci_ptp"] == "2024Q3"
    assert manifest["reference_tables"]["ncci_mue"] == "2024Q3"
    rows = _rows(exports[-1])
    hold, medium = bands["hold_threshold_usd"], bands["medium_threshold_usd"]
    for row in rows:
        for i in (1, 2, 3):
            assert not row[f"reason_{i}"] or row[f"reason_{i}"] in dictionary
        loss = float(row["expected_loss_usd"])
        if min(abs(loss - hold), abs(loss - medium)) > 0.01:  # away from rounding at a threshold
            band = "high" if loss >= hold else "medium" if loss >= medium else "low"
            assert row["risk_band"] == band
        # Generic codes keep the dictionary's fix; bilateral and authorization ones name the line's case.
        if row["reason_1"] not in {"BIL01", "AUTH01"}:
            assert row["action_1"] == dictionary[row["reason_1"]]["action"]


def test_a_line_without_a_risk_raising_factor_gets_the_explicit_code():
    groups = pl.DataFrame(
        {
            "reason_group_1": [None, "DOCUMENTATION"],
            "reason_group_2": [None, None],
            "reason_group_3": [None, None],
        },
        schema={f"reason_group_{i}": pl.String for i in (1, 2, 3)},
    )
    columns = reason_columns(pl.DataFrame({"units": [1.0, 1.0]}), groups)
    first, second = columns.to_dicts()
    assert first["reason_1"] == "NONE01" and first["reasons"] == NO_SPECIFIC_FACTOR.sentence
    assert first["action_1"] == first["recommended_action"] == NO_ACTION
    assert first["reason_2"] is None and first["action_2"] is None
    assert second["reason_1"] == "DOC01" and second["action_1"] == REASONS["DOCUMENTATION"].fix
    assert line_reasons((None, None, None)) == [
        (NO_SPECIFIC_FACTOR.code, NO_SPECIFIC_FACTOR.sentence, NO_ACTION)
    ]


def test_days_to_filing_limit_counts_from_service_to_the_scoring_day():
    frame = pl.DataFrame(
        {
            "service_date": [datetime(2026, 1, 1).date()] * 3,
            "payer_filing_limit_days": [90, 10, None],
            "scored_at": [datetime(2026, 1, 31, 23, 59)] * 3,
        }
    ).with_columns(pl.col("scored_at").dt.replace_time_zone("UTC"))
    days = frame.select(days_to_filing_limit_expr())["days_to_filing_limit"].to_list()
    assert days == [60, -20, None]


def test_the_work_queue_reuses_the_exported_columns(exported_run, tmp_path):
    from dashboards.figures.work_queue import rank_queue
    from dashboards.snapshot import publish_snapshot

    settings, exports = exported_run
    snapshot = publish_snapshot(settings.warehouse, tmp_path / "snapshot.duckdb")
    with duckdb.connect(str(snapshot), read_only=True) as con:
        queue = con.sql("SELECT * FROM work_queue").pl()
    # One days_to_filing_limit and one payer_name (no duplicate from the join with denial_lines).
    assert queue.columns.count("days_to_filing_limit") == 1
    assert queue.columns.count("payer_name") == 1
    ranked = rank_queue(queue)
    exported = pl.DataFrame(_rows(exports[-1])).select(
        "claim_id",
        pl.col("line_number").cast(pl.Int64),
        pl.col("days_to_filing_limit").replace("", None).cast(pl.Int64).alias("days_export"),
        pl.col("action_2").replace("", None).alias("action_2_export"),
        pl.col("payer_name").alias("payer_name_export"),
    )
    both = ranked.with_columns(pl.col("line_number").cast(pl.Int64)).join(
        exported, on=["claim_id", "line_number"]
    )
    assert both.height == ranked.height == len(_rows(exports[-1]))
    assert both["days_to_filing_limit"].to_list() == both["days_export"].to_list()
    assert both["action_2"].to_list() == both["action_2_export"].to_list()
    assert both["payer_name"].to_list() == both["payer_name_export"].to_list()
