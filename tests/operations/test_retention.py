"""Retention keeps the newest exports and recent runs and deletes the rest."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from pipelines.defs.operations.retention import prune_exports, prune_runs

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _export(folder: Path, stamp: str, age_days: int, manifest: bool = True) -> Path:
    csv = folder / f"risk_scores_{stamp}.csv"
    csv.write_text("claim_id,line_number,denial_probability\n")
    paths = [csv]
    if manifest:
        paths.append(csv.with_suffix(".manifest.json"))
        paths[-1].write_text("{}")
    when = (NOW - timedelta(days=age_days)).timestamp()
    for path in paths:
        os.utime(path, (when, when))
    return csv


def test_prune_exports_keeps_recent_and_newest(tmp_path: Path) -> None:
    _export(tmp_path, "20260101T060000Z", age_days=329)
    _export(tmp_path, "20260601T060000Z", age_days=178, manifest=False)
    _export(tmp_path, "20261001T060000Z", age_days=56)
    _export(tmp_path, "20261126T060000Z", age_days=0)
    (tmp_path / "notes.txt").write_text("not an export")

    deleted = prune_exports(tmp_path, NOW, keep_days=90, keep_last=1)
    assert [p.name for p in deleted] == [
        "risk_scores_20260601T060000Z.csv",
        "risk_scores_20260101T060000Z.manifest.json",
        "risk_scores_20260101T060000Z.csv",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "notes.txt",
        "risk_scores_20261001T060000Z.csv",
        "risk_scores_20261001T060000Z.manifest.json",
        "risk_scores_20261126T060000Z.csv",
        "risk_scores_20261126T060000Z.manifest.json",
    ]
    # Everything old but the newest two is gone when keep_last protects two.
    assert prune_exports(tmp_path, NOW + timedelta(days=400), keep_days=90, keep_last=2) == []


@dg.op
def noop() -> None:
    return None


@dg.job
def tiny_job() -> None:
    noop()


def test_prune_runs_deletes_finished_runs_before_the_cutoff() -> None:
    with dg.instance_for_test() as instance:
        run_ids = [tiny_job.execute_in_process(instance=instance).run_id for _ in range(2)]
        assert prune_runs(instance, datetime.now(UTC) - timedelta(days=1)) == []
        assert sorted(prune_runs(instance, datetime.now(UTC) + timedelta(seconds=1))) == sorted(
            run_ids
        )
        assert instance.get_runs() == []
