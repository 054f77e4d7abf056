"""Each suite catches its own planted defect, and only that suite; clean data passes every one."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from data_contracts.expectations import modelling_table, notes, remits, scores, staged_claims
from data_contracts.validation import ContractOutcome, run_contract, table_columns

SUITES = (
    "staged_claim_lines",
    "staged_claim_lines_payer_volume",
    "staged_remits",
    "staged_notes",
    "modelling_table",
    "risk_scores",
    "risk_scores_calibration",
)


def run_all(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, ContractOutcome]:
    """Every contract against the warehouse, without Data Docs (kept fast)."""
    contracts = [
        staged_claims.contract(),
        staged_claims.volume_contract(),
        remits.contract(),
        notes.contract(),
        modelling_table.contract(table_columns(con, "modelling_table")),
        scores.contract(table_columns(con, "risk_scores")),
        scores.drift_contract(),
    ]
    return {c.name: run_contract(con, c, run_id) for c in contracts}


def contract_named(con: duckdb.DuckDBPyConnection, suite: str):
    """The contract of one suite, built for the warehouse's columns."""
    return {
        "staged_claim_lines": lambda: staged_claims.contract(),
        "staged_remits": lambda: remits.contract(),
        "staged_notes": lambda: notes.contract(),
        "modelling_table": lambda: modelling_table.contract(table_columns(con, "modelling_table")),
        "risk_scores": lambda: scores.contract(table_columns(con, "risk_scores")),
    }[suite]()


def failed(outcomes: dict[str, ContractOutcome]) -> set[str]:
    return {name for name, o in outcomes.items() if not o.success}


def failure_of(outcome: ContractOutcome, column: str):
    matches = [e for e in outcome.failures if e.column == column]
    assert matches, outcome.description()
    return matches[0]


def test_clean_world_passes_every_suite_twice(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        first = run_all(con, "run-1")
        second = run_all(con, "run-2")
        ratios = con.execute(
            "SELECT observed_value FROM validation_results "
            "WHERE run_id = 'run-2' AND suite = 'staged_claim_lines' AND column_name = 'row_count_ratio'"
        ).fetchall()
    assert failed(first) == set() and failed(second) == set()
    assert set(first) == set(SUITES)
    assert first["staged_claim_lines"].rows_validated == 3000
    assert first["staged_claim_lines"].batches == 1
    # The second run compares against the first: the same data gives a ratio of exactly 1.
    assert ratios == [("1.0",)]
    denial_rate = next(
        e for e in first["modelling_table"].expectations if e.column == "denial_rate"
    )
    assert 0.10 < float(denial_rate.observed) < 0.20


# (defect SQL, the suite that must fail, the column whose expectation fails, observed text).
# One defect per suite runs against every suite (each full pass costs a few seconds of GX).
ONLY_THIS_SUITE_DEFECTS = {
    "duplicate_claim_keys": (
        "INSERT INTO staged_claim_lines SELECT * FROM staged_claim_lines "
        "WHERE cpt_code <> '64520' AND claim_id < 'C000010'",
        "staged_claim_lines",
        "duplicate_keys",
        "10",
    ),
    "remits_to_unknown_lines": (
        "UPDATE staged_remits SET claim_id = 'X' || claim_id WHERE source_row % 10 < 3",
        "staged_remits",
        "unmatched_remit_share",
        "0.3",
    ),
    "notes_to_unknown_encounters": (
        "UPDATE staged_notes SET encounter_id = 'Z' || encounter_id WHERE source_row % 10 < 3",
        "staged_notes",
        "unmatched_encounter_share",
        "0.3",
    ),
    "feature_all_null": (
        "UPDATE modelling_table SET doc_completeness = NULL",
        "modelling_table",
        "null_share",
        '"feature": "doc_completeness", "null_share": 1.0',
    ),
    "probabilities_above_one": (
        "UPDATE risk_scores SET denial_probability = 1.3 WHERE hash(claim_id) % 20 = 0",
        "risk_scores",
        "denial_probability",
        "1.3",
    ),
}
# Further defects, each run against its own suite only.
MORE_DEFECTS = {
    "unknown_plan_type": (
        "UPDATE staged_claim_lines SET plan_type = 'tricare' WHERE source_row % 100 = 2 "
        "AND cpt_code <> '64520'",
        "staged_claim_lines",
        "plan_type",
        "30 of 3000 rows unexpected",
    ),
    "submission_before_service": (
        "UPDATE staged_claim_lines SET submission_date = service_date - 3 "
        "WHERE source_row % 50 = 2",
        "staged_claim_lines",
        "submission_date,service_date",
        "60 of 3000 rows unexpected",
    ),
    "unknown_carc": (
        "UPDATE staged_remit_adjustments SET carc = 'ZZ9' WHERE source_row % 20 = 0",
        "staged_remits",
        "carc",
        "ZZ9",
    ),
    # One remit dated before its line is a keying slip (labelled, counted); 30% of them is a
    # batch fact (swapped date columns) and blocks.
    "adjudication_before_submission": (
        "UPDATE staged_remits SET adjudication_date = adjudication_date - 40 "
        "WHERE source_row % 10 < 3",
        "staged_remits",
        "adjudicated_before_submission_share",
        "0.3",
    ),
    "key_feature_mostly_null": (
        "UPDATE modelling_table SET submission_lag_days = NULL WHERE hash(claim_id) % 10 = 0",
        "modelling_table",
        "null_share",
        '"feature": "submission_lag_days"',
    ),
}


@pytest.mark.parametrize("defect", sorted(ONLY_THIS_SUITE_DEFECTS))
def test_planted_defect_is_caught_by_its_suite_only(warehouse: Path, defect: str) -> None:
    sql, suite, column, observed = ONLY_THIS_SUITE_DEFECTS[defect]
    with duckdb.connect(str(warehouse)) as con:
        con.execute(sql)
        outcomes = run_all(con, "run-1")
    assert failed(outcomes) == {suite}, {n: o.description() for n, o in outcomes.items()}
    failure = failure_of(outcomes[suite], column)
    assert observed in failure.observed
    description = outcomes[suite].description()
    assert suite in description and failure.expectation in description and observed in description


@pytest.mark.parametrize("defect", sorted(MORE_DEFECTS))
def test_planted_defect_fails_its_suite(warehouse: Path, defect: str) -> None:
    sql, suite, column, observed = MORE_DEFECTS[defect]
    with duckdb.connect(str(warehouse)) as con:
        assert run_contract(con, contract_named(con, suite), "run-1").success
        con.execute(sql)
        outcome = run_contract(con, contract_named(con, suite), "run-2")
    failure = failure_of(outcome, column)
    assert observed in failure.observed
    assert [e.column for e in outcome.failures] == [column]


def test_denial_rate_outside_band_fails_the_modelling_table(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE modelling_table SET denied = 1, status = 'denied' WHERE NOT is_pending")
        outcome = run_contract(
            con, modelling_table.contract(table_columns(con, "modelling_table")), "run-1"
        )
    failure = failure_of(outcome, "denial_rate")
    assert failure.observed == "1.0"
    assert failure.kwargs["max_value"] == 0.40


def test_payer_volume_drop_warns_without_failing_the_contract(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        assert failed(run_all(con, "run-1")) == set()
        # 90% of payer P3's lines now arrive as P0: the total is unchanged, P3 fell by 90%.
        con.execute(
            "UPDATE staged_claim_lines SET payer_id = 'P0' "
            "WHERE payer_id = 'P3' AND hash(claim_id) % 10 <> 0"
        )
        outcomes = run_all(con, "run-2")
    assert failed(outcomes) == {"staged_claim_lines_payer_volume"}
    assert outcomes["staged_claim_lines_payer_volume"].severity == "warn"
    failure = failure_of(outcomes["staged_claim_lines_payer_volume"], "volume_ratio")
    assert '"segment": "P3"' in failure.observed
    p3 = [e for e in failure.observed.split("}") if "P3" in e][0]
    assert 0.05 < float(p3.split('"volume_ratio": ')[1]) < 0.15


def test_half_the_notes_lost_fails_the_row_count_change(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        assert run_contract(con, notes.contract(), "run-1").success
        con.execute("DELETE FROM staged_notes WHERE source_row % 2 = 0")
        lost = run_contract(con, notes.contract(), "run-2")
        # The baseline stays the last passing run, so a retry with the same loss fails again.
        retried = run_contract(con, notes.contract(), "run-3")
    for outcome in (lost, retried):
        failure = failure_of(outcome, "row_count_ratio")
        assert 0.49 < float(failure.observed) < 0.51


def test_scores_far_from_recent_denial_rate_warn(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE risk_scores SET denial_probability = 0.7")
        outcomes = run_all(con, "run-1")
    assert failed(outcomes) == {"risk_scores_calibration"}
    failure = failure_of(outcomes["risk_scores_calibration"], "mean_score_gap")
    assert 0.5 < float(failure.observed) < 0.6
