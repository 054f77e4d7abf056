"""DDL of the staged warehouse tables (docs/architecture.md "Staged tables"), run idempotently.

Money is DECIMAL(12,2), dates DATE, codes VARCHAR. Every staged row carries source_file (path
relative to the landing folder) and source_row (1-based data row, or the X12 segment position).
Remit tables also keep the X12 match fields (`match_*`) so a remit without REF*6R (or with one
that names no claim line) can be matched to its claim line again on a later run, when the claim
line arrives; `staged_remit_reversals` keeps 835 reversals to apply across files.
"""

from __future__ import annotations

# The modelling table's columns that are not features (docs/architecture.md "Modelling table"):
# keys, context and the label; every other column is a feature the catalog declares.
MODELLING_TABLE_FIXED_COLUMNS: tuple[str, ...] = (
    "claim_id",
    "line_number",
    "cpt_code",
    "payer_id",
    "plan_type",
    "rendering_npi",
    "place_of_service",
    "service_date",
    "submission_date",
    "service_month",
    "charge_amount",
    "expected_payment_usd",
    "status",
    "denied",
    "is_pending",
    "denial_category",
)

STAGED_CLAIM_LINES = """
CREATE TABLE IF NOT EXISTS staged_claim_lines (
    claim_id VARCHAR NOT NULL,
    line_number INTEGER NOT NULL,
    encounter_id VARCHAR,
    patient_key VARCHAR NOT NULL,
    patient_age SMALLINT NOT NULL,
    patient_sex VARCHAR,
    payer_id VARCHAR NOT NULL,
    payer_name VARCHAR,
    plan_type VARCHAR NOT NULL,
    rendering_npi VARCHAR NOT NULL,
    place_of_service VARCHAR NOT NULL,
    service_date DATE NOT NULL,
    submission_date DATE NOT NULL,
    cpt_code VARCHAR NOT NULL,
    modifier_1 VARCHAR,
    modifier_2 VARCHAR,
    modifier_3 VARCHAR,
    modifier_4 VARCHAR,
    units DOUBLE NOT NULL,
    charge_amount DECIMAL(12,2) NOT NULL,
    diagnosis_codes VARCHAR[] NOT NULL,
    primary_diagnosis VARCHAR NOT NULL,
    prior_auth_number VARCHAR,
    extra_columns VARCHAR,
    source_file VARCHAR NOT NULL,
    source_row BIGINT NOT NULL,
    rendering_provider_name VARCHAR,
    billing_npi VARCHAR
)"""

# Warehouses created before claims carried the provider's name get the column (NULL for old
# rows); it sits last in both, so old and new warehouses have the same column order.
STAGED_CLAIM_LINES_PROVIDER_NAME = (
    "ALTER TABLE staged_claim_lines ADD COLUMN IF NOT EXISTS rendering_provider_name VARCHAR"
)
# Likewise the billing NPI (checked like the rendering NPI since issue 21).
STAGED_CLAIM_LINES_BILLING_NPI = (
    "ALTER TABLE staged_claim_lines ADD COLUMN IF NOT EXISTS billing_npi VARCHAR"
)

STAGED_REMITS = """
CREATE TABLE IF NOT EXISTS staged_remits (
    claim_id VARCHAR NOT NULL,
    line_number INTEGER,
    adjudication_date DATE NOT NULL,
    allowed_amount DECIMAL(12,2) NOT NULL,
    paid_amount DECIMAL(12,2) NOT NULL,
    source_file VARCHAR NOT NULL,
    source_row BIGINT NOT NULL,
    match_cpt_code VARCHAR,
    match_modifiers VARCHAR,
    match_service_date DATE,
    match_charge_amount DECIMAL(12,2)
)"""

# Warehouses created before match_charge_amount existed get the column (NULL for old rows).
STAGED_REMITS_CHARGE = (
    "ALTER TABLE staged_remits ADD COLUMN IF NOT EXISTS match_charge_amount DECIMAL(12,2)"
)

STAGED_REMIT_ADJUSTMENTS = """
CREATE TABLE IF NOT EXISTS staged_remit_adjustments (
    claim_id VARCHAR NOT NULL,
    line_number INTEGER,
    group_code VARCHAR NOT NULL,
    carc VARCHAR NOT NULL,
    amount DECIMAL(12,2) NOT NULL,
    rarc VARCHAR,
    source_file VARCHAR NOT NULL,
    source_row BIGINT NOT NULL,
    match_cpt_code VARCHAR,
    match_modifiers VARCHAR,
    match_service_date DATE
)"""

STAGED_NOTES = """
CREATE TABLE IF NOT EXISTS staged_notes (
    note_id VARCHAR NOT NULL,
    patient_key VARCHAR NOT NULL,
    encounter_id VARCHAR,
    note_date DATE NOT NULL,
    note_type VARCHAR NOT NULL,
    text VARCHAR,
    source_file VARCHAR NOT NULL,
    source_row BIGINT NOT NULL
)"""

# The documentation elements of each note (`models/features/documentation.py` computes them at
# load, `elements_version` says with which definitions); the note text is cleared once they are
# stored unless DENIAL_RISK_KEEP_NOTE_TEXT=1 (docs/security.md "Note text").
NOTE_ELEMENT_COLUMNS: dict[str, str] = {
    "el_present": "BOOLEAN",
    "el_indication": "BOOLEAN",
    "el_symptom_months_before": "DOUBLE",
    "el_symptom_months_after": "DOUBLE",
    "el_failure_mentions": "INTEGER",
    "el_negated_failure_mentions": "INTEGER",
    "el_conservative_weeks_after": "DOUBLE",
    "el_conservative_weeks_before": "DOUBLE",
    "el_functional_impact": "BOOLEAN",
    "el_lumbar": "BOOLEAN",
    "el_thoracic": "BOOLEAN",
    "el_bilateral_at_block": "BOOLEAN",
    "el_left_at_block": "BOOLEAN",
    "el_right_at_block": "BOOLEAN",
    "el_bilateral": "BOOLEAN",
    "el_left": "BOOLEAN",
    "el_right": "BOOLEAN",
    "el_imaging_guidance": "BOOLEAN",
    "el_images_saved": "BOOLEAN",
    "el_aspiration_finding": "BOOLEAN",
    "el_aspiration_mentioned": "BOOLEAN",
    "el_aspiration_not_done": "BOOLEAN",
    "el_bupivacaine": "BOOLEAN",
    "el_ropivacaine": "BOOLEAN",
    "el_lidocaine": "BOOLEAN",
    "el_volume_after_agent": "DOUBLE",
    "el_volume_before_agent": "DOUBLE",
    "el_volume_any": "DOUBLE",
    "el_response_measured": "BOOLEAN",
    "el_relief_pct_stated": "DOUBLE",
    "el_relief_complete": "BOOLEAN",
    "el_relief_minimal": "BOOLEAN",
    "el_relief_none": "BOOLEAN",
    "el_note_relief_pct": "DOUBLE",
}
# Warehouses created before the elements existed: text becomes nullable, the columns are added.
STAGED_NOTES_ELEMENTS: tuple[str, ...] = (
    "ALTER TABLE staged_notes ALTER COLUMN text DROP NOT NULL",
    "ALTER TABLE staged_notes ADD COLUMN IF NOT EXISTS elements_version INTEGER",
    *(
        f"ALTER TABLE staged_notes ADD COLUMN IF NOT EXISTS {name} {sql_type}"
        for name, sql_type in NOTE_ELEMENT_COLUMNS.items()
    ),
)

# Every 835 reversal (CLP02 = 22). It cancels the outcomes of its claim adjudicated before it
# in OTHER files (within its own file the reader has applied it already): `line_outcomes`
# leaves those remits and their adjustments out, so the line is pending until its correction.
STAGED_REMIT_REVERSALS = """
CREATE TABLE IF NOT EXISTS staged_remit_reversals (
    claim_id VARCHAR NOT NULL,
    adjudication_date DATE,
    cancelled_in_file BOOLEAN NOT NULL,
    source_file VARCHAR NOT NULL,
    source_row BIGINT NOT NULL
)"""

LINE_OUTCOMES = """
CREATE TABLE IF NOT EXISTS line_outcomes (
    claim_id VARCHAR NOT NULL,
    line_number INTEGER NOT NULL,
    status VARCHAR NOT NULL,
    denied BOOLEAN,
    adjudication_date DATE,
    allowed_amount DECIMAL(12,2),
    paid_amount DECIMAL(12,2),
    denial_carcs VARCHAR[],
    primary_denial_carc VARCHAR,
    denial_group_code VARCHAR,
    denial_category VARCHAR,
    rarcs VARCHAR[]
)"""

# Every remit line read (staged or held, matched to a claim line or not) with its outcome by the
# label's rule over its own adjustments: denial KPIs and the CARC Pareto from remits alone, even
# when no claim file loaded (docs/x12.md "Remittances without claims"); rebuilt each run.
REMIT_LINE_OUTCOMES = """
CREATE TABLE IF NOT EXISTS remit_line_outcomes (
    source_file VARCHAR NOT NULL,
    source_row BIGINT NOT NULL,
    claim_id VARCHAR NOT NULL,
    line_number INTEGER,
    cpt_code VARCHAR,
    service_date DATE,
    adjudication_date DATE NOT NULL,
    charge_amount DECIMAL(12,2),
    allowed_amount DECIMAL(12,2) NOT NULL,
    paid_amount DECIMAL(12,2) NOT NULL,
    adjustment_amount DECIMAL(14,2) NOT NULL,
    adjustments VARCHAR[],
    status VARCHAR NOT NULL,
    denied BOOLEAN NOT NULL,
    primary_denial_carc VARCHAR,
    denial_group_code VARCHAR,
    denial_category VARCHAR,
    rarcs VARCHAR[],
    matched_claim_line BOOLEAN NOT NULL,
    latest BOOLEAN NOT NULL
)"""

INGEST_LEDGER = """
CREATE TABLE IF NOT EXISTS ingest_ledger (
    path VARCHAR PRIMARY KEY,
    folder VARCHAR NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 VARCHAR NOT NULL,
    first_seen TIMESTAMP WITH TIME ZONE NOT NULL,
    last_seen TIMESTAMP WITH TIME ZONE NOT NULL,
    status VARCHAR NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    message VARCHAR
)"""

QUARANTINED_ROWS = """
CREATE TABLE IF NOT EXISTS quarantined_rows (
    source_file VARCHAR NOT NULL,
    folder VARCHAR NOT NULL,
    source_row BIGINT,
    reason VARCHAR NOT NULL,
    column_name VARCHAR,
    raw_record VARCHAR,
    quarantined_at TIMESTAMP WITH TIME ZONE NOT NULL
)"""

# Remit rows set aside by matching (no loaded claim line, adjudicated before the line was
# submitted): same columns as the staged tables, quarantined in `quarantined_rows` with their
# reason, and put back and matched again on every run (a claim file may arrive later).
HELD_REMITS = "CREATE TABLE IF NOT EXISTS held_remits AS FROM staged_remits LIMIT 0"
HELD_REMIT_ADJUSTMENTS = (
    "CREATE TABLE IF NOT EXISTS held_remit_adjustments AS FROM staged_remit_adjustments LIMIT 0"
)

# Remits and adjustments whose claim line is not loaded (yet): set aside, retried every run.
UNMATCHED_REMITS = """
CREATE OR REPLACE VIEW unmatched_remits AS
SELECT 'remit' AS record_kind, r.claim_id, r.line_number, r.source_file, r.source_row
FROM held_remits r
WHERE NOT EXISTS (
    SELECT 1 FROM staged_claim_lines c
    WHERE c.claim_id = r.claim_id AND c.line_number = r.line_number
)
UNION ALL
SELECT 'adjustment' AS record_kind, a.claim_id, a.line_number, a.source_file, a.source_row
FROM held_remit_adjustments a
WHERE NOT EXISTS (
    SELECT 1 FROM staged_claim_lines c
    WHERE c.claim_id = a.claim_id AND c.line_number = a.line_number
)"""

# 277CA acknowledgements (docs/x12.md "### 277CA"): one row per claim- or line-level STC of a
# claim loaded in staged_claim_lines; those naming no loaded claim wait, same columns, in
# held_claim_acknowledgements and are matched again on every run (as held remits are).
CLAIM_ACKNOWLEDGEMENTS = """
CREATE TABLE IF NOT EXISTS claim_acknowledgements (
    claim_id VARCHAR NOT NULL,
    line_number INTEGER,
    level VARCHAR NOT NULL,
    payer_claim_id VARCHAR,
    clearinghouse_trace_id VARCHAR,
    status_category VARCHAR NOT NULL,
    status_code VARCHAR,
    entity_code VARCHAR,
    effective_date DATE NOT NULL,
    action_code VARCHAR,
    charge_amount DECIMAL(12,2),
    additional_statuses VARCHAR,
    outcome VARCHAR NOT NULL,
    service_cpt_code VARCHAR,
    service_date DATE,
    source_file VARCHAR NOT NULL,
    source_row BIGINT NOT NULL
)"""
HELD_CLAIM_ACKNOWLEDGEMENTS = (
    "CREATE TABLE IF NOT EXISTS held_claim_acknowledgements AS FROM claim_acknowledgements LIMIT 0"
)

INGEST_DDL: tuple[str, ...] = (
    STAGED_CLAIM_LINES,
    STAGED_CLAIM_LINES_PROVIDER_NAME,
    STAGED_CLAIM_LINES_BILLING_NPI,
    STAGED_REMITS,
    STAGED_REMITS_CHARGE,
    STAGED_REMIT_ADJUSTMENTS,
    STAGED_REMIT_REVERSALS,
    STAGED_NOTES,
    *STAGED_NOTES_ELEMENTS,
    LINE_OUTCOMES,
    REMIT_LINE_OUTCOMES,
    INGEST_LEDGER,
    QUARANTINED_ROWS,
    HELD_REMITS,
    HELD_REMIT_ADJUSTMENTS,
    UNMATCHED_REMITS,
    CLAIM_ACKNOWLEDGEMENTS,
    HELD_CLAIM_ACKNOWLEDGEMENTS,
)

# Staged table → the table its set-aside rows wait in.
HELD_TABLE: dict[str, str] = {
    "staged_remits": "held_remits",
    "staged_remit_adjustments": "held_remit_adjustments",
}

STAGED_TABLE: dict[str, str] = {
    "claims": "staged_claim_lines",
    "remits": "staged_remits",
    "remit_adjustments": "staged_remit_adjustments",
    "notes": "staged_notes",
}

# Payer policy drift (monitoring/policy_drift.py, docs/monitoring.md): one row per alert; status
# is the analysts' (open → acknowledged → resolved) and survives reruns; notified_at is set when
# the alert went out on the alert channel, so each alert is raised once.
POLICY_DRIFT_ALERTS = """
CREATE TABLE IF NOT EXISTS policy_drift_alerts (
    payer_id VARCHAR NOT NULL,
    cpt_code VARCHAR NOT NULL,
    reason_category VARCHAR NOT NULL,
    change_month VARCHAR NOT NULL,
    alert_month VARCHAR NOT NULL,
    detected_at TIMESTAMP WITH TIME ZONE NOT NULL,
    rate_before DOUBLE NOT NULL,
    rate_after DOUBLE NOT NULL,
    expected_rate_after DOUBLE NOT NULL,
    lines_before BIGINT NOT NULL,
    lines_after BIGINT NOT NULL,
    denials_before BIGINT NOT NULL,
    denials_after BIGINT NOT NULL,
    statistic DOUBLE NOT NULL,
    p_value DOUBLE NOT NULL,
    pending_share DOUBLE,
    -- The stream the test ran on: the category itself, or 'All denials' (docs/monitoring.md).
    tested_on VARCHAR,
    status VARCHAR NOT NULL DEFAULT 'open',
    notified_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (payer_id, cpt_code, reason_category, change_month)
)"""

# The monthly series behind each alert (the Model page's panel): observed and case-mix expected
# rate of the alert's category, against the baseline before its change month; rebuilt each run.
POLICY_DRIFT_MONTHLY = """
CREATE TABLE IF NOT EXISTS policy_drift_monthly (
    payer_id VARCHAR NOT NULL,
    reason_category VARCHAR NOT NULL,
    change_month VARCHAR NOT NULL,
    month VARCHAR NOT NULL,
    lines BIGINT NOT NULL,
    denials BIGINT NOT NULL,
    rate DOUBLE NOT NULL,
    expected_rate DOUBLE,
    pending_share DOUBLE
)"""

# The incremental modelling table (docs/architecture.md "Incremental daily runs"): the inputs the
# stored rows were built from, the labelled lines as the payer-level steps read them, the build's
# version, and the lines whose row changed since risk_scores last scored (it rescores them).
MODELLING_INPUTS_TABLE = "modelling_inputs"
MODELLING_NOTE_INPUTS_TABLE = "modelling_note_inputs"
MODELLING_LABELLED_TABLE = "modelling_labelled_lines"
MODELLING_BUILD_TABLE = "modelling_build"
# One row: the build version and a digest of every staged row the features read, at the last
# build; a run that finds the same digest has nothing to rebuild (docs/architecture.md).
MODELLING_INPUTS_DIGEST_TABLE = "modelling_inputs_digest"
# Per derived table: a digest of its inputs at its last build (pipelines/sources/landing/digests.py).
BUILD_INPUT_DIGESTS = "build_input_digests"
BUILD_INPUT_DIGESTS_DDL = (
    f"CREATE TABLE IF NOT EXISTS {BUILD_INPUT_DIGESTS} (target VARCHAR PRIMARY KEY, digest VARCHAR)"
)
FEATURES_CHANGED_SINCE_SCORING = "features_changed_since_scoring"
FEATURES_CHANGED_SINCE_SCORING_DDL = (
    f"CREATE TABLE IF NOT EXISTS {FEATURES_CHANGED_SINCE_SCORING} "
    "(claim_id VARCHAR, line_number INTEGER)"
)
