"""Build the SYNTHETIC warehouse the pre-submission benchmark scores against (ingest + features).

    uv run python -m benchmarks.presubmission_world --root /tmp/presub_bench --lines 1000000

Writes <root>/landing (minus held-out pending claims, kept in <root>/unsent) and
<root>/data/warehouse.duckdb; trains no model (the benchmark brings a champion).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()

    import dagster as dg
    import polars as pl

    from pipelines.defs.features.assets import modelling_table
    from pipelines.defs.ingest import assets as ingest
    from pipelines.defs.resources import build_resources
    from pipelines.settings import ProductSettings
    from pipelines.sources.synthetic import generate_world
    from tests.presubmission.conftest import hold_out_claims

    started = time.perf_counter()
    landing = args.root / "landing"
    truth = args.root / "truth.parquet"
    generate_world(landing, lines=args.lines, seed=args.seed, truth=truth, fmt="csv")
    print(f"generated in {time.perf_counter() - started:.0f} s", flush=True)
    hold_out_claims(landing, args.root / "unsent", pl.read_parquet(truth), count=200)
    settings = ProductSettings(
        landing=landing, warehouse=args.root / "data" / "warehouse.duckdb", exports=args.root / "x"
    )
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    result = dg.materialize(
        [
            ingest.reference_tables,
            ingest.staged_claim_lines,
            ingest.staged_remits,
            ingest.staged_notes,
            ingest.line_outcomes,
            modelling_table,
        ],
        resources=build_resources(settings),
    )
    print(f"loaded: {result.success} in {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
