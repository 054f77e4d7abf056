"""Remit-to-line matching and the per-line label table `line_outcomes` (data_contracts/label.py)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from data_contracts.label import DENIAL_GROUP_CODES, PATIENT_SHARE_CARCS, non_denial_carcs_sql

# Step 1 of matching: an X12 remit line without REF*6R has a NULL line_number and carries the
# procedure, modifiers and service date it paid. It is matched to the claim line with the same
# claim_id, cpt_code, modifier SET (order-free: payers reorder modifiers) and service_date.
# When several lines share that key (the same block billed twice), the k-th remit of the key in
# a file pairs with the k-th claim line of the key by line_number. Lines that already have a
# remit with that line_number are still candidates: a re-adjudication may arrive in a new file.
# Remits that find no line keep NULL and are retried on every run (they show in
# `unmatched_remits`). cpt-64520.md §7: "Key on (CLP01, REF*6R or SVC01 code+modifiers,
# DTM*472) to join 835 lines back to 837 lines".
MATCH_REMIT_LINES = """
UPDATE staged_remits AS r SET line_number = m.line_number
FROM (
    WITH remit AS (
        SELECT source_file, source_row, claim_id, match_cpt_code AS cpt_code,
               list_sort(list_filter(str_split(coalesce(match_modifiers, ''), ';'),
                                     lambda x: trim(x) <> '')) AS modifiers,
               match_service_date AS service_date
        FROM staged_remits
        WHERE line_number IS NULL AND match_cpt_code IS NOT NULL
    ),
    ranked_remit AS (
        SELECT *, row_number() OVER (
            PARTITION BY source_file, claim_id, cpt_code, modifiers, service_date
            ORDER BY source_row) AS k
        FROM remit
    ),
    line AS (
        SELECT claim_id, line_number, cpt_code, service_date,
               list_sort(list_filter([modifier_1, modifier_2, modifier_3, modifier_4],
                                     lambda x: x IS NOT NULL)) AS modifiers
        FROM staged_claim_lines
        WHERE claim_id IN (SELECT claim_id FROM remit)
    ),
    ranked_line AS (
        SELECT *, row_number() OVER (
            PARTITION BY claim_id, cpt_code, modifiers, service_date ORDER BY line_number) AS k
        FROM line
    )
    SELECT rr.source_file, rr.source_row, rl.line_number
    FROM ranked_remit rr
    JOIN ranked_line rl
      ON rl.claim_id = rr.claim_id AND rl.cpt_code = rr.cpt_code
     AND rl.modifiers = rr.modifiers AND rl.service_date = rr.service_date AND rl.k = rr.k
) AS m
WHERE r.source_file = m.source_file AND r.source_row = m.source_row
"""

# Step 2: an adjustment without a line number belongs to the remit line of the same file, claim
# and match key that precedes it (the SVC segment before its CAS); claim-level adjustments that
# precede every SVC go to the first remit line of the key. It takes that remit's line number.
MATCH_ADJUSTMENT_LINES = """
UPDATE staged_remit_adjustments AS a SET line_number = m.line_number
FROM (
    WITH adj AS (
        SELECT source_file, source_row, claim_id, match_cpt_code, match_service_date,
               coalesce(match_modifiers, '') AS match_modifiers
        FROM staged_remit_adjustments
        WHERE line_number IS NULL AND match_cpt_code IS NOT NULL
    ),
    remit AS (
        SELECT source_file, source_row, claim_id, match_cpt_code, match_service_date,
               coalesce(match_modifiers, '') AS match_modifiers, line_number
        FROM staged_remits
        WHERE line_number IS NOT NULL AND match_cpt_code IS NOT NULL
          AND source_file IN (SELECT source_file FROM adj)
    ),
    preceding AS (
        SELECT adj.source_file, adj.source_row, remit.line_number
        FROM adj ASOF JOIN remit
          ON adj.source_file = remit.source_file AND adj.claim_id = remit.claim_id
         AND adj.match_cpt_code = remit.match_cpt_code
         AND adj.match_modifiers = remit.match_modifiers
         AND adj.match_service_date IS NOT DISTINCT FROM remit.match_service_date
         AND adj.source_row >= remit.source_row
    ),
    first_of_key AS (
        SELECT adj.source_file, adj.source_row, min(remit.line_number) AS line_number
        FROM adj JOIN remit
          ON adj.source_file = remit.source_file AND adj.claim_id = remit.claim_id
         AND adj.match_cpt_code = remit.match_cpt_code
         AND adj.match_modifiers = remit.match_modifiers
         AND adj.match_service_date IS NOT DISTINCT FROM remit.match_service_date
        GROUP BY ALL
    )
    SELECT f.source_file, f.source_row, coalesce(p.line_number, f.line_number) AS line_number
    FROM first_of_key f LEFT JOIN preceding p USING (source_file, source_row)
) AS m
WHERE a.source_file = m.source_file AND a.source_row = m.source_row
"""


# Step 3: adjustments still without a line (flat extracts that carry match fields but come in a
# file of their own) take the line number of the claim line with their key, when exactly one
# claim line has it; otherwise they wait in `unmatched_remits`.
MATCH_ADJUSTMENTS_TO_CLAIM_LINES = """
UPDATE staged_remit_adjustments AS a SET line_number = m.line_number
FROM (
    WITH adj AS (
        SELECT source_file, source_row, claim_id, match_cpt_code AS cpt_code,
               list_sort(list_filter(str_split(coalesce(match_modifiers, ''), ';'),
                                     lambda x: trim(x) <> '')) AS modifiers,
               match_service_date AS service_date
        FROM staged_remit_adjustments
        WHERE line_number IS NULL AND match_cpt_code IS NOT NULL
    ),
    line AS (
        SELECT claim_id, cpt_code, service_date,
               list_sort(list_filter([modifier_1, modifier_2, modifier_3, modifier_4],
                                     lambda x: x IS NOT NULL)) AS modifiers,
               min(line_number) AS line_number, count(*) AS lines
        FROM staged_claim_lines
        WHERE claim_id IN (SELECT claim_id FROM adj)
        GROUP BY ALL
    )
    SELECT adj.source_file, adj.source_row, line.line_number
    FROM adj JOIN line USING (claim_id, cpt_code, modifiers, service_date)
    WHERE line.lines = 1
) AS m
WHERE a.source_file = m.source_file AND a.source_row = m.source_row
"""


def _sql_set(values: frozenset[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in sorted(values)) + ")"


# The label (data_contracts/label.py, cpt-64520.md §7), per claim line:
# - pending: no matched remit;
# - denied: the latest remit pays 0 and the line has a CO/OA/PI adjustment whose CARC is not a
#   non-denial code (45, 253, 59, 23, 144, ...);
# - patient_liability: paid 0 without such an adjustment, with a PR adjustment (PR-1/2/3
#   deductible or coinsurance, also PR-50/96/204 patient-liable denials);
# - paid: anything else (paid > 0, or 0 fully explained by non-denial contractual CARCs).
# When a line has several remits (re-adjudication), the latest adjudication_date counts.
# primary_denial_carc is the denial adjustment with the largest amount (ties: lowest CARC).
LINE_OUTCOMES_SELECT = f"""
WITH remit AS (
    SELECT claim_id, line_number, adjudication_date, allowed_amount, paid_amount
    FROM staged_remits
    WHERE line_number IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY claim_id, line_number
        ORDER BY adjudication_date DESC, source_file DESC, source_row DESC) = 1
),
adjustment AS (
    SELECT claim_id, line_number, group_code, carc, amount, rarc,
           group_code IN {_sql_set(DENIAL_GROUP_CODES)}
               AND carc NOT IN {non_denial_carcs_sql()} AS is_denial
    FROM staged_remit_adjustments
    WHERE line_number IS NOT NULL
),
per_line AS (
    SELECT claim_id, line_number,
           bool_or(is_denial) AS has_denial,
           bool_or(group_code = 'PR') AS has_patient_share,
           bool_or(group_code = 'PR' AND carc IN {_sql_set(PATIENT_SHARE_CARCS)}) AS has_pr_123,
           list_distinct(list(carc ORDER BY amount DESC, carc) FILTER (WHERE is_denial))
               AS denial_carcs,
           first(carc ORDER BY amount DESC, carc) FILTER (WHERE is_denial) AS primary_denial_carc,
           first(group_code ORDER BY amount DESC, carc) FILTER (WHERE is_denial)
               AS denial_group_code,
           list_sort(list_distinct(flatten(
               list(str_split(rarc, ';')) FILTER (WHERE rarc IS NOT NULL)))) AS rarcs
    FROM adjustment
    GROUP BY claim_id, line_number
),
labelled AS (
    SELECT c.claim_id, c.line_number, r.adjudication_date, r.allowed_amount, r.paid_amount,
           p.denial_carcs, p.primary_denial_carc, p.denial_group_code, p.rarcs,
           CASE
               WHEN r.claim_id IS NULL THEN 'pending'
               WHEN r.paid_amount = 0 AND coalesce(p.has_denial, false) THEN 'denied'
               WHEN r.paid_amount = 0 AND coalesce(p.has_patient_share, false)
                   THEN 'patient_liability'
               ELSE 'paid'
           END AS status
    FROM staged_claim_lines c
    LEFT JOIN remit r USING (claim_id, line_number)
    LEFT JOIN per_line p USING (claim_id, line_number)
)
SELECT l.claim_id, l.line_number, l.status,
       CASE WHEN l.status = 'pending' THEN NULL ELSE l.status = 'denied' END AS denied,
       l.adjudication_date, l.allowed_amount, l.paid_amount,
       CASE WHEN l.status = 'denied' THEN l.denial_carcs END AS denial_carcs,
       CASE WHEN l.status = 'denied' THEN l.primary_denial_carc END AS primary_denial_carc,
       CASE WHEN l.status = 'denied' THEN l.denial_group_code END AS denial_group_code,
       CASE WHEN l.status = 'denied' THEN k.denial_category END AS denial_category,
       CASE WHEN len(l.rarcs) > 0 THEN l.rarcs END AS rarcs
FROM labelled l
LEFT JOIN ref_carc_category k ON k.adj_code = l.primary_denial_carc
"""


@dataclass(frozen=True)
class MatchSummary:
    """Remit records matched in this pass and those still without a loaded claim line."""

    remits_matched: int
    adjustments_matched: int
    unmatched_remits: int
    unmatched_adjustments: int


@dataclass(frozen=True)
class OutcomeSummary:
    """Lines per status in `line_outcomes` after a rebuild."""

    status_counts: dict[str, int]
    unmatched_remits: int
    unmatched_adjustments: int
    # Contract: adjudication_date >= the line's submission date. It spans two files, so it is
    # counted here (and left to the staged_remits contract check) rather than quarantined.
    adjudicated_before_submission: int = 0

    @property
    def lines(self) -> int:
        return sum(self.status_counts.values())

    @property
    def denial_rate(self) -> float | None:
        """Denied share of adjudicated lines (pending lines excluded)."""
        adjudicated = self.lines - self.status_counts.get("pending", 0)
        return self.status_counts.get("denied", 0) / adjudicated if adjudicated else None


def match_remit_lines(con: duckdb.DuckDBPyConnection) -> MatchSummary:
    """Give X12 remits without REF*6R their claim line number; count what stays unmatched."""
    con.execute("BEGIN TRANSACTION")
    try:
        remits = con.execute(MATCH_REMIT_LINES).fetchone()
        adjustments = con.execute(MATCH_ADJUSTMENT_LINES).fetchone()
        by_claim_line = con.execute(MATCH_ADJUSTMENTS_TO_CLAIM_LINES).fetchone()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    unmatched = dict(
        con.execute(
            "SELECT record_kind, count(*) FROM unmatched_remits GROUP BY record_kind"
        ).fetchall()
    )
    return MatchSummary(
        remits_matched=int(remits[0]) if remits else 0,
        adjustments_matched=sum(int(r[0]) for r in (adjustments, by_claim_line) if r),
        unmatched_remits=int(unmatched.get("remit", 0)),
        unmatched_adjustments=int(unmatched.get("adjustment", 0)),
    )


def build_line_outcomes(con: duckdb.DuckDBPyConnection) -> OutcomeSummary:
    """Re-match remits, then rebuild `line_outcomes` from the staged tables in one transaction."""
    match = match_remit_lines(con)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM line_outcomes")
        con.execute(f"INSERT INTO line_outcomes {LINE_OUTCOMES_SELECT}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    counts = dict(
        con.execute("SELECT status, count(*) FROM line_outcomes GROUP BY status").fetchall()
    )
    early = con.execute(
        "SELECT count(*) FROM line_outcomes o JOIN staged_claim_lines c USING (claim_id, line_number) "
        "WHERE o.adjudication_date < c.submission_date"
    ).fetchone()
    return OutcomeSummary(
        status_counts={k: int(v) for k, v in counts.items()},
        adjudicated_before_submission=int(early[0]) if early else 0,
        unmatched_remits=match.unmatched_remits,
        unmatched_adjustments=match.unmatched_adjustments,
    )
