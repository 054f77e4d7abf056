"""One small SYNTHETIC world with a trained champion, shared by the pre-submission tests.

Built once per session: a generated landing folder minus a few pending claims (held out as
"unsent" files, with their notes), loaded and featured by the real Dagster assets, and a real
LightGBM champion registered. Tests that change the warehouse copy it first (`world_copy`).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from pipelines.defs.resources import build_resources
from pipelines.settings import ProductSettings

WORLD_LINES = 3_000
WORLD_SEED = 16
HELD_OUT_CLAIMS = 6


@dataclass(frozen=True)
class PresubmissionWorld:
    """A loaded world: its settings, the unsent folder (claims/ and notes/) and its claims."""

    settings: ProductSettings
    unsent: Path
    held_out_claims: tuple[str, ...]
    champion_version: str


def _read_all(folder: Path) -> dict[Path, pl.DataFrame]:
    return {p: pl.read_csv(p, infer_schema=False) for p in sorted(folder.glob("*.csv"))}


def _pick_held_out(landing: Path, truth: pl.DataFrame, count: int) -> list[str]:
    """Pending 64520 claims of the newest months, including two of one patient when possible."""
    pending = truth.filter(pl.col("is_pending")).get_column("claim_id").unique()
    claims = pl.concat(_read_all(landing / "claims").values())
    remitted = pl.concat(_read_all(landing / "remits").values()).get_column("claim_id").unique()
    candidates = (
        claims.filter(
            pl.col("claim_id").is_in(pending.implode())
            & ~pl.col("claim_id").is_in(remitted.implode())
        )
        .group_by("claim_id")
        .agg(pl.col("patient_id").first(), pl.col("submission_date").max())
        .sort("submission_date", "claim_id", descending=[True, False])
    )
    twice = candidates.filter(pl.col("patient_id").is_duplicated()).head(2)
    rest = candidates.filter(~pl.col("claim_id").is_in(twice["claim_id"].implode()))
    picked = pl.concat([twice, rest]).head(count)
    return sorted(picked.get_column("claim_id").to_list())


def _hold_out(landing: Path, unsent: Path, claim_ids: list[str]) -> None:
    """Move the claims' rows (and their encounters' notes) from landing files to unsent files."""
    claim_rows = []
    encounters: set[str] = set()
    for path, frame in _read_all(landing / "claims").items():
        mine = frame.filter(pl.col("claim_id").is_in(claim_ids))
        if mine.height:
            claim_rows.append(mine)
            encounters |= set(mine.get_column("encounter_id").drop_nulls().to_list())
            frame.filter(~pl.col("claim_id").is_in(claim_ids)).write_csv(path)
    note_rows = []
    for path, frame in _read_all(landing / "notes").items():
        mine = frame.filter(pl.col("encounter_id").is_in(list(encounters)))
        if mine.height:
            note_rows.append(mine)
            frame.filter(~pl.col("encounter_id").is_in(list(encounters))).write_csv(path)
    (unsent / "claims").mkdir(parents=True)
    (unsent / "notes").mkdir(parents=True)
    pl.concat(claim_rows).write_csv(unsent / "claims" / "unsent_claims.csv")
    if note_rows:
        pl.concat(note_rows).write_csv(unsent / "notes" / "unsent_notes.csv")


def build_world(root: Path, lines: int = WORLD_LINES, seed: int = WORLD_SEED) -> PresubmissionWorld:
    """Generate, hold out, load, feature and train: the state right after a first daily run."""
    from models.registry import champion_version
    from pipelines.defs.features.assets import modelling_table
    from pipelines.defs.ingest import assets as ingest
    from pipelines.defs.model.assets import denial_model
    from pipelines.sources.synthetic import generate_world

    landing = root / "landing"
    truth_path = root / "truth.parquet"
    generate_world(landing, lines=lines, seed=seed, truth=truth_path, fmt="csv")
    unsent = root / "unsent"
    held_out = hold_out_claims(landing, unsent, pl.read_parquet(truth_path))
    settings = ProductSettings(
        landing=landing, warehouse=root / "data" / "warehouse.duckdb", exports=root / "exports"
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
        ],
        resources=build_resources(settings),
    )
    assert result.success
    version = champion_version(settings.models)
    assert version is not None
    return PresubmissionWorld(settings, unsent, tuple(held_out), version)


def hold_out_claims(
    landing: Path, unsent: Path, truth: pl.DataFrame, count: int = HELD_OUT_CLAIMS
) -> list[str]:
    """Pick pending claims of the newest months and move them out of landing into `unsent`."""
    claim_ids = _pick_held_out(landing, truth, count)
    _hold_out(landing, unsent, claim_ids)
    return claim_ids


def copy_world(world: PresubmissionWorld, root: Path) -> PresubmissionWorld:
    """A private copy (landing, warehouse, models, key) a test may change freely."""
    src = world.settings
    settings = ProductSettings(
        landing=root / "landing",
        warehouse=root / "data" / "warehouse.duckdb",
        exports=root / "exports",
    )
    shutil.copytree(src.landing, settings.landing)
    shutil.copytree(src.data_root, settings.data_root)
    shutil.copytree(world.unsent, root / "unsent")
    return PresubmissionWorld(
        settings, root / "unsent", world.held_out_claims, world.champion_version
    )


@pytest.fixture(scope="session")
def presubmission_world(tmp_path_factory: pytest.TempPathFactory) -> PresubmissionWorld:
    """The shared world; read-only for tests (use `world_copy` to change it)."""
    return build_world(tmp_path_factory.mktemp("presubmission_world"))


@pytest.fixture
def world_copy(presubmission_world: PresubmissionWorld, tmp_path: Path) -> PresubmissionWorld:
    return copy_world(presubmission_world, tmp_path / "world")


@pytest.fixture(scope="session")
def scoring_context(presubmission_world: PresubmissionWorld):
    """The ScoringContext over the shared world (loaded once)."""
    from models.presubmission import ScoringContext

    settings = presubmission_world.settings
    return ScoringContext.load(settings.warehouse, settings.models)


@pytest.fixture(scope="session")
def unsent_frames(presubmission_world: PresubmissionWorld) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The held-out claims and notes as the strings a CSV gives."""
    unsent = presubmission_world.unsent
    claims = pl.read_csv(unsent / "claims" / "unsent_claims.csv", infer_schema=False)
    notes_file = unsent / "notes" / "unsent_notes.csv"
    notes = (
        pl.read_csv(notes_file, infer_schema=False)
        if notes_file.exists()
        else pl.DataFrame(schema={"note_id": pl.String})
    )
    return claims, notes
