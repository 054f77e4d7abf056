"""Landing folder → DuckDB warehouse: discovery, readers, row rules, ledger, quarantine, labels.

The Dagster assets in `pipelines/defs/ingest/assets.py` are thin wrappers over these functions;
each takes a DuckDB connection and the product settings and returns a typed summary.
"""

from __future__ import annotations

import logging

import duckdb

from pipelines.settings import ProductSettings
from pipelines.sources.landing.note_elements import reread_outdated_files, store_note_elements
from pipelines.sources.landing.outcomes import (
    MatchSummary,
    OutcomeSummary,
    build_line_outcomes,
    match_remit_lines,
)
from pipelines.sources.landing.reference import (
    REFERENCE_TABLES,
    ReferenceSummary,
    load_reference_tables,
)
from pipelines.sources.landing.remit_outcomes import (
    RemitOutcomeSummary,
    build_remit_line_outcomes,
)
from pipelines.sources.landing.staging import (
    FileOutcome,
    IngestSummary,
    ingest_file,
    ingest_folders,
    prepare_warehouse,
)
from pipelines.sources.privacy import load_phi_key

__all__ = [
    "REFERENCE_TABLES",
    "FileOutcome",
    "IngestSummary",
    "MatchSummary",
    "OutcomeSummary",
    "ReferenceSummary",
    "RemitOutcomeSummary",
    "build_line_outcomes",
    "build_remit_line_outcomes",
    "ingest_claims",
    "ingest_file",
    "ingest_folders",
    "ingest_notes",
    "ingest_remit_files",
    "ingest_remits",
    "load_reference_tables",
    "match_remit_lines",
    "prepare_warehouse",
]


def ingest_claims(
    con: duckdb.DuckDBPyConnection, settings: ProductSettings, log: logging.Logger | None = None
) -> IngestSummary:
    """Load `claims/` into `staged_claim_lines`."""
    key = load_phi_key(settings.phi_key_file)
    return ingest_folders(con, settings.landing, ("claims",), key, log)


def ingest_remit_files(
    con: duckdb.DuckDBPyConnection, settings: ProductSettings, log: logging.Logger | None = None
) -> IngestSummary:
    """Load `remits/` and `remit_adjustments/`, whether or not any claim file loaded.

    Matching them to claim lines is `build_line_outcomes`' first step, once claims are staged.
    """
    key = load_phi_key(settings.phi_key_file)
    return ingest_folders(con, settings.landing, ("remits", "remit_adjustments"), key, log)


def ingest_remits(
    con: duckdb.DuckDBPyConnection, settings: ProductSettings, log: logging.Logger | None = None
) -> tuple[IngestSummary, MatchSummary]:
    """Load `remits/` and `remit_adjustments/`, then match remits to loaded claim lines."""
    return ingest_remit_files(con, settings, log), match_remit_lines(con)


def ingest_notes(
    con: duckdb.DuckDBPyConnection, settings: ProductSettings, log: logging.Logger | None = None
) -> IngestSummary:
    """Load `notes/` into `staged_notes`, store each note's documentation elements and clear
    its text unless the settings keep it (`note_elements.py`)."""
    key = load_phi_key(settings.phi_key_file)
    prepare_warehouse(con, key)
    reread = reread_outdated_files(con)
    summary = ingest_folders(con, settings.landing, ("notes",), key, log)
    store_note_elements(con, keep_text=settings.keep_note_text, reread=reread)
    return summary
