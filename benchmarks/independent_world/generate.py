"""Generate the independent world: simulate the practice (`world.py`), write its files (`files.py`).

See `world.py` for how the world was written (without reading the project's generator) and its
denial mechanism; docs/independent-world.md for what differs and what was measured.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from benchmarks.independent_world.files import (
    write_claims,
    write_notes,
    write_remits,
    write_truth,
)
from benchmarks.independent_world.policy import BUILTIN_SHIFTS, PolicyShift
from benchmarks.independent_world.world import AS_OF, Summary, World

__all__ = ["AS_OF", "Summary", "generate_independent_world"]

log = logging.getLogger(__name__)


def generate_independent_world(
    landing: Path,
    truth: Path,
    lines: int,
    seed: int,
    policy_shifts: Sequence[PolicyShift] = (),
) -> Summary:
    """Write a landing folder (about `lines` claim lines) and the 64520 truth file; return counts.

    `policy_shifts` plant payer policy changes (policy.py); each 64520 line's truth row names the
    shift in force for its payer on its service day (`policy_change`).
    """
    landing, truth = Path(landing), Path(truth)
    if truth.resolve().is_relative_to(landing.resolve()):
        raise ValueError("the truth file must not be inside the landing folder")
    world = World(lines, seed, tuple(policy_shifts))
    world.build()
    world.lines.sort(key=lambda ln: (ln.submission_date, ln.claim_id, ln.line_number))
    summary = Summary(
        landing=str(landing),
        truth=str(truth),
        policy_shifts=[s.label for s in (*BUILTIN_SHIFTS, *policy_shifts)],
    )
    for folder in ("claims", "remits", "remit_adjustments", "notes"):
        (landing / folder).mkdir(parents=True, exist_ok=True)
    claim_rows, planted_claims = write_claims(world, landing)
    remit_rows, adj_rows, planted_remits, planted_adjustments = write_remits(world, landing)
    bad_types = write_notes(world, landing)
    write_truth(world, truth, summary)
    summary.lines = len(world.lines)
    summary.notes = len(world.notes)
    summary.remits = remit_rows
    summary.remit_adjustments = adj_rows
    summary.rows_written = {
        "claims": claim_rows,
        "remits": remit_rows,
        "remit_adjustments": adj_rows,
        "notes": len(world.notes),
    }
    summary.files = {f: len(list((landing / f).iterdir())) for f in summary.rows_written}
    summary.planted = {
        "claims": planted_claims,
        "remits": planted_remits,
        "remit_adjustments": planted_adjustments,
        "notes": {"bad_value": bad_types} if bad_types else {},
    }
    log.info(
        "independent world: %d lines, %d 64520 (%d pending)",
        summary.lines,
        summary.lines_64520,
        summary.pending_64520,
    )
    return summary
