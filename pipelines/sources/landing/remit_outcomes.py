"""`remit_line_outcomes`: every remit line read, with its outcome, whether or not a claim matched.

Remittances are useful alone (denial rate, CARC Pareto) and often arrive before, or without, the
practice's claim files; so this table is built from the remit tables only (staged and held:
`held_remits` keeps the rows matching set aside), and a claim line, when one is loaded, only adds
the procedure, service date and charge the 835 did not carry. docs/x12.md "Remittances without
claims".

Adjustments belong to a remit line by where they came from: an 835's CAS follows its SVC in the
same file (the latest SVC of the same claim and procedure key at or before the CAS segment;
claim-level CAS before every SVC go to the first line of the key, as the reader split them); a
flat `remit_adjustments` row belongs to the latest remit of its (claim_id, line_number).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from data_contracts.label import DENIAL_GROUP_CODES, non_denial_carcs_sql, status_sql
from data_contracts.warehouse_schema import BUILD_INPUT_DIGESTS_DDL, HELD_TABLE
from pipelines.sources.landing.digests import record_digest, stored_digest, tables_digest
from pipelines.sources.x12.remits import ADJUSTMENT_ROW_SCALE


def _sql_set(values: frozenset[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in sorted(values)) + ")"


REMIT_LINE_OUTCOMES_SELECT = f"""
WITH remit AS (
    SELECT * FROM staged_remits
    UNION ALL BY NAME SELECT * FROM {HELD_TABLE["staged_remits"]}
),
adjustment AS (
    SELECT * FROM staged_remit_adjustments
    UNION ALL BY NAME SELECT * FROM {HELD_TABLE["staged_remit_adjustments"]}
),
keyed_remit AS (
    SELECT source_file, source_row, claim_id, match_cpt_code, match_service_date,
           coalesce(match_modifiers, '') AS match_modifiers
    FROM remit WHERE match_cpt_code IS NOT NULL
),
x12_adjustment AS (
    SELECT a.*, coalesce(a.match_modifiers, '') AS modifiers
    FROM adjustment a
    WHERE a.match_cpt_code IS NOT NULL
      AND a.source_file IN (SELECT source_file FROM keyed_remit)
),
x12_following AS (
    SELECT a.source_file, a.source_row, r.source_row AS remit_row
    FROM x12_adjustment a ASOF JOIN keyed_remit r
      ON a.source_file = r.source_file AND a.claim_id = r.claim_id
     AND a.match_cpt_code = r.match_cpt_code AND a.modifiers = r.match_modifiers
     AND a.match_service_date IS NOT DISTINCT FROM r.match_service_date
     AND a.source_row // {ADJUSTMENT_ROW_SCALE} >= r.source_row
),
x12_first AS (
    SELECT a.source_file, a.source_row, min(r.source_row) AS remit_row
    FROM x12_adjustment a JOIN keyed_remit r
      ON a.source_file = r.source_file AND a.claim_id = r.claim_id
     AND a.match_cpt_code = r.match_cpt_code AND a.modifiers = r.match_modifiers
     AND a.match_service_date IS NOT DISTINCT FROM r.match_service_date
    GROUP BY ALL
),
x12_link AS (
    SELECT f.source_file AS remit_file, coalesce(p.remit_row, f.remit_row) AS remit_row,
           f.source_file, f.source_row
    FROM x12_first f LEFT JOIN x12_following p USING (source_file, source_row)
),
latest_by_line AS (
    SELECT claim_id, line_number, source_file AS remit_file, source_row AS remit_row
    FROM remit WHERE line_number IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY claim_id, line_number
        ORDER BY adjudication_date DESC, source_file DESC, source_row DESC) = 1
),
flat_link AS (
    SELECT l.remit_file, l.remit_row, a.source_file, a.source_row
    FROM adjustment a JOIN latest_by_line l USING (claim_id, line_number)
    WHERE (a.source_file, a.source_row) NOT IN (SELECT (source_file, source_row) FROM x12_link)
),
linked AS (
    SELECT k.remit_file, k.remit_row, a.group_code, a.carc, a.amount, a.rarc,
           a.group_code IN {_sql_set(DENIAL_GROUP_CODES)}
               AND a.carc NOT IN {non_denial_carcs_sql()} AS is_denial
    FROM (SELECT * FROM x12_link UNION ALL SELECT * FROM flat_link) k
    JOIN adjustment a USING (source_file, source_row)
),
per_remit AS (
    SELECT remit_file, remit_row,
           bool_or(is_denial) AS has_denial,
           bool_or(group_code = 'PR') AS has_patient_share,
           sum(amount) AS adjustment_amount,
           list(group_code || '-' || carc ORDER BY amount DESC, carc) AS adjustments,
           first(carc ORDER BY amount DESC, carc) FILTER (WHERE is_denial) AS primary_denial_carc,
           first(group_code ORDER BY amount DESC, carc) FILTER (WHERE is_denial)
               AS denial_group_code,
           list_sort(list_distinct(flatten(
               list(str_split(rarc, ';')) FILTER (WHERE rarc IS NOT NULL)))) AS rarcs
    FROM linked GROUP BY ALL
),
claim_line AS (
    SELECT claim_id, line_number, any_value(cpt_code) AS cpt_code,
           any_value(service_date) AS service_date, any_value(charge_amount) AS charge_amount
    FROM staged_claim_lines GROUP BY ALL
),
labelled AS (
    SELECT r.source_file, r.source_row, r.claim_id, r.line_number,
           coalesce(r.match_cpt_code, c.cpt_code) AS cpt_code,
           coalesce(r.match_service_date, c.service_date) AS service_date,
           r.adjudication_date,
           coalesce(r.match_charge_amount, c.charge_amount) AS charge_amount,
           r.allowed_amount, r.paid_amount,
           coalesce(p.adjustment_amount, 0) AS adjustment_amount, p.adjustments,
           {status_sql("r.paid_amount", "p.has_denial", "p.has_patient_share")} AS status,
           p.primary_denial_carc, p.denial_group_code,
           CASE WHEN len(p.rarcs) > 0 THEN p.rarcs END AS rarcs,
           c.claim_id IS NOT NULL AS matched_claim_line,
           row_number() OVER (
               PARTITION BY r.claim_id,
                   coalesce(CAST(r.line_number AS VARCHAR),
                            concat_ws('|', r.match_cpt_code, r.match_modifiers,
                                      r.match_service_date, r.source_file, r.source_row))
               ORDER BY r.adjudication_date DESC, r.source_file DESC, r.source_row DESC) = 1
               AS latest
    FROM remit r
    LEFT JOIN per_remit p ON p.remit_file = r.source_file AND p.remit_row = r.source_row
    LEFT JOIN claim_line c USING (claim_id, line_number)
)
SELECT l.source_file, l.source_row, l.claim_id, l.line_number, l.cpt_code, l.service_date,
       l.adjudication_date, l.charge_amount, l.allowed_amount, l.paid_amount,
       l.adjustment_amount, l.adjustments, l.status, l.status = 'denied' AS denied,
       CASE WHEN l.status = 'denied' THEN l.primary_denial_carc END AS primary_denial_carc,
       CASE WHEN l.status = 'denied' THEN l.denial_group_code END AS denial_group_code,
       CASE WHEN l.status = 'denied' THEN k.denial_category END AS denial_category,
       l.rarcs, l.matched_claim_line, l.latest
FROM labelled l
LEFT JOIN ref_carc_category k ON k.adj_code = l.primary_denial_carc
"""


@dataclass(frozen=True)
class RemitOutcomeSummary:
    """Remit lines in `remit_line_outcomes` by status, and how many match no loaded claim line."""

    status_counts: dict[str, int]
    without_claim_line: int
    top_denial_carcs: list[tuple[str, int]] = field(default_factory=list)
    # False when its inputs were those of the last build and the table was left as it was.
    rebuilt: bool = True

    @property
    def lines(self) -> int:
        return sum(self.status_counts.values())


# Every table REMIT_LINE_OUTCOMES_SELECT reads (its query plan's scans).
REMIT_LINE_OUTCOMES_INPUTS = (
    "staged_remits",
    HELD_TABLE["staged_remits"],
    "staged_remit_adjustments",
    HELD_TABLE["staged_remit_adjustments"],
    "staged_claim_lines",
    "ref_carc_category",
)


def build_remit_line_outcomes(
    con: duckdb.DuckDBPyConnection, skip_if_unchanged: bool = True
) -> RemitOutcomeSummary:
    """Rebuild `remit_line_outcomes` from the staged and held remit tables in one transaction.

    Left as it is when its input tables (and this query) are those of the last build.
    """
    con.execute(BUILD_INPUT_DIGESTS_DDL)
    digest = tables_digest(con, REMIT_LINE_OUTCOMES_INPUTS, REMIT_LINE_OUTCOMES_SELECT)
    rebuilt = not (skip_if_unchanged and stored_digest(con, "remit_line_outcomes") == digest)
    if rebuilt:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM remit_line_outcomes")
            con.execute(f"INSERT INTO remit_line_outcomes {REMIT_LINE_OUTCOMES_SELECT}")
            record_digest(con, "remit_line_outcomes", digest)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    counts = dict(
        con.execute(
            "SELECT status, count(*) FROM remit_line_outcomes WHERE latest GROUP BY status"
        ).fetchall()
    )
    without = con.execute(
        "SELECT count(*) FROM remit_line_outcomes WHERE latest AND NOT matched_claim_line"
    ).fetchall()[0][0]
    top = con.execute(
        "SELECT denial_group_code || '-' || primary_denial_carc AS carc, count(*) AS n "
        "FROM remit_line_outcomes WHERE latest AND denied GROUP BY 1 ORDER BY n DESC, carc "
        "LIMIT 5"
    ).fetchall()
    return RemitOutcomeSummary(
        status_counts={k: int(v) for k, v in counts.items()},
        without_claim_line=int(without),
        top_denial_carcs=[(str(c), int(n)) for c, n in top],
        rebuilt=rebuilt,
    )
