"""Peer features in pandas: the catalog's feature families, point in time, with the same definitions.

Written the way an analyst would: merges, groupby and `merge_asof`, Python regular expressions
through pandas' string methods. Approximations against the product are listed in
`APPROXIMATIONS` and reported with the benchmark.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.peer.load import REFERENCE

TARGET = "64520"
KEY = ["claim_id", "line_number"]
APPROXIMATIONS = (
    "same-day context pairs lines of the patient that day submitted no later (as the product); "
    "modifiers are matched in a '|'-joined string instead of a list",
    "number words are replaced before any unit (the product only before duration units)",
    "dx_primary_valid uses the ICD-10-CM list's leaf codes, as the product; groups by the same prefixes",
)


def _month(s: pd.Series) -> pd.Series:
    return s.dt.to_period("M").dt.to_timestamp()


def _cumulative(events: pd.DataFrame, by: list[str], time: pd.Series, sums: dict[str, pd.Series]):
    frame = pd.DataFrame({**{b: events[b] for b in by}, "_t": time, **sums})
    grouped = frame.groupby([*by, "_t"], sort=True)[list(sums)].sum().reset_index()
    if by:
        grouped[list(sums)] = grouped.groupby(by)[list(sums)].cumsum()
    else:
        grouped[list(sums)] = grouped[list(sums)].cumsum()
    return grouped.sort_values("_t", kind="stable")


def _join_before(target: pd.DataFrame, table: pd.DataFrame, by: list[str], time: pd.Series):
    left = target.assign(_t=time.values).sort_values("_t", kind="stable")
    out = pd.merge_asof(
        left, table, on="_t", by=by or None, direction="backward", allow_exact_matches=False
    )
    return out.drop(columns="_t")


def pit_rate(target, events, by, flag, name, prior, monthly=False, time_col="known_at"):
    """Smoothed rate of `flag` among events known before the line's submission (or month)."""
    keys = [by] if isinstance(by, str) else list(by)
    t_event = _month(events[time_col]) if monthly else events[time_col]
    t_target = _month(target["submission_date"]) if monthly else target["submission_date"]
    sums = {"_n": pd.Series(1.0, index=events.index), "_k": flag.astype(float).fillna(0.0)}
    overall = _cumulative(events, [], t_event, sums).rename(columns={"_n": "_gn", "_k": "_gk"})
    per_key = _cumulative(events, keys, t_event, sums)
    out = _join_before(target, overall, [], t_target)
    out = _join_before(
        out, per_key, keys, _month(out["submission_date"]) if monthly else out["submission_date"]
    )
    out[name] = (out["_k"].fillna(0.0) + prior * out["_gk"] / out["_gn"]) / (
        out["_n"].fillna(0.0) + prior
    )
    return out.drop(columns=["_n", "_k", "_gn", "_gk"])


def _mods(frame: pd.DataFrame) -> pd.Series:
    parts = [frame[f"modifier_{i}"].fillna("").str.strip().str.upper() for i in range(1, 5)]
    return "|" + parts[0] + "|" + parts[1] + "|" + parts[2] + "|" + parts[3] + "|"


def _has(mods: pd.Series, *codes: str) -> pd.Series:
    out = pd.Series(False, index=mods.index)
    for code in codes:
        out |= mods.str.contains(f"|{code}|", regex=False)
    return out


def _numeric_code(code: pd.Series) -> pd.Series:
    return pd.to_numeric(code, errors="coerce")


def same_day(target: pd.DataFrame, claims: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
    """Same-day units, RT/LT lines, NCCI edits, E/M without 25, imaging, other procedures."""
    left = target[[*KEY, "patient_id", "service_date", "submission_date", "mods"]]
    right = claims[
        [
            "patient_id",
            "service_date",
            "claim_id",
            "line_number",
            "cpt_code",
            "mods",
            "units",
            "submission_date",
        ]
    ].rename(
        columns={
            "claim_id": "o_claim",
            "line_number": "o_line",
            "cpt_code": "o_cpt",
            "mods": "o_mods",
            "units": "o_units",
            "submission_date": "o_sub",
        }
    )
    pairs = left.merge(right, on=["patient_id", "service_date"])
    pairs = pairs[pairs["o_sub"] <= pairs["submission_date"]].copy()
    is_self = (pairs["o_claim"] == pairs["claim_id"]) & (pairs["o_line"] == pairs["line_number"])
    is_target = pairs["o_cpt"] == TARGET
    num = _numeric_code(pairs["o_cpt"])
    is_em = num.between(99202, 99499) | (pairs["o_cpt"] == "G0463")
    bypass_mod = spec["em_bypass"]
    pairs["_units"] = pairs["o_units"].fillna(1.0).where(is_target, 0.0)
    pairs["_t"] = is_target.astype(int)
    pairs["_rt"] = is_target & _has(pairs["o_mods"], "RT")
    pairs["_lt"] = is_target & _has(pairs["o_mods"], "LT")
    pairs["_em"] = is_em & ~_has(pairs["o_mods"], bypass_mod)
    pairs["_i2"] = pairs["o_cpt"] == "77002"
    pairs["_i3"] = pairs["o_cpt"] == "77003"
    pairs["_op"] = (num.between(10004, 69990) & ~is_target & ~is_self).astype(int)
    g = pairs.groupby(KEY, sort=False).agg(
        units_per_day_total=("_units", "sum"),
        _t=("_t", "sum"),
        _rt=("_rt", "any"),
        _lt=("_lt", "any"),
        em_same_day_without_25=("_em", "any"),
        imaging_77002_same_day=("_i2", "any"),
        imaging_77003_same_day=("_i3", "any"),
        other_procedures_same_day=("_op", "sum"),
    )
    g["rt_lt_two_lines_same_day"] = g["_rt"] & g["_lt"] & (g["_t"] > 1)
    g = g.drop(columns=["_t", "_rt", "_lt"])

    ptp = pd.read_csv(REFERENCE / "ncci_ptp_64520_2024q3_prac_and_outpatient.csv", dtype=str)
    ptp = ptp[(ptp["table"] == "ncci_ptp_prac") & (ptp["hcpcs_code"] == TARGET)]
    edits = pd.DataFrame(
        {
            "o_cpt": ptp["other_code"],
            "_col1": ptp["ptp_type"] == "Comprehensive",
            "_deleted": pd.to_datetime(ptp["deletion_date"]),
            "_ind": ptp["modifier_indicator"].astype(int),
        }
    )
    e = pairs[~is_self].merge(edits, on="o_cpt")
    e = e[e["service_date"] <= e["_deleted"]].copy()
    distinct = spec["distinct_modifiers"]
    e_em = _numeric_code(e["o_cpt"]).between(99202, 99499) | (e["o_cpt"] == "G0463")
    other_bypass = _has(e["o_mods"], *distinct) | (e_em & _has(e["o_mods"], bypass_mod))
    own_bypass = _has(e["mods"], *distinct)
    e["_bypass"] = np.where(e["_col1"], other_bypass, own_bypass)
    e["_byp"] = e["_ind"] == 1
    e["_unbyp"] = e["_ind"] == 0
    e["_byp_missing"] = e["_byp"] & ~e["_bypass"]
    f = e.groupby(KEY, sort=False).agg(
        ncci_edit_bypassable=("_byp", "any"),
        _missing=("_byp_missing", "any"),
        ncci_unbypassable_edit=("_unbyp", "any"),
    )
    f["ncci_edit_present"] = True
    f["ncci_bypass_modifier_present"] = f["ncci_edit_bypassable"] & ~f["_missing"]
    out = target.merge(g, on=KEY, how="left").merge(f.drop(columns="_missing"), on=KEY, how="left")
    for col in (
        "ncci_edit_present",
        "ncci_edit_bypassable",
        "ncci_bypass_modifier_present",
        "ncci_unbypassable_edit",
    ):
        out[col] = out[col].fillna(False).astype(bool)
    return out


def modifier_features(t: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
    """Bilateral coding, conflicts, MUE and PC/TC (needs the same-day columns)."""
    mue = pd.read_csv(REFERENCE / "ncci_mue_practitioner_2024q3_extract.csv", dtype=str)
    mue_limit = dict(zip(mue["hcpcs_code"], mue["mue_units"].astype(int), strict=False))
    fee = pd.read_csv(REFERENCE / "pfs_rvu_2025oct_64520_related.csv", dtype=str)
    fee = fee[fee["mod"].fillna("") == ""]
    pctc = dict(zip(fee["hcpcs"], fee["pctc_ind"], strict=False))
    has50 = _has(t["mods"], "50")
    rtlt = _has(t["mods"], "RT", "LT")
    units = t["units"].fillna(1.0)
    t["units"] = units
    t["units_per_day_total"] = t["units_per_day_total"].fillna(units)
    t["units_over_mue"] = (t["units_per_day_total"] > t["cpt_code"].map(mue_limit)).fillna(False)
    t["has_modifier_50"] = has50
    t["has_rt_or_lt"] = rtlt
    t["modifier_50_with_rt_lt"] = has50 & rtlt
    two = t["rt_lt_two_lines_same_day"].fillna(False).astype(bool)
    t["rt_lt_two_lines_same_day"] = two
    t["pctc_modifier_invalid"] = _has(t["mods"], "26", "TC") & (t["cpt_code"].map(pctc) == "0")
    t["has_distinct_procedure_modifier"] = _has(t["mods"], *spec["distinct_modifiers"])
    conflict = (has50 & rtlt) | (has50 & (units > 1)) | (has50 & two)
    t["bilateral_coding"] = np.select(
        [conflict, has50, two, units > 1],
        ["conflict", "modifier_50", "rt_lt_two_lines", "units_gt_1"],
        "unilateral",
    )
    return t


def payer_convention(t: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
    """Each payer's bilateral style from paid bilateral encounters known before submission."""
    paid = t[
        t["status"].isin(["paid", "patient_liability"])
        & t["bilateral_coding"].isin(["modifier_50", "rt_lt_two_lines"])
    ].copy()
    paid["_known"] = paid[["adjudication_date", "submission_date"]].max(axis=1)
    enc = paid.groupby(["payer_id", "patient_id", "service_date"], sort=False).agg(
        coding=("bilateral_coding", "first"), _t=("_known", "max")
    )
    enc["_n50"] = (enc["coding"] == "modifier_50").astype(int)
    enc["_nrtlt"] = (enc["coding"] == "rt_lt_two_lines").astype(int)
    hist = enc.groupby(["payer_id", "_t"])[["_n50", "_nrtlt"]].sum().reset_index()
    hist[["_n50", "_nrtlt"]] = hist.groupby("payer_id")[["_n50", "_nrtlt"]].cumsum()
    hist = hist.sort_values("_t", kind="stable")
    out = _join_before(t, hist, ["payer_id"], t["submission_date"])
    n50, nrt = out["_n50"].fillna(0), out["_nrtlt"].fillna(0)
    total = n50 + nrt
    enough = total >= spec["convention_min_encounters"]
    share = spec["convention_min_share"]
    out["payer_bilateral_convention"] = np.select(
        [enough & (n50 >= share * total), enough & (nrt >= share * total)],
        ["modifier_50", "rt_lt_two_lines"],
        "unknown",
    )
    unknown = (out["bilateral_coding"] == "unilateral") | (
        out["payer_bilateral_convention"] == "unknown"
    )
    match = (out["bilateral_coding"] == out["payer_bilateral_convention"]).astype(float)
    out["bilateral_matches_payer_convention"] = match.where(~unknown)
    return out.drop(columns=["_n50", "_nrtlt"])


def _near(a: str, b: str, gap: int = 80, clause: str = r"[^.;\n]") -> str:
    return rf"(?:{a}){clause}{{0,{gap}}}(?:{b})|(?:{b}){clause}{{0,{gap}}}(?:{a})"


def normalize(text: pd.Series, spec: dict[str, Any], number_words: bool = True) -> pd.Series:
    """Lower case, PT/OT expanded, 'can't' = 'unable to', number words as digits."""
    out = (
        text.fillna("")
        .str.replace(r"\bPT\b", "physical therapy", regex=True)
        .str.replace(r"\bOT\b", "occupational therapy", regex=True)
        .str.lower()
        .str.replace(
            r"\b(?:can ?not|can't|not able to|isn't able to|is not able to)\b",
            "unable to",
            regex=True,
        )
        .str.replace(r"\bno longer\b", "nolonger", regex=True)
        .str.replace(r"\b(?:right away|all right|right now)\b", " ", regex=True)
        .str.replace(r"\b(?:one|a|an)(\s+(?:week|month|wk|mo))", r"1\1", regex=True)
    )
    if number_words:
        words = spec["number_words"]
        pattern = re.compile(r"\b(" + "|".join(words) + r")\b")
        out = out.str.replace(pattern, lambda m: words[m.group(1)], regex=True)
    return out


def relief_pct(norm: pd.Series, p: dict[str, str], spec: dict[str, Any]) -> pd.Series:
    """Relief % from earlier blocks ('no relief' 0, 'minimal' 10, 'complete' 100)."""
    groups = norm.str.extract(p["RELIEF_PCT"])
    pct = pd.to_numeric(groups[0].fillna(groups[1]), errors="coerce")
    ctx = p["BLOCK_CONTEXT"]
    return pd.Series(
        np.select(
            [
                pct.notna() & (pct <= 100),
                norm.str.contains(_near(ctx, p["RELIEF_COMPLETE"], 60)),
                norm.str.contains(_near(ctx, p["RELIEF_MINIMAL"], 60)),
                norm.str.contains(_near(ctx, p["RELIEF_NONE"], 60)),
            ],
            [pct, 100.0, spec["minimal_relief_pct"], 0.0],
            np.nan,
        ),
        index=norm.index,
    )


def _weeks(groups: pd.DataFrame, per_month: float) -> pd.Series:
    n = pd.to_numeric(groups[0], errors="coerce")
    return n.where(groups[1].fillna("").str.startswith("w"), n * per_month)


def text_features(texts: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
    """Documentation features of the linked note text (column `text`)."""
    p = spec["patterns"]
    norm = normalize(texts["text"], spec)
    masked = norm.str.replace(p["SCOPE_BREAKS"], ".", regex=True).str.replace(
        p["NEGATION_SCOPE"], " ~ ", regex=True
    )
    out = pd.DataFrame(index=texts.index)
    out["doc_indication"] = masked.str.contains(p["INDICATION"])
    sd, treat = p["SYMPTOM_DURATION"], p["TREATMENT_WORDS"]
    untreated = norm.str.replace(
        rf"\b(?:{treat})\W+(?:for\W+|x\W*|over\W+)?{sd}", " ", regex=True
    ).str.replace(rf"{sd}\W+(?:course\W+)?(?:of\W+)?(?:{treat})", " ", regex=True)
    before = untreated.str.extract(rf"{sd}\s+(?:ago|of|history|hx)\b")
    after = untreated.str.extract(
        rf"\b(?:for|x|over|since|past|last)\s+(?:the\s+)?(?:past\s+|last\s+)?{sd}"
    )

    def months(groups: pd.DataFrame) -> pd.Series:
        n = pd.to_numeric(groups[0], errors="coerce")
        unit = groups[1].fillna("")
        return n.where(~unit.str.startswith("y"), n * 12).where(
            ~unit.str.startswith("w"), n / spec["weeks_per_month"]
        )

    out["doc_symptom_months"] = months(before).fillna(months(after)).round(1)
    cons, fail = p["CONSERVATIVE"], p["FAILURE"]
    out["doc_conservative_failed"] = norm.str.count(
        _near(fail, cons, clause=r"[^.\n]")
    ) > norm.str.count(rf"{p['NEGATED_FAILURE']}[^.;\n]{{0,80}}(?:{cons})")
    dur = p["DURATION"]
    wk = spec["weeks_per_month"]
    out["doc_conservative_weeks"] = (
        _weeks(norm.str.extract(rf"(?:{cons})[^.;\n]{{0,60}}?{dur}"), wk)
        .fillna(_weeks(norm.str.extract(rf"{dur}[^.;\n]{{0,40}}?(?:{cons})"), wk))
        .round(1)
    )
    out["doc_functional_impact"] = masked.str.contains(p["FUNCTIONAL"])
    lumbar, thoracic = masked.str.contains(p["LUMBAR"]), masked.str.contains(p["THORACIC"])
    out["doc_level"] = np.select(
        [lumbar & thoracic, lumbar, thoracic], ["both", "lumbar", "thoracic"], "not_documented"
    )
    bil, left, right = (masked.str.contains(p[k]) for k in ("BILATERAL", "LEFT", "RIGHT"))
    out["doc_side"] = np.select(
        [bil | (left & right), left, right], ["bilateral", "left", "right"], "not_documented"
    )
    out["doc_imaging_guidance"] = masked.str.contains(p["IMAGING"])
    out["doc_images_saved"] = masked.str.contains(p["IMAGES_SAVED"])
    out["doc_aspiration"] = norm.str.contains(p["ASPIRATION_FINDING"]) | (
        norm.str.contains("aspirat", regex=False) & ~norm.str.contains(p["ASPIRATION_NOT_DONE"])
    )
    agents = spec["agents"]
    out["doc_anesthetic_agent"] = np.select(
        [masked.str.contains(agents[a]) for a in ("bupivacaine", "ropivacaine", "lidocaine")],
        ["bupivacaine", "ropivacaine", "lidocaine"],
        "not_documented",
    )
    vol, any_agent = p["VOLUME"], p["ANY_AGENT"]
    v1 = norm.str.extract(rf"(?:{any_agent})[^;\n]{{0,40}}?{vol}")[0]
    v2 = norm.str.extract(rf"{vol}\s+(?:of\s+)?(?:\d+(?:\.\d+)?\s*%\s*)?(?:{any_agent})")[0]
    v3 = norm.str.extract(vol)[0]
    out["doc_volume_ml"] = pd.to_numeric(v1.fillna(v2).fillna(v3), errors="coerce")
    out["doc_response_measured"] = masked.str.contains(p["RESPONSE"]) | norm.str.contains(
        p["RESPONSE"]
    )
    out["doc_prior_relief_pct"] = relief_pct(norm, p, spec)
    out["note_present"] = texts["text"].fillna("").str.strip() != ""
    return out


NOTE_KEYS = ["encounter_id", "patient_id", "service_date", "submission_date"]
TYPE_RANK = {"procedure": 0, "history_physical": 1, "follow_up": 2}


def documentation(t: pd.DataFrame, notes: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
    """Link notes (encounter, else patient and date; procedure notes first) and read them."""
    keys = t[NOTE_KEYS].drop_duplicates()
    n = notes[["note_id", "patient_id", "encounter_id", "note_date", "note_type", "text"]].copy()
    n["_rank"] = n["note_type"].str.lower().map(TYPE_RANK).fillna(3)
    by_enc = keys[keys["encounter_id"].notna()].merge(
        n[n["encounter_id"].notna()].drop(columns="patient_id"), on="encounter_id"
    )
    by_enc = by_enc[by_enc["note_date"] <= by_enc["submission_date"]]
    by_date = keys.merge(
        n.drop(columns="encounter_id").rename(columns={"note_date": "service_date"}),
        on=["patient_id", "service_date"],
    )
    by_date = by_date[by_date["service_date"] <= by_date["submission_date"]].copy()
    by_date["note_date"] = by_date["service_date"]
    seen = by_enc[NOTE_KEYS].drop_duplicates().assign(_seen=True)
    by_date = by_date.merge(seen, on=NOTE_KEYS, how="left")
    by_date = by_date[by_date["_seen"].isna()].drop(columns="_seen")
    linked = pd.concat([by_enc, by_date[by_enc.columns]], ignore_index=True)
    best = linked.groupby(NOTE_KEYS, dropna=False)["_rank"].transform("min")
    linked = linked[linked["_rank"] == best].sort_values(["note_date", "note_id"])
    texts = linked.groupby(NOTE_KEYS, dropna=False, sort=False)["text"].agg("\n".join).reset_index()
    feats = pd.concat([texts[NOTE_KEYS], text_features(texts, spec)], axis=1)
    out = t.merge(feats, on=NOTE_KEYS, how="left")
    out["note_present"] = out["note_present"].fillna(False).astype(bool)
    flags = [
        out[c].fillna(False).astype(bool)
        for c in (
            "doc_indication",
            "doc_conservative_failed",
            "doc_functional_impact",
            "doc_imaging_guidance",
            "doc_images_saved",
            "doc_aspiration",
            "doc_response_measured",
        )
    ]
    flags += [
        out["doc_level"].fillna("not_documented") != "not_documented",
        out["doc_side"].fillna("not_documented") != "not_documented",
        out["doc_anesthetic_agent"].fillna("not_documented") != "not_documented",
        out["doc_volume_ml"].notna(),
    ]
    out["doc_completeness"] = sum(f.astype(float) for f in flags) / len(flags)
    return out


def note_relief(notes: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
    """patient_id, note_date, relief_pct of notes that document relief."""
    n = notes[notes["text"].fillna("").str.contains(spec["patterns"]["RELIEF_HINT"])]
    norm = normalize(n["text"], spec, number_words=False)
    out = pd.DataFrame(
        {
            "patient_id": n["patient_id"],
            "note_date": n["note_date"],
            "relief_pct": relief_pct(norm, spec["patterns"], spec),
        }
    )
    return out[out["relief_pct"].notna()]


def _billable_icd10() -> set[str]:
    lines = (REFERENCE / "icd10cm_2026_all_codes_list.txt").read_text().split()
    codes = {c.strip().upper().replace(".", "") for c in lines if "-" not in c}
    headers = {c[:n] for c in codes for n in range(3, len(c))}
    return codes - headers


DX_GROUPS = (
    ("crps_upper_limb", r"^(?:G9051|G564)"),
    ("crps_lower_limb", r"^G9052"),
    ("crps_other", r"^G905[09]?$|^G9059"),
    ("causalgia_lower_limb", r"^G577"),
    ("herpes_zoster", r"^B02"),
    ("vascular", r"^(?:I70|I73|I74|I77|I96)"),
    ("phantom_limb", r"^(?:G546|G547|T873)"),
    ("hyperhidrosis", r"^(?:L745|R61)"),
    ("metabolic_neuropathy", r"^E(?:0[89]|1[0-3])4"),
    ("visceral_or_cancer", r"^(?:C|G893|K861|N20|N23|R10)"),
    ("symptom_only", r"^(?:R|M54|G8929$|M792$|M796|M255)"),
)


def diagnosis(t: pd.DataFrame) -> pd.DataFrame:
    """Primary-diagnosis features (indication, validity, symptom-only, upper limb, metabolic, group)."""
    dx = t["diagnosis_codes"].fillna("").str.split(";").str[0].str.strip().str.upper()
    dx = dx.str.replace(".", "", regex=False)
    shortlist = pd.read_csv(REFERENCE / "icd10cm_2026_64520_relevant_extract.csv", dtype=str)
    shortlist = set(shortlist["code"].str.strip().str.upper().str.replace(".", "", regex=False))
    valid = dx.isin(_billable_icd10())
    groups = dict(DX_GROUPS)
    symptom = dx.str.contains(groups["symptom_only"])
    upper = dx.str.contains(groups["crps_upper_limb"])
    metabolic = dx.str.contains(groups["metabolic_neuropathy"])
    t["dx_primary_is_indication"] = valid & dx.isin(shortlist) & ~symptom & ~upper & ~metabolic
    t["dx_primary_valid"] = valid
    t["dx_symptom_only"] = symptom
    t["dx_upper_limb_crps"] = upper
    t["dx_metabolic_neuropathy"] = metabolic
    conds = [~valid] + [dx.str.contains(pat) for _, pat in DX_GROUPS]
    t["dx_group"] = np.select(conds, ["invalid"] + [g for g, _ in DX_GROUPS], "other")
    return t


def history(t, claims, adjudicated, relief, spec) -> pd.DataFrame:
    """Sessions in 7/14/30/365 days, days since last, prior relief, denials, first claim with payer."""
    sessions = (
        claims[claims["cpt_code"] == TARGET]
        .groupby(["patient_id", "service_date"])["submission_date"]
        .min()
        .reset_index()
        .rename(columns={"service_date": "_s_date", "submission_date": "_s_known"})
    )
    k = ["patient_id", "service_date", "submission_date"]
    m = t[k].drop_duplicates().merge(sessions, on="patient_id")
    m = m[(m["_s_date"] < m["service_date"]) & (m["_s_known"] < m["submission_date"])].copy()
    back = (m["service_date"] - m["_s_date"]).dt.days
    windows = [f"prior_64520_{d}d" for d in spec["history_windows"]]
    for d, name in zip(spec["history_windows"], windows, strict=True):
        m[name] = (back <= d).astype(int)
    counts = m.groupby(k)[windows].sum().join(m.groupby(k)["_s_date"].max().rename("_last"))
    t = t.merge(counts.reset_index(), on=k, how="left")
    t[windows] = t[windows].fillna(0)
    t["days_since_last_64520"] = (t["service_date"] - t["_last"]).dt.days

    table = relief.groupby(["patient_id", "note_date"])["relief_pct"].last().reset_index()
    table["_t"] = table["note_date"]
    table = table.sort_values("_t")
    t = _join_before(t, table, ["patient_id"], t["submission_date"])
    t["prior_block_relief_pct"] = t["relief_pct"].where(t["note_date"] > t["_last"])
    t = t.drop(columns=["note_date", "relief_pct", "_last"])

    den = _cumulative(
        adjudicated,
        ["patient_id"],
        adjudicated["known_at"],
        {"_d": adjudicated["denied"].astype(float)},
    )
    t = _join_before(t, den, ["patient_id"], t["submission_date"])
    t["patient_prior_denials"] = t.pop("_d").fillna(0)

    first = claims.groupby(["patient_id", "payer_id"])["submission_date"].min().rename("_first")
    t = t.merge(first.reset_index(), on=["patient_id", "payer_id"], how="left")
    t["first_claim_with_payer"] = t["_first"].isna() | (t["_first"] >= t["submission_date"])
    return t.drop(columns="_first")


def timing(t, adjudicated, spec) -> pd.DataFrame:
    """Submission lag, learned filing limit, lag over limit, prior auth, payer auth denial rate."""
    t["submission_lag_days"] = (t["submission_date"] - t["service_date"]).dt.days
    t["prior_auth_present"] = t["prior_auth_number"].fillna("").str.strip() != ""
    a = adjudicated
    lag = (a["submission_date"] - a["service_date"]).dt.days
    carcs = a["denial_carcs"].fillna("")
    timely = a["denied"].fillna(0).astype(bool) & (
        carcs.str.contains(rf"(?:^|;){spec['timely_carc']}(?:;|$)")
        | (a["primary_denial_carc"] == spec["timely_carc"])
    )
    paid = a["status"].isin(["paid", "patient_liability"])
    h = pd.DataFrame(
        {
            "payer_id": a["payer_id"],
            "_t": a["known_at"],
            "_pl": lag.where(paid),
            "_ll": lag.where(timely),
        }
    )
    h = h.groupby(["payer_id", "_t"]).agg(_pl=("_pl", "max"), _ll=("_ll", "min")).reset_index()
    h["_pl"] = h.groupby("payer_id")["_pl"].cummax()
    h["_ll"] = h.groupby("payer_id")["_ll"].cummin()
    h[["_pl", "_ll"]] = h.groupby("payer_id")[["_pl", "_ll"]].ffill()
    h = h.sort_values("_t", kind="stable")
    t = _join_before(t, h, ["payer_id"], t["submission_date"])
    t["payer_filing_limit_days"] = (t["_ll"] - 1).fillna(t["_pl"])
    over = pd.Series(np.nan, index=t.index, dtype=object)
    over[t["_pl"].notna()] = False
    known = t["_ll"].notna()
    over[known] = (t["submission_lag_days"] >= t["_ll"])[known]
    t["lag_over_filing_limit"] = over
    t = t.drop(columns=["_pl", "_ll"])
    auth = "|".join(spec["auth_carcs"])
    is_auth = a["denied"].fillna(0).astype(bool) & (
        carcs.str.contains(rf"(?:^|;)(?:{auth})(?:;|$)")
        | a["primary_denial_carc"].isin(spec["auth_carcs"])
        | (a["denial_category"] == spec["auth_category"])
    )
    return pit_rate(t, a, "payer_id", is_auth, "payer_auth_denial_rate", spec["prior_weight"])


def expected_payment(t, adjudicated) -> pd.DataFrame:
    """Mean paid amount of the payer's paid 64520 lines known before submission (else overall)."""
    a = adjudicated
    paid = a[(a["cpt_code"] == TARGET) & a["status"].isin(["paid", "patient_liability"])]
    sums = {"_n": pd.Series(1.0, index=paid.index), "_s": paid["paid_amount"].fillna(0.0)}
    overall = _cumulative(paid, [], paid["known_at"], sums).rename(
        columns={"_n": "_gn", "_s": "_gs"}
    )
    per = _cumulative(paid, ["payer_id"], paid["known_at"], sums)
    t = _join_before(t, overall, [], t["submission_date"])
    t = _join_before(t, per, ["payer_id"], t["submission_date"])
    t["expected_payment_usd"] = (t["_s"] / t["_n"]).fillna(t["_gs"] / t["_gn"])
    return t.drop(columns=["_n", "_s", "_gn", "_gs"])


def modelling_table(
    claims: pd.DataFrame, outcomes: pd.DataFrame, notes: pd.DataFrame, spec: dict[str, Any]
) -> pd.DataFrame:
    """One row per 64520 line with the fixed columns and the peer's features."""
    claims = claims.copy()
    claims["cpt_code"] = claims["cpt_code"].str.strip()
    claims["mods"] = _mods(claims)
    out_cols = [
        "claim_id", "line_number", "status", "denied", "adjudication_date", "paid_amount",
        "denial_carcs", "primary_denial_carc", "denial_category",
    ]  # fmt: skip
    lines = claims.merge(outcomes[out_cols], on=KEY, how="left")
    lines["status"] = lines["status"].fillna("pending")
    adjudicated = lines[(lines["status"] != "pending") & lines["adjudication_date"].notna()].copy()
    adjudicated["known_at"] = adjudicated[["adjudication_date", "submission_date"]].max(axis=1)
    t = lines[lines["cpt_code"] == TARGET].copy()
    t["known_at"] = t[["adjudication_date", "submission_date"]].max(axis=1)
    t = same_day(t, claims, spec)
    t = modifier_features(t, spec)
    t = payer_convention(t, spec)
    adj_t = t[(t["status"] != "pending") & t["adjudication_date"].notna()]
    adj_t = adj_t[adj_t["other_procedures_same_day"] > 0]
    t = pit_rate(
        t,
        adj_t,
        "payer_id",
        adj_t["denied"],
        "payer_one_procedure_per_visit_rate",
        spec["prior_weight"],
    )
    t = documentation(t, notes, spec)
    t = diagnosis(t)
    t = history(t, claims, adjudicated, note_relief(notes, spec), spec)
    t = pit_rate(
        t,
        adjudicated,
        ["payer_id", "cpt_code"],
        adjudicated["denied"],
        "payer_code_denial_rate",
        spec["prior_weight"],
        monthly=True,
    )
    adj64 = adjudicated[adjudicated["cpt_code"] == TARGET]
    t = pit_rate(
        t,
        adj64,
        "rendering_npi",
        adj64["denied"],
        "provider_denial_rate",
        spec["prior_weight"],
        monthly=True,
    )
    t = timing(t, adjudicated, spec)
    t = expected_payment(t, adjudicated)
    t["service_month"] = _month(t["service_date"])
    t["is_pending"] = t["status"] == "pending"
    t["denial_category"] = t["denial_category"].where(t["denied"] == 1)
    names = [f["name"] for f in spec["features"] if f["name"] in t.columns]
    fixed = [
        "claim_id", "line_number", "cpt_code", "payer_id", "plan_type", "rendering_npi",
        "place_of_service", "service_date", "submission_date", "service_month", "charge_amount",
        "expected_payment_usd", "status", "denied", "is_pending", "denial_category",
    ]  # fmt: skip
    cols = fixed + [n for n in names if n not in fixed]
    return t[cols].sort_values(KEY).reset_index(drop=True)


def missing_features(table: pd.DataFrame, spec: dict[str, Any]) -> list[str]:
    """Catalog features the peer does not compute (new product features land here first)."""
    return [f["name"] for f in spec["features"] if f["name"] not in table.columns]


def peer_paths(work: Path) -> dict[str, Path]:
    """Where the peer's stages hand their frames to each other."""
    return {
        name: work / f"{name}.parquet"
        for name in (
            "claims",
            "remits",
            "remit_adjustments",
            "notes",
            "outcomes",
            "modelling_table",
            "scored",
        )
    }
