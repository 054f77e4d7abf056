"""Everything a pre-submission check needs, loaded once from the warehouse and the registry.

The warehouse is opened read-only only inside `ScoringContext.load`; requests then work on the
in-memory history, so a running pipeline is never blocked by a scoring service and never blocks it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from data_contracts.codes import reference_releases
from data_contracts.payer_rules import HISTORY_COLUMNS, PayerRules
from data_contracts.payer_rules import payer_rules_file as payer_rules_setting
from data_contracts.privacy import read_phi_key
from models.features.documentation import NOTE_ELEMENTS_VERSION
from models.features.front_end import rejection_history
from models.features.table import CLAIM_LINE_COLUMNS, NOTE_COLUMNS, OUTCOME_COLUMNS
from models.policy_flags import active_alerts
from models.presubmission.history import HistoryState
from models.presubmission.validate import RULE_REFERENCE_TABLES, prepare_rule_database
from models.registry import champion_version, load_model
from models.train import ModelArtifact

PHI_KEY_FILE = ".phi_key"


class NoChampionError(ValueError):
    """No warehouse, no champion model, or no patient key: nothing can be scored yet."""


def _columns(names: tuple[str, ...]) -> str:
    return ", ".join(f'"{n}"' for n in names)


@dataclass
class ScoringContext:
    """The champion, the warehouse history state and the row-rule database, read-only."""

    model_version: str
    champion: ModelArtifact
    models_dir: Path
    warehouse: Path
    history: HistoryState
    rules_db: duckdb.DuckDBPyConnection
    payer_rules: PayerRules
    # Active policy-drift alerts at load: their payers' lines carry `policy_change`.
    policy_alerts: pl.DataFrame
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(
        cls, warehouse: Path, models_dir: Path, payer_rules_file: Path | None = None
    ) -> ScoringContext:
        """Read the champion and the warehouse history once; the warehouse is closed after."""
        warehouse, models_dir = Path(warehouse), Path(models_dir)
        if not warehouse.is_file():
            raise NoChampionError(
                f"no warehouse at {warehouse}: run the pipeline first (`denial-risk run`)"
            )
        version = champion_version(models_dir)
        if version is None:
            raise NoChampionError(
                f"no champion model in {models_dir}: run the pipeline first (`denial-risk run`)"
            )
        champion = load_model(models_dir, version)
        key = read_phi_key(warehouse.parent / PHI_KEY_FILE)
        if key is None:
            raise NoChampionError(
                f"no patient-key file beside {warehouse} (and DENIAL_RISK_PHI_KEY unset): "
                "patients could not be matched with their history"
            )
        with duckdb.connect(str(warehouse), read_only=True) as con:
            tables = {
                r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
            }
            needed = {"staged_claim_lines", "line_outcomes", "staged_notes", *RULE_REFERENCE_TABLES}
            if not needed <= tables:
                raise NoChampionError(
                    f"warehouse {warehouse} lacks {sorted(needed - tables)}: run the pipeline first"
                )
            note_columns = {
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE table_name = 'staged_notes'"
                ).fetchall()
            }
            outdated = (
                con.execute(
                    "SELECT count(*) FROM staged_notes WHERE elements_version IS DISTINCT FROM ?",
                    [NOTE_ELEMENTS_VERSION],
                ).fetchall()[0][0]
                if "elements_version" in note_columns
                else None
            )
            if outdated is None or outdated:
                raise NoChampionError(
                    f"the notes in {warehouse} lack documentation elements of version "
                    f"{NOTE_ELEMENTS_VERSION}: run the pipeline first (`denial-risk run`)"
                )
            lines = con.sql(f"SELECT {_columns(CLAIM_LINE_COLUMNS)} FROM staged_claim_lines").pl()
            outcomes = con.sql(f"SELECT {_columns(OUTCOME_COLUMNS)} FROM line_outcomes").pl()
            notes = con.sql(f"SELECT {_columns(NOTE_COLUMNS)} FROM staged_notes").pl()
            rejections = rejection_history(con)
            reference = {
                name: con.sql(f"SELECT * FROM {name}").pl() for name in RULE_REFERENCE_TABLES
            }
            # Payer rules learn from the daily run's modelling table (the edits' one home).
            modelling = (
                con.sql(f"SELECT {_columns(HISTORY_COLUMNS)} FROM modelling_table").pl()
                if "modelling_table" in tables
                else None
            )
            policy_alerts = active_alerts(con)
        rules_db = duckdb.connect(":memory:")
        prepare_rule_database(rules_db, reference, key)
        history = HistoryState.build(lines, outcomes, notes, rejections)
        payer_rules = (
            PayerRules.from_history(modelling) if modelling is not None else PayerRules.empty()
        )
        overrides = payer_rules_file or payer_rules_setting()
        if overrides is not None:
            payer_rules = payer_rules.with_overrides(overrides)
        return cls(
            model_version=version,
            champion=champion,
            models_dir=models_dir,
            warehouse=warehouse,
            history=history,
            rules_db=rules_db,
            payer_rules=payer_rules,
            policy_alerts=policy_alerts,
        )

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own to the in-memory rule database (one per request or thread)."""
        with self._lock:
            return self.rules_db.cursor()

    def champion_changed(self) -> bool:
        """True when the registry names another champion than the one loaded."""
        return champion_version(self.models_dir) != self.model_version

    def describe(self) -> dict[str, Any]:
        """Champion version, training window, metrics, reference releases and feature names."""
        artifact = self.champion
        return {
            "model_version": self.model_version,
            "trained_at": artifact.trained_at,
            "training_window": artifact.data_window,
            "metrics": artifact.metrics,
            "operating_point": artifact.operating_point,
            "reference_tables": reference_releases(),
            "features": artifact.feature_names,
            "history": self.history.summary(),
        }
