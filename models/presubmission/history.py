"""The warehouse history a request is joined with, kept in memory, and the request's features.

Features come from the daily run's own steps (`models.features.table.modelling_steps`), so a
request line gets exactly the values the daily run gives it once loaded. At load the history is
run through the steps once and each payer-level step's labelled lines are kept; a request then
runs the steps on its own lines with only its patients' history (claim lines and notes) plus the
kept labelled lines and the adjudicated lines, instead of rebuilding the whole table. The payer-,
provider- and patient-level point-in-time tables depend on history only: they are built once
(`models.features.history_tables.reuse_history_tables`) and reused by every request.

That shortcut is exact while the request cannot change a labelled history line's features: its
lines and notes are dated after every labelled line of the same patients (and encounters). A
backdated request (rare: a claim sent after later ones of the patient were paid) takes the exact
slow path, a rebuild of the table over history plus request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from data_contracts.input_contract import TARGET_CPT
from models.features.documentation import with_note_elements
from models.features.front_end import empty_rejections
from models.features.history_tables import reuse_history_tables
from models.features.table import (
    CLAIM_LINE_COLUMNS,
    NOTE_COLUMNS,
    adjudicated_lines,
    build_modelling_table,
    finish_table,
    is_adjudicated,
    modelling_steps,
    prepare_claim_lines,
    prepare_outcomes,
    run_steps,
    target_lines,
)

LINE_KEY = ["claim_id", "line_number"]


def _slices(frame: pl.DataFrame, key: str) -> dict[Any, tuple[int, int]]:
    """Offset and length of each key's rows in a frame sorted by that key."""
    counts = frame.group_by(key, maintain_order=True).len()
    lengths = counts.get_column("len").to_list()
    offsets = (counts.get_column("len").cum_sum() - counts.get_column("len")).to_list()
    spans = list(zip(offsets, lengths, strict=True))
    return dict(zip(counts.get_column(key).to_list(), spans, strict=True))


def _latest(frame: pl.DataFrame, key: str) -> dict[Any, date]:
    latest = (
        frame.filter(pl.col(key).is_not_null()).group_by(key).agg(pl.col("submission_date").max())
    )
    return dict(zip(latest[key].to_list(), latest["submission_date"].to_list(), strict=True))


@dataclass(frozen=True)
class HistoryState:
    """The warehouse's claim lines, outcomes and notes at load, indexed for requests."""

    lines: pl.DataFrame
    outcomes: pl.DataFrame
    notes: pl.DataFrame
    claim_keys: frozenset[tuple[str, int]]  # (claim_id, line_number) loaded
    note_ids: frozenset[tuple[str]]
    lines_by_patient: pl.DataFrame  # staged claim lines sorted by patient_key
    line_slices: dict[Any, tuple[int, int]]
    notes_by_patient: pl.DataFrame  # notes sorted by patient_key
    note_slices: dict[Any, tuple[int, int]]
    outcome_columns: pl.DataFrame
    adjudicated: pl.DataFrame
    labelled_at: dict[str, pl.DataFrame]
    labelled_latest_by_patient: dict[Any, date]
    labelled_latest_by_encounter: dict[Any, date]
    # The payer-, provider- and patient-level point-in-time tables (history only), built once.
    tables: dict[str, pl.DataFrame]
    # Front-end (277CA) rejections of the warehouse (`front_end.REJECTION_HISTORY_SQL`).
    rejections: pl.DataFrame

    @classmethod
    def build(
        cls,
        lines: pl.DataFrame,
        outcomes: pl.DataFrame,
        notes: pl.DataFrame,
        rejections: pl.DataFrame | None = None,
    ) -> HistoryState:
        """Index the history and run it through the feature steps once, keeping what requests need."""
        rejections = empty_rejections().collect() if rejections is None else rejections
        lines_by_patient = lines.sort("patient_key", maintain_order=True)
        prepared = prepare_claim_lines(lines.lazy()).collect()
        outcome_columns = prepare_outcomes(outcomes.lazy()).collect()
        adjudicated = adjudicated_lines(prepared.lazy(), outcome_columns.lazy())
        notes_by_patient = notes.sort("patient_key", maintain_order=True)
        labelled_at: dict[str, pl.DataFrame] = {}
        steps = modelling_steps(
            prepared.lazy(),
            adjudicated.lazy(),
            notes_by_patient.lazy(),
            rejections=rejections.lazy(),
        )
        run_steps(
            target_lines(prepared.lazy(), outcome_columns.lazy()),
            steps,
            on_labelled=labelled_at.__setitem__,
        )
        labelled = (
            prepared.filter(pl.col("cpt_code") == TARGET_CPT)
            .join(outcome_columns.select(*LINE_KEY, "status"), on=LINE_KEY)
            .filter(pl.col("status") != "pending")
        )
        state = cls(
            lines=lines,
            outcomes=outcomes,
            notes=notes,
            # Sets: a request's keys are probed in microseconds, not by a join over every line.
            claim_keys=frozenset(lines.select(LINE_KEY).iter_rows()),
            note_ids=frozenset(notes.select("note_id").iter_rows()),
            lines_by_patient=lines_by_patient,
            line_slices=_slices(lines_by_patient, "patient_key"),
            notes_by_patient=notes_by_patient,
            note_slices=_slices(notes_by_patient, "patient_key"),
            outcome_columns=outcome_columns,
            adjudicated=adjudicated,
            labelled_at=labelled_at,
            labelled_latest_by_patient=_latest(labelled, "patient_key"),
            labelled_latest_by_encounter=_latest(labelled, "encounter_id"),
            tables={},
            rejections=rejections,
        )
        # Warm the tables with a request of no lines: they depend on history only.
        state.run_request_steps(prepared.head(0), notes.head(0))
        return state

    def summary(self) -> dict[str, Any]:
        """Sizes and the newest submission date of the history (no identifiers)."""
        newest = self.lines.get_column("submission_date").max() if self.lines.height else None
        return {
            "claim_lines": self.lines.height,
            "notes": self.notes.height,
            "newest_submission_date": str(newest) if newest is not None else None,
        }

    def payer_rule_frame(self) -> pl.DataFrame:
        """Adjudicated claim lines with their outcomes (what payer rules learn from)."""
        return self.lines.join(self.outcome_columns, on=LINE_KEY).filter(is_adjudicated())

    def patient_lines(self, patients: list) -> pl.DataFrame:
        """The staged history lines of these patients."""
        parts = [
            self.lines_by_patient.slice(*self.line_slices[k])
            for k in dict.fromkeys(patients)
            if k in self.line_slices
        ]
        return pl.concat(parts) if parts else self.lines.head(0)

    def patient_notes(self, patients: list) -> pl.DataFrame:
        """The history notes of these patients."""
        parts = [
            self.notes_by_patient.slice(*self.note_slices[k])
            for k in dict.fromkeys(patients)
            if k in self.note_slices
        ]
        return pl.concat(parts) if parts else self.notes.head(0)

    def same_day(self, request_lines: pl.DataFrame) -> pl.DataFrame:
        """History and request lines of the request's patients on the request's service dates."""
        days = request_lines.select("patient_key", "service_date").unique()
        request = request_lines.select(self.lines.columns).cast(self.lines.schema)
        history = self.patient_lines(days.get_column("patient_key").to_list())
        return pl.concat([history.join(days, on=["patient_key", "service_date"]), request])

    def request_is_after_history(
        self, request_lines: pl.DataFrame, request_notes: pl.DataFrame
    ) -> bool:
        """True when no request line or note is dated at or before a labelled line it could touch."""
        by_patient, by_encounter = (
            self.labelled_latest_by_patient,
            self.labelled_latest_by_encounter,
        )
        for patient, submitted in request_lines.select(
            "patient_key", "submission_date"
        ).iter_rows():
            latest = by_patient.get(patient)
            if latest is not None and submitted <= latest:
                return False
        for patient, encounter, dated in request_notes.select(
            "patient_key", "encounter_id", "note_date"
        ).iter_rows():
            for latest in (by_patient.get(patient), by_encounter.get(encounter)):
                if latest is not None and dated <= latest:
                    return False
        return True

    def note_elements(self, request_notes: pl.DataFrame) -> pl.DataFrame:
        """The request's notes as the load stores them: their elements, not their text."""
        return (
            with_note_elements(request_notes.lazy())
            .collect()
            .select(NOTE_COLUMNS)
            .cast(self.notes.schema)
        )

    def features(self, request_lines: pl.DataFrame, request_notes: pl.DataFrame) -> pl.DataFrame:
        """Modelling-table rows of the request's 64520 lines, seen as the daily run would."""
        targets = request_lines.filter(pl.col("cpt_code") == TARGET_CPT).select(LINE_KEY)
        if not targets.height:
            return pl.DataFrame()
        request = request_lines.select(CLAIM_LINE_COLUMNS).cast(self.lines.schema)
        notes = self.note_elements(request_notes)
        if not self.request_is_after_history(request, notes):
            return self.rebuilt_features(request, notes)
        patients = request.get_column("patient_key").to_list()
        encounters = set(request.get_column("encounter_id").drop_nulls().to_list())
        history_lines = prepare_claim_lines(self.patient_lines(patients).lazy()).collect()
        history_notes = self.patient_notes(patients)
        if encounters:
            # Notes link by encounter regardless of patient: an encounter's notes filed under
            # another patient key still count, as they would in the daily run.
            others = self.notes.filter(
                pl.col("encounter_id").is_in(list(encounters))
                & ~pl.col("patient_key").is_in(patients)
            )
            history_notes = pl.concat([history_notes, others])
        request_prepared = prepare_claim_lines(request.lazy()).collect()
        all_lines = pl.concat([history_lines, request_prepared])
        return finish_table(
            self.run_request_steps(
                request_prepared, pl.concat([history_notes, notes]), all_lines=all_lines
            )
        )

    def run_request_steps(
        self,
        request_prepared: pl.DataFrame,
        notes: pl.DataFrame,
        all_lines: pl.DataFrame | None = None,
    ) -> pl.LazyFrame:
        """The daily run's steps on the request's lines with the kept history and tables."""
        lines = request_prepared if all_lines is None else all_lines
        steps = modelling_steps(
            lines.lazy(), self.adjudicated.lazy(), notes.lazy(), rejections=self.rejections.lazy()
        )
        target = target_lines(request_prepared.lazy(), self.outcome_columns.head(0).lazy())
        labelled = {name: frame.lazy() for name, frame in self.labelled_at.items()}
        with reuse_history_tables(self.tables):
            return run_steps(target, steps, labelled_at=labelled)

    def rebuilt_features(self, request: pl.DataFrame, notes: pl.DataFrame) -> pl.DataFrame:
        """The exact slow path: the whole modelling table over history plus request."""
        targets = request.filter(pl.col("cpt_code") == TARGET_CPT).select(LINE_KEY)
        notes = self.note_elements(notes)
        lines = pl.concat([self.lines, request])
        table = build_modelling_table(
            lines.lazy(),
            self.outcomes.lazy(),
            pl.concat([self.notes, notes]).lazy(),
            rejections=self.rejections.lazy(),
        )
        return table.join(targets.cast({"line_number": table.schema["line_number"]}), on=LINE_KEY)
