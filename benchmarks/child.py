"""Entry point of one measured task: `python -m benchmarks.child <task> <json args> <result path>`."""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from pathlib import Path
from typing import Any


def _run(task: str, args: dict[str, Any]) -> dict[str, Any]:
    landing = Path(args["landing"]) if "landing" in args else None
    work = Path(args["work"]) if "work" in args else None
    if task == "ours_stage":
        from benchmarks.ours import run_stage, stage_by_name

        return run_stage(stage_by_name(args["stage"]), landing, work)
    if task == "ours_e2e":
        from benchmarks.ours import run_stage

        return run_stage(None, landing, work)
    if task == "floor_ingest":
        from benchmarks.floors import ingest_floor

        return ingest_floor(landing, Path(args["db"]))
    if task == "floor_model":
        from benchmarks.floors import model_floors

        return model_floors(work)
    if task == "peer_stage":
        from benchmarks.peer.pipeline import run_stage as peer_stage

        return peer_stage(args["stage"], landing, work, Path(args["spec"]))
    if task == "peer_e2e":
        from benchmarks.peer.pipeline import run_all

        return run_all(landing, work, Path(args["spec"]))
    if task == "generate":
        from pipelines.sources.synthetic import generate_world

        summary = generate_world(
            landing, lines=int(args["lines"]), seed=int(args["seed"]), truth=Path(args["truth"])
        )
        return {"summary": str(summary)}
    if task == "ours_overhead":
        from benchmarks.ours import load_code_location

        return load_code_location()
    if task == "feature_agreement":
        from benchmarks.agreement import feature_agreement

        return feature_agreement(Path(args["ours_work"]), Path(args["peer_work"]))
    if task == "noop":
        return {}
    raise ValueError(f"unknown task {task!r}")


def _self_peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM starts afresh at exec, unlike ru_maxrss after a fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def main() -> None:
    """Run the task, time it, and write {ok, inner_wall_s, info, error} as JSON."""
    logging.basicConfig(level=logging.WARNING)
    task, args, result_path = sys.argv[1], json.loads(sys.argv[2]), Path(sys.argv[3])
    started = time.perf_counter()
    try:
        info, ok, error = _run(task, args), True, ""
        if isinstance(info, dict) and info.get("success") is False:
            ok, error = False, "; ".join(info.get("failed_steps", [])) or "run not successful"
    except Exception:
        info, ok, error = {}, False, traceback.format_exc()[-3000:]
    inner = time.perf_counter() - started
    payload = {
        "ok": ok,
        "inner_wall_s": round(inner, 3),
        "self_peak_rss_mb": _self_peak_rss_mb(),
        "info": info,
        "error": error,
    }
    result_path.write_text(json.dumps(payload, default=str))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
