"""Deterministic pre-submission edits: what a line fails, why, what to do, and which table says so.

Each edit is `{code, description, followup_action, source, status}` (the error shape clearing
houses return; domain presubmission.md). Status is `failed`, or `not_checked` when the reference
data or payer rule needed is missing: a line is never passed silently. Rules are not written
twice: pairs, units, modifiers, diagnosis and documentation come from the feature functions in
`models/features/` and the code sets in `data_contracts/codes.py`; codes and wording are in
docs/edits.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from data_contracts.codes import (
    FEE_SCHEDULE_FILE,
    ICD10CM_INDICATIONS_FILE,
    MODIFIER_CODES_FILE,
    NCCI_BYPASS_MODIFIERS,
    NCCI_EM_BYPASS_MODIFIER,
    NCCI_MUE_FILE,
    NCCI_PTP_FILE,
    fee_schedule,
    modifier_codes,
    mue_limits,
    ncci_ptp_pairs,
    reference_source,
)
from data_contracts.input_contract import TARGET_CPT
from data_contracts.payer_rules import PayerRules
from models.features.diagnosis import diagnosis_features, primary_dx
from models.features.modifiers import has_modifier, modifier_list, mue_units_limit, pctc_indicator
from models.features.same_day import (
    is_em_code,
    ncci_bypass_present,
    practitioner_ptp_edits,
    same_day_pairs,
)
from models.features.timing import prior_auth_present, submission_lag_days
from models.reasons import REASONS, recommended_fix

LINE_KEY = ["claim_id", "line_number"]
EDIT_FIELDS = ("code", "description", "followup_action", "source", "status")
EDIT_DTYPE = pl.Struct({name: pl.String for name in EDIT_FIELDS})
FAILED, NOT_CHECKED = "failed", "not_checked"
# A claim this close to the payer's filing limit is flagged while it can still go out in time;
# 14 days covers a clearinghouse rejection and one corrected resubmission (domain
# presubmission.md: a rejected claim is corrected and resubmitted within the filing limit).
FILING_LIMIT_WARNING_DAYS = 14

NCCI_PTP_SOURCE = reference_source("NCCI PTP", NCCI_PTP_FILE)
NCCI_MUE_SOURCE = reference_source("NCCI MUE", NCCI_MUE_FILE)
ICD10CM_SOURCE = reference_source("ICD-10-CM", ICD10CM_INDICATIONS_FILE)
MODIFIER_SOURCE = reference_source("CPT/HCPCS modifier list", MODIFIER_CODES_FILE)
FEE_SCHEDULE_SOURCE = reference_source("PFS RVU", FEE_SCHEDULE_FILE)
NOTE_SOURCE = "procedure note (documentation features)"
FEATURES_SOURCE = "modelling features"

# Order of edits within a line: failed before not checked, then this order and DOC_ELEMENTS'.
# Denials certain whatever the coding come first (past the filing limit, no authorization),
# then the line's coding with the cause before its consequence (the bilateral style before the
# units over the MUE it produces), same-day pairs, the diagnosis, the warning, the note.
EDIT_ORDER = (
    "FILING_LIMIT",
    "PRIOR_AUTH_MISSING",
    "BILATERAL_CONVENTION",
    "MODIFIER_INVALID",
    "MUE_UNITS",
    "NCCI_PTP",
    "DX_NOT_SUPPORTED",
    "FILING_LIMIT_SOON",
    "DOC_NOTE_MISSING",
)

# Documentation elements a reviewer looks for (catalog DOCUMENTATION features): the edit code,
# the test on the feature row, the missing element in words and the fix.
DOC_ELEMENTS: tuple[tuple[str, pl.Expr, str, str], ...] = (
    (
        "DOC_MISSING_INDICATION",
        pl.col("doc_indication") == False,  # noqa: E712 (null is not missing)
        "the note names no indication (CRPS, causalgia, PHN, phantom limb, ischemic pain...)",
        "document the indication for the block in the note",
    ),
    (
        "DOC_MISSING_CONSERVATIVE_CARE",
        pl.col("doc_conservative_failed") == False,  # noqa: E712
        "the note does not document failed conservative treatment (PT, medication, TENS...)",
        "document which conservative treatments were tried, for how long, and that they failed",
    ),
    (
        "DOC_MISSING_FUNCTIONAL_IMPACT",
        pl.col("doc_functional_impact") == False,  # noqa: E712
        "the note does not document functional limitation (walking, work, sleep, ADLs)",
        "document how the pain limits the patient's function",
    ),
    (
        "DOC_MISSING_LEVEL",
        pl.col("doc_level") == "not_documented",
        "the note does not state the spinal level (lumbar or thoracic)",
        "document the lumbar or thoracic level injected",
    ),
    (
        "DOC_MISSING_SIDE",
        pl.col("doc_side") == "not_documented",
        "the note does not state the side of the block (left, right or bilateral)",
        "document the side so it supports RT, LT or 50 on the claim",
    ),
    (
        # 64520's descriptor does not include imaging (domain §1): the guidance needs
        # documenting when it is billed (77002/77003) that day.
        "DOC_MISSING_IMAGING_GUIDANCE",
        (pl.col("doc_imaging_guidance") == False)  # noqa: E712
        & (pl.col("imaging_77002_same_day") | pl.col("imaging_77003_same_day")),
        "fluoroscopy (77002/77003) is billed that day but the note does not document imaging "
        "guidance",
        "document the imaging guidance used for needle placement",
    ),
    (
        "DOC_MISSING_SAVED_IMAGES",
        pl.col("fluoro_without_saved_images") == True,  # noqa: E712
        "fluoroscopy (77002/77003) is billed that day but the note does not document saved images",
        "document and keep the saved images (final needle position, contrast spread)",
    ),
    (
        "DOC_MISSING_ANESTHETIC_AGENT",
        pl.col("doc_anesthetic_agent") == "not_documented",
        "the note does not name the anesthetic agent injected",
        "document the anesthetic agent and volume injected",
    ),
    (
        # Repeat blocks are covered on documented, measured response (domain §4b BSC6.04, Aetna).
        "DOC_MISSING_RESPONSE",
        (pl.col("doc_response_measured") == False)  # noqa: E712
        & (pl.col("prior_64520_365d") > 0),
        "a repeat block, and the note does not document a measured response (pain score before "
        "and after, temperature rise)",
        "document the measured response (pain scores before and after, limb temperature)",
    ),
)
# What each edit checks, in a biller's words (the Glossary page; docs/edits.md has the full
# table with sources). The documentation edits' words come from DOC_ELEMENTS.
EDIT_CHECKS: dict[str, str] = {
    "FILING_LIMIT": "days from service to submission are past the payer's filing limit (CARC 29)",
    "PRIOR_AUTH_MISSING": "a 64520 line has no prior-authorization number for a payer that "
    "requires one (CARC 197)",
    "BILATERAL_CONVENTION": "a bilateral 64520 is billed in another style than the payer pays "
    "(modifier 50, RT and LT lines, or 2 units)",
    "MODIFIER_INVALID": "a modifier is unknown, 50 is combined with RT/LT, or 26/TC sits on a "
    "code without a professional/technical split",
    "MUE_UNITS": "units over the NCCI Medically Unlikely Edit for the line or the day",
    "NCCI_PTP": "a same-day NCCI procedure-to-procedure pair with 64520 lacks a valid bypass "
    "modifier (59, XE, XP, XS, XU; 25 on an E/M)",
    "DX_NOT_SUPPORTED": "the primary diagnosis is not an indication for a lumbar sympathetic block",
    "FILING_LIMIT_SOON": "a warning: 0-14 days are left before the payer's filing limit",
    "DOC_NOTE_MISSING": "no procedure note is linked to the 64520 line",
    **{code: missing for code, _, missing, _ in DOC_ELEMENTS},
}
DOC_FEATURES = (
    "note_present",
    "doc_indication",
    "doc_conservative_failed",
    "doc_functional_impact",
    "doc_level",
    "doc_side",
    "doc_imaging_guidance",
    "fluoro_without_saved_images",
    "doc_anesthetic_agent",
    "doc_response_measured",
    "imaging_77002_same_day",
    "imaging_77003_same_day",
    "prior_64520_365d",
)
CONVENTION_WORDS = {
    "modifier_50": "one line with modifier 50 and 1 unit",
    "rt_lt_two_lines": "two lines, RT and LT, 1 unit each",
    "units_2": "one line with 2 units",
}
CODING_WORDS = {
    "modifier_50": "one line with modifier 50",
    "rt_lt_two_lines": "two lines, RT and LT",
    "units_gt_1": "one line with more than 1 unit",
    "conflict": "modifier 50 together with RT/LT, more than 1 unit or a second line",
}
MAI_WORDS = {
    1: "MAI 1, claim-line edit",
    2: "MAI 2, date-of-service edit, not payable on appeal",
    3: "MAI 3, date-of-service edit, payable on appeal with records",
}


class _FromReference:
    """A value derived from a cached reference loader, rebuilt when the loader reloads its file.

    Deriving per request (the practitioner PTP rows out of 13k pairs, the MUE indicator map)
    costs milliseconds a one-claim request cannot spend.
    """

    def __init__(self, loader: Callable[[], Any], build: Callable[[Any], Any]) -> None:
        self._loader, self._build = loader, build
        self._source: Any = None
        self._value: Any = None

    def __call__(self) -> Any:
        source = self._loader()
        if source is not self._source:
            self._value, self._source = self._build(source), source
        return self._value


_practitioner_ptp = _FromReference(ncci_ptp_pairs, lambda _: practitioner_ptp_edits().collect())
_mue_adjudication = _FromReference(
    mue_limits, lambda table: dict(zip(table["hcpcs_code"], table["mue_mai"], strict=True))
)
_known_modifiers = _FromReference(modifier_codes, lambda codes: pl.Series(sorted(codes)))
# The feature functions' own expressions, built once per loaded table (each builds a mapping).
_mue_limit = _FromReference(mue_limits, lambda _: mue_units_limit())
_pctc = _FromReference(fee_schedule, lambda _: pctc_indicator())


def reference_sources() -> dict[str, str]:
    """The reference tables the edits read, each with its release (for `GET /v1/model`)."""
    return {
        "ncci_ptp": NCCI_PTP_SOURCE,
        "ncci_mue": NCCI_MUE_SOURCE,
        "icd10cm_indications": ICD10CM_SOURCE,
        "modifiers": MODIFIER_SOURCE,
        "fee_schedule": FEE_SCHEDULE_SOURCE,
    }


def _number(expr: pl.Expr) -> pl.Expr:
    """Units as a biller writes them: 2 not 2.0."""
    return (
        pl.when(expr == expr.floor())
        .then(expr.cast(pl.Int64).cast(pl.String))
        .otherwise(expr.cast(pl.String))
    )


def _days(expr: pl.Expr) -> pl.Expr:
    """A day count in words: 1 day, 14 days."""
    text = expr.cast(pl.Int64).cast(pl.String)
    return pl.concat_str(text, pl.when(expr == 1).then(pl.lit(" day")).otherwise(pl.lit(" days")))


def _dotted_icd10(code: pl.Expr) -> pl.Expr:
    return (
        pl.when(code.str.len_chars() > 3)
        .then(pl.concat_str(code.str.slice(0, 3), pl.lit("."), code.str.slice(3)))
        .otherwise(code)
    )


def _edits(
    frame: pl.DataFrame,
    code: str | pl.Expr,
    description: pl.Expr,
    followup: str | pl.Expr,
    source: str | pl.Expr,
    status: str | pl.Expr,
) -> pl.DataFrame:
    """Edit rows (line key + the five fields) from per-line expressions."""
    as_expr = [pl.lit(v) if isinstance(v, str) else v for v in (code, followup, source, status)]
    return frame.select(
        pl.col("claim_id").cast(pl.String),
        pl.col("line_number").cast(pl.Int64),
        as_expr[0].cast(pl.String).alias("code"),
        description.cast(pl.String).alias("description"),
        as_expr[1].cast(pl.String).alias("followup_action"),
        as_expr[2].cast(pl.String).alias("source"),
        as_expr[3].cast(pl.String).alias("status"),
    )


@dataclass(frozen=True)
class _Case:
    """One outcome of an edit: when it holds, the edit's fields (strings or expressions)."""

    when: pl.Expr
    code: str | pl.Expr
    description: str | pl.Expr
    followup: str | pl.Expr
    source: str | pl.Expr
    status: str


def _first_case(frame: pl.DataFrame, cases: tuple[_Case, ...]) -> pl.DataFrame:
    """One edit per row from the first case that holds; rows where none holds pass.

    One filter and one select per edit: a one-claim request is dominated by per-step overhead.
    """
    holds = [case.when.fill_null(False) for case in cases]

    def field(name: str) -> pl.Expr:
        values = [getattr(case, name) for case in cases]
        values = [pl.lit(v) if isinstance(v, str) else v for v in values]
        chain = pl.when(holds[0]).then(values[0])
        for hold, value in zip(holds[1:], values[1:], strict=True):
            chain = chain.when(hold).then(value)
        return chain.cast(pl.String)

    return frame.filter(pl.any_horizontal(holds)).select(
        pl.col("claim_id").cast(pl.String),
        pl.col("line_number").cast(pl.Int64),
        *(field(name).alias(alias) for name, alias in _CASE_FIELDS),
    )


_CASE_FIELDS = (
    ("code", "code"),
    ("description", "description"),
    ("followup", "followup_action"),
    ("source", "source"),
    ("status", "status"),
)


def prepare_lines(lines: pl.DataFrame, today: date) -> pl.DataFrame:
    """Staged lines typed for the edits, with a `modifiers` list and a submission date."""
    frame = lines if "modifiers" in lines.columns else lines.with_columns(modifier_list())
    if "rendering_npi" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("rendering_npi"))
    return frame.with_columns(
        pl.col("claim_id").cast(pl.String),
        pl.col("line_number").cast(pl.Int64),
        pl.col("cpt_code").cast(pl.String).str.strip_chars().str.to_uppercase(),
        pl.col("units").cast(pl.Float64).fill_null(1.0),
        pl.col("service_date").cast(pl.Date),
        pl.coalesce(pl.col("submission_date").cast(pl.Date), pl.lit(today)).alias(
            "submission_date"
        ),
    )


_PAIR_COLUMNS = (
    "claim_id",
    "line_number",
    "patient_key",
    "service_date",
    "submission_date",
    "cpt_code",
    "modifiers",
    "units",
    "rendering_npi",
)


def line_pairs(lines: pl.DataFrame, same_day: pl.DataFrame) -> pl.DataFrame:
    """Each line with every same-day line of the patient sent no later (itself included)."""
    context = (
        pl.concat([lines.select(_PAIR_COLUMNS), same_day.select(_PAIR_COLUMNS)], how="vertical")
        .unique(subset=LINE_KEY, keep="first", maintain_order=True)
        .lazy()
    )
    pairs = same_day_pairs(lines.select(_PAIR_COLUMNS).lazy(), context).collect()
    return pairs.join(lines.select(*LINE_KEY, "cpt_code"), on=LINE_KEY, how="left")


def ncci_ptp_edits(pairs: pl.DataFrame) -> pl.DataFrame:
    """NCCI PTP pairs on the date of service without an allowed bypass (both lines of a pair)."""
    is_self = (pl.col("_o_claim") == pl.col("claim_id")) & (
        pl.col("_o_line") == pl.col("line_number")
    )
    others = pairs.filter(~is_self & (pl.col("_o_cpt") != pl.col("cpt_code")))
    if others.is_empty():
        return _edits(others, "", pl.lit(""), "", "", "").clear()
    ptp = _practitioner_ptp()
    target_first = pl.col("_target_is_column_1")
    own_is_target = (
        others.filter(pl.col("cpt_code") == TARGET_CPT)
        .join(ptp, on="_o_cpt", how="inner")
        .with_columns(
            pl.when(target_first).then("cpt_code").otherwise("_o_cpt").alias("_col1"),
            pl.when(target_first).then("_o_cpt").otherwise("cpt_code").alias("_col2"),
            pl.when(target_first)
            .then("_o_modifiers")
            .otherwise("_own_modifiers")
            .alias("_col2_modifiers"),
        )
    )
    other_is_target = (
        others.filter((pl.col("cpt_code") != TARGET_CPT) & (pl.col("_o_cpt") == TARGET_CPT))
        .join(ptp.rename({"_o_cpt": "cpt_code"}), on="cpt_code", how="inner")
        .with_columns(
            pl.when(target_first).then("_o_cpt").otherwise("cpt_code").alias("_col1"),
            pl.when(target_first).then("cpt_code").otherwise("_o_cpt").alias("_col2"),
            pl.when(target_first)
            .then("_own_modifiers")
            .otherwise("_o_modifiers")
            .alias("_col2_modifiers"),
        )
    )
    em_column_2 = is_em_code(pl.col("_col2"))
    unbypassed = (
        pl.concat([own_is_target, other_is_target], how="diagonal_relaxed")
        .filter(
            (pl.col("service_date") <= pl.col("_deletion_date"))
            & pl.col("_indicator").is_in([0, 1])
        )
        .filter(
            (pl.col("_indicator") == 0)
            | ~ncci_bypass_present("_col2_modifiers", em_column_2).fill_null(False)
        )
    )
    bypass_words = ", ".join(NCCI_BYPASS_MODIFIERS)
    pair_words = pl.format(
        "{} (column 1) with {} (column 2) on {}, modifier indicator {}: ",
        "_col1",
        "_col2",
        pl.col("service_date").cast(pl.String),
        pl.col("_indicator").cast(pl.String),
    )
    description = pl.concat_str(
        pair_words,
        pl.when(pl.col("_indicator") == 0)
        .then(pl.format("no modifier bypasses it; the {} line is denied", "_col2"))
        .when(em_column_2)
        .then(
            pl.format(
                "the {} line is denied without modifier {}",
                "_col2",
                pl.lit(NCCI_EM_BYPASS_MODIFIER),
            )
        )
        .otherwise(pl.format("the {} line is denied without {}", "_col2", pl.lit(bypass_words))),
    )
    followup = (
        pl.when(pl.col("_indicator") == 0)
        .then(pl.format("remove the {} line: it is not payable with {} that day", "_col2", "_col1"))
        .when(em_column_2)
        .then(pl.lit(REASONS["EM_WITHOUT_25"].fix))
        .otherwise(pl.lit(REASONS["NCCI_BUNDLING"].fix))
    )
    failed = (
        unbypassed.with_columns(description.alias("_d"), followup.alias("_f"))
        .sort(*LINE_KEY, "_indicator", "_col1", "_col2")
        .unique(subset=[*LINE_KEY, "_col1", "_col2"], keep="first", maintain_order=True)
        .group_by(LINE_KEY, maintain_order=True)
        .agg(pl.col("_d").str.join("; "), pl.col("_f").first())
    )
    failed_edits = _edits(failed, "NCCI_PTP", pl.col("_d"), pl.col("_f"), NCCI_PTP_SOURCE, FAILED)
    # The shipped extract lists pairs with 64520 only: other pairs are not known either way.
    unknown = (
        others.filter((pl.col("cpt_code") != TARGET_CPT) & (pl.col("_o_cpt") != TARGET_CPT))
        .join(failed.select(LINE_KEY), on=LINE_KEY, how="anti")
        .group_by(LINE_KEY, maintain_order=True)
        .agg(pl.col("cpt_code").first(), pl.col("_o_cpt").unique(maintain_order=True))
    )
    unknown_edits = _edits(
        unknown,
        "NCCI_PTP",
        pl.format(
            "pairs of {} with {} on the same day are not checked: the NCCI PTP extract holds "
            "pairs with {} only",
            "cpt_code",
            pl.col("_o_cpt").list.join(", "),
            pl.lit(TARGET_CPT),
        ),
        "check these pairs against the current CMS NCCI PTP table",
        NCCI_PTP_SOURCE,
        NOT_CHECKED,
    )
    return pl.concat([failed_edits, unknown_edits])


def mue_edits(
    lines: pl.DataFrame, pairs: pl.DataFrame, two_unit_bilateral: pl.DataFrame
) -> pl.DataFrame:
    """Units over the MUE: the line (MAI 1) or the patient's day for the code (MAI 2 and 3).

    `two_unit_bilateral` holds the keys of bilateral lines billed the way their payer pays
    bilateral as two units (RT/LT lines, or 2 units): the payer's own convention allows twice
    the MUE, so a correctly billed bilateral block is not flagged (domain cpt-64520.md §1, §3:
    the MUE of 1 denies two-unit bilateral billing where the payer expects modifier 50).
    """
    day_units = (
        pairs.filter(pl.col("_o_cpt") == pl.col("cpt_code"))
        .group_by(LINE_KEY)
        .agg(pl.col("_o_units").sum().alias("_day_units"))
    )
    mai = _mue_adjudication()
    allowance = two_unit_bilateral.select(LINE_KEY).with_columns(pl.lit(2).alias("_per_side"))
    frame = (
        lines.join(day_units, on=LINE_KEY, how="left")
        .join(allowance, on=LINE_KEY, how="left")
        .with_columns(
            pl.col("_day_units").fill_null(pl.col("units")),
            _mue_limit().alias("_limit"),
            pl.col("_per_side").fill_null(1),
            pl.col("cpt_code")
            .replace_strict(mai, default=None, return_dtype=pl.Int8)
            .alias("_mai"),
        )
        .with_columns(
            pl.when(pl.col("_mai") == 1)
            .then(pl.col("units"))
            .otherwise(pl.col("_day_units"))
            .alias("_counted")
        )
    )
    mai_words = pl.col("_mai").replace_strict(MAI_WORDS, default="MAI unknown")
    description = pl.format(
        "{} units of {} {} exceed the MUE of {} per day{} ({})",
        _number(pl.col("_counted")),
        "cpt_code",
        pl.when(pl.col("_mai") == 1)
        .then(pl.lit("on this line"))
        .otherwise(pl.format("for this patient on {}", pl.col("service_date").cast(pl.String))),
        pl.col("_limit").cast(pl.String),
        pl.when(pl.col("_per_side") > 1).then(pl.lit(" per side")).otherwise(pl.lit("")),
        mai_words,
    )
    followup = (
        pl.when(pl.col("cpt_code") == TARGET_CPT)
        .then(pl.lit(REASONS["BILATERAL_UNITS"].fix))
        .otherwise(
            pl.format(
                "bill at most {} unit(s) of {} per day, or appeal with records when MAI 3",
                pl.col("_limit").cast(pl.String),
                "cpt_code",
            )
        )
    )
    return _first_case(
        frame,
        (
            _Case(
                pl.col("_limit").is_null(),
                "MUE_UNITS",
                pl.format("{} has no row in the NCCI MUE extract; units not checked", "cpt_code"),
                "check the units against the current CMS MUE table",
                NCCI_MUE_SOURCE,
                NOT_CHECKED,
            ),
            _Case(
                pl.col("_counted") > pl.col("_limit") * pl.col("_per_side"),
                "MUE_UNITS",
                description,
                followup,
                NCCI_MUE_SOURCE,
                FAILED,
            ),
        ),
    )


def modifier_edits(lines: pl.DataFrame) -> pl.DataFrame:
    """Unknown modifiers, 50 with RT/LT, and 26/TC on a code without a PC/TC split."""
    frame = lines.with_columns(
        pl.col("modifiers")
        .list.filter(~pl.element().is_in(_known_modifiers().implode()))
        .alias("_unknown"),
        (has_modifier("50") & has_modifier("RT", "LT")).alias("_50_rt_lt"),
        has_modifier("26", "TC").alias("_26_tc"),
        _pctc().alias("_pctc"),
    )
    checks = (
        (
            pl.col("_unknown").list.len() > 0,
            pl.format("modifier(s) {} are not known", pl.col("_unknown").list.join(", ")),
            MODIFIER_SOURCE,
        ),
        (
            pl.col("_50_rt_lt"),
            pl.lit("modifier 50 is combined with RT/LT (50 already means both sides)"),
            MODIFIER_SOURCE,
        ),
        (
            pl.col("_26_tc") & (pl.col("_pctc") == "0"),
            pl.format("26/TC on {}, a code without a professional/technical split", "cpt_code"),
            FEE_SCHEDULE_SOURCE,
        ),
    )
    problems = pl.concat_list([pl.when(hit.fill_null(False)).then(text) for hit, text, _ in checks])
    sources = pl.concat_list(
        [pl.when(hit.fill_null(False)).then(pl.lit(source)) for hit, _, source in checks]
    )
    frame = frame.with_columns(
        problems.list.drop_nulls().alias("_problems"),
        sources.list.drop_nulls().list.unique(maintain_order=True).alias("_sources"),
    )
    return _first_case(
        frame,
        (
            _Case(
                pl.col("_problems").list.len() > 0,
                "MODIFIER_INVALID",
                pl.col("_problems").list.join("; "),
                REASONS["MODIFIER_CONFLICT"].fix,
                pl.col("_sources").list.join("; "),
                FAILED,
            ),
            _Case(
                pl.col("_26_tc") & pl.col("_pctc").is_null(),
                "MODIFIER_INVALID",
                pl.format("26/TC on {}: the code is not in the fee schedule extract", "cpt_code"),
                "check the code's PC/TC indicator in the current fee schedule",
                FEE_SCHEDULE_SOURCE,
                NOT_CHECKED,
            ),
        ),
    )


def _rules_source(provenance: str) -> pl.Expr:
    return pl.format("payer rules ({})", pl.col(provenance))


def billed_as_payer_convention() -> pl.Expr:
    """The line's bilateral coding (feature `bilateral_coding`) is the payer's convention."""
    coding, convention = pl.col("bilateral_coding"), pl.col("bilateral_convention")
    return (coding == convention) | ((coding == "units_gt_1") & (convention == "units_2"))


def two_unit_bilateral_lines(targets: pl.DataFrame) -> pl.DataFrame:
    """Keys of bilateral lines billed as two units the way their payer pays bilateral."""
    two_units = pl.col("bilateral_convention").is_in(["rt_lt_two_lines", "units_2"])
    return targets.filter((two_units & billed_as_payer_convention()).fill_null(False)).select(
        LINE_KEY
    )


def bilateral_edits(targets: pl.DataFrame) -> pl.DataFrame:
    """Bilateral 64520 billed in a style other than the payer's convention."""
    coding = pl.col("bilateral_coding")
    convention = pl.col("bilateral_convention")
    # The reasons' fix for the payer's convention, so the export and the edit say the same.
    fixes = {
        style: recommended_fix("BILATERAL_UNITS", {"payer_bilateral_convention": style})
        for style in CONVENTION_WORDS
    }
    fixes["units_2"] = "rebill bilateral 64520 as one line with 2 units"
    fix = convention.replace_strict(fixes, default=REASONS["BILATERAL_UNITS"].fix)
    source = _rules_source("bilateral_convention_provenance")
    return _first_case(
        targets,
        (
            _Case(
                coding.is_null(),
                "BILATERAL_CONVENTION",
                "no modelling features for this line; bilateral coding not checked",
                "score the line with its claim so the same-day lines are known",
                FEATURES_SOURCE,
                NOT_CHECKED,
            ),
            _Case(
                (coding != "unilateral") & (convention == "unknown"),
                "BILATERAL_CONVENTION",
                pl.format(
                    "the bilateral convention of {} is not known (no override and too few paid "
                    "bilateral encounters)",
                    "payer_id",
                ),
                "confirm how this payer pays bilateral 64520 (modifier 50, RT/LT lines or 2 units)",
                source,
                NOT_CHECKED,
            ),
            _Case(
                (coding != "unilateral") & ~billed_as_payer_convention(),
                "BILATERAL_CONVENTION",
                pl.format(
                    "bilateral 64520 billed as {}; {} pays it as {}",
                    coding.replace_strict(CODING_WORDS, default=coding),
                    "payer_id",
                    convention.replace_strict(CONVENTION_WORDS, default=convention),
                ),
                fix,
                source,
                FAILED,
            ),
        ),
    )


def diagnosis_edits(targets: pl.DataFrame) -> pl.DataFrame:
    """A primary diagnosis that does not support 64520 (the ICD-10-CM indication shortlist)."""
    frame = targets.with_columns(primary_dx().alias("_dx"))
    why = (
        pl.when(~pl.col("dx_primary_valid"))
        .then(pl.lit("is not a billable code of the release"))
        .when(pl.col("dx_symptom_only"))
        .then(pl.lit("is a symptom-only code, not an indication for the block"))
        .when(pl.col("dx_upper_limb_crps"))
        .then(pl.lit("is upper-limb CRPS, an indication for a stellate ganglion block (64510)"))
        .when(pl.col("dx_metabolic_neuropathy"))
        .then(pl.lit("is a metabolic neuropathy, non-covered for nerve blockade (LCD L35457)"))
        .otherwise(pl.lit("is not on the indication shortlist for 64520"))
    )
    return _first_case(
        frame,
        (
            _Case(
                pl.col("_dx").is_null(),
                "DX_NOT_SUPPORTED",
                "the line has no diagnosis code; not checked",
                "add the diagnosis codes that support the block",
                ICD10CM_SOURCE,
                NOT_CHECKED,
            ),
            _Case(
                ~pl.col("dx_primary_is_indication"),
                "DX_NOT_SUPPORTED",
                pl.format("primary diagnosis {} {}", _dotted_icd10(pl.col("_dx")), why),
                REASONS["DIAGNOSIS"].fix,
                ICD10CM_SOURCE,
                FAILED,
            ),
        ),
    )


def prior_auth_edits(targets: pl.DataFrame) -> pl.DataFrame:
    """No authorization number on a 64520 line for a payer that requires one."""
    without = ~prior_auth_present()
    source = _rules_source("requires_prior_auth_provenance")
    return _first_case(
        targets,
        (
            _Case(
                without & pl.col("requires_prior_auth"),
                "PRIOR_AUTH_MISSING",
                pl.format(
                    "no prior authorization number; {} requires prior authorization for 64520",
                    "payer_id",
                ),
                REASONS["PRIOR_AUTH"].fix,
                source,
                FAILED,
            ),
            _Case(
                without & pl.col("requires_prior_auth").is_null(),
                "PRIOR_AUTH_MISSING",
                pl.format(
                    "no prior authorization number, and whether {} requires one for 64520 is "
                    "not known",
                    "payer_id",
                ),
                "check the payer's prior-authorization list for 64520 before submitting",
                source,
                NOT_CHECKED,
            ),
        ),
    )


def filing_limit_edits(lines: pl.DataFrame) -> pl.DataFrame:
    """Days left to file: past the payer's limit, or within the warning days of it."""
    frame = lines.with_columns(submission_lag_days()).with_columns(
        (pl.col("filing_limit_days") - pl.col("submission_lag_days")).alias("_left")
    )
    known = pl.col("filing_limit_days").is_not_null()
    paid_at_this_lag = (pl.col("submission_lag_days") <= pl.col("longest_paid_lag_days")).fill_null(
        False
    )
    source = _rules_source("filing_limit_days_provenance")
    return _first_case(
        frame,
        (
            _Case(
                known & (pl.col("_left") < 0),
                "FILING_LIMIT",
                pl.format(
                    "sent {} after service; {}'s filing limit is {} ({} past it)",
                    _days(pl.col("submission_lag_days")),
                    "payer_id",
                    _days(pl.col("filing_limit_days")),
                    _days(-pl.col("_left")),
                ),
                REASONS["TIMELY_FILING"].fix,
                source,
                FAILED,
            ),
            _Case(
                known & pl.col("_left").is_between(0, FILING_LIMIT_WARNING_DAYS),
                "FILING_LIMIT_SOON",
                pl.format(
                    "{} left to file: sent {} after service, {}'s filing limit is {}",
                    _days(pl.col("_left")),
                    _days(pl.col("submission_lag_days")),
                    "payer_id",
                    _days(pl.col("filing_limit_days")),
                ),
                "send the claim now and keep proof of timely filing; a rejection leaves little "
                "time to resubmit",
                source,
                FAILED,
            ),
            _Case(
                ~known & ~paid_at_this_lag,
                "FILING_LIMIT",
                pl.format(
                    "{}'s filing limit is not known{}; sent {} after service",
                    "payer_id",
                    pl.when(pl.col("longest_paid_lag_days").is_not_null())
                    .then(
                        pl.format(
                            " (paid up to {} after service so far)",
                            _days(pl.col("longest_paid_lag_days")),
                        )
                    )
                    .otherwise(pl.lit("")),
                    _days(pl.col("submission_lag_days")),
                ),
                "check the payer's filing limit (contract or provider manual) before submitting",
                source,
                NOT_CHECKED,
            ),
        ),
    )


def documentation_edits(targets: pl.DataFrame) -> pl.DataFrame:
    """No note for the line, or a note that lacks an element reviewers look for."""
    present = pl.col("note_present")
    parts = [
        _first_case(
            targets,
            (
                _Case(
                    present.is_null(),
                    "DOC_NOTE_MISSING",
                    "no modelling features for this line; documentation not checked",
                    "score the line with its procedure note",
                    FEATURES_SOURCE,
                    NOT_CHECKED,
                ),
                _Case(
                    ~present,
                    "DOC_NOTE_MISSING",
                    "no procedure note is linked to this line",
                    REASONS["DOCUMENTATION"].fix,
                    NOTE_SOURCE,
                    FAILED,
                ),
            ),
        )
    ]
    with_note = targets.filter(present.fill_null(False))
    # All elements in one pass (a filter per element cost ~0.15 ms each on a one-claim request).
    flags = [pl.when(test.fill_null(False)).then(pl.lit(code)) for code, test, _, _ in DOC_ELEMENTS]
    missing = (
        with_note.select(*LINE_KEY, pl.concat_list(flags).list.drop_nulls().alias("_code"))
        .explode("_code")
        .drop_nulls("_code")
    )
    texts = {code: text for code, _, text, _ in DOC_ELEMENTS}
    fixes = {code: fix for code, _, _, fix in DOC_ELEMENTS}
    code = pl.col("_code")
    parts.append(
        _edits(
            missing,
            code,
            code.replace_strict(texts, return_dtype=pl.String),
            code.replace_strict(fixes, return_dtype=pl.String),
            NOTE_SOURCE,
            FAILED,
        )
    )
    return pl.concat(parts)


DX_FEATURES = (
    "dx_primary_is_indication",
    "dx_primary_valid",
    "dx_symptom_only",
    "dx_upper_limb_crps",
    "dx_metabolic_neuropathy",
)
# Features the edits read from the modelling-table rows of the 64520 lines.
EDIT_FEATURES = ("bilateral_coding", *DX_FEATURES, *DOC_FEATURES)


def _with_features(targets: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame:
    if not {"claim_id", "line_number"} <= set(features.columns):
        features = pl.DataFrame(schema={"claim_id": pl.String, "line_number": pl.Int64})
    wanted = [c for c in EDIT_FEATURES if c in features.columns]
    feature_rows = features.select(
        pl.col("claim_id").cast(pl.String), pl.col("line_number").cast(pl.Int64), *wanted
    ).unique(subset=LINE_KEY, keep="last")
    joined = targets.join(feature_rows, on=LINE_KEY, how="left", coalesce=True)
    dtypes = {**{c: pl.Boolean for c in EDIT_FEATURES}, "doc_level": pl.String}
    dtypes |= {"doc_side": pl.String, "doc_anesthetic_agent": pl.String}
    dtypes["bilateral_coding"] = pl.String
    dtypes["prior_64520_365d"] = pl.Float64
    for name in EDIT_FEATURES:
        if name not in joined.columns:
            joined = joined.with_columns(pl.lit(None, dtype=dtypes[name]).alias(name))
    # Lines without feature rows get their diagnosis features here; the release-wide code
    # lookup in `diagnosis_features` costs ~80 ms a call, so lines that have them skip it.
    missing_dx = joined.filter(pl.col("dx_primary_valid").is_null())
    if missing_dx.height:
        computed = missing_dx.with_columns(*diagnosis_features()).select(joined.columns)
        joined = pl.concat([joined.filter(pl.col("dx_primary_valid").is_not_null()), computed])
    return joined


def evaluate_edits(
    lines: pl.DataFrame,
    *,
    same_day: pl.DataFrame,
    features: pl.DataFrame,
    rules: PayerRules,
    today: date,
) -> pl.DataFrame:
    """Per line (all CPTs of the request): the edits it fails or that could not be checked.

    `lines` and `same_day` are staged-form claim lines (same_day: the patients' lines on the
    same service dates, request and history); `features` the modelling-table rows of the 64520
    lines. A line without `submission_date` is taken as sent `today`.
    """
    prepared = prepare_lines(lines, today)
    context = prepare_lines(same_day, today) if same_day.height else prepared.head(0)
    payer_rules = rules.for_payers(prepared["payer_id"])
    ruled = prepared.join(payer_rules, on="payer_id", how="left")
    pairs = line_pairs(prepared, context)
    targets = _with_features(ruled.filter(pl.col("cpt_code") == TARGET_CPT), features)
    # Eager on purpose: one lazy plan of all edits took 49 ms to optimise and run for a
    # one-claim request against 18 ms eager (measured on a 30k-line world).
    edits = pl.concat(
        [
            ncci_ptp_edits(pairs),
            mue_edits(prepared, pairs, two_unit_bilateral_lines(targets)),
            modifier_edits(prepared),
            bilateral_edits(targets),
            diagnosis_edits(targets),
            prior_auth_edits(targets),
            filing_limit_edits(ruled),
            documentation_edits(targets),
        ]
    )
    order = (*EDIT_ORDER, *(element[0] for element in DOC_ELEMENTS))
    rank = {code: i for i, code in enumerate(order)}
    ordered = edits.with_columns(
        (pl.col("status") != FAILED).alias("_not_failed"),
        pl.col("code").replace_strict(rank, default=len(rank), return_dtype=pl.Int32).alias("_o"),
    ).sort(*LINE_KEY, "_not_failed", "_o", "code", maintain_order=True)
    grouped = ordered.group_by(LINE_KEY, maintain_order=True).agg(
        pl.struct(*EDIT_FIELDS).alias("edits")
    )
    keys = prepared.select(LINE_KEY).unique(maintain_order=True)
    result = keys.join(grouped, on=LINE_KEY, how="left").with_columns(
        pl.col("edits").fill_null(pl.lit([], dtype=pl.List(EDIT_DTYPE))).cast(pl.List(EDIT_DTYPE)),
        pl.col("line_number").cast(lines.schema["line_number"]),
    )
    return result
