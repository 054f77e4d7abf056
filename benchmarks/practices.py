"""Many practices on one machine: four practices' daily runs started together vs one alone.

Each practice gets its own synthetic world under a practices root and is bootstrapped once with
the full in-process run (trains its champion; not timed). Then `ingest_and_score_job` (the daily
job the schedule starts) runs for one practice alone, and for all practices started at the same
moment, each in its own process as Dagster's run launcher starts runs, routed by the run tag
`denial_risk/practice`. Reported: wall time of each run, the wall time until the last concurrent
run finished, its ratio to the lone run (issue 19 target: <= 2.5x for four 1M-line practices on
2 cores), peak RSS per run, and the queue settings of dagster.yaml that allow it.

    uv run python -m benchmarks.practices --lines 20000 --practices 4 --work /tmp/practices-bench
    uv run python -m benchmarks.practices --lines 1000000 ...   # the target size: a quiet machine only
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
DAILY_JOB = "ingest_and_score_job"


def practice_names(count: int) -> list[str]:
    return [f"practice-{i + 1}" for i in range(count)]


def prepare(root: Path, names: list[str], lines: int) -> dict[str, float]:
    """Generate each practice's world and bootstrap it with the full run; seconds per practice."""
    from pipelines.defs.operations.jobs import practice_run_tags
    from pipelines.practices import add_practice
    from pipelines.runner import run_pipeline
    from pipelines.sources.synthetic import generate_world

    seconds: dict[str, float] = {}
    for seed, name in enumerate(names, start=11):
        settings = add_practice(root, name)
        started = time.perf_counter()
        if not any((settings.landing / "claims").iterdir()):
            generate_world(settings.landing, lines=lines, seed=seed, fmt="csv")
        if not settings.warehouse.exists():
            report = run_pipeline(settings, tags=practice_run_tags(name))
            if not report.completed:
                raise RuntimeError(f"bootstrap of {name} failed: {report.failed_steps}")
        seconds[name] = round(time.perf_counter() - started, 1)
    return seconds


def run_daily(practice: str) -> dict[str, Any]:
    """Child process: the code location's daily job for one practice, as a launched run does."""
    import dagster as dg

    from pipelines.defs.operations.jobs import practice_run_tags
    from pipelines.runner import load_definitions

    started = time.perf_counter()
    job = load_definitions().resolve_job_def(DAILY_JOB)
    loaded = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance, tags=practice_run_tags(practice), raise_on_error=False
        )
    finished = time.perf_counter()
    return {
        "practice": practice,
        "success": result.success,
        "load_s": round(loaded - started, 2),
        "run_s": round(finished - loaded, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def launch(practices: list[str], root: Path) -> tuple[float, list[dict[str, Any]]]:
    """Start one child per practice at the same moment; wall time until the last one ends."""
    env = {**os.environ, "DENIAL_RISK_PRACTICES_ROOT": str(root)}
    started = time.perf_counter()
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.practices", "child", practice],
            env=env,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for practice in practices
    ]
    ended: dict[int, float] = {}
    while len(ended) < len(children):
        for index, child in enumerate(children):
            if index not in ended and child.poll() is not None:
                ended[index] = time.perf_counter() - started
        time.sleep(0.2)
    results = []
    for index, child in enumerate(children):
        out = child.stdout.read() if child.stdout else ""
        record = json.loads(out.strip().splitlines()[-1])
        record["wall_s"] = round(ended[index], 2)
        results.append(record)
    return round(max(ended.values()), 2), results


def queue_settings() -> dict[str, Any]:
    """The run-queue and pool settings of the repo's dagster.yaml (what a daemon would apply)."""
    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())["concurrency"]
    return {"runs": config["runs"], "pools": config["pools"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("child")
    child.add_argument("practice")
    parser.add_argument("--lines", type=int, default=20_000, help="claim lines per practice")
    parser.add_argument("--practices", type=int, default=4)
    parser.add_argument("--work", type=Path, default=Path("/tmp/denial-risk-practices-bench"))
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")
    args = parser.parse_args(argv)
    if args.command == "child":
        print(json.dumps(run_daily(args.practice)))
        return

    root = args.work / "practices"
    os.environ["DENIAL_RISK_PRACTICES_ROOT"] = str(root)
    names = practice_names(args.practices)
    bootstrap = prepare(root, names, args.lines)
    alone_s, alone = launch(names[:1], root)
    together_s, together = launch(names, root)
    result = {
        "lines_per_practice": args.lines,
        "practices": args.practices,
        "cpus": os.cpu_count(),
        "bootstrap_s": bootstrap,
        "alone_s": alone_s,
        "alone": alone,
        "together_s": together_s,
        "together": together,
        "ratio": round(together_s / alone_s, 2),
        "target_ratio": 2.5,
        "queue": queue_settings(),
    }
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
