"""What a daily run costs on a big warehouse (issue 19): run ONCE, it is heavy.

Builds a synthetic world (default 1M claim lines), loads every month but the last with
`denial-risk run --job full` (trains the champion), then times, each as its own process:
1. `denial-risk --help`;
2. `denial-risk run --job daily` on an empty day (no new file);
3. `denial-risk run --job daily` after one day's new files: the rows of the last month's files
   dated on its first submission day (claims and notes) or adjudicated that day (remits and
   their adjustments).
Wall seconds and peak RSS of each process (`wait4`), and the run's work from its summary line,
go to a JSON file; docs/performance.md quotes them. The world is generated and the day's files cut
in child processes, so this process stays small: a child's `ru_maxrss` starts from its parent's
resident pages at fork, and would otherwise count the world generator's gigabyte.

    uv run python -m benchmarks.daily_run --work /tmp/daily_bench [--lines 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

FOLDERS = ("claims", "remits", "remit_adjustments", "notes")
DATE_COLUMN = {
    "claims": "submission_date",
    "notes": "note_date",
    "remits": "adjudication_date",
}


def _timed(args: list[str], env: dict[str, str]) -> dict[str, object]:
    started = time.perf_counter()
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = process.stdout.read().decode() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    work = re.search(r"Work: ([\d,]+) rows validated, ([\d,]+) lines featurized, ([\d,]+)", output)
    return {
        "command": " ".join(args[1:]),
        "exit_code": os.waitstatus_to_exitcode(status),
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "work": [int(g.replace(",", "")) for g in work.groups()] if work else None,
        "tail": output.strip().splitlines()[-3:],
    }


def _month(path: Path) -> str:
    return path.stem.rsplit("_", 1)[-1]


def split_last_day(source: Path, landing: Path) -> dict[str, int]:
    """Every month but the last into `landing`; returns the rows of one day's drop per folder."""
    months = sorted({_month(p) for p in (source / "claims").glob("*.csv")})
    last = months[-1]
    for folder in FOLDERS:
        (landing / folder).mkdir(parents=True, exist_ok=True)
        for path in sorted((source / folder).glob("*.csv")):
            if _month(path) != last:
                shutil.copy(path, landing / folder / path.name)
    return {"month": last}  # type: ignore[dict-item]


def drop_one_day(source: Path, landing: Path, month: str) -> dict[str, int]:
    """One day's rows of the last month's files, as new files in `landing`."""
    import polars as pl

    claims = pl.read_csv(source / "claims" / f"claims_{month}.csv", infer_schema=False)
    day = claims.get_column("submission_date").min()
    rows = {}
    remit_keys = None
    for folder in FOLDERS:
        path = source / folder / f"{folder}_{month}.csv"
        if not path.exists():
            continue
        frame = pl.read_csv(path, infer_schema=False)
        if folder == "remit_adjustments":
            if remit_keys is None:
                continue
            frame = frame.join(remit_keys, on=["claim_id", "line_number"], how="semi")
        else:
            frame = frame.filter(pl.col(DATE_COLUMN[folder]) == day)
        if folder == "remits":
            remit_keys = frame.select("claim_id", "line_number")
        frame.write_csv(landing / folder / f"{folder}_{day}.csv")
        rows[folder] = frame.height
    rows["day"] = day  # type: ignore[assignment]
    return rows


def _child(work: Path, step: str, *extra: str) -> str:
    """Run a step of this benchmark in its own process; returns its standard output."""
    args = [sys.executable, "-m", "benchmarks.daily_run", "--work", str(work), "--step", step]
    return subprocess.run([*args, *extra], check=True, capture_output=True, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--step", choices=("generate", "drop"), help=argparse.SUPPRESS)
    parser.add_argument("--month", help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = args.work.resolve()
    source, landing, data = work / "source", work / "landing", work / "data"
    if args.step == "generate":
        from pipelines.sources.synthetic import generate_world

        generate_world(source, lines=args.lines, seed=args.seed)
        return
    if args.step == "drop":
        print(json.dumps(drop_one_day(source, landing, args.month), default=str))
        return

    if not (source / "claims").is_dir():
        _child(work, "generate", "--lines", str(args.lines), "--seed", str(args.seed))
    shutil.rmtree(landing, ignore_errors=True)
    shutil.rmtree(data, ignore_errors=True)
    month = split_last_day(source, landing)["month"]
    env = {
        **os.environ,
        "DENIAL_RISK_LANDING": str(landing),
        "DENIAL_RISK_WAREHOUSE": str(data / "warehouse.duckdb"),
        "DENIAL_RISK_EXPORTS": str(data / "exports"),
    }
    env.pop("DAGSTER_HOME", None)
    # As installed (`uv sync --compile-bytecode`, or Python caching on first import): with
    # PYTHONDONTWRITEBYTECODE every command would recompile ~3,400 modules (~6 s of CPU).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cli = [str(Path(sys.executable).with_name("denial-risk"))]
    results: dict[str, object] = {"lines": args.lines, "machine_cores": os.cpu_count()}
    results["bytecode"] = "cached (PYTHONDONTWRITEBYTECODE unset for the commands)"
    results["benchmark_rss_mb_at_fork"] = round(_own_rss_mb(), 1)
    results["load_average_before"] = os.getloadavg()
    results["full_build"] = _timed([*cli, "run", "--job", "full"], env)
    results["help"] = _timed([*cli, "--help"], env)
    results["empty_day"] = _timed([*cli, "run", "--job", "daily"], env)
    results["day_rows"] = json.loads(_child(work, "drop", "--month", str(month)))
    results["one_day"] = _timed([*cli, "run", "--job", "daily"], env)
    results["load_average_after"] = os.getloadavg()
    out = work / "daily_run.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(json.dumps(results, indent=2, default=str))


def _own_rss_mb() -> float:
    """This process's resident set now (what a forked child starts from)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    main()
