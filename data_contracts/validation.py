"""Run a contract suite against DuckDB tables with great-expectations, in bounded batches.

GX 1.x has no DuckDB source and its SQL path reports false failures against duckdb-engine
(STACK-NOTES.md), so rows are streamed from DuckDB as Arrow record batches of `batch_rows` rows,
each converted to pandas and validated by GX; per-row counts are added across batches and the
`mostly` rule is applied to the totals. Whole-table rules run on small summary frames aggregated
in DuckDB first (see `data_contracts.expectations`). Measured in docs/performance.md.

Results go to table `validation_results` (one row per expectation) and to GX Data Docs under
the data_docs folder; `batch_history` keeps row counts for the next run's comparison.
GX is imported inside the functions: its import alone takes ~6 s.

Daily runs validate the batch (`only_new_rows=True`, issue 19): a row source streams only the
rows whose hash is not among the rows a passing validation of the same suite (same
`contract_fingerprint`) already checked (`contract_validated_rows`); summary sources always
aggregate the whole table in DuckDB (key uniqueness, orphan shares, row-count change). When no
row is new and every summary frame equals the frame the last run already judged for "nothing
changed" (`contract_state`), the verdict is that judgement and GX is not even imported.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data_contracts.data_docs_offline import make_offline
from data_contracts.expectations import HISTORY_TABLE, BatchSource, ContractSuite

if TYPE_CHECKING:
    import duckdb
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )

log = logging.getLogger(__name__)

RESULTS_TABLE = "validation_results"
# 250k rows: ~900 MB process peak for 10M rows, as fast as 1M batches (docs/performance.md).
DEFAULT_BATCH_ROWS = 250_000
SITE_NAME = "contracts"
MAX_EXAMPLES = 5

RESULTS_DDL = f"""
CREATE TABLE IF NOT EXISTS {RESULTS_TABLE} (
    run_id VARCHAR,
    suite VARCHAR,
    table_name VARCHAR,
    source VARCHAR,
    expectation VARCHAR,
    column_name VARCHAR,
    kwargs VARCHAR,
    observed_value VARCHAR,
    success BOOLEAN,
    severity VARCHAR,
    validated_at TIMESTAMP
)
"""

HISTORY_DDL = f"""
CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (
    suite VARCHAR,
    table_name VARCHAR,
    segment VARCHAR,
    row_count BIGINT,
    run_id VARCHAR,
    success BOOLEAN,
    recorded_at TIMESTAMP
)
"""


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's verdict over the whole table."""

    suite: str
    source: str
    expectation: str
    column: str | None
    kwargs: dict[str, Any]
    observed: str
    success: bool


@dataclass(frozen=True)
class ContractOutcome:
    """A suite's verdict: every expectation, the rows validated, and the Data Docs index."""

    suite: str
    table: str
    severity: str
    run_id: str
    expectations: list[ExpectationOutcome]
    rows_validated: int
    batches: int
    data_docs_index: Path | None
    validated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # "all rows", "new rows only" (a daily run's batch) or SKIPPED.
    validation: str = "all rows"

    @property
    def success(self) -> bool:
        return all(e.success for e in self.expectations)

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.success]

    def description(self) -> str:
        """Names the suite, each failed expectation and its observed value."""
        if self.success:
            return f"suite {self.suite}: {len(self.expectations)} expectations passed"
        parts = [
            f"{e.expectation}({e.column or ''}) observed {e.observed}" for e in self.failures[:5]
        ]
        more = f"; +{len(self.failures) - 5} more" if len(self.failures) > 5 else ""
        return f"suite {self.suite} failed: " + "; ".join(parts) + more

    def metadata(self) -> dict[str, Any]:
        """Plain metadata for a Dagster check result."""
        return {
            "suite": self.suite,
            "expectations_evaluated": len(self.expectations),
            "expectations_failed": len(self.failures),
            "failed_expectations": [
                {"expectation": e.expectation, "column": e.column, "observed": e.observed}
                for e in self.failures
            ],
            "rows_validated": self.rows_validated,
            "batches": self.batches,
            "validation": self.validation,
            "data_docs_index": str(self.data_docs_index) if self.data_docs_index else "",
        }


# Hashes of the rows of each row source that passed a validation of the suite; replaced by the
# hashes of every current row after each validation in which that source's expectations passed.
VALIDATED_ROWS_TABLE = "contract_validated_rows"
VALIDATED_ROWS_DDL = f"""
CREATE TABLE IF NOT EXISTS {VALIDATED_ROWS_TABLE} (
    suite VARCHAR,
    source VARCHAR,
    row_hash UBIGINT
)
"""
# Per suite: the fingerprint its rows were validated under, and the verdict, already computed,
# of the summary frames an unchanged warehouse gives the next run (their sha256).
STATE_TABLE = "contract_state"
STATE_DDL = f"""
CREATE TABLE IF NOT EXISTS {STATE_TABLE} (
    suite VARCHAR PRIMARY KEY,
    fingerprint VARCHAR,
    summary_sha256 VARCHAR,
    expectations_json VARCHAR,
    run_id VARCHAR,
    recorded_at TIMESTAMP
)
"""
SKIPPED = "skipped: inputs unchanged"
NO_NEW_ROWS = "no rows added or changed since the last passing validation"


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create `validation_results`, `batch_history` and the incremental state when absent."""
    con.execute(RESULTS_DDL)
    con.execute(HISTORY_DDL)
    con.execute(VALIDATED_ROWS_DDL)
    con.execute(STATE_DDL)


_DIGESTS: dict[Path, str] = {}


def _folder_digest(root: Path) -> str:
    """sha256 over a folder's files (names and bytes), once per process and folder."""
    root = root.resolve()
    if root not in _DIGESTS:
        digest = hashlib.sha256()
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    digest.update(str(path.relative_to(root)).encode())
                    digest.update(path.read_bytes())
        _DIGESTS[root] = digest.hexdigest()
    return _DIGESTS[root]


def _package_digest() -> str:
    """The `data_contracts` package (suites, shipped code sets, this runner) and the configured
    reference folder (`DENIAL_RISK_REFERENCE_DIR`: newer CMS files change the code sets)."""
    from data_contracts.codes import reference_dir

    return _folder_digest(Path(__file__).parent) + _folder_digest(reference_dir())


def contract_fingerprint(contract: ContractSuite) -> str:
    """What a verdict depends on besides the data: the package's code and sets, thresholds, SQL.

    Any change (an edited suite, a new code set file, a `DENIAL_RISK_CONTRACT_*` override)
    makes every row new again.
    """
    parts = [
        contract.name,
        contract.table,
        contract.severity,
        repr(contract.thresholds),
        json.dumps({n: [s.sql, s.kind, s.key_columns] for n, s in contract.sources.items()}),
        _package_digest(),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _rows_of(source: BatchSource, suite: str, only_new: bool) -> str:
    """The source's rows, or only those no passing validation of `suite` checked yet."""
    if not only_new:
        return source.sql
    return f"""
        SELECT s.* FROM ({source.sql}) s
        WHERE hash(s) NOT IN (
            SELECT row_hash FROM {VALIDATED_ROWS_TABLE} WHERE suite = {_literal(suite)}
        )
    """


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _new_rows_count(con: duckdb.DuckDBPyConnection, source: BatchSource, suite: str) -> int:
    return int(
        con.execute(f"SELECT count(*) FROM ({_rows_of(source, suite, True)})").fetchall()[0][0]
    )


def _remember_rows(
    con: duckdb.DuckDBPyConnection, suite: str, name: str, source: BatchSource
) -> None:
    """Every current row of the source passed (old ones before, new ones now): keep their hashes."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"DELETE FROM {VALIDATED_ROWS_TABLE} WHERE suite = ? AND source = ?", [suite, name]
        )
        con.execute(
            f"INSERT INTO {VALIDATED_ROWS_TABLE} "
            f"SELECT DISTINCT ?, ?, hash(s) FROM ({source.sql}) s",
            [suite, name],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _forget_rows(con: duckdb.DuckDBPyConnection, suite: str) -> None:
    con.execute(f"DELETE FROM {VALIDATED_ROWS_TABLE} WHERE suite = ?", [suite])


def _summary_frames(con: duckdb.DuckDBPyConnection, contract: ContractSuite) -> dict[str, Any]:
    return {
        name: con.execute(source.sql).df()
        for name, source in contract.sources.items()
        if source.kind == "summary"
    }


def _frames_sha256(frames: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    for name, frame in frames.items():
        digest.update(name.encode())
        digest.update(
            frame.to_json(orient="split", date_format="iso", double_precision=15).encode()
        )
    return digest.hexdigest()


@dataclass(frozen=True)
class _State:
    fingerprint: str
    summary_sha256: str
    expectations: list[ExpectationOutcome]


def _read_state(con: duckdb.DuckDBPyConnection, suite: str) -> _State | None:
    rows = con.execute(
        f"SELECT fingerprint, summary_sha256, expectations_json FROM {STATE_TABLE} WHERE suite = ?",
        [suite],
    ).fetchall()
    if not rows:
        return None
    fingerprint, sha, expectations = rows[0]
    return _State(fingerprint, sha, [ExpectationOutcome(**e) for e in json.loads(expectations)])


def _write_state(
    con: duckdb.DuckDBPyConnection,
    suite: str,
    fingerprint: str,
    summary_sha256: str,
    expectations: list[ExpectationOutcome],
    run_id: str,
    recorded_at: datetime,
) -> None:
    con.execute(
        f"INSERT OR REPLACE INTO {STATE_TABLE} VALUES (?, ?, ?, ?, ?, ?)",
        [
            suite,
            fingerprint,
            summary_sha256,
            json.dumps([e.__dict__ for e in expectations], default=str),
            run_id,
            recorded_at.replace(tzinfo=None),
        ],
    )


def gx_context(data_docs_dir: Path | None) -> Any:
    """An ephemeral GX context; with a folder, results and suites persist there for Data Docs."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    if data_docs_dir is not None:
        # GX refuses relative store folders; the default settings (data/...) are relative.
        data_docs_dir = Path(data_docs_dir).resolve()
        # Stores on disk so each check's build lists every suite's latest runs in one index.
        stores = data_docs_dir / ".gx_stores"
        config.stores["validation_results_store"] = {
            "class_name": "ValidationResultsStore",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(stores / "validations"),
            },
        }
        config.stores["expectations_store"] = {
            "class_name": "ExpectationsStore",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(stores / "expectations"),
            },
        }
        config.data_docs_sites = {
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(data_docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        }
    context = gx.get_context(mode="ephemeral", project_config=config)
    return context


def _expectation_column(kwargs: dict[str, Any]) -> str | None:
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    return None


def _split_by_source(suite: gx.ExpectationSuite, sources: dict[str, BatchSource]) -> dict:
    """The suite's expectations grouped by their `meta["source"]`, in suite order."""
    grouped: dict[str, list] = {name: [] for name in sources}
    for expectation in suite.expectations:
        source = (expectation.meta or {}).get("source")
        if source not in sources:
            raise ValueError(
                f"suite {suite.name}: expectation {expectation.expectation_type} has source "
                f"{source!r}, not one of {sorted(sources)}"
            )
        grouped[source].append(expectation)
    return grouped


def _signature(config: Any) -> str:
    """An expectation's type and arguments, to pair results with their expectation."""
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    return json.dumps([config.type, kwargs], sort_keys=True, default=str)


def _in_suite_order(suite: gx.ExpectationSuite, validation: Any) -> list[Any]:
    """GX lists errored results first: put them back in suite order, one per expectation."""
    by_signature = {_signature(r.expectation_config): r for r in validation.results}
    ordered = [by_signature.get(_signature(e.configuration)) for e in suite.expectations]
    if any(r is None for r in ordered) or len(by_signature) != len(validation.results):
        raise ValueError(f"suite {suite.name}: results do not match its expectations one to one")
    return ordered


def _exception_message(result: ExpectationValidationResult) -> str | None:
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


class _RowTally:
    """Per-row counts of one map expectation, added across batches."""

    def __init__(self, result: ExpectationValidationResult) -> None:
        self.first = result
        self.element_count = 0
        self.missing_count = 0
        self.unexpected_count = 0
        self.examples: list[Any] = []
        self.errors: list[str] = []

    def add(self, result: ExpectationValidationResult) -> None:
        error = _exception_message(result)
        if error:
            self.errors.append(error)
            return
        counts = result.result or {}
        if "unexpected_count" not in counts:
            raise ValueError(
                f"{result.expectation_config.type} is not a per-row expectation; "
                "compute whole-table rules in a summary source"
            )
        self.element_count += int(counts.get("element_count") or 0)
        self.missing_count += int(counts.get("missing_count") or 0)
        self.unexpected_count += int(counts.get("unexpected_count") or 0)
        room = MAX_EXAMPLES - len(self.examples)
        if room > 0:
            self.examples.extend((counts.get("partial_unexpected_list") or [])[:room])

    def merged(self) -> tuple[bool, str, dict[str, Any]]:
        """Success by GX's `mostly` rule over the totals, an observed text and a GX result dict."""
        if self.errors:
            return False, f"error: {self.errors[0]}", {"errors": self.errors[:3]}
        kwargs = self.first.expectation_config.kwargs
        mostly = float(kwargs.get("mostly") or 1.0)
        # For not-null expectations GX reports no missing_count: nulls are the unexpected values.
        considered = self.element_count - self.missing_count
        unexpected_share = self.unexpected_count / considered if considered else 0.0
        success = considered == 0 or (1.0 - unexpected_share) >= mostly - 1e-12
        observed = (
            f"{self.unexpected_count} of {considered} rows unexpected ({unexpected_share:.2%})"
        )
        if self.examples:
            observed += f"; e.g. {_jsonable(self.examples)}"
        result = {
            "element_count": self.element_count,
            "missing_count": self.missing_count,
            "unexpected_count": self.unexpected_count,
            "unexpected_percent": 100.0 * unexpected_share,
            "unexpected_percent_total": (
                100.0 * self.unexpected_count / self.element_count if self.element_count else 0.0
            ),
            "partial_unexpected_list": _jsonable(self.examples),
        }
        return success, observed, result


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _summary_observed(
    result: ExpectationValidationResult, frame: Any, key_columns: tuple[str, ...]
) -> str:
    """Observed value(s) of a summary expectation: the failing segments or the value itself."""
    error = _exception_message(result)
    if error:
        return f"error: {error}"
    counts = result.result or {}
    if "observed_value" in counts:
        return json.dumps(_jsonable(counts["observed_value"]))
    if key_columns and not result.success and counts.get("unexpected_index_list"):
        rows = [
            {
                **{k: row.get(k) for k in key_columns},
                **{k: v for k, v in row.items() if k not in key_columns},
            }
            for row in counts["unexpected_index_list"][:20]
        ]
        return json.dumps(_jsonable(rows))
    column = result.expectation_config.kwargs.get("column")
    if column is not None and column in frame.columns:
        values = [None if _is_nan(v) else v for v in frame[column].tolist()]
        if key_columns:
            keys = frame[list(key_columns)].to_dict(orient="records")
            labelled = [{**k, column: v} for k, v in zip(keys, values, strict=True)]
            return json.dumps(_jsonable(labelled[:20]))
        if len(values) == 1:
            return json.dumps(_jsonable(values[0]))
        return json.dumps(_jsonable(values[:20]))
    return json.dumps(_jsonable(counts.get("partial_unexpected_list", [])))


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _pandas_batches(reader: Any, batch_rows: int) -> Iterator[Any]:
    """pandas frames of about `batch_rows` rows from an Arrow reader.

    DuckDB hands out record batches of ~120k rows whatever size is asked; each GX validation
    costs ~0.3-0.6 s of fixed overhead, so small record batches are gathered first.
    """
    import pyarrow as pa

    pending: list[Any] = []
    size = 0
    for record_batch in reader:
        pending.append(record_batch)
        size += record_batch.num_rows
        if size >= batch_rows:
            yield _to_pandas(pa.Table.from_batches(pending))
            pending, size = [], 0
    if pending:
        yield _to_pandas(pa.Table.from_batches(pending))


def _to_pandas(table: Any) -> Any:
    """pandas with the dtypes GX compares vectorised: datetime64 dates and int64 integers.

    GX's pandas `between` falls back to a Python function per value unless the dtype is int64,
    float64 or datetime64 (measured: 2.5 s per million values for an int16 column).
    """
    frame = table.to_pandas(date_as_object=False)
    narrow = [c for c, t in frame.dtypes.items() if t.kind in "iu" and t.itemsize < 8]
    if narrow:
        frame = frame.astype(dict.fromkeys(narrow, "int64"))
    return frame


def _validate_rows(
    con: duckdb.DuckDBPyConnection,
    batch_definition: Any,
    suite: gx.ExpectationSuite,
    source: BatchSource,
    batch_rows: int,
) -> tuple[list[tuple[Any, bool, str]], int, int]:
    """Stream a rows source in Arrow batches, validate each, and merge the counts."""
    reader = con.sql(source.sql).to_arrow_reader(batch_rows)
    tallies: list[_RowTally] | None = None
    rows = batches = 0
    for frame in _pandas_batches(reader, batch_rows):
        rows += len(frame)
        batches += 1
        validation = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
            suite, result_format="SUMMARY"
        )
        results = _in_suite_order(suite, validation)
        if tallies is None:
            tallies = [_RowTally(r) for r in results]
        for tally, result in zip(tallies, results, strict=True):
            tally.add(result)
        del frame
    if tallies is None:
        # An empty table still gets a verdict per expectation (the summary rules catch emptiness).
        empty = _to_pandas(reader.schema.empty_table())
        validation = batch_definition.get_batch(batch_parameters={"dataframe": empty}).validate(
            suite, result_format="SUMMARY"
        )
        results = _in_suite_order(suite, validation)
        tallies = [_RowTally(r) for r in results]
        for tally, result in zip(tallies, results, strict=True):
            tally.add(result)
    merged = []
    for tally in tallies:
        success, observed, result = tally.merged()
        tally.first.success = success
        tally.first.result = result
        merged.append((tally.first, success, observed))
    return merged, rows, batches


def _validate_summary(
    con: duckdb.DuckDBPyConnection,
    batch_definition: Any,
    suite: gx.ExpectationSuite,
    source: BatchSource,
    frame: Any = None,
) -> list[tuple[Any, bool, str]]:
    """Validate a small DuckDB-aggregated frame whole."""
    if frame is None:
        frame = con.execute(source.sql).df()
    result_format: dict[str, Any] = {"result_format": "COMPLETE"}
    if source.key_columns:
        result_format["unexpected_index_column_names"] = list(source.key_columns)
    validation = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
        suite, result_format=result_format
    )
    return [
        (
            r,
            bool(r.success) and _exception_message(r) is None,
            _summary_observed(r, frame, source.key_columns),
        )
        for r in _in_suite_order(suite, validation)
    ]


def run_contract(
    con: duckdb.DuckDBPyConnection,
    contract: ContractSuite,
    run_id: str,
    data_docs_dir: Path | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    context: Any = None,
    only_new_rows: bool = False,
) -> ContractOutcome:
    """Validate `contract` against the warehouse, record the results, and build Data Docs.

    `only_new_rows`: row sources stream only rows no passing validation of these rules checked
    yet (a daily run's batch); with none and the summaries as already judged, GX is skipped.
    """
    ensure_tables(con)
    fingerprint = contract_fingerprint(contract)
    state = _read_state(con, contract.name)
    if state is None or state.fingerprint != fingerprint:
        # Hashes remembered under other rules say nothing about these.
        _forget_rows(con, contract.name)
        state = None
    only_new = only_new_rows and state is not None
    row_sources = {n: s for n, s in contract.sources.items() if s.kind == "rows"}
    frames = _summary_frames(con, contract)
    summary_sha = _frames_sha256(frames)
    if (
        only_new
        and state is not None
        and state.summary_sha256 == summary_sha
        and all(_new_rows_count(con, s, contract.name) == 0 for s in row_sources.values())
    ):
        return _reuse_verdict(con, contract, run_id, state, data_docs_dir)

    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
    )

    context = context or gx_context(data_docs_dir)
    datasource = context.data_sources.add_or_update_pandas("warehouse")
    asset = next((a for a in datasource.assets if a.name == contract.table), None)
    asset = asset or datasource.add_dataframe_asset(contract.table)
    batch_definition = next((b for b in asset.batch_definitions if b.name == "batch"), None)
    batch_definition = batch_definition or asset.add_batch_definition_whole_dataframe("batch")

    suite = contract.build_suite()
    grouped = _split_by_source(suite, contract.sources)
    parts = {
        name: gx.ExpectationSuite(name=suite.name, expectations=[e.copy() for e in grouped[name]])
        for name in contract.sources
        if grouped[name]
    }
    verdicts: list[tuple[str, Any, bool, str]] = []
    rows = batches = 0
    for name, source in contract.sources.items():
        if name not in parts:
            continue
        if source.kind == "rows":
            batch = replace(source, sql=_rows_of(source, contract.name, only_new))
            merged, source_rows, source_batches = _validate_rows(
                con, batch_definition, parts[name], batch, batch_rows
            )
            rows += source_rows
            batches += source_batches
        else:
            merged = _validate_summary(con, batch_definition, parts[name], source, frames[name])
        verdicts.extend((name, r, ok, observed) for r, ok, observed in merged)

    validated_at = datetime.now(UTC)
    outcomes = [
        ExpectationOutcome(
            suite=contract.name,
            source=name,
            expectation=r.expectation_config.type,
            column=_expectation_column(r.expectation_config.kwargs),
            kwargs=_jsonable(
                {k: v for k, v in r.expectation_config.kwargs.items() if k != "batch_id"}
            ),
            observed=observed,
            success=ok,
        )
        for name, r, ok, observed in verdicts
    ]
    outcome = ContractOutcome(
        suite=contract.name,
        table=contract.table,
        severity=contract.severity,
        run_id=run_id,
        expectations=outcomes,
        rows_validated=rows,
        batches=batches,
        data_docs_index=None,
        validated_at=validated_at,
        validation="new rows only" if only_new else "all rows",
    )

    if data_docs_dir is not None:
        suite_result = ExpectationSuiteValidationResult(
            success=outcome.success,
            results=[r for _, r, _, _ in verdicts],
            suite_name=contract.name,
            statistics={
                "evaluated_expectations": len(outcomes),
                "successful_expectations": len(outcomes) - len(outcome.failures),
                "unsuccessful_expectations": len(outcome.failures),
                "success_percent": (
                    100.0 * (len(outcomes) - len(outcome.failures)) / len(outcomes)
                    if outcomes
                    else 100.0
                ),
            },
            meta={
                "great_expectations_version": gx.__version__,
                "run_id": run_id,
                "table": contract.table,
                "rows_validated": rows,
                "batches": batches,
                "validation": outcome.validation,
                "active_batch_definition": {
                    "datasource_name": "warehouse",
                    "data_connector_name": "fluent",
                    "data_asset_name": contract.table,
                    "batch_identifiers": {"run_id": run_id},
                },
            },
        )
        index = build_data_docs(context, suite, suite_result, run_id, validated_at, data_docs_dir)
        outcome = replace(outcome, data_docs_index=index)

    write_results(con, outcome)
    if contract.history_sql:
        record_history(con, contract, run_id, outcome.success, validated_at)
    for name, source in row_sources.items():
        if all(e.success for e in outcomes if e.source == name):
            _remember_rows(con, contract.name, name, source)

    # Judge now, while GX is loaded, the summaries an unchanged warehouse gives the next run
    # (the row-count baseline has just moved to this run), so a quiet day needs no GX.
    next_frames = _summary_frames(con, contract)
    next_sha = _frames_sha256(next_frames)
    next_summary = {name: [e for e in outcomes if e.source == name] for name in frames}
    if next_sha != summary_sha:
        for name, source in contract.sources.items():
            if source.kind == "summary" and name in parts:
                judged = _validate_summary(
                    con, batch_definition, parts[name], source, next_frames[name]
                )
                next_summary[name] = [
                    replace(e, observed=observed, success=ok)
                    for e, (_, ok, observed) in zip(next_summary[name], judged, strict=True)
                ]
    queues = {name: iter(judged) for name, judged in next_summary.items()}
    expected = [
        replace(e, observed=NO_NEW_ROWS, success=True)
        if e.source in row_sources
        else next(queues[e.source])
        for e in outcomes
    ]
    _write_state(con, contract.name, fingerprint, next_sha, expected, run_id, validated_at)
    log.info("%s", outcome.description())
    return outcome


def _reuse_verdict(
    con: duckdb.DuckDBPyConnection,
    contract: ContractSuite,
    run_id: str,
    state: _State,
    data_docs_dir: Path | None,
) -> ContractOutcome:
    """Nothing new since the last run: its judgement of this very warehouse state stands."""
    validated_at = datetime.now(UTC)
    index = Path(data_docs_dir) / "index.html" if data_docs_dir is not None else None
    outcome = ContractOutcome(
        suite=contract.name,
        table=contract.table,
        severity=contract.severity,
        run_id=run_id,
        expectations=state.expectations,
        rows_validated=0,
        batches=0,
        data_docs_index=index if index is not None and index.exists() else None,
        validated_at=validated_at,
        validation=SKIPPED,
    )
    write_results(con, outcome)
    if contract.history_sql:
        record_history(con, contract, run_id, outcome.success, validated_at)
    if _frames_sha256(_summary_frames(con, contract)) != state.summary_sha256:
        # The history just recorded moved a baseline: the next run judges with GX again.
        con.execute(f"DELETE FROM {STATE_TABLE} WHERE suite = ?", [contract.name])
    log.info("%s (%s)", outcome.description(), SKIPPED)
    return outcome


def build_data_docs(
    context: Any,
    suite: gx.ExpectationSuite,
    suite_result: Any,
    run_id: str,
    validated_at: datetime,
    data_docs_dir: Path,
) -> Path:
    """Store the merged result and rebuild the static site; returns the index.html path."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    context.suites.add_or_update(suite)
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
        run_id=RunIdentifier(run_name=run_id, run_time=validated_at),
        batch_identifier="warehouse",
    )
    context.validation_results_store.set(key, suite_result)
    context.build_data_docs(site_names=[SITE_NAME])
    make_offline(data_docs_dir)
    return data_docs_dir / "index.html"


def write_results(con: duckdb.DuckDBPyConnection, outcome: ContractOutcome) -> None:
    """Replace this run's rows of the suite in `validation_results` (re-runs stay idempotent)."""
    rows = [
        (
            outcome.run_id,
            e.suite,
            outcome.table,
            e.source,
            e.expectation,
            e.column,
            json.dumps(e.kwargs, sort_keys=True),
            e.observed,
            e.success,
            outcome.severity,
            outcome.validated_at.replace(tzinfo=None),
        )
        for e in outcome.expectations
    ]
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"DELETE FROM {RESULTS_TABLE} WHERE run_id = ? AND suite = ?",
            [outcome.run_id, outcome.suite],
        )
        if rows:
            con.executemany(
                f"INSERT INTO {RESULTS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def record_history(
    con: duckdb.DuckDBPyConnection,
    contract: ContractSuite,
    run_id: str,
    success: bool,
    recorded_at: datetime,
) -> None:
    """Remember this run's counts; the next run compares against the last passing one."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"DELETE FROM {HISTORY_TABLE} WHERE run_id = ? AND suite = ?", [run_id, contract.name]
        )
        con.execute(
            f"""
            INSERT INTO {HISTORY_TABLE}
            SELECT ?, ?, CAST(segment AS VARCHAR), row_count, ?, ?, ?
            FROM ({contract.history_sql})
            """,
            [contract.name, contract.table, run_id, success, recorded_at.replace(tzinfo=None)],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name → DuckDB type of a table in the main schema (empty when it does not exist)."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = ? AND table_schema = 'main' ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return {name: dtype for name, dtype in rows}
