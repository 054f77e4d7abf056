"""Load the pre-submission HTTP service on loopback: eight clients, one-claim requests, bounded.

    uv run python -m benchmarks.service_load --root /tmp/service_bench --lines 100000

Builds (once) a SYNTHETIC world under <root>: generated landing files minus held-out pending
claims (kept as unsent rows), loaded, featured and with a trained champion. Then starts the real
`denial-risk serve` in a child process on 127.0.0.1, and measures
- eight concurrent httpx clients posting one-claim requests (a 64520 line and its context lines)
  for `--seconds` (default 60): errors, p50/p95 of the server time (`Server-Timing` header) and
  of the client latency, requests per second;
- a 1,000-line request (median of `--repeats`);
- the service's resident memory after loading and its peak (VmRSS / VmHWM of the child).
Figures are printed and written as JSON to `--out`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import polars as pl

CLIENTS = 8
HELD_OUT = 400


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_world(root: Path, lines: int, seed: int) -> Path:
    """Generate, hold out unsent claims, load, feature and train; returns the warehouse path."""
    import dagster as dg

    from pipelines.defs.features.assets import modelling_table
    from pipelines.defs.ingest import assets as ingest
    from pipelines.defs.model.assets import denial_model
    from pipelines.defs.resources import build_resources
    from pipelines.settings import ProductSettings
    from pipelines.sources.synthetic import generate_world
    from tests.presubmission.conftest import hold_out_claims

    landing, truth = root / "landing", root / "truth.parquet"
    generate_world(landing, lines=lines, seed=seed, truth=truth, fmt="csv")
    hold_out_claims(landing, root / "unsent", pl.read_parquet(truth), count=HELD_OUT)
    settings = ProductSettings(
        landing=landing, warehouse=root / "data" / "warehouse.duckdb", exports=root / "exports"
    )
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    assets = [
        ingest.reference_tables,
        ingest.staged_claim_lines,
        ingest.staged_remits,
        ingest.staged_notes,
        ingest.line_outcomes,
        modelling_table,
        denial_model,
    ]
    if not dg.materialize(assets, resources=build_resources(settings)).success:
        raise SystemExit("building the world failed")
    return settings.warehouse


def one_claim_bodies(claims: pl.DataFrame) -> list[dict]:
    """One request per unsent claim that has a 64520 line: all its lines."""
    bodies = []
    for (_,), rows in claims.group_by(["claim_id"], maintain_order=True):
        if (rows["cpt_code"] == "64520").any():
            bodies.append({"claim_lines": rows.to_dicts()})
    return bodies


def thousand_line_body(claims: pl.DataFrame) -> dict:
    """About 1,000 lines: copies of the unsent claims under new claim ids."""
    copies, n = [], 0
    while sum(c.height for c in copies) < 1_000:
        copies.append(claims.with_columns((pl.col("claim_id") + f"-K{n}").alias("claim_id")))
        n += 1
    return {"claim_lines": pl.concat(copies).head(1_000).to_dicts()}


def _memory_kb(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def load(url: str, bodies: list[dict], seconds: float) -> dict:
    """CLIENTS threads, each with its own httpx client, posting one-claim requests until time's up."""
    server_ms: list[float] = []
    client_ms: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=url, timeout=30) as http:
            while time.monotonic() < stop_at:
                body = rng.choice(bodies)
                started = time.perf_counter()
                try:
                    response = http.post("/v1/score", json=body)
                except httpx.HTTPError as exc:
                    with lock:
                        errors.append(type(exc).__name__)
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if response.status_code != 200 or response.json()["rejected"]:
                        errors.append(str(response.status_code))
                    client_ms.append(elapsed)
                    timing = response.headers.get("server-timing", "")
                    if "dur=" in timing:
                        server_ms.append(float(timing.split("dur=")[1]))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "clients": CLIENTS,
        "seconds": seconds,
        "requests": len(client_ms),
        "requests_per_second": round(len(client_ms) / seconds, 1),
        "errors": len(errors),
        "server_ms_p50": round(statistics.median(server_ms), 1),
        "server_ms_p95": round(_percentile(server_ms, 0.95), 1),
        "client_ms_p50": round(statistics.median(client_ms), 1),
        "client_ms_p95": round(_percentile(client_ms, 0.95), 1),
    }


def sequential(url: str, bodies: list[dict], count: int) -> dict:
    """One client, one request at a time: the server time of a lone one-claim request."""
    server_ms = []
    with httpx.Client(base_url=url, timeout=30) as http:
        for body in bodies[:count]:
            response = http.post("/v1/score", json=body)
            response.raise_for_status()
            server_ms.append(float(response.headers["server-timing"].split("dur=")[1]))
    return {
        "requests": len(server_ms),
        "server_ms_p50": round(statistics.median(server_ms), 1),
        "server_ms_p95": round(_percentile(server_ms, 0.95), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    load_at_start = [round(x, 2) for x in os.getloadavg()]

    warehouse = args.root / "data" / "warehouse.duckdb"
    if not warehouse.exists():
        started = time.perf_counter()
        build_world(args.root, args.lines, args.seed)
        print(f"world built in {time.perf_counter() - started:.0f} s", flush=True)
    claims = pl.read_csv(args.root / "unsent" / "claims" / "unsent_claims.csv", infer_schema=False)
    bodies = one_claim_bodies(claims)

    port = _free_port()
    env = {**os.environ, "DENIAL_RISK_API_TOKEN": ""}
    started = time.perf_counter()
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "serve",
            "--warehouse",
            str(warehouse),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).json()["champion_loaded"]:
                    break
            except httpx.HTTPError:
                pass
            if child.poll() is not None or time.perf_counter() - started > 600:
                raise SystemExit("the service did not start")
            time.sleep(0.2)
        startup_s = time.perf_counter() - started
        memory_loaded = _memory_kb(child.pid)
        lone = sequential(url, bodies, min(len(bodies), 200))
        concurrent = load(url, bodies, args.seconds)
        big = thousand_line_body(claims)
        big_ms = []
        with httpx.Client(base_url=url, timeout=120) as http:
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                response = http.post("/v1/score", json=big)
                big_ms.append((time.perf_counter() - t0) * 1000)
                response.raise_for_status()
        memory_end = _memory_kb(child.pid)
    finally:
        child.terminate()
        child.wait(timeout=30)
    figures = {
        "world_lines": args.lines,
        "one_claim_requests": len(bodies),
        "startup_seconds": round(startup_s, 1),
        "lone_one_claim": lone,
        "eight_clients": concurrent,
        "thousand_lines_ms_median": round(statistics.median(big_ms), 0),
        "thousand_lines_ms_runs": [round(v) for v in big_ms],
        "rss_mb_after_load": round(memory_loaded["VmRSS"] / 1024),
        "rss_mb_end": round(memory_end["VmRSS"] / 1024),
        "rss_mb_peak": round(memory_end["VmHWM"] / 1024),
        "scoring_threads": os.environ.get("DENIAL_RISK_API_SCORING_THREADS") or "cpu count",
        "load_average_start": load_at_start,
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(figures, indent=2))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
