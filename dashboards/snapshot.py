"""The published read-only snapshot: building it atomically and reading it per request.

A reader cannot open a DuckDB file another process is writing, and a long-lived reader makes
runs fail (../shared/STACK-NOTES.md, "DuckDB locking"). So each run builds a NEW file, closes it
(checkpoint) and `os.replace`s it over the published one; the dashboards open a short-lived
read-only connection per request. Patient identifiers never reach the snapshot.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from dashboards.drift import feature_psi_by_month, score_psi_by_month
from data_contracts.input_contract import TARGET_CPT
from data_contracts.warehouse_schema import POLICY_DRIFT_ALERTS, POLICY_DRIFT_MONTHLY
from models.kpis import REMIT_LINES_SQL, front_end_rejected_sql

log = logging.getLogger(__name__)

# Columns that identify a patient (or come close to it) never leave the warehouse.
PATIENT_COLUMNS: frozenset[str] = frozenset(
    {"patient_key", "patient_id", "patient_age", "patient_sex", "encounter_id", "note_id", "text"}
)

POLICY_DRIFT_DDL: dict[str, str] = {
    "policy_drift_alerts": POLICY_DRIFT_ALERTS,
    "policy_drift_monthly": POLICY_DRIFT_MONTHLY,
}

# Tables copied as they are (minus patient columns) when the warehouse has them.
COPIED_TABLES: tuple[str, ...] = (
    "model_registry",
    "model_validation_predictions",
    "risk_scores",
    "risk_scores_history",
    "oracle_evaluation",
    "validation_results",
    "ingest_ledger",
    "policy_drift_alerts",
    "policy_drift_monthly",
)

# Modelling-table columns the coding page and drift need besides the line keys.
LINE_CONTEXT_COLUMNS: tuple[str, ...] = (
    "bilateral_coding",
    "payer_bilateral_convention",
    "bilateral_matches_payer_convention",
    "doc_completeness",
    "expected_payment_usd",
    "payer_filing_limit_days",
)

# Claim-line columns the work queue shows beside the score (no patient identifier among them).
QUEUE_CONTEXT_COLUMNS: tuple[str, ...] = (
    "payer_name",
    "plan_type",
    "rendering_npi",
    "rendering_provider_name",
    "place_of_service",
    "modifier_1",
    "modifier_2",
    "units",
    "primary_diagnosis",
    "payer_filing_limit_days",
)

# Columns of `denial_lines` the pages read, with their types when an upstream table is missing.
DENIAL_LINES_COLUMNS: dict[str, str] = {
    "payer_name": "varchar",
    "plan_type": "varchar",
    "rendering_npi": "varchar",
    "rendering_provider_name": "varchar",
    "place_of_service": "varchar",
    "submission_date": "date",
    "status": "varchar",
    "denied": "integer",
    "adjudication_date": "date",
    "primary_denial_carc": "varchar",
    "primary_rarc": "varchar",
    "denial_group_code": "varchar",
    "denial_category": "varchar",
    "bilateral_coding": "varchar",
    "payer_bilateral_convention": "varchar",
    "bilateral_matches_payer_convention": "tinyint",
    "doc_completeness": "double",
    "expected_payment_usd": "double",
    "front_end_rejected": "boolean",
}

# Features whose month-by-month distribution shift is watched (docs/architecture.md names).
# The payer and provider mix are watched rather than the running rates learned from them
# (payer_code_denial_rate, provider_denial_rate, expected_payment_usd): each month those are a
# dozen payer-level values that move a little as remits accumulate, which kept PSI >= 0.25 in
# 16-28 of 27 months on both the default and the independent world with no change in the claims.
DRIFT_FEATURES: tuple[str, ...] = (
    "doc_completeness",
    "units",
    "submission_lag_days",
    "payer_id",
    "rendering_npi",
    "prior_64520_365d",
    "charge_amount",
    "bilateral_coding",
    "plan_type",
    "place_of_service",
)

SNAPSHOT_TABLES: tuple[str, ...] = (
    "denial_lines",
    "remit_lines",
    "work_queue",
    "realized_scores",
    "feature_drift",
    "score_drift",
    "snapshot_meta",
    *COPIED_TABLES,
)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[str]]:
    """Tables and views of a catalog's main schema with their columns in order."""
    rows = con.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_catalog = ? and table_schema = 'main' order by table_name, ordinal_position",
        [catalog],
    ).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


def _denial_lines_sql(src: str, tables: dict[str, list[str]]) -> str | None:
    """One row per 64520 line: context from staging, outcome, and modelling-table columns."""
    claims = tables.get("staged_claim_lines")
    outcomes = tables.get("line_outcomes")
    modelling = tables.get("modelling_table")
    if claims is None and modelling is None:
        return None
    if claims is not None:
        required = {"claim_id", "line_number", "cpt_code", "service_date", "charge_amount"}
        if not required <= set(claims):
            raise ValueError(
                f"staged_claim_lines lacks {sorted(required - set(claims))} (docs/architecture.md)"
            )
        base_cols = [
            c
            for c in (
                "payer_id",
                "payer_name",
                "plan_type",
                "rendering_npi",
                "rendering_provider_name",
                "place_of_service",
                "service_date",
                "submission_date",
                "cpt_code",
                "modifier_1",
                "modifier_2",
                "units",
                "primary_diagnosis",
                "charge_amount",
            )
            if c in claims
        ]
        select = ["c.claim_id", "c.line_number"] + [f"c.{_quote(c)}" for c in base_cols]
        select[select.index('c."charge_amount"')] = (
            "cast(c.charge_amount as double) as charge_amount"
        )
        select.append("cast(date_trunc('month', c.service_date) as date) as service_month")
        base = f"from {src}.main.staged_claim_lines c"
        where = f"where c.cpt_code = '{TARGET_CPT}'"
    else:
        assert modelling is not None
        base_cols = [
            c
            for c in (
                "payer_id",
                "plan_type",
                "rendering_npi",
                "place_of_service",
                "service_date",
                "submission_date",
                "cpt_code",
                "units",
                "service_month",
            )
            if c in modelling
        ]
        select = ["c.claim_id", "c.line_number"] + [f"c.{_quote(c)}" for c in base_cols]
        select.append("cast(c.charge_amount as double) as charge_amount")
        select.append("c.payer_id as payer_name")
        base = f"from {src}.main.modelling_table c"
        where = f"where coalesce(c.cpt_code, '{TARGET_CPT}') = '{TARGET_CPT}'"
    joins: list[str] = []
    if outcomes is not None:
        joins.append(
            f"left join {src}.main.line_outcomes o "
            "on o.claim_id = c.claim_id and o.line_number = c.line_number"
        )
        select.append("coalesce(o.status, 'pending') as status")
        select.append(
            "case when o.denied is null then null when o.denied then 1 else 0 end as denied"
        )
        for col in (
            "adjudication_date",
            "primary_denial_carc",
            "denial_group_code",
            "denial_category",
        ):
            if col in outcomes:
                select.append(f"o.{col}")
        if "rarcs" in outcomes:
            select.append("o.rarcs[1] as primary_rarc")
        for col in ("allowed_amount", "paid_amount"):
            if col in outcomes:
                select.append(f"cast(o.{col} as double) as {col}")
    if claims is not None and "claim_acknowledgements" in tables:
        acknowledgements = f"{src}.main.claim_acknowledgements"
        select.append(f"{front_end_rejected_sql('c', acknowledgements)} as front_end_rejected")
    if modelling is not None:
        if claims is not None:
            joins.append(
                f"left join {src}.main.modelling_table m "
                "on m.claim_id = c.claim_id and m.line_number = c.line_number"
            )
        alias = "m" if claims is not None else "c"
        if outcomes is None:
            select.append(f"{alias}.status")
            select.append(f"cast({alias}.denied as integer) as denied")
            select.append(f"{alias}.denial_category")
        select.extend(f"{alias}.{_quote(c)}" for c in LINE_CONTEXT_COLUMNS if c in modelling)
    # A stable schema: columns the pages read exist even when an upstream table does not (yet).
    named = {item.rsplit(" as ", 1)[-1].rsplit(".", 1)[-1].strip('"') for item in select}
    if "status" not in named:
        select.append("'pending' as status")
        named.add("status")
    select.extend(
        f"cast(null as {sql_type}) as {name}"
        for name, sql_type in DENIAL_LINES_COLUMNS.items()
        if name not in named
    )
    return f"select {', '.join(select)} {base} {' '.join(joins)} {where}"


def _copy_sql(src: str, table: str, columns: Sequence[str]) -> str:
    kept = [_quote(c) for c in columns if c not in PATIENT_COLUMNS]
    return f"select {', '.join(kept)} from {src}.main.{_quote(table)}"


def _drift_frames(
    con: duckdb.DuckDBPyConnection, src: str, tables: dict[str, list[str]]
) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """PSI of key features by service month and of the score by month, from the source tables."""
    feature_drift = None
    predictions = tables.get("model_validation_predictions")
    validation_start = None
    if predictions is not None and "service_month" in predictions:
        validation_start = con.sql(
            f"select min(service_month) from {src}.main.model_validation_predictions"
        ).fetchall()[0][0]
    modelling = tables.get("modelling_table")
    if modelling is not None and "submission_date" in modelling:
        features = [f for f in DRIFT_FEATURES if f in modelling]
        if features:
            # By submission month, as the model splits: a service month near the end holds only
            # the lines already submitted, the quick ones, so its submission lags always look
            # shifted (PSI 0.78-0.87 on the newest service month of both test worlds).
            cols = ", ".join(_quote(c) for c in features)
            frame = con.sql(
                "select cast(date_trunc('month', submission_date) as date) as submission_month, "
                f"{cols} from {src}.main.modelling_table"
            ).pl()
            feature_drift = feature_psi_by_month(
                frame, features, month="submission_month", reference_end=validation_start
            )
    score_drift = None
    history = tables.get("risk_scores_history")
    has_history = history is not None and {"scored_at", "denial_probability"} <= set(history)
    history_sql = (
        f"select cast(date_trunc('month', scored_at) as date) as month, "
        f"denial_probability as score from {src}.main.risk_scores_history"
    )
    if has_history and predictions is not None:
        # Reference: the champion's scores on its validation months (a sentinel month), so a
        # first scoring month already has something to be compared with.
        frame = con.sql(
            f"select date '1900-01-01' as month, p_model as score "
            f"from {src}.main.model_validation_predictions union all {history_sql}"
        ).pl()
        score_drift = score_psi_by_month(
            frame, source="scores vs validation", reference_end=date(1900, 1, 2)
        ).filter(pl.col("month") > date(1900, 1, 1))
    elif has_history:
        score_drift = score_psi_by_month(con.sql(history_sql).pl(), source="risk_scores_history")
    elif predictions is not None:
        frame = con.sql(
            f"select service_month as month, p_model as score "
            f"from {src}.main.model_validation_predictions"
        ).pl()
        score_drift = score_psi_by_month(frame, source="model_validation_predictions")
    return feature_drift, score_drift


def publish_snapshot(
    warehouse_conn_or_path: duckdb.DuckDBPyConnection | str | Path, target_path: str | Path
) -> Path:
    """Build a new snapshot file from the warehouse and atomically replace the published one."""
    target = Path(target_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.parent / f".{target.name}.{uuid.uuid4().hex}.building"
    alias = f"snapshot_build_{uuid.uuid4().hex[:8]}"
    if isinstance(warehouse_conn_or_path, (str, Path)):
        con = duckdb.connect()
        con.execute(f"attach {_literal(str(warehouse_conn_or_path))} as warehouse (read_only)")
        src, owned = "warehouse", True
    else:
        con = warehouse_conn_or_path
        src, owned = con.execute("select current_database()").fetchall()[0][0], False
    try:
        tables = _tables(con, src)
        con.execute(f"attach {_literal(str(building))} as {alias}")
        try:
            present = _build_tables(con, src, alias, tables)
        finally:
            con.execute(f"detach {alias}")
        # Reopen, checkpoint and close so the file is complete on its own (no WAL beside it).
        with duckdb.connect(str(building)) as check:
            check.execute("checkpoint")
        os.replace(building, target)
        log.info("published snapshot %s with tables %s", target, ", ".join(present))
    except BaseException:
        with suppress(FileNotFoundError):
            building.unlink()
        with suppress(FileNotFoundError):
            Path(str(building) + ".wal").unlink()
        raise
    finally:
        if owned:
            con.close()
    return target


def snapshot_for_serving(snapshot_path: str | Path, warehouse_path: str | Path) -> Path | None:
    """The snapshot the dashboards serve, published from the warehouse when no run published one.

    A run whose claims all fail their contract stops before it publishes, yet its remits are
    loaded (the Remittances page): the dashboards then publish the warehouse as it stands, read
    only. Returns None when neither file exists; a warehouse held by a running writer raises
    duckdb's IOException, so the caller can say so.
    """
    snapshot = Path(snapshot_path)
    if snapshot.exists():
        return snapshot
    if not Path(warehouse_path).exists():
        return None
    return publish_snapshot(warehouse_path, snapshot)


def _build_tables(
    con: duckdb.DuckDBPyConnection, src: str, dst: str, tables: dict[str, list[str]]
) -> list[str]:
    """Create every snapshot table the warehouse can feed; returns the names created."""
    present: list[str] = []
    denial_sql = _denial_lines_sql(src, tables)
    if denial_sql is not None:
        con.execute(f"create table {dst}.denial_lines as {denial_sql}")
        present.append("denial_lines")
    if "remit_line_outcomes" in tables:
        # Every remit line's latest remit, claims loaded or not (the Remittances page).
        remits = REMIT_LINES_SQL.replace(
            "FROM remit_line_outcomes", f"FROM {src}.main.remit_line_outcomes"
        )
        con.execute(f"create table {dst}.remit_lines as {remits}")
        present.append("remit_lines")
    for table in COPIED_TABLES:
        if table in tables:
            con.execute(f"create table {dst}.{table} as {_copy_sql(src, table, tables[table])}")
            present.append(table)
    for table, ddl in POLICY_DRIFT_DDL.items():
        # Scores from before policy-drift monitoring existed: the panel shows no alert.
        if table not in tables and "risk_scores" in tables:
            con.execute(ddl.replace(f"EXISTS {table} (", f"EXISTS {dst}.{table} (", 1))
            present.append(table)
    if "risk_scores" in tables:
        context = f" from {dst}.risk_scores r"
        if denial_sql is not None:
            scored = set(tables["risk_scores"])
            line_cols = set(_tables(con, dst).get("denial_lines", []))
            extra = [c for c in QUEUE_CONTEXT_COLUMNS if c in line_cols and c not in scored]
            picked = "".join(f", d.{_quote(c)}" for c in extra)
            # Days left before the payer's filing limit runs out, counted from the service date
            # to the day the line was scored (null when the limit is unknown). Scores of export
            # contract v2 carry it already (models.scoring.days_to_filing_limit_expr, the same
            # rule); this covers risk_scores written before it.
            if (
                {"payer_filing_limit_days", "service_date"} <= line_cols
                and "scored_at" in scored
                and "days_to_filing_limit" not in scored
            ):
                picked += (
                    ", cast(d.payer_filing_limit_days - date_diff('day', d.service_date, "
                    "cast(r.scored_at as date)) as integer) as days_to_filing_limit"
                )
            context = (
                f"{picked} from {dst}.risk_scores r left join {dst}.denial_lines d "
                "on d.claim_id = r.claim_id and d.line_number = r.line_number"
            )
        con.execute(f"create table {dst}.work_queue as select r.* {context}")
        present.append("work_queue")
    history = tables.get("risk_scores_history")
    if history is not None and "line_outcomes" in tables:
        con.execute(
            f"create table {dst}.realized_scores as "
            "select h.scored_at, h.model_version, h.claim_id, h.line_number, "
            "h.denial_probability, h.risk_band, cast(h.expected_loss_usd as double) as expected_loss_usd, "
            "cast(o.denied as integer) as denied, o.adjudication_date "
            f"from {src}.main.risk_scores_history h join {src}.main.line_outcomes o "
            "on o.claim_id = h.claim_id and o.line_number = h.line_number "
            "where o.status <> 'pending' and o.denied is not null"
        )
        present.append("realized_scores")
    feature_drift, score_drift = _drift_frames(con, src, tables)
    for name, frame in (("feature_drift", feature_drift), ("score_drift", score_drift)):
        if frame is not None:
            con.register(f"{name}_frame", frame.to_arrow())
            con.execute(f"create table {dst}.{name} as select * from {name}_frame")
            con.unregister(f"{name}_frame")
            present.append(name)
    missing = [t for t in SNAPSHOT_TABLES if t not in present and t != "snapshot_meta"]
    meta = pl.DataFrame(
        {
            "published_at": [datetime.now(UTC).replace(tzinfo=None)],
            "tables_present": [",".join(present)],
            "tables_missing": [",".join(missing)],
        }
    )
    con.register("snapshot_meta_frame", meta.to_arrow())
    con.execute(f"create table {dst}.snapshot_meta as select * from snapshot_meta_frame")
    con.unregister("snapshot_meta_frame")
    present.append("snapshot_meta")
    return present


def snapshot_tables(snapshot_path: str | Path) -> frozenset[str]:
    """Names of the tables in the published snapshot (empty when it is not published yet)."""
    path = Path(snapshot_path)
    if not path.exists():
        return frozenset()
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select table_name from information_schema.tables where table_schema = 'main'"
        ).fetchall()
    return frozenset(r[0] for r in rows)


def read_frame(
    snapshot_path: str | Path, sql: str, params: Sequence[object] | None = None
) -> pl.DataFrame:
    """Run one query on a short-lived read-only connection to the snapshot."""
    with duckdb.connect(str(snapshot_path), read_only=True) as con:
        return con.sql(sql, params=list(params) if params else None).pl()


def read_table(
    snapshot_path: str | Path, table: str, columns: Sequence[str] | None = None
) -> pl.DataFrame | None:
    """A whole snapshot table (or None when the snapshot does not have it)."""
    if table not in snapshot_tables(snapshot_path):
        return None
    cols = ", ".join(_quote(c) for c in columns) if columns else "*"
    return read_frame(snapshot_path, f"select {cols} from {_quote(table)}")
