"""The runner: batch results merge like one frame, failures fail closed, results and docs land."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import duckdb
import pytest

from data_contracts.expectations import BatchSource, ContractSuite, modelling_table, staged_claims
from data_contracts.validation import RESULTS_TABLE, run_contract, table_columns


def _numbers_suite(extra: list | None = None):
    import great_expectations as gx
    import great_expectations.expectations as gxe

    rows = {"source": "rows"}
    return gx.ExpectationSuite(
        name="numbers",
        expectations=[
            gxe.ExpectColumnValuesToNotBeNull(column="x", mostly=0.95, meta=rows),
            gxe.ExpectColumnValuesToNotBeNull(column="x", mostly=0.97, meta=rows),
            gxe.ExpectColumnValuesToBeBetween(column="y", min_value=0, max_value=10, meta=rows),
            *(extra or []),
        ],
    )


def _numbers_contract(extra: list | None = None) -> ContractSuite:
    return ContractSuite(
        name="numbers",
        table="numbers",
        severity="error",
        sources={"rows": BatchSource("SELECT x, y FROM numbers ORDER BY i", "rows")},
        build_suite=partial(_numbers_suite, extra),
    )


@pytest.fixture
def numbers(tmp_path: Path, gx_module) -> duckdb.DuckDBPyConnection:
    # 4% nulls, all inside the first 100 rows: a per-batch verdict would fail that batch alone.
    con = duckdb.connect(str(tmp_path / "numbers.duckdb"))
    con.execute(
        "CREATE TABLE numbers AS SELECT i, CASE WHEN i < 40 THEN NULL ELSE i END AS x, "
        "CASE WHEN i = 999 THEN 11 ELSE i % 10 END AS y FROM range(1000) t(i)"
    )
    yield con
    con.close()


def test_batches_merge_to_the_whole_table_verdict(numbers: duckdb.DuckDBPyConnection) -> None:
    batched = run_contract(numbers, _numbers_contract(), "batched", batch_rows=100)
    whole = run_contract(numbers, _numbers_contract(), "whole", batch_rows=10_000)
    assert (batched.batches, whole.batches) == (10, 1)
    assert [e.success for e in batched.expectations] == [True, False, False]
    assert [e.success for e in whole.expectations] == [True, False, False]
    assert [e.observed for e in batched.expectations] == [e.observed for e in whole.expectations]
    assert batched.expectations[0].observed.startswith("40 of 1000 rows unexpected (4.00%)")
    assert batched.expectations[2].observed == "1 of 1000 rows unexpected (0.10%); e.g. [11]"


def test_aggregate_expectation_on_a_row_source_is_refused(
    numbers: duckdb.DuckDBPyConnection,
) -> None:
    import great_expectations.expectations as gxe

    mean = gxe.ExpectColumnMeanToBeBetween(column="y", min_value=0, meta={"source": "rows"})
    with pytest.raises(ValueError, match="not a per-row expectation"):
        run_contract(numbers, _numbers_contract([mean]), "r", batch_rows=100)


def test_an_expectation_that_errors_fails_closed(numbers: duckdb.DuckDBPyConnection) -> None:
    import great_expectations.expectations as gxe

    missing = gxe.ExpectColumnValuesToNotBeNull(column="no_such_column", meta={"source": "rows"})
    outcome = run_contract(numbers, _numbers_contract([missing]), "r", batch_rows=100)
    assert not outcome.expectations[-1].success
    assert outcome.expectations[-1].observed.startswith("error:")


def test_results_rows_and_data_docs_are_written(warehouse: Path, tmp_path: Path) -> None:
    docs = tmp_path / "data_docs"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE staged_claim_lines SET units = 500 WHERE source_row <= 4")
        outcome = run_contract(con, staged_claims.contract(), "run-7", docs)
        rows = con.execute(
            f"SELECT suite, expectation, column_name, observed_value, success, run_id, "
            f"severity, validated_at FROM {RESULTS_TABLE} ORDER BY success, column_name"
        ).fetchall()
    assert outcome.data_docs_index == docs / "index.html"
    index = (docs / "index.html").read_text()
    assert "staged_claim_lines" in index
    assert len(rows) == len(outcome.expectations) == 19
    suite, expectation, column, observed, success, run_id, severity, validated_at = rows[0]
    assert (suite, expectation, column, success, run_id, severity) == (
        "staged_claim_lines",
        "expect_column_values_to_be_between",
        "units",
        False,
        "run-7",
        "error",
    )
    assert observed.startswith("4 of 3000 rows unexpected")
    assert validated_at is not None
    assert sum(1 for r in rows if r[4]) == 18
    assert json.loads(json.dumps(outcome.metadata()))["expectations_failed"] == 1


def test_thresholds_come_from_the_environment(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DENIAL_RISK_CONTRACT_DENIAL_RATE_MAX", "0.1")
    monkeypatch.setenv("DENIAL_RISK_CONTRACT_KEY_FEATURES", "units, doc_completeness")
    with duckdb.connect(str(warehouse)) as con:
        contract = modelling_table.contract(table_columns(con, "modelling_table"))
        outcome = run_contract(con, contract, "r")
    assert contract.thresholds.denial_rate_max == 0.1
    assert contract.thresholds.key_features == ("units", "doc_completeness")
    assert {e.column for e in outcome.failures} == {"denial_rate", "null_share"}
    key_nulls = next(e for e in outcome.failures if e.source == "key_feature_nulls")
    assert '"feature": "doc_completeness"' in key_nulls.observed


def _batch_suite(max_y: int = 10):
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name="batches",
        expectations=[
            gxe.ExpectColumnValuesToBeBetween(
                column="y", min_value=0, max_value=max_y, meta={"source": "rows"}
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="duplicate_keys", min_value=0, max_value=0, meta={"source": "summary"}
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="row_count_ratio", min_value=0.9, meta={"source": "summary"}
            ),
        ],
    )


def _batch_contract(max_y: int = 10) -> ContractSuite:
    from data_contracts.expectations import row_count_change_sql

    summary = f"""
        WITH change AS ({row_count_change_sql("batches", "SELECT count(*) AS row_count FROM t")})
        SELECT (SELECT count(*) - count(DISTINCT i) FROM t) AS duplicate_keys,
               change.row_count_ratio
        FROM change
    """
    return ContractSuite(
        name="batches",
        table="t",
        severity="error",
        sources={
            "rows": BatchSource("SELECT i, y FROM t", "rows"),
            "summary": BatchSource(summary, "summary"),
        },
        build_suite=partial(_batch_suite, max_y),
        history_sql="SELECT '__total__' AS segment, count(*) AS row_count FROM t",
        thresholds=max_y,
    )


def test_a_daily_run_validates_its_batch_and_a_quiet_day_reuses_the_verdict(
    tmp_path: Path, gx_module
) -> None:
    con = duckdb.connect(str(tmp_path / "batches.duckdb"))
    con.execute("CREATE TABLE t AS SELECT i, i % 10 AS y FROM range(100) r(i)")

    def run(run_id: str, only_new_rows: bool = True, max_y: int = 10):
        outcome = run_contract(
            con, _batch_contract(max_y), run_id, tmp_path / "docs", only_new_rows=only_new_rows
        )
        return outcome.success, outcome.rows_validated, outcome.validation

    # No remembered state: everything is validated, then an unchanged warehouse needs no GX.
    assert run("first") == (True, 100, "all rows")
    assert run("quiet") == (True, 0, "skipped: inputs unchanged")
    written = con.execute(
        f"SELECT count(*), bool_and(success) FROM {RESULTS_TABLE} WHERE run_id = 'quiet'"
    ).fetchall()
    assert written == [(3, True)]
    # New rows: only they are streamed; the summary still covers the whole table.
    con.execute("INSERT INTO t SELECT i, 1 FROM range(100, 105) r(i)")
    assert run("five new") == (True, 5, "new rows only")
    # A bad row fails the batch and stays unremembered, so the next run fails again on it.
    con.execute("INSERT INTO t VALUES (105, 11)")
    assert run("bad") == (False, 1, "new rows only")
    assert run("still bad") == (False, 1, "new rows only")
    # A duplicated key is a whole-table fact: caught by the summary though no row is new.
    con.execute("DELETE FROM t WHERE i = 105")
    con.execute("INSERT INTO t SELECT i, y FROM t WHERE i = 3")
    outcome = run_contract(con, _batch_contract(), "dup", only_new_rows=True)
    assert (outcome.success, outcome.rows_validated) == (False, 0)
    assert [e.column for e in outcome.failures] == ["duplicate_keys"]
    con.execute("DELETE FROM t WHERE i = 3")
    con.execute("INSERT INTO t VALUES (3, 3)")
    assert run("fixed") == (True, 0, "new rows only")
    assert run("quiet again") == (True, 0, "skipped: inputs unchanged")
    # A full run validates every row; other rules (a threshold) make every row new again.
    assert run("full", only_new_rows=False) == (True, 105, "all rows")
    assert run("new rules", max_y=9) == (True, 105, "all rows")
    con.close()
