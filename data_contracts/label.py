"""The label: when a 64520 line counts as denied, paid, or still pending.

A line is denied when its remit pays 0 and it carries at least one CO, OA or PI adjustment whose
CARC is not a non-denial code; zero payment explained only by PR-1/2/3 is not a denial
(cpt-64520.md §7, CARC 45 usage note). A line without a remit is pending.

A line without a remit whose current submission was rejected by the clearinghouse's or payer's
front end (a 277CA rejection dated on or after its submission date, data_contracts/
acknowledgements.py) is `rejected_front_end`: never adjudicated, so neither denied nor paid, not
labelled for training and not scored; once corrected and resubmitted (a later submission date) it
is pending again (presubmission.md, x12.org RFI 2203).
"""

from __future__ import annotations

from typing import Literal

LineStatus = Literal["denied", "paid", "patient_liability", "pending", "rejected_front_end"]
REJECTED_FRONT_END = "rejected_front_end"

# CARCs that adjust payment without denying the service (contractual, sequestration,
# multiple-procedure reduction, prior-payer impact, etc.).
NON_DENIAL_CARCS: frozenset[str] = frozenset(
    {"45", "253", "59", "23", "144", "94", "42", "131", "237", "P1", "P2", "P3"}
)
PATIENT_SHARE_CARCS: frozenset[str] = frozenset({"1", "2", "3"})
DENIAL_GROUP_CODES: frozenset[str] = frozenset({"CO", "OA", "PI"})


def is_denial_adjustment(group_code: str, carc: str) -> bool:
    """One adjustment that, on a zero-paid line, makes the line a denial."""
    return group_code in DENIAL_GROUP_CODES and carc not in NON_DENIAL_CARCS


def non_denial_carcs_sql() -> str:
    """The non-denial CARC set as a SQL list literal, for DuckDB queries."""
    return "(" + ", ".join(f"'{c}'" for c in sorted(NON_DENIAL_CARCS)) + ")"


def status_sql(paid_amount: str, has_denial: str, has_patient_share: str) -> str:
    """The status of an adjudicated line (denied, patient_liability or paid) as a SQL CASE.

    One home for the label over a remit: `line_outcomes` (per claim line) and
    `remit_line_outcomes` (per remit line, with or without a loaded claim) both use it.
    """
    return (
        f"CASE WHEN {paid_amount} = 0 AND coalesce({has_denial}, false) THEN 'denied' "
        f"WHEN {paid_amount} = 0 AND coalesce({has_patient_share}, false) "
        "THEN 'patient_liability' ELSE 'paid' END"
    )
