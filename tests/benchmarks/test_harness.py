"""The benchmark harness on a ~3k-line world: the JSON has its structure and positive numbers.

No timing assertions: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.peer import guard
from benchmarks.report import SECTION, update_performance_doc
from benchmarks.run import main, parse_size


def test_parse_size() -> None:
    assert parse_size("100k") == 100_000
    assert parse_size("1m") == 1_000_000
    assert parse_size("10M") == 10_000_000
    assert parse_size("3000") == 3000


def test_update_performance_doc_replaces_only_its_section(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\n## Other area\nkept\n")
    update_performance_doc(doc, f"{SECTION}\n\nfirst\n")
    update_performance_doc(doc, f"{SECTION}\n\nsecond\n")
    text = doc.read_text()
    assert text.count(SECTION) == 1
    assert "second" in text and "first" not in text
    assert text.index("## Other area") < text.index(SECTION)
    assert "kept" in text


def test_peer_memory_guard_refuses_a_peer_that_cannot_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "c.csv").write_text("claim_id\n" + "C1\n" * 1000)
    guard.check_memory(tmp_path)
    monkeypatch.setattr(guard, "PEAK_PER_LANDING_BYTE", float(guard.available_bytes()))
    with pytest.raises(guard.PeerMemoryGuard, match="peer not run"):
        guard.check_memory(tmp_path)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    root = tmp_path_factory.mktemp("bench")
    out = main(
        [
            "--sizes", "3k",
            "--cache", str(root / "cache"),
            "--results", str(root / "results"),
            "--stages", "ingest",
            "--no-overhead",
            "--no-e2e",
            "--no-docs",
        ]
    )  # fmt: skip
    return out, root


def test_harness_writes_measurements(results: tuple[dict, Path]) -> None:
    out, root = results
    files = list((root / "results").glob("*-3k.json"))
    assert len(files) == 1
    saved = json.loads(files[0].read_text())
    assert saved["meta"]["machine"]["nproc"] >= 1
    assert saved["meta"]["machine"]["mem_total_gb"] > 0
    size = saved["sizes"]["3k"]
    assert size["lines"] == 3000
    stages = size["ours"]["stages"]
    assert set(stages) == {"ingest"}
    for m in stages.values():
        assert m["ok"], m["error"]
        assert m["wall_s"] > 0 and m["cpu_s"] > 0
        assert m["max_rss_mb"] > 50 and m["tree_peak_rss_mb"] >= m["max_rss_mb"]
        assert len(m["load_before"]) == 3
    info = stages["ingest"]["info"]
    assert info["row_counts"]["staged_claim_lines"] > 2000
    assert info["pipeline_s"] > 0
    ingest_assets = {
        "reference_tables",
        "staged_claim_lines",
        "staged_remits",
        "staged_notes",
        "line_outcomes",
    }
    # Each ingest asset ran; every other step is one of their checks (`<asset>_<check>`).
    assert ingest_assets <= set(info["step_s"])
    assert all(
        step in ingest_assets or any(step.startswith(f"{a}_") for a in ingest_assets)
        for step in info["step_s"]
    )
    assert all(v > 0 for v in info["step_s"].values())
    floor = size["floors"]["ingest"]
    assert floor["ok"] and floor["info"]["seconds"] > 0
    assert (
        floor["info"]["rows"]["claims"]
        == stages["ingest"]["info"]["row_counts"]["staged_claim_lines"]
    )
    peer = size["peer"]["stages"]
    assert set(peer) == {"ingest"} and peer["ingest"]["ok"]
    assert peer["ingest"]["info"]["claim_lines"] == floor["info"]["rows"]["claims"]
    summary = size["summary"]
    assert summary["ours"]["ingest"]["work_s"] > 0
    assert summary["ours"]["ingest"]["parts"] == ["ingest"]
    assert summary["x_floor"]["ingest_work"] > 0
    assert summary["peer_over_ours"]["ingest"] > 0
    assert {t["verdict"] for t in saved["targets"]} <= {"met", "MISSED", "not measured"}
    markdown = next((root / "results").glob("*-3k.md")).read_text()
    assert markdown.startswith(SECTION)
    assert "| ingest |" in markdown
