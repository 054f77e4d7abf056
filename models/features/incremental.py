"""Which modelling-table rows a day's changes touch, and those rows built alone (issue 19).

Every feature is point in time: a line reads only what was known before its submission date
(claim lines once submitted, outcomes once adjudicated at `known_at`, notes once dated), plus its
own patient's same-day lines. So a changed input can only move the features of

1. lines of the same patient submitted on or after a changed claim line's submission date
   (sessions, authorization uses, first claim with the payer) or serviced on its service day or
   the `LATE_NOTE_DAYS` before it (same-day context, which procedure note a late note documents);
   lines of a changed note's patient or encounter submitted on or after its date (linked notes,
   prior relief);
2. every 64520 line submitted on or after the earliest `known_at` of a changed outcome, or of a
   labelled line in set 1: payer, provider and patient rates learn from adjudicated lines, and
   their smoothing prior is the rate over all lines, so no key narrows this set.

Lines in set 2 submitted on or after that date are adjudicated no earlier than their submission,
so the two sets are closed: recomputing them changes nothing else. `docs/architecture.md` states
the same rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

import polars as pl

from data_contracts.input_contract import TARGET_CPT
from models.features.documentation import LATE_NOTE_DAYS
from models.features.table import (
    CLAIM_LINE_COLUMNS,
    LABELLED_STEPS,
    NOTE_COLUMNS,
    OUTCOME_COLUMNS,
    adjudicated_lines,
    finish_table,
    is_adjudicated,
    known_at,
    modelling_steps,
    prepare_claim_lines,
    prepare_outcomes,
    run_steps,
    target_lines,
)

LINE_KEY = ["claim_id", "line_number"]
# The labelled lines as the last payer-level step reads them: what an incremental build learns
# from for the lines it does not rebuild.
LAST_LABELLED_STEP = LABELLED_STEPS[-1]
_LINE_FIELDS = ["patient_key", "encounter_id", "service_date", "submission_date", "cpt_code"]


def line_inputs(claim_lines: pl.DataFrame, outcomes: pl.DataFrame) -> pl.DataFrame:
    """One row per staged claim line: what the features read from it and its outcome, hashed."""
    outcome_hash = (
        outcomes.select(
            *LINE_KEY,
            pl.struct([c for c in OUTCOME_COLUMNS if c not in LINE_KEY]).hash().alias("_oh"),
            "status",
            "adjudication_date",
        )
        if outcomes.height
        else pl.DataFrame(
            schema={
                "claim_id": pl.String,
                "line_number": outcomes.schema.get("line_number", pl.Int32),
                "_oh": pl.UInt64,
                "status": pl.String,
                "adjudication_date": pl.Date,
            }
        )
    )
    lines = claim_lines.select(
        *LINE_KEY,
        *_LINE_FIELDS,
        pl.struct([c for c in CLAIM_LINE_COLUMNS if c not in LINE_KEY]).hash().alias("line_hash"),
    ).with_columns(pl.col("service_date").cast(pl.Date), pl.col("submission_date").cast(pl.Date))
    joined = lines.join(
        outcome_hash.with_columns(
            pl.col("line_number").cast(lines.schema["line_number"]),
            pl.col("adjudication_date").cast(pl.Date),
        ),
        on=LINE_KEY,
        how="left",
    )
    return joined.select(
        *LINE_KEY,
        *_LINE_FIELDS,
        "line_hash",
        pl.col("_oh").fill_null(0).alias("outcome_hash"),
        # When the outcome became known; null while the line is pending.
        pl.when(is_adjudicated()).then(known_at()).alias("known_at"),
    )


def note_inputs(notes: pl.DataFrame) -> pl.DataFrame:
    """One row per staged note: its patient, encounter, date and a hash of what features read."""
    return notes.select(
        "note_id",
        "patient_key",
        "encounter_id",
        pl.col("note_date").cast(pl.Date),
        pl.struct([c for c in NOTE_COLUMNS if c != "note_id"]).hash().alias("note_hash"),
    )


@dataclass(frozen=True)
class Changes:
    """What changed since the stored inputs, and the 64520 lines whose features must be rebuilt."""

    changed_lines: pl.DataFrame  # claim_id, line_number: added, removed or modified (any CPT)
    changed_notes: int
    rebuild: pl.DataFrame  # claim_id, line_number of current 64520 lines to featurize
    earliest_known_at: date | None  # every 64520 line submitted on or after it is rebuilt

    @property
    def delete(self) -> pl.DataFrame:
        """Keys whose stored rows go: rebuilt lines and changed lines (withdrawn ones included)."""
        return pl.concat([self.rebuild, self.changed_lines]).unique()


def _changed(current: pl.DataFrame, previous: pl.DataFrame, key: list[str], hashes: list[str]):
    both = current.join(previous, on=key, how="full", coalesce=True, suffix="_prev")
    differs = pl.any_horizontal(pl.col(h).ne_missing(pl.col(f"{h}_prev")) for h in hashes)
    return both.filter(differs)


def lines_to_rebuild(
    current: pl.DataFrame,
    previous: pl.DataFrame,
    current_notes: pl.DataFrame,
    previous_notes: pl.DataFrame,
) -> Changes:
    """The 64520 lines whose features the changes between two input snapshots can move."""
    lines = _changed(current, previous, LINE_KEY, ["line_hash", "outcome_hash"])
    notes = _changed(current_notes, previous_notes, ["note_id"], ["note_hash"])

    def both(frame: pl.DataFrame, column: str, since: str) -> pl.DataFrame:
        """(key, since) for the current and the previous value of a changed row."""
        return pl.concat(
            [
                frame.select(pl.col(column).alias("key"), pl.col(since).alias("since")),
                frame.select(
                    pl.col(f"{column}_prev").alias("key"), pl.col(f"{since}_prev").alias("since")
                ),
            ]
        ).drop_nulls()

    by_patient = (
        pl.concat(
            [both(lines, "patient_key", "submission_date"), both(notes, "patient_key", "note_date")]
        )
        .group_by("key")
        .agg(pl.col("since").min())
    )
    by_encounter = (
        both(notes, "encounter_id", "note_date").group_by("key").agg(pl.col("since").min())
    )
    # Same-day context and late-note linking read the patient's lines by service date, whenever
    # they were submitted: a changed line's service day and the LATE_NOTE_DAYS before it.
    service_days = both(lines, "patient_key", "service_date").unique()
    targets = current.filter(pl.col("cpt_code") == TARGET_CPT)
    near = pl.concat(
        [
            targets.join(by_patient, left_on="patient_key", right_on="key").filter(
                pl.col("submission_date") >= pl.col("since")
            ),
            targets.join(service_days, left_on="patient_key", right_on="key").filter(
                pl.col("service_date").is_between(
                    pl.col("since") - pl.duration(days=LATE_NOTE_DAYS), pl.col("since")
                )
            ),
            targets.join(by_encounter, left_on="encounter_id", right_on="key").filter(
                pl.col("submission_date") >= pl.col("since")
            ),
            targets.join(lines.select(LINE_KEY), on=LINE_KEY, how="semi").with_columns(
                pl.lit(None, dtype=pl.Date).alias("since")
            ),
        ],
        how="diagonal_relaxed",
    )
    known = pl.concat(
        [
            lines.select(pl.col("known_at")),
            lines.select(pl.col("known_at_prev").alias("known_at")),
            near.select("known_at"),
        ]
    ).get_column("known_at")
    earliest = known.min()
    later = (
        targets.filter(pl.col("submission_date") >= earliest)
        if earliest is not None
        else targets.head(0)
    )
    rebuild = pl.concat([near.select(LINE_KEY), later.select(LINE_KEY)]).unique().sort(LINE_KEY)
    return Changes(
        changed_lines=lines.select(LINE_KEY),
        changed_notes=notes.height,
        rebuild=rebuild,
        earliest_known_at=earliest,
    )


@dataclass(frozen=True)
class FeatureRows:
    """Modelling-table rows built for some lines, and their labelled lines as the store keeps them."""

    table: pl.DataFrame
    labelled: pl.DataFrame


def build_feature_rows(
    claim_lines: pl.DataFrame,
    outcomes: pl.DataFrame,
    notes: pl.DataFrame,
    only: pl.DataFrame | None = None,
    labelled_besides: pl.DataFrame | None = None,
    filing_limits: Mapping[str, int] | None = None,
    rejections: pl.DataFrame | None = None,
) -> FeatureRows:
    """Modelling-table rows of every 64520 line, or of the lines in `only` (claim_id, line_number).

    With `only`, `labelled_besides` holds the stored labelled lines of every other line; the steps
    then see only the rebuilt lines' patients and encounters (every per-line input is per patient)
    and all adjudicated lines, so each row equals the whole table's row for that line.
    """
    all_lines = prepare_claim_lines(claim_lines.lazy()).collect()
    outcome_cols = prepare_outcomes(outcomes.lazy()).collect()
    adjudicated = adjudicated_lines(all_lines.lazy(), outcome_cols.lazy())
    target = target_lines(all_lines.lazy(), outcome_cols.lazy())
    if only is not None:
        keys = only.select(
            pl.col("claim_id").cast(pl.String),
            pl.col("line_number").cast(all_lines.schema["line_number"]),
        )
        target = target.join(keys.lazy(), on=LINE_KEY, how="semi")
        mine = target.select("patient_key", "encounter_id").collect()
        patients = mine.get_column("patient_key").unique()
        encounters = mine.get_column("encounter_id").drop_nulls().unique()
        all_lines = all_lines.filter(pl.col("patient_key").is_in(patients.implode()))
        notes = notes.filter(
            pl.col("patient_key").is_in(patients.implode())
            | pl.col("encounter_id").is_in(encounters.implode())
        )
    kept: dict[str, pl.DataFrame] = {}
    keep: Callable[[str, pl.DataFrame], None] = kept.__setitem__
    steps = modelling_steps(
        all_lines.lazy(),
        adjudicated.lazy(),
        notes.lazy(),
        filing_limits,
        rejections=None if rejections is None else rejections.lazy(),
    )
    besides = labelled_besides.lazy() if labelled_besides is not None else None
    built = run_steps(target, steps, on_labelled=keep, labelled_besides=besides)
    return FeatureRows(table=finish_table(built), labelled=kept[LAST_LABELLED_STEP])
