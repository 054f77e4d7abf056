"""The warehouse history a request is joined with, kept in memory, and the request's features.

Features come from `models.features.table.build_modelling_table` itself, run over the history plus
the request, so a request line gets exactly the values the daily run gives it once loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from data_contracts.input_contract import TARGET_CPT
from models.features.table import (
    CLAIM_LINE_COLUMNS,
    NOTE_COLUMNS,
    build_modelling_table,
    is_adjudicated,
    prepare_outcomes,
)

LINE_KEY = ["claim_id", "line_number"]


@dataclass(frozen=True)
class HistoryState:
    """Staged claim lines, line outcomes and notes of the warehouse at load time."""

    lines: pl.DataFrame
    outcomes: pl.DataFrame
    notes: pl.DataFrame
    claim_keys: pl.DataFrame
    note_ids: pl.DataFrame

    @classmethod
    def build(
        cls, lines: pl.DataFrame, outcomes: pl.DataFrame, notes: pl.DataFrame
    ) -> HistoryState:
        return cls(
            lines=lines,
            outcomes=outcomes,
            notes=notes,
            claim_keys=lines.select(LINE_KEY).with_columns(pl.col("line_number").cast(pl.Int64)),
            note_ids=notes.select("note_id"),
        )

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
        return self.lines.join(
            prepare_outcomes(self.outcomes.lazy()).collect(), on=LINE_KEY
        ).filter(is_adjudicated())

    def same_day(self, request_lines: pl.DataFrame) -> pl.DataFrame:
        """History and request lines of the request's patients on the request's service dates."""
        days = request_lines.select("patient_key", "service_date").unique()
        request = request_lines.select(self.lines.columns).cast(self.lines.schema)
        return pl.concat([self.lines.join(days, on=["patient_key", "service_date"]), request])

    def features(self, request_lines: pl.DataFrame, request_notes: pl.DataFrame) -> pl.DataFrame:
        """Modelling-table rows of the request's 64520 lines, seen as the daily run would."""
        targets = request_lines.filter(pl.col("cpt_code") == TARGET_CPT).select(LINE_KEY)
        if not targets.height:
            return pl.DataFrame()
        lines = pl.concat(
            [self.lines, request_lines.select(CLAIM_LINE_COLUMNS).cast(self.lines.schema)]
        )
        notes = pl.concat([self.notes, request_notes.select(NOTE_COLUMNS).cast(self.notes.schema)])
        table = build_modelling_table(lines.lazy(), self.outcomes.lazy(), notes.lazy())
        return table.join(targets.cast({"line_number": table.schema["line_number"]}), on=LINE_KEY)
