"""Front-end rejection rate of 64520 lines: its SQL in one small home (to join models/kpis.py).

A claim rejected by the clearinghouse's or payer's front end (277CA, data_contracts/
acknowledgements.py) never reached adjudication: it is not a denial and stays out of the denial
rate (its line has `denied` NULL). Its own KPI, shown beside the denial rate:

    front-end rejection rate = 64520 lines of the cohort whose claim was rejected at the front end
    at least once (a claim-level rejection, or a line-level one naming the line; the first
    submission or a later one) ÷ all 64520 lines of the cohort (every line was submitted).

It is the complement of a first-pass acceptance rate, in the spirit of HFMA's clean claim rate
(rcm-kpis.md, CL-1). NULL when no acknowledgement was ever loaded: a practice that sends no
277CA files has an unknown rate, not a zero one.
"""

from __future__ import annotations

ACKNOWLEDGEMENTS_TABLE = "claim_acknowledgements"


def front_end_rejected_sql(line_alias: str, acknowledgements: str = ACKNOWLEDGEMENTS_TABLE) -> str:
    """SQL boolean per claim line (`line_alias` has claim_id, line_number): ever rejected."""
    return (
        f"EXISTS (SELECT 1 FROM {acknowledgements} fe WHERE fe.claim_id = {line_alias}.claim_id "
        "AND fe.outcome = 'rejected' "
        f"AND (fe.level = 'claim' OR fe.line_number = {line_alias}.line_number))"
    )


def front_end_rejection_columns_sql(
    flag: str, acknowledgements: str = ACKNOWLEDGEMENTS_TABLE
) -> str:
    """Aggregate columns `front_end_rejected_lines`, `front_end_rejection_rate` over a group
    whose rows carry the boolean column `flag` (from `front_end_rejected_sql`)."""
    return (
        f"count(*) FILTER (WHERE {flag}) AS front_end_rejected_lines, "
        f"CASE WHEN EXISTS (SELECT 1 FROM {acknowledgements}) "
        f"THEN (count(*) FILTER (WHERE {flag}))::DOUBLE / nullif(count(*), 0) END "
        "AS front_end_rejection_rate"
    )
