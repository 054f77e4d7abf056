"""Reason groups in a biller's words: a stable code, a sentence and a recommended fix.

Codes never change meaning once exported (billing systems key work queues on them). Where the
line's own values make the sentence specific (the payer's bilateral convention, the units billed,
the filing limit), the sentence uses them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl


@dataclass(frozen=True)
class Reason:
    """What the export says for one reason group."""

    code: str
    sentence: str
    fix: str


REASONS: dict[str, Reason] = {
    "BILATERAL_UNITS": Reason(
        "BIL01",
        "bilateral or multi-unit 64520 is billed in a way this payer does not pay (MUE is 1 unit per day)",
        "bill bilateral 64520 the way this payer pays it (one line with modifier 50 and 1 unit, or RT and LT lines of 1 unit each)",
    ),
    "MODIFIER_CONFLICT": Reason(
        "MOD01",
        "the modifiers on this 64520 line conflict (50 with RT/LT, or 26/TC on a code without a professional/technical split)",
        "remove the conflicting modifier (no 26/TC on 64520; do not combine 50 with RT/LT)",
    ),
    "NCCI_BUNDLING": Reason(
        "NCCI01",
        "a same-day procedure forms an NCCI edit pair with 64520",
        "add 59/XS/XU only when the procedures were distinct and documented as such; otherwise drop the bundled line",
    ),
    "EM_WITHOUT_25": Reason(
        "EM25",
        "an E/M visit is billed the same day without modifier 25",
        "append modifier 25 to the E/M line if the visit was significant and separately documented, else remove it",
    ),
    "DOCUMENTATION": Reason(
        "DOC01",
        "the procedure note is missing elements payers look for (indication, failed conservative treatment, imaging, response)",
        "attach the note documenting failed conservative treatment, imaging guidance and the measured response",
    ),
    "DIAGNOSIS": Reason(
        "DX01",
        "the primary diagnosis does not support a lumbar sympathetic block (e.g. upper-limb CRPS, metabolic neuropathy, symptom-only code)",
        "code the documented indication (e.g. lower-limb CRPS G90.52x) as primary diagnosis or obtain a coverage review",
    ),
    "FREQUENCY": Reason(
        "FREQ01",
        "this patient had recent 64520 blocks; payers limit frequency (e.g. not within 7 days, 3–6 per 12 months)",
        "check the payer's block limit and attach documentation of relief from prior blocks",
    ),
    "PRIOR_AUTH": Reason(
        "AUTH01",
        "no prior authorization is on the claim and this payer often denies 64520 without one",
        "obtain prior authorization and add the authorization number before submitting",
    ),
    "TIMELY_FILING": Reason(
        "TF01",
        "the claim is submitted late relative to the payer's filing limit",
        "submit immediately and keep proof of timely filing; escalate the billing backlog",
    ),
    "PAYER_HISTORY": Reason(
        "PAY01",
        "this payer has denied many 64520 lines recently",
        "review this payer's current 64520 policy before submitting",
    ),
    "PROVIDER_HISTORY": Reason(
        "PRV01",
        "this rendering provider's 64520 lines have been denied often",
        "review this provider's recent denials and coding habits for 64520",
    ),
    "PATIENT_HISTORY": Reason(
        "PAT01",
        "this patient's earlier claims were denied",
        "verify eligibility and coverage for this patient before submitting",
    ),
    "CONTEXT": Reason(
        "CTX01",
        "the plan type, place of service or payer carries higher denial risk for 64520",
        "verify coverage rules for this plan and place of service",
    ),
}

NO_ACTION = "no pre-submission change recommended"
# A line none of whose reason groups raises its risk (every SHAP group contribution <= 0) still
# gets a reason: this explicit code, so `reasons` is never empty (export contract v2).
NO_SPECIFIC_FACTOR = Reason(
    "NONE01",
    "no specific risk factor: nothing on this line raises its denial risk above the model's base rate",
    NO_ACTION,
)


def _get(row: dict[str, Any], name: str) -> Any:
    return row.get(name)


def _bilateral_sentence(row: dict[str, Any]) -> str | None:
    if _get(row, "duplicate_of_earlier_claim"):
        return (
            "the same 64520 service (patient, date, NPI, modifiers) was already billed on an "
            "earlier claim; payers deny the repeat as a duplicate (OA-18)"
        )
    earlier = _get(row, "units_billed_earlier_same_day")
    if _get(row, "line_exceeds_mue_cumulative") and isinstance(earlier, int | float) and earlier:
        return (
            f"{earlier:g} unit{'s' if earlier != 1 else ''} of 64520 already billed for this "
            "patient on this day; this line takes the day over the MUE of 1 (bill bilateral the "
            "way this payer pays it)"
        )
    convention = _get(row, "payer_bilateral_convention")
    units = _get(row, "units")
    units_text = (
        f" (this line: {units:g} unit{'s' if units != 1 else ''})"
        if isinstance(units, int | float)
        else ""
    )
    if convention == "modifier_50":
        return (
            f"this payer pays bilateral 64520 as one line with modifier 50 and 1 unit{units_text}"
        )
    if convention == "rt_lt_two_lines":
        return f"this payer pays bilateral 64520 as two lines, RT and LT, 1 unit each{units_text}"
    if isinstance(units, int | float) and units > 1:
        return f"64520 billed with {units:g} units; the MUE for 64520 is 1 unit per day"
    return None


def _timely_sentence(row: dict[str, Any]) -> str | None:
    lag, limit = _get(row, "submission_lag_days"), _get(row, "payer_filing_limit_days")
    if isinstance(lag, int | float) and isinstance(limit, int | float):
        return f"submitted {lag:g} days after service; this payer's filing limit is {limit:g} days"
    return None


def _frequency_sentence(row: dict[str, Any]) -> str | None:
    n365, days = _get(row, "prior_64520_365d"), _get(row, "days_since_last_64520")
    if isinstance(n365, int | float) and isinstance(days, int | float):
        return f"{n365:g} earlier 64520 blocks in the last 12 months, the last {days:g} days ago; payers limit block frequency"
    return None


def _auth_sentence(row: dict[str, Any]) -> str | None:
    uses = _get(row, "prior_auth_uses")
    if _get(row, "prior_auth_present") and isinstance(uses, int | float) and uses >= 1:
        return (
            f"this authorization number was already used for {uses:g} earlier 64520 session"
            f"{'s' if uses != 1 else ''}; payers deny sessions beyond those authorized (CO-198)"
        )
    return None


def _patient_sentence(row: dict[str, Any]) -> str | None:
    # Front-end (277CA) rejections are not denials: say so when they are the patient history.
    if _get(row, "claim_rejected_front_end_before"):
        return (
            "this claim was rejected at the clearinghouse or payer front end (277CA) before this "
            "submission"
        )
    rejections, denials = (
        _get(row, "prior_front_end_rejections_patient"),
        _get(row, "patient_prior_denials"),
    )
    if isinstance(rejections, int | float) and rejections > 0 and not denials:
        return (
            f"{rejections:g} earlier claim{'s' if rejections != 1 else ''} of this patient "
            "rejected at the front end (277CA)"
        )
    return None


_SPECIFIC: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "BILATERAL_UNITS": _bilateral_sentence,
    "PRIOR_AUTH": _auth_sentence,
    "TIMELY_FILING": _timely_sentence,
    "FREQUENCY": _frequency_sentence,
    "PATIENT_HISTORY": _patient_sentence,
}


def reason_code(group: str | None) -> str | None:
    """Stable reason code of a reason group (None stays None)."""
    if group is None:
        return None
    return REASONS[group].code if group in REASONS else f"OTHER_{group}"


def reason_sentence(group: str, row: dict[str, Any] | None = None) -> str:
    """The biller sentence for a group, made specific with the line's values when possible."""
    specific = _SPECIFIC.get(group)
    if row is not None and specific is not None:
        text = specific(row)
        if text:
            return text
    return REASONS[group].sentence if group in REASONS else group.replace("_", " ").lower()


def recommended_fix(group: str | None, row: dict[str, Any] | None = None) -> str:
    """The fix for a group; for bilateral lines it names the payer's own convention."""
    if group is None:
        return NO_ACTION
    if group == "BILATERAL_UNITS" and row is not None and row.get("duplicate_of_earlier_claim"):
        return (
            "do not resend: follow up the original claim, or send a corrected claim "
            "(frequency code 7) if it needs changing"
        )
    if group == "PRIOR_AUTH" and row is not None and _auth_sentence(row):
        return "obtain a new or extended authorization for this session before billing"
    if group == "BILATERAL_UNITS" and row is not None:
        convention = row.get("payer_bilateral_convention")
        if convention == "modifier_50":
            return "rebill bilateral 64520 as one line with modifier 50 and 1 unit"
        if convention == "rt_lt_two_lines":
            return "rebill bilateral 64520 as two lines with RT and LT, 1 unit each"
    return REASONS[group].fix if group in REASONS else NO_ACTION


def action_for_code(code: str | None) -> str | None:
    """The fix of an exported reason code (BIL01, NCCI01, ...); None for no or an unknown code."""
    if code is None:
        return None
    for reason in (*REASONS.values(), NO_SPECIFIC_FACTOR):
        if reason.code == code:
            return reason.fix
    return None


def reason_dictionary() -> list[dict[str, str]]:
    """Every exportable reason code with its generic sentence and fix (the export manifest's)."""
    return [
        {"code": r.code, "text": r.sentence, "action": r.fix}
        for r in (*REASONS.values(), NO_SPECIFIC_FACTOR)
    ]


def line_reasons(
    groups: tuple[str | None, ...] | list[str | None], row: dict[str, Any] | None = None
) -> list[tuple[str, str, str]]:
    """(code, sentence, fix) of a line's reason groups, strongest first; never empty."""
    present = [g for g in groups if g is not None]
    if not present:
        return [(NO_SPECIFIC_FACTOR.code, NO_SPECIFIC_FACTOR.sentence, NO_SPECIFIC_FACTOR.fix)]
    return [
        (reason_code(g) or "", reason_sentence(g, row), recommended_fix(g, row)) for g in present
    ]


REASON_COLUMN_NAMES: tuple[str, ...] = (
    "reason_1",
    "reason_2",
    "reason_3",
    "reasons",
    "recommended_action",
    "action_1",
    "action_2",
    "action_3",
)


def reason_columns(frame: pl.DataFrame, groups: pl.DataFrame) -> pl.DataFrame:
    """reason_1..3 (codes), reasons (text, '; '-joined), recommended_action and action_1..3."""
    context_cols = [
        c
        for c in (
            "payer_bilateral_convention",
            "units",
            "submission_lag_days",
            "payer_filing_limit_days",
            "prior_64520_365d",
            "days_since_last_64520",
            "duplicate_of_earlier_claim",
            "units_billed_earlier_same_day",
            "line_exceeds_mue_cumulative",
            "prior_auth_present",
            "prior_auth_uses",
        )
        if c in frame.columns
    ]
    rows = frame.select(context_cols).to_dicts() if context_cols else [{}] * frame.height
    picked = groups.select("reason_group_1", "reason_group_2", "reason_group_3").iter_rows()
    columns: dict[str, list[str | None]] = {name: [] for name in REASON_COLUMN_NAMES}
    for row, line_groups in zip(rows, picked, strict=True):
        reasons = line_reasons(line_groups, row)
        padded = [*reasons, *[(None, None, None)] * (3 - len(reasons))]
        for i, (code, _, fix) in enumerate(padded[:3], start=1):
            columns[f"reason_{i}"].append(code)
            columns[f"action_{i}"].append(fix)
        columns["reasons"].append("; ".join(text for _, text, _ in reasons))
        columns["recommended_action"].append(reasons[0][2])
    return pl.DataFrame(columns, schema={name: pl.String for name in REASON_COLUMN_NAMES})
