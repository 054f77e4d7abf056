"""A small clean warehouse in the staged shapes of docs/architecture.md, built with SQL."""

from __future__ import annotations

from pathlib import Path

import duckdb

CLAIMS = 3000  # claim lines: even rows 64520 (line 1), odd rows an E/M line (line 2)

WORLD_SQL = f"""
CREATE TABLE staged_claim_lines AS
SELECT 'C' || lpad(CAST(i // 2 AS VARCHAR), 6, '0') AS claim_id,
       CAST(i % 2 + 1 AS INTEGER) AS line_number,
       'E' || lpad(CAST(i // 2 AS VARCHAR), 6, '0') AS encounter_id,
       sha256('patient' || CAST(i // 6 AS VARCHAR)) AS patient_key,
       CAST(30 + i % 50 AS SMALLINT) AS patient_age,
       CASE WHEN i % 3 = 0 THEN 'F' ELSE 'M' END AS patient_sex,
       'P' || CAST((i // 2) % 5 AS VARCHAR) AS payer_id,
       'Payer ' || CAST((i // 2) % 5 AS VARCHAR) AS payer_name,
       ['medicare', 'commercial', 'medicaid', 'medicare_advantage'][(i // 2) % 4 + 1] AS plan_type,
       '1234567893' AS rendering_npi,
       ['11', '22', '24'][(i // 2) % 3 + 1] AS place_of_service,
       DATE '2025-01-01' + CAST((i // 2) % 360 AS INTEGER) AS service_date,
       DATE '2025-01-03' + CAST((i // 2) % 360 AS INTEGER) + CAST(i % 7 AS INTEGER) AS submission_date,
       CASE WHEN i % 2 = 0 THEN '64520' ELSE '99213' END AS cpt_code,
       NULL::VARCHAR AS modifier_1, NULL::VARCHAR AS modifier_2,
       NULL::VARCHAR AS modifier_3, NULL::VARCHAR AS modifier_4,
       CAST(1 AS DOUBLE) AS units,
       CAST(CASE WHEN i % 2 = 0 THEN 850 ELSE 150 END AS DECIMAL(12, 2)) AS charge_amount,
       ['G905'] AS diagnosis_codes, 'G905' AS primary_diagnosis,
       NULL::VARCHAR AS prior_auth_number, NULL::VARCHAR AS extra_columns,
       'claims_2025.csv' AS source_file, CAST(i + 1 AS BIGINT) AS source_row
FROM range({CLAIMS}) t(i);

-- Lines of claims submitted before December are adjudicated; the rest are pending.
CREATE TABLE staged_remits AS
SELECT claim_id, line_number, submission_date + 20 AS adjudication_date,
       CAST(charge_amount * 0.6 AS DECIMAL(12, 2)) AS allowed_amount,
       CAST(CASE WHEN hash(claim_id) % 100 < 15 AND cpt_code = '64520' THEN 0
                 ELSE charge_amount * 0.5 END AS DECIMAL(12, 2)) AS paid_amount,
       'remits_2025.csv' AS source_file, CAST(row_number() OVER () AS BIGINT) AS source_row
FROM staged_claim_lines WHERE service_date < DATE '2025-12-01';

CREATE TABLE staged_remit_adjustments AS
SELECT claim_id, line_number,
       'CO' AS group_code,
       CASE WHEN paid_amount = 0 THEN '50' ELSE '45' END AS carc,
       CAST(allowed_amount - paid_amount AS DECIMAL(12, 2)) AS amount,
       NULL::VARCHAR AS rarc,
       'adjustments_2025.csv' AS source_file, source_row
FROM staged_remits;

-- Remit rows matching set aside (none in a clean world); ingestion creates them the same way.
CREATE TABLE held_remits AS FROM staged_remits LIMIT 0;
CREATE TABLE held_remit_adjustments AS FROM staged_remit_adjustments LIMIT 0;

CREATE TABLE staged_notes AS
SELECT 'N' || claim_id AS note_id, patient_key, encounter_id, service_date AS note_date,
       'procedure' AS note_type, 'Lumbar sympathetic block under fluoroscopy.' AS text,
       'notes.jsonl' AS source_file, CAST(row_number() OVER () AS BIGINT) AS source_row
FROM staged_claim_lines WHERE cpt_code = '64520' AND hash(claim_id) % 10 < 7;

CREATE TABLE modelling_table AS
SELECT c.claim_id, c.line_number, c.cpt_code, c.payer_id, c.plan_type, c.rendering_npi,
       c.place_of_service, c.service_date, c.submission_date,
       date_trunc('month', c.service_date)::DATE AS service_month,
       CAST(c.charge_amount AS DOUBLE) AS charge_amount,
       CAST(c.charge_amount AS DOUBLE) * 0.5 AS expected_payment_usd,
       CASE WHEN r.claim_id IS NULL THEN 'pending'
            WHEN r.paid_amount = 0 THEN 'denied' ELSE 'paid' END AS status,
       CAST(CASE WHEN r.claim_id IS NULL THEN NULL
                 WHEN r.paid_amount = 0 THEN 1 ELSE 0 END AS TINYINT) AS denied,
       r.claim_id IS NULL AS is_pending,
       CASE WHEN r.paid_amount = 0 THEN 'medical_necessity' END AS denial_category,
       c.units,
       CAST(date_diff('day', c.service_date, c.submission_date) AS INTEGER) AS submission_lag_days,
       n.note_id IS NOT NULL AS note_present,
       hash(c.claim_id) % 4 = 0 AS prior_auth_present,
       CASE WHEN n.note_id IS NOT NULL THEN 0.5 + (hash(c.claim_id) % 50) / 100.0 END
           AS doc_completeness,
       CASE WHEN hash(c.claim_id) % 5 = 0 THEN CAST(hash(c.claim_id) % 300 AS INTEGER) END
           AS days_since_last_64520,
       0.15 AS payer_code_denial_rate
FROM staged_claim_lines c
LEFT JOIN staged_remits r USING (claim_id, line_number)
LEFT JOIN staged_notes n USING (encounter_id)
WHERE c.cpt_code = '64520';

CREATE TABLE risk_scores AS
SELECT claim_id, line_number, cpt_code, payer_id, service_date, charge_amount,
       0.10 + (hash(claim_id) % 100) / 1000.0 AS denial_probability,
       'low' AS risk_band,
       expected_payment_usd * (0.10 + (hash(claim_id) % 100) / 1000.0) AS expected_loss_usd,
       'v1' AS model_version
FROM modelling_table WHERE status = 'pending';
"""


def build_world(path: Path) -> Path:
    """A clean warehouse file: every suite passes on it."""
    with duckdb.connect(str(path)) as con:
        con.execute(WORLD_SQL)
    return path
