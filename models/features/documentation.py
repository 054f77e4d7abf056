"""Documentation features from free-text notes: vectorised regex with negation scopes.

The text is normalised once (lower case, abbreviations such as "PT" = physical therapy, number
words, "can't" = "unable to") and a negation-masked copy is made in which the few words after a
negation cue ("no", "denies", "without", "not", "negative for", ...) are blanked, NegEx-style, up
to a sentence break or a "but"/"however". Concept mentions are searched in the masked copy;
findings whose wording itself contains a cue ("negative aspiration", "failed PT without relief",
"no relief") have their own patterns on the unmasked copy.

The regex work runs once per note, at load: `note_element_values` gives the note's elements
(`el_*`, stored in `staged_notes` so that the text can be cleared); a line's features combine
the elements of its linked notes (`linked_notes`, `element_aggregations`,
`documentation_from_elements`), as the joined text of those notes did (docs/features.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from data_contracts.warehouse_schema import NOTE_ELEMENT_COLUMNS

# Bump when an element's definition changes: stored elements of another version are recomputed
# from the note text at the next load, or their notes re-read from the landing file when the
# text was cleared (`pipelines/sources/landing/note_elements.py`).
NOTE_ELEMENTS_VERSION = 1

NUMBER_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
}  # fmt: skip
NEGATION_CUES = (
    r"\b(?:no|not|denies|denied|deny|without|w/o|never|none|negative for|neg for|free of|"
    r"absence of|absent|doesn't|don't|didn't|hasn't|haven't|isn't|wasn't|non)\b"
)
# The negation scope: up to five following words, not crossing a comma or sentence break
# ("no imaging used, 1% lido" must keep the agent).
NEGATION_SCOPE = NEGATION_CUES + r"(?:[ /()\-]+[\w'%/\-]+){1,5}"
SCOPE_BREAKS = r"\b(?:but|however|although|though|except|yet)\b"

INDICATION = (
    r"\bcrps\b|complex regional pain|\brsd\b|reflex sympathetic dystrophy|causalgia|"
    r"sympathetically (?:maintained|mediated)|\bsmp\b|post-?herpetic neuralgia|\bphn\b|"
    r"phantom (?:limb|pain)|peripheral (?:vascular|arterial) disease|\bpvd\b|ischemic (?:rest )?pain|"
    r"\brest pain|raynaud|hyperhidrosis|vasospas\w*"
)
CONSERVATIVE = (
    r"physical therapy|physiotherapy|\bhep\b|home exercise|occupational therapy|nsaids?\b|"
    r"anti-?inflammator\w*|ibuprofen|motrin|naproxen|aleve|meloxicam|mobic|celecoxib|celebrex|"
    r"gabapentin\w*|neurontin|pregabalin|lyrica|duloxetine|cymbalta|amitriptyline|nortriptyline|"
    r"tricyclic\w*|\btcas?\b|\btens\b|desensiti[sz]ation|mirror therapy|graded motor imagery|"
    r"conservative (?:care|management|treatment|therapy|therapies|measures)|medication management|"
    r"oral steroids?|prednisone|medrol|opioids?|tramadol|bisphosphonates?|topical lidocaine|"
    r"lidoderm|chiropract\w*|acupuncture|activity modification|massage|neuropathic (?:agents?|meds|medications?)"
)
FAILURE = (
    r"fail\w*|refractory|unsuccessful|ineffective|not effective|no (?:significant |meaningful |lasting |"
    r"sustained |real )?(?:relief|improvement|benefit|response|help)|(?:without|w/o) (?:any )?(?:significant |"
    r"meaningful |lasting |sustained )?(?:relief|improvement|benefit|response)|did ?n[o']t (?:help|improve|"
    r"work|provide|give|relieve|respond)|not (?:helpful|helped|improved|tolerated)|(?:minimal|little|limited|"
    r"minor|slight) (?:relief|improvement|benefit)|despite|intoleran\w*|unable to tolerate|side effects|"
    r"plateau\w*|exhausted|persist\w*|unchanged|no better|not better"
)
NEGATED_FAILURE = r"\b(?:not|never|no|hasn't|haven't|didn't)\s+(?:\w+\s+){0,2}fail\w*"
DURATION = r"(\d+(?:\.\d+)?)\s*-?\s*(weeks?|wks?|months?|mos?|mths?)\b"
SYMPTOM_DURATION = r"(\d+(?:\.\d+)?)\s*-?\s*(years?|yrs?|y|months?|mos?|mths?|weeks?|wks?)\b"
SYMPTOM_CONTEXT = (
    r"pain|symptoms?|crps|rsd|causalgia|neuralgia|neuropath\w*|hyperalgesia|allodynia|swelling|"
    r"\bhx\b|history|onset|began|started|since|duration"
)
# Words after which a duration belongs to a treatment or a relief, not to the symptoms.
TREATMENT_WORDS = (
    r"therapy|physiotherapy|pt|hep|program|exercise|nsaids?|meds|medications?|gabapentin|pregabalin|"
    r"duloxetine|relief|lasting|duration|improvement|course|trial|physical|home"
)
FUNCTIONAL = (
    r"\badls?\b|activities of daily living|daily activities|unable to (?:walk|stand|work|sleep|drive|"
    r"bear weight|wear|put|ambulate|perform|sit|climb|exercise|do|tolerate (?:touch|weight|shoes))|"
    r"difficulty (?:with )?(?:walking|standing|sleeping|ambulating|ambulation|working|weight|bearing|"
    r"driving|dressing|sitting|climbing|stairs)|trouble (?:walking|sleeping|standing)|interfer\w* with|"
    r"limit\w* (?:his |her |their |the patient's |pt's )?(?:ability|activit\w*|function\w*|walking|"
    r"mobility|work)|functional (?:limitation|impairment|decline|loss|deficit|impact)\w*|"
    r"function(?:ing)? (?:is |was |remains )?(?:limited|impaired|reduced|poor)|antalgic|"
    r"(?:uses|using|requires|needs|ambulates with) (?:a )?(?:cane|crutch\w*|walker|wheelchair)|"
    r"off work|missed work|out of work|disabilit\w*|oswestry|\bodi\b|nolonger able|"
    r"impaired (?:gait|mobility|sleep)|non-?weight[- ]bearing|sleep (?:disturb\w*|disrupt\w*)|"
    r"wakes? (?:him|her|them|up)|limited (?:ambulation|mobility|walking|function\w*)|impacts? (?:on )?(?:his |her |their )?(?:function|daily|work|sleep|quality)"
)
LUMBAR = r"\blumbar\b|\bl[1-5]\b|\blsb\b|\blsgb\b|\bl-?spine\b"
THORACIC = r"\bthoracic\b|\bt(?:[1-9]|1[0-2])\b|\bt-?spine\b"
BILATERAL = (
    r"\bbilateral\w*|\bbilat\b|\bb/l\b|\bbil\b|both (?:sides|legs|lower extremities|limbs)|"
    r"left and right|right and left|\blt and rt\b|\brt and lt\b"
)
LEVEL_TOKEN = r"(?:l[1-5]|t(?:[1-9]|1[0-2]))"
LEFT = rf"\bleft\b|\blt\b|\(l\)|\bl[- ](?:side|sided|leg|lower|le|foot|ankle|knee|limb|lsb|{LEVEL_TOKEN})\b|\b{LEVEL_TOKEN} l\b|[,;:]\s*l\s*(?:[.;,)\n]|$)"
RIGHT = rf"\bright\b|\brt\b|\(r\)|\br[- ](?:side|sided|leg|lower|le|foot|ankle|knee|limb|lsb|{LEVEL_TOKEN})\b|\b{LEVEL_TOKEN} r\b|[,;:]\s*r\s*(?:[.;,)\n]|$)"
# Words that name the block itself: a side written next to one is the procedure's side.
BLOCK_TERMS = (
    r"\blsb\b|\blsgb\b|sympathetic|paravertebral|\bblocks?\b|\bblk\b|\binjection\b|\binjected\b|"
    r"\bneedle\b|64520"
)
# History clauses ("s/p R ankle ORIF", "hx of left TKA") name sides of earlier surgery or injury,
# not the side of today's block.
HISTORY_CLAUSE = r"\b(?:s/p|status post|h/o|hx of|history of)\b[^.;,\n]*"
IMAGING = (
    r"fluoro\w*|c-?arm|ultrasound|\bus[- ]guid\w*|\bus guidance|sonograph\w*|image[- ]guid\w*|"
    r"(?:image|imaging|radiographic|radiologic) guidance|\bct[- ]guid\w*|\bct guidance|biplanar|"
    r"\bap (?:and|&) lateral|\bap/lat\w*|contrast (?:spread|flow|was injected|injection|dye)|omnipaque|isovue"
)
IMAGES_SAVED = (
    r"(?:images?|films?) (?:were |was |are |have been |has been )?(?:saved|stored|archived|retained|recorded|kept|"
    r"printed|captured)|views? (?:were |was )?(?:saved|stored|archived|retained)|(?:saved|stored|archived|permanent|hard ?copy|representative|spot) (?:fluoroscopic |"
    r"fluoro |radiographic |ultrasound )?(?:images?|films?)|(?:saved|sent|uploaded|archived) (?:to|in) pacs"
)
ASPIRATION_FINDING = (
    # "-asp heme/CSF" and "asp neg": dictation shorthand for a negative aspiration.
    r"(?:^|[\s(,;:])-\s?asp(?:irat\w*)?\b|\basp(?:iration)?:?\s*(?:neg\b|negative\b|-(?:\s|$|[.,;]))|"
    r"negative aspiration|aspiration (?:was |is )?(?:negative|neg\b|clear)|\bneg(?:ative)? asp\w*|"
    r"aspirat\w*[^.;\n]{0,40}?(?:without|no|negative for|neg for|free of|absent)\s+(?:\w+\s*/?\s*)?"
    r"(?:blood|heme|csf|flash|return)|(?:no|without) (?:blood|heme|csf)[^.;\n]{0,30}?(?:on|with|upon|after) "
    r"aspirat\w*|aspirat\w*[^.;\n]{0,20}?(?:prior to|before) (?:injection|injecting)|after (?:careful |gentle )?aspiration"
)
ASPIRATION_NOT_DONE = (
    r"\b(?:no|not|without|never|didn't)\s+(?:\w+\s+){0,2}aspirat\w*|"
    r"aspirat\w*\s+(?:was\s+)?(?:not|never)\s+(?:performed|done|obtained|attempted)"
)
AGENTS = {
    "bupivacaine": r"bupivacaine|marcaine|sensorcaine|\bbupi\b",
    "ropivacaine": r"ropivacaine|naropin|\bropi\b",
    "lidocaine": r"lidocaine|xylocaine|\blido\b",
}
ANY_AGENT = "|".join(AGENTS.values())
VOLUME = r"(\d+(?:\.\d+)?)\s*(?:ml|cc|cm3)\b"
RESPONSE = (
    r"(?:vas|nrs|nprs|pain(?: score| level| rating)?)[^.;\n]{0,25}?\d{1,2}\s*(?:/\s*10)?[^;\n]{0,40}?"
    r"(?:->|→|=>|\bto\b|down to|post(?:-?procedure|-?block|-?injection)?:?|after(?: the)?(?: block| "
    r"procedure| injection)?:?)\s*\d{1,2}|"
    r"\bpre[- ]?(?:procedure|block|injection)?[^.;\n]{0,20}?\d{1,2}[^;\n]{0,30}?\bpost[- ]?(?:procedure|block|"
    r"injection)?[^.;\n]{0,15}?\d{1,2}|\d{1,2}\s*/\s*10[^;\n]{0,40}?\d{1,2}\s*/\s*10|"
    r"(?:temperature|temp)[^.;\n]{0,40}?(?:increase|rise|rose|\bup\b|warm|elevat)\w*|"
    r"\d{1,2}\s*(?:/\s*10)?\s*(?:pre|before)\b[^.;\n]{0,20}?\d{1,2}\s*(?:/\s*10)?\s*(?:post|after)\b|"
    r"(?:increase|rise) in (?:skin )?temp\w*|\bwarm(?:th|ing)\b[^.;\n]{0,30}?(?:limb|leg|foot|extremity)"
)
BLOCK_CONTEXT = r"(?:block|injection|procedure|\blsb\b|\blsgb\b|sympathetic)"
RELIEF_PCT = (
    r"(\d{1,3})\s*(?:%|percent|pct|per cent)\s*(?:pain\s+)?(?:relief|improvement|reduction|better|"
    r"decrease|improved|reduced)|(?:relief|improvement|reduction|benefit)\s+\(?(?:of\s+)?(?:approximately\s+|"
    r"about\s+|around\s+|roughly\s+|~\s*|nearly\s+|at least\s+|>\s*)?(\d{1,3})\s*(?:%|percent|pct)"
)
RELIEF_COMPLETE = r"(?:complete|total|full) (?:pain )?relief"
RELIEF_MINIMAL = r"(?:minimal|slight|mild|little|minor) (?:pain )?(?:relief|benefit|improvement)"
RELIEF_NONE = (
    r"\bno (?:significant |meaningful |appreciable |real )?(?:pain )?relief|without (?:any )?relief|"
    r"did ?n[o']t (?:get|have|experience|obtain|receive|report) (?:any )?relief|denie[sd] (?:any )?relief|"
    r"did ?n[o']t help|(?:was|were) not helpful|no (?:benefit|improvement)"
)
RELIEF_HINT = r"(?i)relie|improv|reduc|benefit|help|better"
# Relief wording only counts for a block when a block is named in the same sentence.
MINIMAL_RELIEF_PCT = 10.0
WEEKS_PER_MONTH = 4.345

COMPLETENESS_ELEMENTS = (
    "doc_indication",
    "doc_conservative_failed",
    "doc_functional_impact",
    "_level_documented",
    "_side_documented",
    "doc_imaging_guidance",
    "doc_images_saved",
    "doc_aspiration",
    "_agent_documented",
    "_volume_documented",
    "doc_response_measured",
)


DURATION_UNITS = ("week", "wk", "month", "mo", "mth")


def number_word_replacements() -> tuple[list[str], list[str]]:
    """Literal 'six weeks' -> '6 weeks' pairs: one Aho-Corasick pass instead of a regex per word."""
    words, digits = [], []
    for word, digit in NUMBER_WORDS.items():
        for unit in DURATION_UNITS:
            for sep in (" ", "-"):
                words.append(f"{word}{sep}{unit}")
                digits.append(f"{digit}{sep}{unit}")
    return words, digits


def normalized_text(text: pl.Expr, number_words: bool = True) -> pl.Expr:
    """Lower-cased note text with abbreviations (and number words, for durations) expanded."""
    out = (
        text.fill_null("")
        # Upper-case PT/OT mean therapy; "Pt"/"pt" is the patient.
        .str.replace_all(r"\bPT\b", "physical therapy")
        .str.replace_all(r"\bOT\b", "occupational therapy")
        .str.to_lowercase()
        .str.replace_all(
            r"\b(?:can ?not|can't|not able to|isn't able to|is not able to)\b", "unable to"
        )
        .str.replace_all(r"\bno longer\b", "nolonger")
        .str.replace_all(r"\b(?:right away|all right|right now)\b", " ")
        .str.replace_all(r"\b(?:one|a|an)(\s+(?:week|month|wk|mo))", "1${1}")
    )
    if number_words:
        words, digits = number_word_replacements()
        out = out.str.replace_many(words, digits)
    return out


def negation_masked(norm: pl.Expr) -> pl.Expr:
    """The normalised text with negation scopes blanked out."""
    return norm.str.replace_all(SCOPE_BREAKS, ".").str.replace_all(NEGATION_SCOPE, " ~ ")


def _near(a: str, b: str, gap: int = 80, clause: str = r"[^.;\n]") -> str:
    return rf"(?:{a}){clause}{{0,{gap}}}(?:{b})|(?:{b}){clause}{{0,{gap}}}(?:{a})"


def _side_at_block(side: str) -> str:
    """A side token written next to a block term: "left LSB", "Rt L3 sympathetic", "injection, R"."""
    words = r"(?:[\s-]+[\w/-]+){0,3}?"
    return rf"(?:{side}){words}[\s-]+(?:{BLOCK_TERMS})|(?:{BLOCK_TERMS}){words}[\s,(-]+(?:{side})"


def relief_parts(norm: pl.Expr) -> dict[str, pl.Expr]:
    """The relief elements of a text: the first stated percentage, complete, minimal, none."""
    groups = norm.str.extract_groups(RELIEF_PCT)
    stated = pl.coalesce(groups.struct.field("1"), groups.struct.field("2")).cast(
        pl.Float64, strict=False
    )
    return {
        "stated": stated,
        "complete": norm.str.contains(_near(BLOCK_CONTEXT, RELIEF_COMPLETE, 60)),
        "minimal": norm.str.contains(_near(BLOCK_CONTEXT, RELIEF_MINIMAL, 60)),
        "none": norm.str.contains(_near(BLOCK_CONTEXT, RELIEF_NONE, 60)),
    }


def relief_from_parts(
    stated: pl.Expr, complete: pl.Expr, minimal: pl.Expr, none: pl.Expr
) -> pl.Expr:
    """Relief percentage from earlier blocks ('no relief' 0, 'minimal' 10, 'complete' 100)."""
    return (
        pl.when(stated.is_not_null() & (stated <= 100))
        .then(stated)
        .when(complete)
        .then(pl.lit(100.0))
        .when(minimal)
        .then(pl.lit(MINIMAL_RELIEF_PCT))
        .when(none)
        .then(pl.lit(0.0))
        .otherwise(None)
    )


def relief_pct(norm: pl.Expr) -> pl.Expr:
    """Relief percentage from earlier blocks stated in one text."""
    return relief_from_parts(**relief_parts(norm))


def _weeks(groups: pl.Expr) -> pl.Expr:
    n = groups.struct.field("1").cast(pl.Float64, strict=False)
    unit = groups.struct.field("2")
    return pl.when(unit.str.starts_with("w")).then(n).otherwise(n * WEEKS_PER_MONTH)


def symptom_month_parts(norm: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """How long the symptoms have lasted, in months: the first "13 mo ago" form (before the
    unit) and the first "for 8 months" form (after a preposition); the former wins.

    Treatment and relief durations ("PT x 6 wks", "relief for 2 weeks") are blanked first; short
    fixed patterns keep this cheap (a long bounded gap made the regex 30x slower, measured).
    """
    untreated = norm.str.replace_all(
        rf"\b(?:{TREATMENT_WORDS})\W+(?:for\W+|x\W*|over\W+)?{SYMPTOM_DURATION}", " "
    ).str.replace_all(rf"{SYMPTOM_DURATION}\W+(?:course\W+)?(?:of\W+)?(?:{TREATMENT_WORDS})", " ")
    after = untreated.str.extract_groups(
        rf"\b(?:for|x|over|since|past|last)\s+(?:the\s+)?(?:past\s+|last\s+)?{SYMPTOM_DURATION}"
    )
    before = untreated.str.extract_groups(rf"{SYMPTOM_DURATION}\s+(?:ago|of|history|hx)\b")

    def months(groups: pl.Expr) -> pl.Expr:
        n = groups.struct.field("1").cast(pl.Float64, strict=False)
        unit = groups.struct.field("2")
        return (
            pl.when(unit.str.starts_with("y"))
            .then(n * 12)
            .when(unit.str.starts_with("w"))
            .then(n / WEEKS_PER_MONTH)
            .otherwise(n)
        )

    return months(before), months(after)


def conservative_week_parts(norm: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Weeks of conservative treatment stated in the same sentence as the treatment: the first
    duration after a treatment, and the first before one; the former wins."""
    after = norm.str.extract_groups(rf"(?:{CONSERVATIVE})[^.;\n]{{0,60}}?{DURATION}")
    before = norm.str.extract_groups(rf"{DURATION}[^.;\n]{{0,40}}?(?:{CONSERVATIVE})")
    return _weeks(after), _weeks(before)


def note_element_values(norm: pl.Expr, masked: pl.Expr, text: pl.Expr) -> list[pl.Expr]:
    """The documentation elements of ONE note (the `el_*` columns, `NOTE_ELEMENT_COLUMNS`).

    Pass materialised columns (see `add_note_elements`): each pattern then reads the normalised
    text once. Every pattern is matched within a note, never across two notes: the line-level
    features combine these values (`ELEMENT_AGGREGATION`, `documentation_from_elements`).
    """
    side_text = masked.str.replace_all(HISTORY_CLAUSE, " ")
    at_block = {
        side: side_text.str.contains(_side_at_block(pattern) + fused)
        for side, pattern, fused in (
            ("bilateral", BILATERAL, ""),
            ("left", LEFT, r"|\bl[- ]lsg?b\b"),
            ("right", RIGHT, r"|\br[- ]lsg?b\b"),
        )
    }
    volume_after = norm.str.extract(rf"(?:{ANY_AGENT})[^;\n]{{0,40}}?{VOLUME}", 1)
    volume_before = norm.str.extract(
        rf"{VOLUME}\s+(?:of\s+)?(?:\d+(?:\.\d+)?\s*%\s*)?(?:{ANY_AGENT})", 1
    )
    symptoms_before, symptoms_after = symptom_month_parts(norm)
    weeks_after, weeks_before = conservative_week_parts(norm)
    relief = relief_parts(norm)
    # A failure may sit in the next clause ("tried 8 weeks of PT; no improvement").
    failures = norm.str.count_matches(_near(FAILURE, CONSERVATIVE, clause=r"[^.\n]"))
    negated = norm.str.count_matches(rf"{NEGATED_FAILURE}[^.;\n]{{0,80}}(?:{CONSERVATIVE})")
    # The relief the history features read (`note_relief`): its own normalisation (no number
    # words) and pre-filter, as before the elements existed.
    hinted = text.fill_null("").str.contains(RELIEF_HINT)
    note_relief_pct = pl.when(hinted).then(relief_pct(normalized_text(text, number_words=False)))
    return [
        (text.is_not_null() & (text.str.strip_chars() != "")).alias("el_present"),
        masked.str.contains(INDICATION).alias("el_indication"),
        symptoms_before.alias("el_symptom_months_before"),
        symptoms_after.alias("el_symptom_months_after"),
        failures.cast(pl.Int32).alias("el_failure_mentions"),
        negated.cast(pl.Int32).alias("el_negated_failure_mentions"),
        weeks_after.alias("el_conservative_weeks_after"),
        weeks_before.alias("el_conservative_weeks_before"),
        masked.str.contains(FUNCTIONAL).alias("el_functional_impact"),
        masked.str.contains(LUMBAR).alias("el_lumbar"),
        masked.str.contains(THORACIC).alias("el_thoracic"),
        *(expr.alias(f"el_{side}_at_block") for side, expr in at_block.items()),
        side_text.str.contains(BILATERAL).alias("el_bilateral"),
        side_text.str.contains(LEFT).alias("el_left"),
        side_text.str.contains(RIGHT).alias("el_right"),
        masked.str.contains(IMAGING).alias("el_imaging_guidance"),
        masked.str.contains(IMAGES_SAVED).alias("el_images_saved"),
        norm.str.contains(ASPIRATION_FINDING).alias("el_aspiration_finding"),
        norm.str.contains(r"aspirat").alias("el_aspiration_mentioned"),
        norm.str.contains(ASPIRATION_NOT_DONE).alias("el_aspiration_not_done"),
        *(masked.str.contains(AGENTS[name]).alias(f"el_{name}") for name in AGENTS),
        volume_after.cast(pl.Float64, strict=False).alias("el_volume_after_agent"),
        volume_before.cast(pl.Float64, strict=False).alias("el_volume_before_agent"),
        norm.str.extract(VOLUME, 1).cast(pl.Float64, strict=False).alias("el_volume_any"),
        (masked.str.contains(RESPONSE) | norm.str.contains(RESPONSE)).alias("el_response_measured"),
        relief["stated"].alias("el_relief_pct_stated"),
        relief["complete"].alias("el_relief_complete"),
        relief["minimal"].alias("el_relief_minimal"),
        relief["none"].alias("el_relief_none"),
        note_relief_pct.alias("el_note_relief_pct"),
    ]


# How a line combines the elements of its linked notes, read in note order (date, id): "any"
# note documents it, the "first" note that states a value gives it, or the counts add up.
ELEMENT_AGGREGATION: dict[str, str] = {
    "el_symptom_months_before": "first",
    "el_symptom_months_after": "first",
    "el_failure_mentions": "sum",
    "el_negated_failure_mentions": "sum",
    "el_conservative_weeks_after": "first",
    "el_conservative_weeks_before": "first",
    "el_volume_after_agent": "first",
    "el_volume_before_agent": "first",
    "el_volume_any": "first",
    "el_relief_pct_stated": "first",
    "el_note_relief_pct": "first",
}
ELEMENT_COLUMNS: tuple[str, ...] = tuple(NOTE_ELEMENT_COLUMNS)


def element_aggregations() -> list[pl.Expr]:
    """Per line key: its linked notes' elements combined (rows in note order)."""
    exprs = []
    for name in ELEMENT_COLUMNS:
        how = ELEMENT_AGGREGATION.get(name, "any")
        col = pl.col(name)
        if how == "first":
            exprs.append(col.drop_nulls().first().alias(name))
        elif how == "sum":
            exprs.append(col.sum().alias(name))
        else:
            exprs.append(col.any().alias(name))
    return exprs


def documentation_from_elements() -> list[pl.Expr]:
    """The documentation features of a line from its combined elements (one row per line)."""
    el = pl.col
    present = el("el_present").fill_null(False)
    at_block = el("el_bilateral_at_block") | el("el_left_at_block") | el("el_right_at_block")
    # A side written next to the block wins; otherwise any side outside history clauses.
    bilateral = pl.when(at_block).then(el("el_bilateral_at_block")).otherwise(el("el_bilateral"))
    left = pl.when(at_block).then(el("el_left_at_block")).otherwise(el("el_left"))
    right = pl.when(at_block).then(el("el_right_at_block")).otherwise(el("el_right"))
    lumbar, thoracic = el("el_lumbar"), el("el_thoracic")
    agent = pl.when(el("el_bupivacaine")).then(pl.lit("bupivacaine"))
    for name in ("ropivacaine", "lidocaine"):
        agent = agent.when(el(f"el_{name}")).then(pl.lit(name))
    aspiration = el("el_aspiration_finding") | (
        el("el_aspiration_mentioned") & ~el("el_aspiration_not_done")
    )

    def when_present(expr: pl.Expr) -> pl.Expr:
        return pl.when(present).then(expr).otherwise(None)

    return [
        present.alias("note_present"),
        when_present(el("el_indication")).alias("doc_indication"),
        when_present(
            pl.coalesce("el_symptom_months_before", "el_symptom_months_after").round(1)
        ).alias("doc_symptom_months"),
        when_present(el("el_failure_mentions") > el("el_negated_failure_mentions")).alias(
            "doc_conservative_failed"
        ),
        when_present(
            pl.coalesce("el_conservative_weeks_after", "el_conservative_weeks_before").round(1)
        ).alias("doc_conservative_weeks"),
        when_present(el("el_functional_impact")).alias("doc_functional_impact"),
        when_present(
            pl.when(lumbar & thoracic)
            .then(pl.lit("both"))
            .when(lumbar)
            .then(pl.lit("lumbar"))
            .when(thoracic)
            .then(pl.lit("thoracic"))
            .otherwise(pl.lit("not_documented"))
        ).alias("doc_level"),
        when_present(
            pl.when(bilateral | (left & right))
            .then(pl.lit("bilateral"))
            .when(left)
            .then(pl.lit("left"))
            .when(right)
            .then(pl.lit("right"))
            .otherwise(pl.lit("not_documented"))
        ).alias("doc_side"),
        when_present(el("el_imaging_guidance")).alias("doc_imaging_guidance"),
        when_present(el("el_images_saved")).alias("doc_images_saved"),
        when_present(aspiration).alias("doc_aspiration"),
        when_present(agent.otherwise(pl.lit("not_documented"))).alias("doc_anesthetic_agent"),
        when_present(
            pl.coalesce("el_volume_after_agent", "el_volume_before_agent", "el_volume_any")
        ).alias("doc_volume_ml"),
        when_present(el("el_response_measured")).alias("doc_response_measured"),
        when_present(
            relief_from_parts(
                el("el_relief_pct_stated"),
                el("el_relief_complete"),
                el("el_relief_minimal"),
                el("el_relief_none"),
            )
        ).alias("doc_prior_relief_pct"),
    ]


def add_note_elements(frame: pl.LazyFrame, text: str = "text") -> pl.LazyFrame:
    """Attach the documentation elements (`el_*`) of the note text in column `text`."""
    return (
        frame.with_columns(normalized_text(pl.col(text)).alias("_norm"))
        .with_columns(negation_masked(pl.col("_norm")).alias("_masked"))
        .with_columns(*note_element_values(pl.col("_norm"), pl.col("_masked"), pl.col(text)))
        .drop("_norm", "_masked")
    )


def note_elements(notes: pl.DataFrame, text: str = "text") -> pl.DataFrame:
    """`add_note_elements` over slices of the notes (the normalised copies of every note never
    coexist in memory: bounds the peak at 10M lines)."""
    slices = [
        add_note_elements(notes.slice(start, TEXT_SLICE_ROWS).lazy(), text).collect()
        for start in range(0, max(notes.height, 1), TEXT_SLICE_ROWS)
    ]
    return pl.concat(slices)


def with_note_elements(notes: pl.LazyFrame) -> pl.LazyFrame:
    """Notes with their elements: as stored (the warehouse), or computed from `text`."""
    names = notes.collect_schema().names()
    if all(c in names for c in ELEMENT_COLUMNS):
        return notes
    return note_elements(notes.collect()).lazy()


def add_note_text_features(frame: pl.LazyFrame, text: str = "text") -> pl.LazyFrame:
    """Attach the documentation features of each row's text read as one note."""
    return (
        add_note_elements(frame, text)
        .with_columns(*documentation_from_elements())
        .drop(ELEMENT_COLUMNS)
    )


def note_relief(notes: pl.LazyFrame) -> pl.LazyFrame:
    """Relief percentages documented in any note: patient_key, note_date, relief_pct."""
    return (
        with_note_elements(notes)
        .filter(pl.col("el_note_relief_pct").is_not_null())
        .select(
            "patient_key",
            pl.col("note_date").cast(pl.Date),
            pl.col("el_note_relief_pct").alias("relief_pct"),
        )
    )


def completeness_score() -> pl.Expr:
    """Share of the documentation elements present (0 when there is no note)."""
    elements = [
        pl.col("doc_level") != "not_documented",
        pl.col("doc_side") != "not_documented",
        pl.col("doc_anesthetic_agent") != "not_documented",
        pl.col("doc_volume_ml").is_not_null(),
    ]
    flags = [pl.col(c) for c in COMPLETENESS_ELEMENTS if not c.startswith("_")] + elements
    return (
        pl.sum_horizontal([f.fill_null(False).cast(pl.Float64) for f in flags]) / len(flags)
    ).alias("doc_completeness")


DOC_COLUMNS = (
    "note_present",
    "doc_indication",
    "doc_symptom_months",
    "doc_conservative_failed",
    "doc_conservative_weeks",
    "doc_functional_impact",
    "doc_level",
    "doc_side",
    "doc_imaging_guidance",
    "doc_images_saved",
    "doc_aspiration",
    "doc_anesthetic_agent",
    "doc_volume_ml",
    "doc_response_measured",
    "doc_prior_relief_pct",
)
TEXT_SLICE_ROWS = 250_000
_NOTE_KEYS = ["encounter_id", "patient_key", "service_date", "submission_date"]
# Procedure notes dictated after the day of service (common without an encounter id) link to the
# patient's line up to this many days earlier.
LATE_NOTE_DAYS = 3
_TYPE_RANK = {"procedure": 0, "history_physical": 1, "follow_up": 2}


def linked_notes(
    target: pl.LazyFrame,
    notes: pl.LazyFrame,
    carry: Sequence[str] = ELEMENT_COLUMNS,
    serviced: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Per line key: the notes linked to it (columns `carry`), in note order (date, id).

    Only notes dated no later than the line's submission date link to it.

    Notes link by encounter_id when present, else by patient_key and note_date = service_date;
    a line with no procedure note so linked takes the patient's procedure note dictated up to
    `LATE_NOTE_DAYS` after the service (the nearest), unless another line of the patient was
    serviced that day. Procedure notes are preferred over other note types.

    `serviced`: patient_key and service_date of every 64520 line (default: the target's lines),
    so a target of some lines only (the incremental build) links notes as the whole table does.
    """
    keys = target.select(_NOTE_KEYS).unique()
    note_cols = notes.select(
        "note_id",
        "patient_key",
        "encounter_id",
        "note_date",
        pl.col("note_type")
        .cast(pl.String)
        .str.to_lowercase()
        .replace_strict(_TYPE_RANK, default=3, return_dtype=pl.Int8)
        .alias("_type_rank"),
        *carry,
    )
    by_encounter = (
        keys.filter(pl.col("encounter_id").is_not_null())
        .join(
            note_cols.filter(pl.col("encounter_id").is_not_null()).drop("patient_key"),
            on="encounter_id",
            how="inner",
        )
        .filter(pl.col("note_date") <= pl.col("submission_date"))
    )
    by_date = (
        keys.join(
            note_cols.drop("encounter_id").rename({"note_date": "service_date"}),
            on=["patient_key", "service_date"],
            how="inner",
        )
        .filter(pl.col("service_date") <= pl.col("submission_date"))
        .with_columns(pl.col("service_date").alias("note_date"))
        .join(by_encounter.select(_NOTE_KEYS).unique(), on=_NOTE_KEYS, how="anti", nulls_equal=True)
    )
    columns = by_encounter.collect_schema().names()
    same_day = pl.concat([by_encounter, by_date.select(columns)])
    late = _late_procedure_notes(keys, note_cols, same_day, serviced)
    linked = pl.concat([same_day, late.select(columns)])
    return linked.filter(pl.col("_type_rank") == pl.col("_type_rank").min().over(_NOTE_KEYS)).sort(
        "note_date", "note_id"
    )


def _late_procedure_notes(
    keys: pl.LazyFrame,
    note_cols: pl.LazyFrame,
    same_day: pl.LazyFrame,
    serviced: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Procedure notes dictated 1..LATE_NOTE_DAYS after the service, for lines without one."""
    days = keys if serviced is None else serviced
    serviced_days = days.select("patient_key", pl.col("service_date").alias("note_date")).unique()
    candidates = (
        # A note that names an encounter belongs to that encounter, whatever its date.
        note_cols.filter((pl.col("_type_rank") == 0) & pl.col("encounter_id").is_null())
        .drop("encounter_id")
        # A note dated on another service day of the patient documents that day's procedure.
        .join(serviced_days, on=["patient_key", "note_date"], how="anti")
        .with_columns(pl.int_ranges(1, LATE_NOTE_DAYS + 1).alias("_offset"))
        .explode("_offset")
        .with_columns(
            (pl.col("note_date") - pl.duration(days=pl.col("_offset"))).alias("service_date")
        )
    )
    documented = same_day.filter(pl.col("_type_rank") == 0).select(_NOTE_KEYS).unique()
    return (
        keys.join(documented, on=_NOTE_KEYS, how="anti", nulls_equal=True)
        .join(candidates, on=["patient_key", "service_date"], how="inner")
        .filter(pl.col("note_date") <= pl.col("submission_date"))
        .filter(pl.col("_offset") == pl.col("_offset").min().over(_NOTE_KEYS))
        .drop("_offset")
    )


def add_documentation_features(
    target: pl.LazyFrame, notes: pl.LazyFrame, serviced: pl.LazyFrame | None = None
) -> pl.LazyFrame:
    """Attach the documentation features of each line's linked notes.

    `notes` carry their elements (`el_*`, as stored by the load); notes with only `text` get
    them computed here. A line's features combine its notes' elements (`element_aggregations`).
    """
    combined = (
        linked_notes(target, with_note_elements(notes), serviced=serviced)
        .group_by(_NOTE_KEYS)
        .agg(*element_aggregations())
    )
    return (
        target.join(combined, on=_NOTE_KEYS, how="left", nulls_equal=True)
        .with_columns(*documentation_from_elements())
        .drop(ELEMENT_COLUMNS)
        .with_columns(completeness_score())
    )


def fluoro_without_saved_images() -> pl.Expr:
    """Fluoroscopic guidance billed that day but the note does not document saved images.

    Needs the same-day imaging flags and `doc_images_saved`; some payers (workers' comp rules,
    domain §4a 20 Miss. Code R. 2-II) deny fluoroscopic procedures without stored images.
    """
    fluoro = pl.col("imaging_77002_same_day").fill_null(False) | pl.col(
        "imaging_77003_same_day"
    ).fill_null(False)
    return (fluoro & ~pl.col("doc_images_saved").fill_null(False)).alias(
        "fluoro_without_saved_images"
    )
