"""Row-rule SQL pieces and the patient-key HMAC, checked against plain Python."""

from __future__ import annotations

import hashlib
import hmac
import stat
from datetime import date
from pathlib import Path

import duckdb
import pytest

from data_contracts.row_rules import (
    REASONS,
    age_at_sql,
    npi_is_valid,
    npi_valid_sql,
    rules,
)
from pipelines.sources.privacy import (
    PADS_TABLE,
    PHI_KEY_ENV,
    hmac_pads,
    load_phi_key,
    patient_key,
    patient_key_sql,
)


def test_npi_check_digit_python_and_sql_agree() -> None:
    npis = [f"{n:010d}" for n in range(1_234_567_800, 1_234_568_000)] + ["123456789", "12345678a3"]
    with duckdb.connect() as con:
        con.execute("CREATE TABLE npi (n VARCHAR)")
        con.executemany("INSERT INTO npi VALUES (?)", [[n] for n in npis])
        sql_valid = dict(
            con.execute(f"SELECT n, coalesce({npi_valid_sql('n')}, false) FROM npi").fetchall()
        )
    assert npi_is_valid("1234567893")  # CMS's published example
    assert not npi_is_valid("1234567890")
    assert {n: npi_is_valid(n) for n in npis} == sql_valid
    # one valid check digit per 10 consecutive payloads
    assert sum(sql_valid.values()) == 20


@pytest.mark.parametrize(
    ("birth", "at", "age"),
    [
        (date(1960, 3, 5), date(2024, 3, 4), 63),
        (date(1960, 3, 5), date(2024, 3, 5), 64),
        (date(2000, 2, 29), date(2024, 2, 28), 23),
        (date(2024, 1, 1), date(2024, 1, 1), 0),
    ],
)
def test_age_at_service_counts_whole_years(birth: date, at: date, age: int) -> None:
    with duckdb.connect() as con:
        got = con.execute(f"SELECT {age_at_sql('$1::DATE', '$2::DATE')}", [birth, at]).fetchone()
    assert got == (age,)


def test_rules_use_only_documented_reasons_and_contract_columns() -> None:
    for folder in ("claims", "remits", "remit_adjustments", "notes"):
        for rule in rules(folder):
            assert rule.reason in REASONS
            assert rule.column is not None


def test_patient_key_sql_equals_python_hmac() -> None:
    key = b"a test key that is not secret"
    inner, outer = hmac_pads(key)
    with duckdb.connect() as con:
        con.execute(
            f"CREATE TEMP TABLE {PADS_TABLE} AS SELECT ?::BLOB AS ipad, ?::BLOB AS opad",
            [inner, outer],
        )
        got = con.execute(f"SELECT {patient_key_sql('?')}", ["PATIENT-Ü-1"]).fetchone()
    expected = hmac.new(key, "PATIENT-Ü-1".encode(), hashlib.sha256).hexdigest()
    assert got == (expected,)
    assert patient_key("PATIENT-Ü-1", key) == expected


def test_phi_key_generated_once_with_owner_only_permissions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PHI_KEY_ENV, raising=False)
    key_file = tmp_path / "data" / ".phi_key"
    first = load_phi_key(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_phi_key(key_file) == first
    assert len(first) == 64
    monkeypatch.setenv(PHI_KEY_ENV, "from-the-environment")
    assert load_phi_key(key_file) == b"from-the-environment"
