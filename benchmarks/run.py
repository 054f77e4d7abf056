"""The benchmark command: `uv run python -m benchmarks.run --sizes 100k,1m,10m`.

Per size: a cached synthetic world, our pipeline stage by stage (one process each) and end to
end (one process), the floors (DuckDB bare CSV read, bare LightGBM) and the pandas/scikit-learn
peer, stage by stage and end to end. Raw numbers go to `benchmarks/results/<date>-<sizes>.json`
and the table to the "Benchmark (issue 10)" section of `docs/performance.md`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.measure import Measurement, run_task
from benchmarks.ours import STAGES
from benchmarks.peer import STAGES as PEER_STAGES
from benchmarks.peer.guard import PeerMemoryGuard, check_memory
from benchmarks.peer.spec import write_spec
from benchmarks.report import (
    evaluate_targets,
    summarise_size,
    update_performance_doc,
    write_markdown,
)

log = logging.getLogger("benchmarks")

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent
SEED = 7
# The peer runs at a size only when its end to end at the previous size stayed under this.
PEER_NEXT_SIZE_LIMIT_S = 180.0


def parse_size(label: str) -> int:
    """'100k' -> 100_000, '1m' -> 1_000_000, '3000' -> 3000."""
    text = label.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * factor)


def machine() -> dict[str, Any]:
    """Cores, memory and CPU model of this machine."""
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "nproc": os.cpu_count(),
        "mem_total_gb": round(mem_kb / 1024**2, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def git_commit() -> str:
    """HEAD commit and whether the tree has local changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        return f"{head}{' + uncommitted changes' if dirty else ''}"
    except OSError:
        return "unknown"


def ensure_world(size: str, cache: Path) -> dict[str, Any]:
    """Generate the size's landing folder once (seed 7); `.complete` marks a finished world."""
    folder = cache / size
    landing, truth, marker = folder / "landing", folder / "truth.csv", folder / ".complete"
    if marker.exists():
        return {"generated_now": False, "landing": str(landing)}
    shutil.rmtree(landing, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    log.info("generating the %s world", size)
    m = run_task(
        "generate",
        {"landing": str(landing), "lines": parse_size(size), "seed": SEED, "truth": str(truth)},
    )
    if not m.ok:
        raise RuntimeError(f"generation of {size} failed: {m.error}")
    marker.write_text(json.dumps(m.as_dict()))
    return {"generated_now": True, "landing": str(landing), "generation": m.as_dict()}


def warm_page_cache(landing: Path) -> int:
    """Read every landing file once so no measured reader pays for a cold disk."""
    total = 0
    for path in sorted(landing.rglob("*")):
        if path.is_file():
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 22):
                    total += len(chunk)
    return total


def _record(m: Measurement, what: str) -> dict[str, Any]:
    level = logging.INFO if m.ok else logging.ERROR
    log.log(
        level,
        "%-28s %s wall %7.1f s  cpu %7.1f s  rss %6.0f MB  load %s",
        what,
        "ok  " if m.ok else "FAIL",
        m.wall_s,
        m.cpu_s,
        m.tree_peak_rss_mb,
        m.load_before[0],
    )
    if not m.ok:
        log.error("%s", m.error[-1500:])
    return m.as_dict()


def run_ours(landing: Path, work: Path, stages: list[str]) -> dict[str, Any]:
    """Each stage in its own process on one warehouse (fresh for the first stage)."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    out: dict[str, Any] = {}
    for stage in STAGES:
        if stage.name not in stages:
            continue
        m = run_task(
            "ours_stage", {"stage": stage.name, "landing": str(landing), "work": str(work)}
        )
        out[stage.name] = {**_record(m, f"ours {stage.name}"), "group": stage.group}
        if not m.ok:
            break
    return out


def run_peer(landing: Path, work: Path, spec: Path, stages: list[str]) -> dict[str, Any]:
    """The peer's stages, each in its own process, handing parquet files to the next."""
    out: dict[str, Any] = {}
    for stage in PEER_STAGES:
        if stage not in stages:
            continue
        m = run_task(
            "peer_stage",
            {"stage": stage, "landing": str(landing), "work": str(work), "spec": str(spec)},
        )
        out[stage] = _record(m, f"peer {stage}")
        if not m.ok:
            break
    return out


def peer_memory_guard(landing: Path) -> str | None:
    """The reason the peer cannot run at this size, or None when it fits in memory."""
    try:
        check_memory(landing)
    except PeerMemoryGuard as exc:
        return str(exc)
    return None


def bench_size(
    size: str, cache: Path, options: argparse.Namespace, peer_ok: bool
) -> dict[str, Any]:
    """Everything measured at one size."""
    world = ensure_world(size, cache)
    landing = Path(world["landing"])
    work = cache / size / "work"
    work.mkdir(parents=True, exist_ok=True)
    world["landing_bytes"] = warm_page_cache(landing)
    spec = write_spec(work / "peer_spec.json")
    stages = [s.strip() for s in options.stages.split(",")] if options.stages else None
    ours_stages = [s.name for s in STAGES if stages is None or s.name in stages]
    peer_stages = [s for s in PEER_STAGES if stages is None or s in stages]
    result: dict[str, Any] = {"lines": parse_size(size), "world": world}

    if not options.no_overhead:
        result["overhead"] = {
            "interpreter": _record(run_task("noop", {}), "interpreter start"),
            "code_location": _record(run_task("ours_overhead", {}), "import dagster + definitions"),
        }
    result["floors"] = {
        "ingest": _record(
            run_task("floor_ingest", {"landing": str(landing), "db": str(work / "floor.duckdb")}),
            "floor duckdb read_csv",
        )
    }
    result["ours"] = {"stages": run_ours(landing, work / "ours_stages", ours_stages)}
    if "train" in ours_stages and result["ours"]["stages"].get("train", {}).get("ok"):
        result["floors"]["model"] = _record(
            run_task("floor_model", {"work": str(work / "ours_stages")}), "floor lightgbm + rates"
        )
    if not options.no_e2e:
        shutil.rmtree(work / "ours_e2e", ignore_errors=True)
        result["ours"]["e2e"] = _record(
            run_task("ours_e2e", {"landing": str(landing), "work": str(work / "ours_e2e")}),
            "ours end to end",
        )
    if options.no_peer:
        result["peer"] = {"skipped": "--no-peer"}
    elif not peer_ok:
        result["peer"] = {
            "skipped": f"peer end to end at the previous size took over {PEER_NEXT_SIZE_LIMIT_S:.0f} s"
        }
    elif (guard := peer_memory_guard(landing)) is not None:
        result["peer"] = {"skipped": guard}
    else:
        result["peer"] = {"stages": run_peer(landing, work / "peer_stages", spec, peer_stages)}
        if result["peer"]["stages"].get("features", {}).get("ok") and "features" in ours_stages:
            agreement = run_task(
                "feature_agreement",
                {"ours_work": str(work / "ours_stages"), "peer_work": str(work / "peer_stages")},
            )
            result["peer"]["feature_agreement"] = (
                agreement.info if agreement.ok else agreement.error
            )
        if not options.no_e2e:
            result["peer"]["e2e"] = _record(
                run_task(
                    "peer_e2e",
                    {"landing": str(landing), "work": str(work / "peer_e2e"), "spec": str(spec)},
                    timeout_s=options.peer_timeout,
                ),
                "peer end to end",
            )
    result["summary"] = summarise_size(result)
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse the options, run every size, write the JSON and the markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1m,10m")
    parser.add_argument("--cache", type=Path, default=ROOT / "cache")
    parser.add_argument("--results", type=Path, default=ROOT / "results")
    parser.add_argument("--stages", default="", help="comma list of stage names (default: all)")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--no-e2e", action="store_true")
    parser.add_argument("--no-overhead", action="store_true", help="skip the fixed-cost probes")
    parser.add_argument("--no-docs", action="store_true", help="do not touch docs/performance.md")
    parser.add_argument("--peer-timeout", type=float, default=3600.0)
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")

    sizes = [s.strip().lower() for s in options.sizes.split(",") if s.strip()]
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "meta": {
            "started_at": started.isoformat(timespec="seconds"),
            "machine": machine(),
            "git": git_commit(),
            "command": f"uv run python -m benchmarks.run --sizes {','.join(sizes)}",
            "load_at_start": [round(x, 2) for x in os.getloadavg()],
            "seed": SEED,
        },
        "sizes": {},
    }
    peer_ok = True
    for size in sizes:
        log.info("=== %s ===", size)
        res = bench_size(size, options.cache, options, peer_ok)
        results["sizes"][size] = res
        peer_e2e = res.get("peer", {}).get("e2e")
        if peer_e2e is not None and (
            not peer_e2e["ok"] or peer_e2e["wall_s"] > PEER_NEXT_SIZE_LIMIT_S
        ):
            peer_ok = False
    results["meta"]["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["targets"] = evaluate_targets(results)
    options.results.mkdir(parents=True, exist_ok=True)
    path = options.results / f"{started:%Y-%m-%d}-{'-'.join(sizes)}.json"
    path.write_text(json.dumps(results, indent=1, default=str))
    markdown = write_markdown(
        results, path.relative_to(REPO) if path.is_relative_to(REPO) else path
    )
    (options.results / f"{started:%Y-%m-%d}-{'-'.join(sizes)}.md").write_text(markdown)
    if not options.no_docs:
        update_performance_doc(REPO / "docs" / "performance.md", markdown)
    log.info("results: %s", path)
    return results


if __name__ == "__main__":
    main()
