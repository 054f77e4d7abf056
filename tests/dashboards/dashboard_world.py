"""A small, realistic warehouse with the documented tables, so dashboard tests need no pipeline."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

PAYERS = {
    "MCR01": ("Medicare Part B", "medicare", "modifier_50"),
    "BCX02": ("BlueCross PPO", "commercial", "rt_lt_two_lines"),
    "AET03": ("Aetna HMO", "commercial", "modifier_50"),
    "MCD04": ("State Medicaid", "medicaid", "unknown"),
}
PROVIDERS = ("1234567893", "1457392811", "1689012345")
# Names the claims carry for the first two providers; the third comes with its NPI only.
PROVIDER_NAMES = {"1234567893": "KOVAC, KEIKO", "1457392811": "ELLIS, ELENA"}
DENIAL_CARCS = {
    "151": "Frequency/Units",
    "50": "Medical Necessity",
    "97": "Bundling",
    "197": "Invalid/Missing Authorization",
    "16": "Additional Information Requested",
    "29": "Past Timely Filing Limits",
    "4": "Billing Error: Invalid Code",
}
BILATERAL = ("unilateral", "modifier_50", "rt_lt_two_lines", "units_gt_1", "conflict")
FIRST_MONTH = date(2025, 1, 1)
N_MONTHS = 12
# The data end inside the last service month, so that month is "in progress" on the pages
# (line_outcomes caps adjudication dates at the same day).
AS_OF = date(2025, 12, 20)


def _month(i: int) -> date:
    y, m = divmod(FIRST_MONTH.month - 1 + i, 12)
    return date(FIRST_MONTH.year + y, m + 1, 1)


def build_lines(n_lines: int = 600, seed: int = 7) -> pl.DataFrame:
    """Claim lines with context, outcome and a few features; the last two months mostly pending."""
    rng = np.random.default_rng(seed)
    payer_ids = list(PAYERS)
    rows = []
    for i in range(n_lines):
        month_idx = int(rng.integers(0, N_MONTHS))
        service = min(_month(month_idx) + timedelta(days=int(rng.integers(0, 28))), AS_OF)
        payer = payer_ids[int(rng.integers(0, len(payer_ids)))]
        name, plan, convention = PAYERS[payer]
        bilateral = BILATERAL[int(rng.choice(5, p=[0.6, 0.15, 0.12, 0.08, 0.05]))]
        doc = float(np.clip(rng.beta(5, 2), 0, 1))
        charge = float(round(rng.choice([450.0, 675.0, 900.0]) * rng.uniform(0.9, 1.1), 2))
        expected = round(charge * 0.35, 2)
        mismatch = bilateral not in ("unilateral", convention) and convention != "unknown"
        true_p = 0.05 + 0.25 * mismatch + 0.2 * (1 - doc) + 0.1 * (bilateral == "conflict")
        true_p += 0.04 * month_idx / N_MONTHS
        pending = month_idx >= N_MONTHS - 2 and rng.uniform() < 0.8
        denied = bool(rng.uniform() < true_p)
        carc = list(DENIAL_CARCS)[int(rng.integers(0, len(DENIAL_CARCS)))] if denied else None
        if mismatch and denied:
            carc = "151"
        rows.append(
            {
                "claim_id": f"C{i // 2:06d}",
                "line_number": i % 2 + 1,
                "patient_key": hashlib.sha256(f"patient-{i // 3}".encode()).hexdigest(),
                "payer_id": payer,
                "payer_name": name,
                "plan_type": plan,
                "rendering_npi": PROVIDERS[int(rng.integers(0, len(PROVIDERS)))],
                "place_of_service": "11" if rng.uniform() < 0.6 else "22",
                "service_date": service,
                "submission_date": min(service + timedelta(days=int(rng.integers(1, 40))), AS_OF),
                "cpt_code": "64520",
                "units": 2.0 if bilateral == "units_gt_1" else 1.0,
                "charge_amount": charge,
                "expected_payment_usd": expected,
                "bilateral_coding": bilateral,
                "payer_bilateral_convention": convention,
                "bilateral_matches_payer_convention": None
                if bilateral == "unilateral"
                else int(not mismatch),
                "doc_completeness": round(doc, 3),
                "submission_lag_days": int(rng.integers(1, 40)),
                "status": "pending" if pending else ("denied" if denied else "paid"),
                "denied": None if pending else int(denied),
                "carc": None if pending else carc,
                "true_p": min(true_p, 0.95),
            }
        )
    return pl.DataFrame(rows).with_columns(
        pl.col("service_date").dt.truncate("1mo").alias("service_month")
    )


def build_warehouse(path: Path, n_lines: int = 600, with_oracle: bool = True) -> Path:
    """Write staged_claim_lines, line_outcomes, modelling_table and the model tables to `path`."""
    lines = build_lines(n_lines)
    rng = np.random.default_rng(11)
    con = duckdb.connect(str(path))
    con.register("lines", lines.to_arrow())
    con.execute(
        """
        create table staged_claim_lines as
        select claim_id, cast(line_number as integer) as line_number, 'E' || claim_id as encounter_id,
               patient_key, cast(57 as smallint) as patient_age, 'F' as patient_sex,
               payer_id, payer_name, plan_type, rendering_npi, place_of_service,
               service_date, submission_date, cpt_code,
               case when bilateral_coding = 'modifier_50' then '50' end as modifier_1,
               null::varchar as modifier_2, null::varchar as modifier_3, null::varchar as modifier_4,
               units, cast(charge_amount as decimal(12,2)) as charge_amount,
               ['G9009'] as diagnosis_codes, 'G9009' as primary_diagnosis,
               null::varchar as prior_auth_number, null::varchar as extra_columns,
               'claims_2025.csv' as source_file, row_number() over () as source_row,
               case rendering_npi when '1234567893' then 'KOVAC, KEIKO'
                    when '1457392811' then 'ELLIS, ELENA' end as rendering_provider_name
        from lines;
        create table line_outcomes as
        select claim_id, cast(line_number as integer) as line_number, status,
               case when denied is null then null else denied = 1 end as denied,
               case when status = 'pending' then null
                    else least(submission_date + 21, date '2025-12-20') end as adjudication_date,
               cast(case when status = 'paid' then expected_payment_usd * 1.1 end as decimal(12,2)) as allowed_amount,
               cast(case when status = 'paid' then expected_payment_usd end as decimal(12,2)) as paid_amount,
               case when carc is not null then [carc] end as denial_carcs,
               carc as primary_denial_carc,
               case when carc is not null then 'CO' end as denial_group_code,
               null::varchar as denial_category,
               null::varchar[] as rarcs
        from lines;
        create table modelling_table as
        select claim_id, cast(line_number as integer) as line_number, cpt_code, payer_id, plan_type,
               rendering_npi, place_of_service, service_date, submission_date, service_month,
               charge_amount, expected_payment_usd, status, cast(denied as tinyint) as denied,
               status = 'pending' as is_pending, null::varchar as denial_category,
               units, bilateral_coding, payer_bilateral_convention,
               cast(bilateral_matches_payer_convention as tinyint) as bilateral_matches_payer_convention,
               doc_completeness, submission_lag_days,
               case payer_id when 'MCR01' then 365 when 'BCX02' then 180 when 'AET03' then 90
               end as payer_filing_limit_days
        from lines;
        """
    )
    categories = pl.DataFrame({"carc": list(DENIAL_CARCS), "category": list(DENIAL_CARCS.values())})
    con.register("categories", categories.to_arrow())
    con.execute(
        "update line_outcomes set denial_category = categories.category from categories "
        "where categories.carc = line_outcomes.primary_denial_carc"
    )
    con.execute(
        "update modelling_table set denial_category = o.denial_category from line_outcomes o "
        "where o.claim_id = modelling_table.claim_id and o.line_number = modelling_table.line_number"
    )
    true_p = lines["true_p"].to_numpy()
    noise = rng.normal(0, 0.08, len(true_p))
    scored = lines.with_columns(
        pl.Series("p_model", np.clip(true_p + noise, 0.01, 0.99)),
        pl.Series("p_logreg", np.clip(true_p + rng.normal(0, 0.15, len(true_p)), 0.01, 0.99)),
        pl.Series(
            "p_scrubber",
            np.where(
                lines["bilateral_coding"].is_in(["conflict", "units_gt_1"]).to_numpy(), 0.6, 0.15
            ),
        ),
    )
    con.register("scored", scored.to_arrow())
    con.execute(
        """
        create table model_registry as
        select 'v20260101T000000' as model_version, timestamp '2026-01-01 00:00:00' as trained_at,
               true as is_champion, 'abc123' as data_hash,
               '{"roc_auc": 0.81, "ece": 0.015}' as metrics, 'models/v1/card.md' as card_path;
        create table model_validation_predictions as
        select 'v20260101T000000' as model_version, claim_id, line_number, service_month,
               cast(denied as tinyint) as denied, p_model, p_scrubber, p_logreg, expected_payment_usd
        from scored where denied is not null and service_month >= date '2025-07-01';
        create table risk_scores as
        select claim_id, line_number, cpt_code, payer_id, service_date,
               cast(charge_amount as decimal(12,2)) as charge_amount,
               p_model as denial_probability,
               case when p_model >= 0.4 then 'high' when p_model >= 0.2 then 'medium' else 'low' end as risk_band,
               cast(round(p_model * expected_payment_usd, 2) as decimal(12,2)) as expected_loss_usd,
               case when bilateral_coding not in ('unilateral', payer_bilateral_convention) then 'BIL01' else 'DOC01' end as reason_1,
               'PAY01' as reason_2, null::varchar as reason_3,
               case when bilateral_coding not in ('unilateral', payer_bilateral_convention)
                    then 'This payer pays bilateral 64520 differently from how the line is billed.'
                    else 'The procedure note is missing documentation elements.' end as reasons,
               case when bilateral_coding not in ('unilateral', payer_bilateral_convention)
                    then 'Rebill bilateral as the payer''s convention.'
                    else 'Attach the note documenting failed conservative treatment.' end as recommended_action,
               'v20260101T000000' as model_version, timestamp '2026-01-05 06:00:00' as scored_at
        from scored where status = 'pending'
        order by expected_loss_usd desc;
        create table risk_scores_history as
        select timestamp '2025-01-01 06:00:00' + to_months(datediff('month', date '2025-01-01', service_month)) + interval 10 day as scored_at,
               'v20260101T000000' as model_version, claim_id, line_number,
               p_model as denial_probability,
               case when p_model >= 0.4 then 'high' when p_model >= 0.2 then 'medium' else 'low' end as risk_band,
               cast(round(p_model * expected_payment_usd, 2) as decimal(12,2)) as expected_loss_usd
        from scored;
        create table ingest_ledger as
        select 'landing/claims/claims_2025.csv' as path, 'claims' as folder, 1234 as size_bytes,
               'ff' as sha256, timestamp '2026-01-05 05:00:00' as first_seen,
               timestamp '2026-01-05 05:00:00' as last_seen, 'loaded' as status,
               600 as rows_read, 600 as rows_loaded, 0 as rows_quarantined, null::varchar as message;
        """
    )
    if with_oracle:
        metrics = [
            ("model", "roc_auc", 0.80),
            ("model", "pr_auc", 0.52),
            ("scrubber", "roc_auc", 0.61),
            ("scrubber", "pr_auc", 0.33),
            ("logreg", "roc_auc", 0.72),
            ("logreg", "pr_auc", 0.41),
            ("oracle", "roc_auc", 0.83),
            ("oracle", "pr_auc", 0.57),
        ]
        frame = pl.DataFrame(metrics, schema=["scorer", "metric", "value"], orient="row")
        con.register("oracle", frame.to_arrow())
        con.execute("create table oracle_evaluation as select * from oracle")
    add_remit_line_outcomes(con)
    add_policy_drift_alert(con, lines)
    con.close()
    return path


def add_remit_line_outcomes(con: duckdb.DuckDBPyConnection) -> None:
    """Every adjudicated line's remit, plus one remit line in ten whose claim line never loaded."""
    con.execute(
        """
        create table remit_line_outcomes as
        select 'remits_2025.835' as source_file, row_number() over () as source_row,
               o.claim_id, o.line_number, c.cpt_code, c.service_date, o.adjudication_date,
               c.charge_amount, coalesce(o.allowed_amount, 0) as allowed_amount,
               coalesce(o.paid_amount, 0) as paid_amount, o.status, o.denied,
               o.primary_denial_carc, o.denial_group_code, o.denial_category,
               true as matched_claim_line, true as latest
        from line_outcomes o join staged_claim_lines c using (claim_id, line_number)
        where o.status <> 'pending';
        insert into remit_line_outcomes
        select source_file, source_row + 100000, 'UNLOADED-' || claim_id, line_number, '99213',
               service_date, adjudication_date, charge_amount, allowed_amount, paid_amount,
               status, denied, primary_denial_carc, denial_group_code, denial_category,
               false, true
        from remit_line_outcomes where source_row % 10 = 0;
        """
    )


def add_policy_drift_alert(con: duckdb.DuckDBPyConnection, lines: pl.DataFrame) -> None:
    """One policy drift alert on the busiest payer, with its monthly series (the Model panel)."""
    from data_contracts.warehouse_schema import POLICY_DRIFT_ALERTS, POLICY_DRIFT_MONTHLY
    from monitoring.policy_drift import UNCATEGORISED, alert_series, monthly_counts

    adjudicated = lines.filter(pl.col("denied").is_not_null()).select(
        "payer_id",
        (pl.col("submission_date") + timedelta(days=21)).alias("adjudication_date"),
        pl.col("denied").cast(pl.Boolean),
        pl.lit(None, pl.String).alias("denial_category"),
        pl.col("true_p").alias("case_mix"),
    )
    counts = monthly_counts(adjudicated)
    payer = adjudicated["payer_id"].mode().sort()[0]
    months = counts.filter(pl.col("payer_id") == payer)["month"].unique().sort()
    change = months[len(months) // 2].strftime("%Y-%m")
    alert = pl.DataFrame(
        {"payer_id": [payer], "reason_category": [UNCATEGORISED], "change_month": [change]}
    )
    con.execute(POLICY_DRIFT_ALERTS)
    con.execute(POLICY_DRIFT_MONTHLY)
    con.execute(
        "insert into policy_drift_alerts (payer_id, cpt_code, reason_category, change_month, "
        "alert_month, detected_at, rate_before, rate_after, expected_rate_after, lines_before, "
        "lines_after, denials_before, denials_after, statistic, p_value, status) values "
        "(?, '64520', ?, ?, ?, timestamptz '2026-01-05 05:00:00+00', 0.1, 0.3, 0.1, 200, 60, "
        "20, 18, 6.0, 0.0001, 'open')",
        [payer, UNCATEGORISED, change, change],
    )
    con.register("series", alert_series(counts, alert).to_arrow())
    con.execute("insert into policy_drift_monthly by name select * from series")
    con.unregister("series")
