"""The modelling table asset: staged tables in, one feature row per 64520 line out."""

import hashlib
import time

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from data_contracts.warehouse_schema import FEATURES_CHANGED_SINCE_SCORING as CHANGED_SINCE_SCORING
from data_contracts.warehouse_schema import FEATURES_CHANGED_SINCE_SCORING_DDL as CHANGED_DDL
from data_contracts.warehouse_schema import MODELLING_BUILD_TABLE as BUILD_TABLE
from data_contracts.warehouse_schema import MODELLING_INPUTS_DIGEST_TABLE as DIGEST_TABLE
from data_contracts.warehouse_schema import MODELLING_INPUTS_TABLE as INPUTS_TABLE
from data_contracts.warehouse_schema import MODELLING_LABELLED_TABLE as LABELLED_TABLE
from data_contracts.warehouse_schema import MODELLING_NOTE_INPUTS_TABLE as NOTE_INPUTS_TABLE
from models.features.catalog import feature_names
from models.features.documentation import NOTE_ELEMENTS_VERSION
from models.features.front_end import rejection_history
from models.features.incremental import (
    Changes,
    build_feature_rows,
    line_inputs,
    lines_to_rebuild,
    note_inputs,
)
from models.features.table import CLAIM_LINE_COLUMNS, FIXED_COLUMNS, NOTE_COLUMNS, OUTCOME_COLUMNS
from pipelines.defs.operations.jobs import FULL_REBUILD_TAG
from pipelines.defs.resources import WAREHOUSE_POOL
from pipelines.memory import peak_rss_mb, reset_peak_rss

KEY_FEATURES = (
    "doc_completeness",
    "doc_level",
    "dx_primary_is_indication",
    "payer_code_denial_rate",
    "provider_denial_rate",
    "days_since_last_64520",
    "payer_filing_limit_days",
    "expected_payment_usd",
)


def _columns(names: tuple[str, ...]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def modelling_table_metadata(con) -> dict[str, dg.MetadataValue | int | float]:
    """Row counts, denial rate and null shares of key features of the stored table."""
    nulls = ", ".join(f'count(*) - count("{n}")' for n in KEY_FEATURES)
    row = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE NOT is_pending), "
        f"avg(denied) FILTER (WHERE NOT is_pending), {nulls} FROM modelling_table"
    ).fetchall()[0]
    rows, labelled, denial_rate = row[0], row[1], row[2]
    metadata: dict[str, dg.MetadataValue | int | float] = {
        "dagster/row_count": rows,
        "labelled_rows": labelled,
        "pending_rows": rows - labelled,
        "denial_rate": round(float(denial_rate), 4) if denial_rate is not None else float("nan"),
    }
    for name, missing in zip(KEY_FEATURES, row[3:], strict=True):
        metadata[f"null_share_{name}"] = round(missing / rows, 4) if rows else 0.0
    return metadata


def feature_build_version(con, rejections: pl.DataFrame | None = None) -> str:
    """What the stored rows were built with: the table's columns, the reference tables and the
    front-end (277CA) rejection history.

    A new feature, new CMS reference files or a new 277CA rejection makes the stored rows stale:
    the next run rebuilds the whole table (rejections are rare; a rejection moves the history
    features of its patient's later lines, which the per-line input hashes do not see).
    """
    tables = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'ref\\_%' ESCAPE '\\' "
            "ORDER BY 1"
        ).fetchall()
    ]
    parts = [",".join([*FIXED_COLUMNS, *feature_names()])]
    for table in tables:
        (digest,) = con.execute(f'SELECT bit_xor(hash(t)) FROM "{table}" t').fetchall()[0]
        parts.append(f"{table}:{digest}")
    if rejections is not None and rejections.height:
        digest = rejections.sort(rejections.columns).hash_rows().to_list()
        parts.append("rejections:" + hashlib.sha256(str(digest).encode()).hexdigest())
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def inputs_digest(con, version: str) -> str:
    """The build version and every staged row the features read, hashed in DuckDB (no polars)."""
    parts = [version]
    for table, columns in (
        ("staged_claim_lines", CLAIM_LINE_COLUMNS),
        ("line_outcomes", OUTCOME_COLUMNS),
        ("staged_notes", NOTE_COLUMNS),
    ):
        # Row hashes summed: independent of row order, and duplicates do not cancel.
        rows, total = con.execute(
            f"SELECT count(*), sum(hash({_columns(columns)})::HUGEINT) FROM {table}"
        ).fetchall()[0]
        parts.append(f"{table}:{rows}:{total}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _stored_digest(con) -> str | None:
    if DIGEST_TABLE not in _tables(con):
        return None
    rows = con.execute(f"SELECT digest FROM {DIGEST_TABLE}").fetchall()
    return rows[0][0] if rows else None


def _tables(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def _stored_version(con) -> str | None:
    if not {INPUTS_TABLE, NOTE_INPUTS_TABLE, LABELLED_TABLE, BUILD_TABLE, "modelling_table"} <= (
        _tables(con)
    ):
        return None
    rows = con.execute(f"SELECT version FROM {BUILD_TABLE}").fetchall()
    return rows[0][0] if rows else None


def _replace(con, table: str, frame: pl.DataFrame) -> None:
    con.register("replacement_frame", frame)
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM replacement_frame")
    con.unregister("replacement_frame")


@dg.asset(
    group_name="features",
    kinds={"duckdb", "polars"},
    deps=[
        "staged_claim_lines",
        "line_outcomes",
        "staged_notes",
        "reference_tables",
        "claim_acknowledgements",
    ],
    pool=WAREHOUSE_POOL,
)
def modelling_table(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    """One row per 64520 claim line (labelled and pending) with every model feature, point in time.

    Incremental: only the lines that new, changed or withdrawn inputs can move are rebuilt and
    upserted (models/features/incremental.py); a run tagged full_rebuild rebuilds every row.
    """
    started = time.perf_counter()
    reset_peak_rss()
    full_requested = context.run.tags.get(FULL_REBUILD_TAG) == "true"
    with warehouse.get_connection() as conn:
        outdated = conn.execute(
            "SELECT count(*) FROM staged_notes WHERE elements_version IS DISTINCT FROM ?",
            [NOTE_ELEMENTS_VERSION],
        ).fetchall()[0][0]
        if outdated:
            raise dg.Failure(
                f"{outdated} notes lack documentation elements of version "
                f"{NOTE_ELEMENTS_VERSION}: materialize staged_notes first"
            )
        rejections = rejection_history(conn)
        version = feature_build_version(conn, rejections)
        stored = _stored_version(conn)
        digest = inputs_digest(conn, version)
        if not full_requested and stored == version and _stored_digest(conn) == digest:
            # Nothing the features read changed since the last build: no line can move.
            return dg.MaterializeResult(
                metadata={
                    **modelling_table_metadata(conn),
                    "full_rebuild": False,
                    "rebuild": "skipped: inputs unchanged",
                    "lines_featurized": 0,
                    "claim_lines_changed": 0,
                    "notes_changed": 0,
                    "earliest_changed_known_at": "",
                    "seconds": round(time.perf_counter() - started, 2),
                    "peak_rss_mb": peak_rss_mb(),
                }
            )
        claim_lines = conn.sql(
            f"SELECT {_columns(CLAIM_LINE_COLUMNS)} FROM staged_claim_lines"
        ).pl()
        outcomes = conn.sql(f"SELECT {_columns(OUTCOME_COLUMNS)} FROM line_outcomes").pl()
        notes = conn.sql(f"SELECT {_columns(NOTE_COLUMNS)} FROM staged_notes").pl()
        current, current_notes = line_inputs(claim_lines, outcomes), note_inputs(notes)
        changes: Changes | None = None
        if not full_requested and stored == version:
            changes = lines_to_rebuild(
                current,
                conn.sql(f"SELECT * FROM {INPUTS_TABLE}").pl(),
                current_notes,
                conn.sql(f"SELECT * FROM {NOTE_INPUTS_TABLE}").pl(),
            )
            conn.register("rebuild_keys", changes.delete)
            besides = conn.sql(
                f"SELECT * FROM {LABELLED_TABLE} l WHERE NOT EXISTS (SELECT 1 FROM rebuild_keys k "
                "WHERE k.claim_id = l.claim_id AND k.line_number = l.line_number)"
            ).pl()
            conn.unregister("rebuild_keys")
    if changes is None:
        rows = build_feature_rows(claim_lines, outcomes, notes, rejections=rejections)
        featurized = rows.table.select("claim_id", "line_number")
    elif changes.rebuild.height:
        rows = build_feature_rows(
            claim_lines,
            outcomes,
            notes,
            only=changes.rebuild,
            labelled_besides=besides,
            rejections=rejections,
        )
        featurized = changes.rebuild
    else:
        rows, featurized = None, changes.rebuild
    del claim_lines, outcomes, notes, rejections
    with warehouse.get_connection() as conn:
        conn.execute("BEGIN TRANSACTION")
        try:
            if changes is None:
                _replace(conn, "modelling_table", rows.table)
                _replace(conn, LABELLED_TABLE, rows.labelled)
            else:
                conn.register("deleted_keys", changes.delete)
                for table in ("modelling_table", LABELLED_TABLE):
                    conn.execute(
                        f"DELETE FROM {table} t USING deleted_keys k "
                        "WHERE t.claim_id = k.claim_id AND t.line_number = k.line_number"
                    )
                conn.unregister("deleted_keys")
                if rows is not None:
                    conn.register("rows_frame", rows.table)
                    conn.execute("INSERT INTO modelling_table BY NAME SELECT * FROM rows_frame")
                    conn.register("labelled_frame", rows.labelled)
                    conn.execute(
                        f"INSERT INTO {LABELLED_TABLE} BY NAME SELECT * FROM labelled_frame"
                    )
                    conn.unregister("rows_frame")
                    conn.unregister("labelled_frame")
            _replace(conn, INPUTS_TABLE, current)
            _replace(conn, NOTE_INPUTS_TABLE, current_notes)
            _replace(conn, BUILD_TABLE, pl.DataFrame({"version": [version]}))
            _replace(conn, DIGEST_TABLE, pl.DataFrame({"digest": [digest]}))
            conn.execute(CHANGED_DDL)
            if changes is None:
                conn.execute(f"DELETE FROM {CHANGED_SINCE_SCORING}")
            conn.register("featurized_keys", featurized)
            conn.execute(
                f"INSERT INTO {CHANGED_SINCE_SCORING} SELECT claim_id, line_number "
                "FROM featurized_keys"
            )
            conn.unregister("featurized_keys")
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
        metadata = modelling_table_metadata(conn)
    metadata.update(
        {
            "full_rebuild": changes is None,
            "rebuild": "every line" if changes is None else "changed lines and dependents",
            "lines_featurized": featurized.height,
            "claim_lines_changed": changes.changed_lines.height if changes else current.height,
            "notes_changed": changes.changed_notes if changes else current_notes.height,
            "earliest_changed_known_at": str(changes.earliest_known_at or "") if changes else "",
            "seconds": round(time.perf_counter() - started, 2),
            "peak_rss_mb": peak_rss_mb(),
        }
    )
    return dg.MaterializeResult(metadata=metadata)
