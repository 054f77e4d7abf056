"""Remit-to-line matching and the per-line label table `line_outcomes` (data_contracts/label.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from data_contracts.label import (
    DENIAL_GROUP_CODES,
    PATIENT_SHARE_CARCS,
    REJECTED_FRONT_END,
    non_denial_carcs_sql,
    status_sql,
)
from data_contracts.warehouse_schema import HELD_TABLE
from pipelines.sources.landing.acknowledgements import mark_front_end_rejections
from pipelines.sources.x12.remits import ADJUSTMENT_ROW_SCALE


def _modifier_set_sql(column: str) -> str:
    """A `;`-joined modifier list as a sorted list (payers reorder modifiers)."""
    return (
        f"list_sort(list_filter(str_split(coalesce({column}, ''), ';'), lambda x: trim(x) <> ''))"
    )


# A remit or adjustment whose (claim_id, line_number) names no loaded claim line: its line number
# is missing (no REF*6R) or is not the claim's (payers echo a line item control number of their
# own, e.g. `800941258001` in the UnitedHealthcare sample, docs/x12.md).
_NO_CLAIM_LINE = """(line_number IS NULL OR NOT EXISTS (
    SELECT 1 FROM staged_claim_lines c
    WHERE c.claim_id = {alias}.claim_id AND c.line_number = {alias}.line_number))"""


def match_remit_lines_sql(with_charge: bool) -> str:
    """UPDATE giving remits without a usable line number the line their match_* columns name.

    cpt-64520.md §7: "Key on (CLP01, REF*6R or SVC01 code+modifiers, DTM*472) to join 835 lines
    back to 837 lines". The key is claim_id, cpt_code, the modifier SET (order-free) and
    service_date, plus the submitted charge in the first pass (`with_charge`), which tells apart
    two blocks billed the same day at different charges; the second pass drops the charge for
    remits without one or whose charge differs from the claim's. When several lines share a key,
    the k-th remit of the key in a file pairs with the k-th free line of the key by line_number;
    a line is free for a file when no other remit of that file already names it (a
    re-adjudication in a new file may name it again). Unmatched remits keep their number and
    are retried on every run (they show in `unmatched_remits`).
    """
    charge_select = ", match_charge_amount AS charge" if with_charge else ""
    charge_line = ", c.charge_amount AS charge" if with_charge else ""
    charge_key = ", charge" if with_charge else ""
    charge_on = " AND rl.charge = rr.charge" if with_charge else ""
    charge_filter = " AND match_charge_amount IS NOT NULL" if with_charge else ""
    return f"""
UPDATE staged_remits AS r SET line_number = m.line_number
FROM (
    WITH remit AS (
        SELECT source_file, source_row, claim_id, match_cpt_code AS cpt_code,
               {_modifier_set_sql("match_modifiers")} AS modifiers,
               match_service_date AS service_date{charge_select}
        FROM staged_remits s
        WHERE match_cpt_code IS NOT NULL{charge_filter}
          AND {_NO_CLAIM_LINE.format(alias="s")}
    ),
    ranked_remit AS (
        SELECT *, row_number() OVER (
            PARTITION BY source_file, claim_id, cpt_code, modifiers, service_date{charge_key}
            ORDER BY source_row) AS k
        FROM remit
    ),
    file_claim AS (SELECT DISTINCT source_file, claim_id FROM remit),
    named AS (
        SELECT DISTINCT s.source_file, s.claim_id, s.line_number
        FROM staged_remits s JOIN file_claim f USING (source_file, claim_id)
        WHERE s.line_number IS NOT NULL
    ),
    line AS (
        SELECT f.source_file, c.claim_id, c.line_number, c.cpt_code, c.service_date,
               list_sort(list_filter([c.modifier_1, c.modifier_2, c.modifier_3, c.modifier_4],
                                     lambda x: x IS NOT NULL)) AS modifiers{charge_line}
        FROM staged_claim_lines c JOIN file_claim f USING (claim_id)
        WHERE NOT EXISTS (
            SELECT 1 FROM named n
            WHERE n.source_file = f.source_file AND n.claim_id = c.claim_id
              AND n.line_number = c.line_number)
    ),
    ranked_line AS (
        SELECT *, row_number() OVER (
            PARTITION BY source_file, claim_id, cpt_code, modifiers, service_date{charge_key}
            ORDER BY line_number) AS k
        FROM line
    )
    SELECT rr.source_file, rr.source_row, rl.line_number
    FROM ranked_remit rr
    JOIN ranked_line rl
      ON rl.source_file = rr.source_file AND rl.claim_id = rr.claim_id
     AND rl.cpt_code = rr.cpt_code AND rl.modifiers = rr.modifiers
     AND rl.service_date = rr.service_date AND rl.k = rr.k{charge_on}
) AS m
WHERE r.source_file = m.source_file AND r.source_row = m.source_row
"""


# Step 2: an adjustment without a usable line number belongs to the remit line of the same file,
# claim and match key that precedes it (the SVC segment before its CAS); claim-level adjustments
# that precede every SVC go to the first remit line of the key. It takes that remit's line number.
# An 835 adjustment's source_row is its CAS position × ADJUSTMENT_ROW_SCALE + triplet index
# (docs/x12.md), a remit's the SVC position: compared on the segment position.
MATCH_ADJUSTMENT_LINES = f"""
UPDATE staged_remit_adjustments AS a SET line_number = m.line_number
FROM (
    WITH adj AS (
        SELECT source_file, source_row, claim_id, match_cpt_code, match_service_date,
               coalesce(match_modifiers, '') AS match_modifiers
        FROM staged_remit_adjustments s
        WHERE match_cpt_code IS NOT NULL AND {_NO_CLAIM_LINE.format(alias="s")}
    ),
    remit AS (
        SELECT source_file, source_row, claim_id, match_cpt_code, match_service_date,
               coalesce(match_modifiers, '') AS match_modifiers, line_number
        FROM staged_remits s
        WHERE match_cpt_code IS NOT NULL AND NOT {_NO_CLAIM_LINE.format(alias="s")}
          AND source_file IN (SELECT source_file FROM adj)
    ),
    preceding AS (
        SELECT adj.source_file, adj.source_row, remit.line_number
        FROM adj ASOF JOIN remit
          ON adj.source_file = remit.source_file AND adj.claim_id = remit.claim_id
         AND adj.match_cpt_code = remit.match_cpt_code
         AND adj.match_modifiers = remit.match_modifiers
         AND adj.match_service_date IS NOT DISTINCT FROM remit.match_service_date
         AND adj.source_row // {ADJUSTMENT_ROW_SCALE} >= remit.source_row
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


# Step 3: adjustments still without a usable line (flat extracts that carry match fields but
# come in a file of their own) take the line number of the claim line with their key, when
# exactly one claim line has it; otherwise they wait in `unmatched_remits`.
MATCH_ADJUSTMENTS_TO_CLAIM_LINES = f"""
UPDATE staged_remit_adjustments AS a SET line_number = m.line_number
FROM (
    WITH adj AS (
        SELECT source_file, source_row, claim_id, match_cpt_code AS cpt_code,
               {_modifier_set_sql("match_modifiers")} AS modifiers,
               match_service_date AS service_date
        FROM staged_remit_adjustments s
        WHERE match_cpt_code IS NOT NULL AND {_NO_CLAIM_LINE.format(alias="s")}
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

# An 835 reversal (CLP02 = 22, `staged_remit_reversals`) cancels every outcome of its claim
# adjudicated before it in ANOTHER file (its own file was handled by the reader): remits
# adjudicated earlier, or the same day in a file that sorts first. Adjustments go with the
# remits of their file. A reversal without a date cancels the claim's remits of files sorting
# before its own.
CANCELLED_BY_REVERSAL = """
    SELECT DISTINCT r.claim_id, r.source_file
    FROM staged_remits r
    JOIN staged_remit_reversals v ON v.claim_id = r.claim_id AND v.source_file <> r.source_file
    WHERE r.adjudication_date < v.adjudication_date
       OR (coalesce(r.adjudication_date = v.adjudication_date, true)
           AND r.source_file < v.source_file)
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
# Remits (and adjustments) cancelled by an 835 reversal in a later file do not count at all; a
# line whose every remit was reversed is pending until its correction arrives.
# primary_denial_carc is the denial adjustment with the largest amount (ties: lowest CARC).
LINE_OUTCOMES_SELECT = f"""
WITH cancelled AS ({CANCELLED_BY_REVERSAL}),
remit AS (
    SELECT claim_id, line_number, adjudication_date, allowed_amount, paid_amount
    FROM staged_remits r
    WHERE line_number IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM cancelled x
                      WHERE x.claim_id = r.claim_id AND x.source_file = r.source_file)
    QUALIFY row_number() OVER (
        PARTITION BY claim_id, line_number
        ORDER BY adjudication_date DESC, source_file DESC, source_row DESC) = 1
),
adjustment AS (
    SELECT claim_id, line_number, group_code, carc, amount, rarc,
           group_code IN {_sql_set(DENIAL_GROUP_CODES)}
               AND carc NOT IN {non_denial_carcs_sql()} AS is_denial
    FROM staged_remit_adjustments a
    WHERE line_number IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM cancelled x
                      WHERE x.claim_id = a.claim_id AND x.source_file = a.source_file)
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
               ELSE {status_sql("r.paid_amount", "p.has_denial", "p.has_patient_share")}
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


# Why matching sets a remit row aside (quarantined_rows.reason, column_name). Set-aside rows wait
# in the held tables and are matched again on every run, so a claim file arriving later, or a
# corrected one, brings them back.
SET_ASIDE_REASONS: dict[str, str] = {
    "unmatched_line": "line_number",
    "duplicate_key": "claim_id/line_number",
}
# A remit that repeats an earlier one exactly (an 835 sent again in a new envelope) is set aside:
# the first, by file and position, counts.
_SET_ASIDE_REMITS = f"""
    SELECT source_file, source_row, reason FROM (
        SELECT source_file, source_row,
               CASE WHEN {_NO_CLAIM_LINE.format(alias="r")} THEN 'unmatched_line'
                    WHEN row_number() OVER (
                        PARTITION BY claim_id, line_number, adjudication_date, allowed_amount,
                                     paid_amount ORDER BY source_file, source_row) > 1
                    THEN 'duplicate_key' END AS reason
        FROM staged_remits r)
    WHERE reason IS NOT NULL
"""
_SET_ASIDE_ADJUSTMENTS = f"""
    SELECT source_file, source_row, 'unmatched_line' AS reason
    FROM staged_remit_adjustments a WHERE {_NO_CLAIM_LINE.format(alias="a")}
"""
_FOLDER_OF = {"staged_remits": "remits", "staged_remit_adjustments": "remit_adjustments"}


def _return_held_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Put every set-aside remit row back in its staged table, to be matched again."""
    for staged, held in HELD_TABLE.items():
        con.execute(f"INSERT INTO {staged} SELECT * FROM {held}")
        con.execute(f"DELETE FROM {held}")
    reasons = ", ".join(f"'{r}'" for r in SET_ASIDE_REASONS)
    con.execute(
        f"DELETE FROM quarantined_rows WHERE reason IN ({reasons}) "
        "AND folder IN ('remits', 'remit_adjustments')"
    )


def _set_aside(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Move remit rows without a usable claim line to the held tables and quarantine them."""
    counts: dict[str, int] = {}
    column_of = " ".join(f"WHEN '{r}' THEN '{c}'" for r, c in SET_ASIDE_REASONS.items())
    for staged, rows_sql in (
        ("staged_remits", _SET_ASIDE_REMITS),
        ("staged_remit_adjustments", _SET_ASIDE_ADJUSTMENTS),
    ):
        con.execute(f"CREATE OR REPLACE TEMP TABLE _set_aside AS {rows_sql}")
        keep = "(source_file, source_row) IN (SELECT (source_file, source_row) FROM _set_aside)"
        con.execute(
            f"INSERT INTO quarantined_rows SELECT s.source_file, '{_FOLDER_OF[staged]}', "
            f"s.source_row, a.reason, CASE a.reason {column_of} END, "
            "CAST(to_json(s) AS VARCHAR), now() "
            f"FROM {staged} s JOIN _set_aside a USING (source_file, source_row)"
        )
        con.execute(f"INSERT INTO {HELD_TABLE[staged]} SELECT * FROM {staged} WHERE {keep}")
        con.execute(f"DELETE FROM {staged} WHERE {keep}")
        for reason, n in con.execute(
            "SELECT reason, count(*) FROM _set_aside GROUP BY 1"
        ).fetchall():
            key = f"{_FOLDER_OF[staged]}_{reason}"
            counts[key] = int(n)
    con.execute("DROP TABLE _set_aside")
    # The ledger's counts follow: a set-aside row is quarantined, no longer loaded.
    con.execute(
        "UPDATE ingest_ledger AS l SET rows_quarantined = coalesce(q.n, 0), "
        "rows_loaded = l.rows_read - coalesce(q.n, 0) "
        "FROM (SELECT l2.path, (SELECT count(*) FROM quarantined_rows q "
        "      WHERE q.source_file = l2.path) AS n "
        "      FROM ingest_ledger l2 WHERE l2.status = 'loaded' "
        "      AND l2.folder IN ('remits', 'remit_adjustments')) q "
        "WHERE l.path = q.path"
    )
    return counts


@dataclass(frozen=True)
class MatchSummary:
    """Remit records matched in this pass and those still without a loaded claim line."""

    remits_matched: int
    adjustments_matched: int
    unmatched_remits: int
    unmatched_adjustments: int
    # Rows set aside this run by folder and reason (e.g. `remits_unmatched_line`).
    set_aside: dict[str, int] = field(default_factory=dict)

    @property
    def rows_set_aside(self) -> int:
        return sum(self.set_aside.values())


@dataclass(frozen=True)
class OutcomeSummary:
    """Lines per status in `line_outcomes` after a rebuild."""

    status_counts: dict[str, int]
    unmatched_remits: int
    unmatched_adjustments: int
    # Contract: adjudication_date >= the line's submission date. It spans two files, so it is
    # counted here and labelled; the staged_remits contract blocks only when their share is
    # beyond its bound (swapped date columns), never for one row.
    adjudicated_before_submission: int = 0
    # Remit lines left out because an 835 reversal in a later file cancelled them.
    remits_cancelled_by_reversal: int = 0
    # Reversals whose original outcome is in no loaded file (yet): they cancel nothing.
    reversals_without_original: int = 0
    # The matching pass this rebuild ran first (remits matched by procedure, rows set aside).
    match: MatchSummary | None = None

    @property
    def lines(self) -> int:
        return sum(self.status_counts.values())

    @property
    def denial_rate(self) -> float | None:
        """Denied share of adjudicated lines (pending and front-end rejected lines excluded)."""
        adjudicated = (
            self.lines
            - self.status_counts.get("pending", 0)
            - self.status_counts.get(REJECTED_FRONT_END, 0)
        )
        return self.status_counts.get("denied", 0) / adjudicated if adjudicated else None


def _changed(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = con.execute(sql).fetchall()
    return int(rows[0][0]) if rows else 0


def match_remit_lines(con: duckdb.DuckDBPyConnection) -> MatchSummary:
    """Give remits without a usable line number the line their match_* columns name (by
    procedure, modifiers, date and charge, then without the charge); set aside what stays
    without a claim line (or was adjudicated before its line was submitted), in one transaction.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        _return_held_rows(con)
        remits = _changed(con, match_remit_lines_sql(with_charge=True))
        remits += _changed(con, match_remit_lines_sql(with_charge=False))
        adjustments = _changed(con, MATCH_ADJUSTMENT_LINES)
        adjustments += _changed(con, MATCH_ADJUSTMENTS_TO_CLAIM_LINES)
        set_aside = _set_aside(con)
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
        remits_matched=remits,
        adjustments_matched=adjustments,
        unmatched_remits=int(unmatched.get("remit", 0)),
        unmatched_adjustments=int(unmatched.get("adjustment", 0)),
        set_aside=set_aside,
    )


def build_line_outcomes(con: duckdb.DuckDBPyConnection) -> OutcomeSummary:
    """Re-match remits, then rebuild `line_outcomes` from the staged tables in one transaction."""
    match = match_remit_lines(con)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM line_outcomes")
        con.execute(f"INSERT INTO line_outcomes {LINE_OUTCOMES_SELECT}")
        mark_front_end_rejections(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    counts = dict(
        con.execute("SELECT status, count(*) FROM line_outcomes GROUP BY status").fetchall()
    )
    early = _changed(
        con,
        "SELECT count(*) FROM line_outcomes o JOIN staged_claim_lines c USING (claim_id, line_number) "
        "WHERE o.adjudication_date < c.submission_date",
    )
    cancelled = _changed(
        con,
        f"SELECT count(*) FROM staged_remits r JOIN ({CANCELLED_BY_REVERSAL}) x "
        "USING (claim_id, source_file)",
    )
    orphan_reversals = _changed(
        con,
        "SELECT count(*) FROM staged_remit_reversals v WHERE NOT v.cancelled_in_file "
        f"AND v.claim_id NOT IN (SELECT claim_id FROM ({CANCELLED_BY_REVERSAL}))",
    )
    return OutcomeSummary(
        status_counts={k: int(v) for k, v in counts.items()},
        adjudicated_before_submission=early,
        remits_cancelled_by_reversal=cancelled,
        reversals_without_original=orphan_reversals,
        unmatched_remits=match.unmatched_remits,
        unmatched_adjustments=match.unmatched_adjustments,
        match=match,
    )
