"""277CA claim acknowledgements (005010X214): which status categories accept or reject a claim.

A claim rejected by the clearinghouse's or payer's front end was never adjudicated: it is not a
denial; it is corrected and resubmitted within the filing limit (presubmission.md §"Where a claim
can fail", x12.org RFI 2203 and 1942). STC01-1 is the claim status category: A1 received, A2
accepted into adjudication, A3 returned as unprocessable, A4 not found, A6/A7/A8 rejected for
missing, invalid or relational information. The DR codes are the same ladder for encounters
(data reporting); E codes mean no answer was possible (system status), neither accepted nor
rejected. STC03 action code: WQ accepted, U rejected.
"""

from __future__ import annotations

from typing import Literal

AcknowledgementOutcome = Literal["accepted", "rejected", "other"]

# Categories that put the claim into (or forward it toward) adjudication.
ACCEPTED_CATEGORIES: frozenset[str] = frozenset({"A0", "A1", "A2", "A5", "DR01", "DR02", "DR08"})
# Categories that stop the claim at the front end: returned, not found, rejected.
REJECTED_CATEGORIES: frozenset[str] = frozenset(
    {"A3", "A4", "A6", "A7", "A8", "DR03", "DR04", "DR05", "DR06", "DR07"}
)
# STC03 action code of a rejection; a category outside both sets with this code rejects too.
REJECT_ACTION_CODE = "U"


def acknowledgement_outcome(
    category: str | None, action_code: str | None
) -> AcknowledgementOutcome:
    """Accepted, rejected or other for one STC: the category decides, else the action code."""
    if category in REJECTED_CATEGORIES:
        return "rejected"
    if category in ACCEPTED_CATEGORIES:
        return "accepted"
    if action_code == REJECT_ACTION_CODE:
        return "rejected"
    return "other"


def rejected_categories_sql() -> str:
    """The rejecting categories as a SQL list literal."""
    return "(" + ", ".join(f"'{c}'" for c in sorted(REJECTED_CATEGORIES)) + ")"
