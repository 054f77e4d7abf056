"""Typed SELECT of each staged table over normalised, rule-checked text rows (alias `r`).

One home for how a landing row becomes a staged row: ingestion inserts with it and the
pre-submission check types request rows with it, so both give the same values.
"""

from __future__ import annotations

from data_contracts.row_rules import age_at_sql, rarc_list_sql

MATCH_COLUMNS = ("match_cpt_code", "match_modifiers", "match_service_date")
CARRIED_COLUMNS: dict[str, tuple[str, ...]] = {
    "claims": (),
    # The 835 reader also gives a remit line's submitted charge (SVC02) as a last tie-breaker.
    "remits": (*MATCH_COLUMNS, "match_charge_amount"),
    "remit_adjustments": MATCH_COLUMNS,
    "notes": (),
}


def typed_select(folder: str) -> tuple[list[str], list[str]]:
    """Target columns and typed SQL expressions (over normalised alias `r`) of a staged table."""
    if folder == "claims":
        age = age_at_sql("CAST(r.patient_birth_date AS DATE)", "CAST(r.service_date AS DATE)")
        pairs = [
            ("claim_id", "r.claim_id"),
            ("line_number", "CAST(r.line_number AS INTEGER)"),
            ("encounter_id", "r.encounter_id"),
            ("patient_key", "pk.patient_key"),
            ("patient_age", f"CAST({age} AS SMALLINT)"),
            ("patient_sex", "r.patient_sex"),
            ("payer_id", "r.payer_id"),
            ("payer_name", "r.payer_name"),
            ("plan_type", "r.plan_type"),
            ("billing_npi", "r.billing_npi"),
            ("rendering_npi", "r.rendering_npi"),
            ("rendering_provider_name", "r.rendering_provider_name"),
            ("place_of_service", "r.place_of_service"),
            ("service_date", "CAST(r.service_date AS DATE)"),
            ("submission_date", "CAST(r.submission_date AS DATE)"),
            ("cpt_code", "r.cpt_code"),
            ("modifier_1", "r.modifier_1"),
            ("modifier_2", "r.modifier_2"),
            ("modifier_3", "r.modifier_3"),
            ("modifier_4", "r.modifier_4"),
            ("units", "CAST(r.units AS DOUBLE)"),
            ("charge_amount", "CAST(r.charge_amount AS DECIMAL(12,2))"),
            ("diagnosis_codes", "r._dx"),
            ("primary_diagnosis", "r._dx[1]"),
            ("prior_auth_number", "r.prior_auth_number"),
            ("extra_columns", "r._extra"),
        ]
    elif folder == "remits":
        pairs = [
            ("claim_id", "r.claim_id"),
            ("line_number", "TRY_CAST(r.line_number AS INTEGER)"),
            ("adjudication_date", "CAST(r.adjudication_date AS DATE)"),
            ("allowed_amount", "CAST(r.allowed_amount AS DECIMAL(12,2))"),
            ("paid_amount", "CAST(r.paid_amount AS DECIMAL(12,2))"),
        ]
    elif folder == "remit_adjustments":
        rarc = rarc_list_sql("r.rarc")
        pairs = [
            ("claim_id", "r.claim_id"),
            ("line_number", "TRY_CAST(r.line_number AS INTEGER)"),
            ("group_code", "r.group_code"),
            ("carc", "r.carc"),
            ("amount", "CAST(r.amount AS DECIMAL(12,2))"),
            ("rarc", f"nullif(array_to_string({rarc}, ';'), '')"),
        ]
    else:
        pairs = [
            ("note_id", "r.note_id"),
            ("patient_key", "pk.patient_key"),
            ("encounter_id", "r.encounter_id"),
            ("note_date", "CAST(r.note_date AS DATE)"),
            ("note_type", "r.note_type"),
            ("text", "r.text"),
        ]
    pairs += [("source_file", "r.source_file"), ("source_row", "r.source_row")]
    carried_types = {
        "match_service_date": "TRY_CAST(r.match_service_date AS DATE)",
        "match_charge_amount": "TRY_CAST(r.match_charge_amount AS DECIMAL(12,2))",
    }
    pairs += [(c, carried_types.get(c, f"r.{c}")) for c in CARRIED_COLUMNS[folder]]
    return [p[0] for p in pairs], [p[1] for p in pairs]
