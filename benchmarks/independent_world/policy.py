"""Policy shifts of the independent world: a payer changes how it treats 64520 from a given month.

Written for the drift benchmark without reading the project's generator (its `PolicyChange`
mechanics and wording are not used here). A shift is `PAYER:YYYY-MM:KIND`; from the first day of
that month the payer applies new rules to the 64520 lines it adjudicates by service date, and the
practice's billing office keeps coding by the old rules until it notices (`OFFICE_CATCH_UP_DAYS`),
so the denials come in a burst and fade as the office follows. Kinds (domain §3, §4b, §5, §8.3):

- `prior_auth`: the payer starts requiring an authorization for every block; lines without one
  are refused with CO-15 (authorization missing/invalid), a few with CO-197.
- `rtlt_only`: the payer stops paying one -50 line for a bilateral block and wants two RT/LT
  lines; -50 lines are refused with CO-4 + N56 (procedure code inconsistent with the modifier).
- `frequency_cap`: the payer caps blocks at 2 per 365 days and wants 21 days between them; the
  blocks over the cap are refused with CO-119 + M86, those too close with CO-151 + N435.
- `records_review`: the payer reviews the procedure note of every block before paying; a block
  without a note, or whose note lacks failed conservative care or the functional deficit, is
  refused with CO-252 (attachment required) or CO-226 (information requested), RARC N706/M127.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.independent_world.world import Payer

SHIFT_KINDS: tuple[str, ...] = ("prior_auth", "rtlt_only", "frequency_cap", "records_review")
# How long the billing office keeps coding by the old rules after a shift (the denials tell it).
OFFICE_CATCH_UP_DAYS = 120
FREQUENCY_CAP_PER_YEAR = 2
FREQUENCY_CAP_MIN_DAYS = 21

_SHIFT = re.compile(r"^(?P<payer>[A-Za-z0-9_-]+):(?P<year>\d{4})-(?P<month>\d{2}):(?P<kind>\w+)$")


@dataclass(frozen=True)
class PolicyShift:
    """One payer's change of its 64520 rules from the first day of a month."""

    payer_id: str
    start: date
    kind: str

    @property
    def first_month(self) -> str:
        return f"{self.start:%Y-%m}"

    @property
    def label(self) -> str:
        """`PAYER:YYYY-MM:KIND`, as given on the command line and written to the truth file."""
        return f"{self.payer_id}:{self.first_month}:{self.kind}"

    def in_force(self, day: date) -> bool:
        return day >= self.start

    def office_follows(self, day: date) -> bool:
        """Whether the billing office codes by the new rules on this service day."""
        return day >= self.start + timedelta(days=OFFICE_CATCH_UP_DAYS)


def parse_policy_shift(text: str) -> PolicyShift:
    """`AET-OA:2025-06:prior_auth` → PolicyShift; ValueError on another shape or kind."""
    match = _SHIFT.match(text.strip())
    if match is None:
        raise ValueError(f"policy shift {text!r} is not PAYER:YYYY-MM:KIND")
    kind = match["kind"]
    if kind not in SHIFT_KINDS:
        raise ValueError(f"policy shift kind {kind!r} is not one of {', '.join(SHIFT_KINDS)}")
    return PolicyShift(match["payer"], date(int(match["year"]), int(match["month"]), 1), kind)


# The world's own change: Anthem moved to two RT/LT lines on 2026-01-01 and the billing office
# took two months to follow (world.py, bilateral coding). Listed so that benchmarks count it as a
# change to detect and the truth file records it.
BUILTIN_SHIFTS: tuple[PolicyShift, ...] = (PolicyShift("ANTH-PPO", date(2026, 1, 1), "rtlt_only"),)


def payer_rules_on(payer: Payer, day: date, shift: PolicyShift | None) -> Payer:
    """The rules the payer applies to a block on `day` (its own unless a shift is in force)."""
    if shift is None or not shift.in_force(day) or shift.payer_id != payer.payer_id:
        return payer
    if shift.kind == "prior_auth":
        return dataclasses.replace(payer, auth="always")
    if shift.kind == "rtlt_only":
        return dataclasses.replace(payer, bilateral="rtlt")
    if shift.kind == "frequency_cap":
        cap = min(payer.max_per_year or FREQUENCY_CAP_PER_YEAR, FREQUENCY_CAP_PER_YEAR)
        gap = max(payer.min_interval_days or 0, FREQUENCY_CAP_MIN_DAYS)
        return dataclasses.replace(payer, max_per_year=cap, min_interval_days=gap)
    return payer


def check_shifts(shifts: tuple[PolicyShift, ...], payer_ids: set[str]) -> None:
    """One shift per payer, on a payer of the practice (ValueError otherwise)."""
    seen: set[str] = set()
    for shift in shifts:
        if shift.payer_id not in payer_ids:
            raise ValueError(f"policy shift on unknown payer {shift.payer_id!r}")
        if shift.payer_id in seen:
            raise ValueError(f"more than one policy shift on payer {shift.payer_id!r}")
        seen.add(shift.payer_id)
