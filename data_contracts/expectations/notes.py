"""Suite for `staged_notes`: keys, note types, and notes that point at known encounters."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from data_contracts.expectations import (
    TOTAL_SEGMENT,
    BatchSource,
    ContractSuite,
    row_count_change_sql,
    thresholds_from_env,
)
from data_contracts.expectations.staged_claims import PATIENT_KEY_REGEX
from data_contracts.input_contract import NOTE_TYPES

if TYPE_CHECKING:
    import great_expectations as gx

SUITE = "staged_notes"
TABLE = "staged_notes"
CLAIMS_TABLE = "staged_claim_lines"


@dataclass(frozen=True)
class NoteThresholds:
    """Bounds of a healthy notes batch (env `DENIAL_RISK_CONTRACT_<FIELD>` overrides)."""

    # Notes carrying an encounter id that no claim line has. Generated clean data shows 5-7%
    # (mostly procedure notes of visits billed in a later claims file); above 15% the encounter
    # ids of the two feeds disagree.
    max_unmatched_encounter_share: float = 0.15
    min_row_count_ratio: float = 0.9
    max_row_count_ratio: float = 10.0


def _rows_sql() -> str:
    return f"SELECT note_id, patient_key, encounter_id, note_date, note_type FROM {TABLE}"


def _summary_sql() -> str:
    return f"""
        WITH encounters AS (
            SELECT DISTINCT encounter_id FROM {CLAIMS_TABLE} WHERE encounter_id IS NOT NULL
        ),
        s AS (
            SELECT count(*) AS row_count,
                   count(*) - count(DISTINCT n.note_id) AS duplicate_note_ids,
                   count(n.encounter_id) AS notes_with_encounter,
                   count(*) FILTER (WHERE n.encounter_id IS NOT NULL AND e.encounter_id IS NULL)
                       AS unmatched_encounters
            FROM {TABLE} n LEFT JOIN encounters e USING (encounter_id)
        ),
        change AS ({row_count_change_sql(SUITE, f"SELECT count(*) AS row_count FROM {TABLE}")})
        SELECT s.row_count, s.duplicate_note_ids, s.notes_with_encounter,
               s.unmatched_encounters / nullif(s.notes_with_encounter, 0)
                   AS unmatched_encounter_share,
               change.previous_row_count, change.row_count_ratio
        FROM s, change
    """


def build_suite(t: NoteThresholds) -> gx.ExpectationSuite:
    """The notes batch contract."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    rows = {"source": "rows"}
    summary = {"source": "summary"}
    return gx.ExpectationSuite(
        name=SUITE,
        expectations=[
            *(
                gxe.ExpectColumnValuesToNotBeNull(column=c, meta=rows)
                # The text is cleared once its elements are stored (docs/security.md "Note text").
                for c in ("note_id", "patient_key", "note_date", "note_type")
            ),
            gxe.ExpectColumnValuesToMatchRegex(
                column="patient_key", regex=PATIENT_KEY_REGEX, meta=rows
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="note_type", value_set=list(NOTE_TYPES), meta=rows
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="duplicate_note_ids", min_value=0, max_value=0, meta=summary
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="unmatched_encounter_share",
                min_value=0,
                max_value=t.max_unmatched_encounter_share,
                meta=summary,
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="row_count_ratio",
                min_value=t.min_row_count_ratio,
                max_value=t.max_row_count_ratio,
                meta=summary,
            ),
        ],
    )


def contract(thresholds: NoteThresholds | None = None) -> ContractSuite:
    """The blocking notes contract (checked after claim lines are staged)."""
    t = thresholds or thresholds_from_env(NoteThresholds())
    return ContractSuite(
        name=SUITE,
        table=TABLE,
        severity="error",
        sources={
            "rows": BatchSource(_rows_sql(), "rows"),
            "summary": BatchSource(_summary_sql(), "summary"),
        },
        build_suite=partial(build_suite, t),
        history_sql=f"SELECT '{TOTAL_SEGMENT}' AS segment, count(*) AS row_count FROM {TABLE}",
        thresholds=t,
    )
