"""`uv run python -m benchmarks.independent_world --out DIR --lines N --seed S [--truth FILE] [--policy-change PAYER:YYYY-MM:KIND ...]`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

from benchmarks.independent_world.generate import generate_independent_world
from benchmarks.independent_world.policy import SHIFT_KINDS, parse_policy_shift


def main(argv: list[str] | None = None) -> int:
    """Write an independent landing folder and its truth file; print the summary as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="landing folder to write")
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--truth", type=Path, default=None, help="truth CSV (default: <out>/../truth_64520.csv)"
    )
    parser.add_argument(
        "--policy-change",
        action="append",
        default=[],
        type=parse_policy_shift,
        metavar="PAYER:YYYY-MM:KIND",
        help=f"plant a payer policy change; KIND one of {', '.join(SHIFT_KINDS)} (repeatable)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    truth = args.truth or args.out.parent / f"{args.out.name}_truth_64520.csv"
    summary = generate_independent_world(args.out, truth, args.lines, args.seed, args.policy_change)
    sys.stdout.write(json.dumps(dataclasses.asdict(summary), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
