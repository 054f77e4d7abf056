"""DENIAL_RISK_MEMORY_LIMIT: parsed once, applied to DuckDB; peak RSS measured per step."""

import numpy as np
import pytest

from pipelines.defs.resources import build_resources
from pipelines.memory import machine_memory_bytes, memory_limit_bytes, peak_rss_mb, reset_peak_rss
from pipelines.settings import ProductSettings


def test_memory_limit_defaults_to_a_third_of_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DENIAL_RISK_MEMORY_LIMIT", raising=False)
    assert memory_limit_bytes() == machine_memory_bytes() // 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2GB", 2 * 2**30), ("512m", 512 * 2**20), ("1.5G", int(1.5 * 2**30)), ("1000", 1000)],
)
def test_memory_limit_reads_sizes(
    monkeypatch: pytest.MonkeyPatch, text: str, expected: int
) -> None:
    monkeypatch.setenv("DENIAL_RISK_MEMORY_LIMIT", text)
    assert memory_limit_bytes() == expected


@pytest.mark.parametrize("text", ["lots", "-1GB", "0"])
def test_memory_limit_refuses_nonsense(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("DENIAL_RISK_MEMORY_LIMIT", text)
    with pytest.raises(ValueError, match="DENIAL_RISK_MEMORY_LIMIT"):
        memory_limit_bytes()


def test_duckdb_runs_under_the_limit(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("DENIAL_RISK_MEMORY_LIMIT", "1GB")
    settings = ProductSettings(warehouse=tmp_path / "w.duckdb")
    with build_resources(settings)["warehouse"].get_connection() as con:
        (limit,) = con.execute("SELECT current_setting('memory_limit')").fetchall()[0]
    assert limit in ("1.0 GiB", "1024.0 MiB")


def test_peak_rss_resets_between_steps() -> None:
    reset_peak_rss()
    block = np.ones(50_000_000)  # 400 MB
    high = peak_rss_mb()
    del block
    reset_peak_rss()
    assert high > 350
    assert peak_rss_mb() < high - 300
