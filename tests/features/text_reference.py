"""The text-based documentation features as they were before the per-note elements (reference).

Copied from `models/features/documentation.py` at commit b3a614c: a line's features computed from
the joined text of its linked notes. `tests/features/test_note_elements.py` checks that the
per-note elements, combined per line, give the same values.
"""
# ruff: noqa: E501

from __future__ import annotations

import polars as pl

from models.features.documentation import (
    AGENTS,
    ANY_AGENT,
    ASPIRATION_FINDING,
    ASPIRATION_NOT_DONE,
    BILATERAL,
    BLOCK_CONTEXT,
    CONSERVATIVE,
    DURATION,
    FAILURE,
    FUNCTIONAL,
    HISTORY_CLAUSE,
    IMAGES_SAVED,
    IMAGING,
    INDICATION,
    LEFT,
    LUMBAR,
    MINIMAL_RELIEF_PCT,
    NEGATED_FAILURE,
    RELIEF_COMPLETE,
    RELIEF_HINT,
    RELIEF_MINIMAL,
    RELIEF_NONE,
    RELIEF_PCT,
    RESPONSE,
    RIGHT,
    SYMPTOM_DURATION,
    THORACIC,
    TREATMENT_WORDS,
    VOLUME,
    WEEKS_PER_MONTH,
    _near,
    _side_at_block,
    _weeks,
    negation_masked,
    normalized_text,
)


def relief_pct(norm: pl.Expr) -> pl.Expr:
    """Relief percentage from earlier blocks ('no relief' 0, 'minimal' 10, 'complete' 100)."""
    groups = norm.str.extract_groups(RELIEF_PCT)
    pct = pl.coalesce(groups.struct.field("1"), groups.struct.field("2")).cast(
        pl.Float64, strict=False
    )
    return (
        pl.when(pct.is_not_null() & (pct <= 100))
        .then(pct)
        .when(norm.str.contains(_near(BLOCK_CONTEXT, RELIEF_COMPLETE, 60)))
        .then(pl.lit(100.0))
        .when(norm.str.contains(_near(BLOCK_CONTEXT, RELIEF_MINIMAL, 60)))
        .then(pl.lit(MINIMAL_RELIEF_PCT))
        .when(norm.str.contains(_near(BLOCK_CONTEXT, RELIEF_NONE, 60)))
        .then(pl.lit(0.0))
        .otherwise(None)
    )


def symptom_months(norm: pl.Expr) -> pl.Expr:
    """How long the symptoms have lasted, in months ("for 8 months", "began 13 mo ago").

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

    return pl.coalesce(months(before), months(after)).round(1)


def conservative_weeks(norm: pl.Expr) -> pl.Expr:
    """Weeks of conservative treatment stated in the same sentence as the treatment."""
    after = norm.str.extract_groups(rf"(?:{CONSERVATIVE})[^.;\n]{{0,60}}?{DURATION}")
    before = norm.str.extract_groups(rf"{DURATION}[^.;\n]{{0,40}}?(?:{CONSERVATIVE})")
    return pl.coalesce(_weeks(after), _weeks(before)).round(1)


def note_text_features(norm: pl.Expr, masked: pl.Expr, present: pl.Expr) -> list[pl.Expr]:
    """Documentation features from the normalised and negation-masked text of a note.

    Pass materialised columns (see `add_note_text_features`): each pattern then reads the
    normalised text once instead of re-deriving it per feature.
    """
    lumbar = masked.str.contains(LUMBAR)
    thoracic = masked.str.contains(THORACIC)
    side_text = masked.str.replace_all(HISTORY_CLAUSE, " ")
    bilateral_at, left_at, right_at = (
        side_text.str.contains(_side_at_block(side) + fused)
        for side, fused in (
            (BILATERAL, ""),
            (LEFT, r"|\bl[- ]lsg?b\b"),
            (RIGHT, r"|\br[- ]lsg?b\b"),
        )
    )
    # A side written next to the block wins; otherwise any side outside history clauses.
    at_block = bilateral_at | left_at | right_at
    bilateral = pl.when(at_block).then(bilateral_at).otherwise(side_text.str.contains(BILATERAL))
    left = pl.when(at_block).then(left_at).otherwise(side_text.str.contains(LEFT))
    right = pl.when(at_block).then(right_at).otherwise(side_text.str.contains(RIGHT))
    agent = pl.when(masked.str.contains(AGENTS["bupivacaine"])).then(pl.lit("bupivacaine"))
    for name in ("ropivacaine", "lidocaine"):
        agent = agent.when(masked.str.contains(AGENTS[name])).then(pl.lit(name))
    volume_after = norm.str.extract(rf"(?:{ANY_AGENT})[^;\n]{{0,40}}?{VOLUME}", 1)
    volume_before = norm.str.extract(
        rf"{VOLUME}\s+(?:of\s+)?(?:\d+(?:\.\d+)?\s*%\s*)?(?:{ANY_AGENT})", 1
    )
    volume = pl.coalesce(volume_after, volume_before, norm.str.extract(VOLUME, 1)).cast(
        pl.Float64, strict=False
    )
    # A failure may sit in the next clause ("tried 8 weeks of PT; no improvement").
    failed = norm.str.count_matches(
        _near(FAILURE, CONSERVATIVE, clause=r"[^.\n]")
    ) > norm.str.count_matches(rf"{NEGATED_FAILURE}[^.;\n]{{0,80}}(?:{CONSERVATIVE})")
    aspiration = norm.str.contains(ASPIRATION_FINDING) | (
        norm.str.contains(r"aspirat") & ~norm.str.contains(ASPIRATION_NOT_DONE)
    )

    def when_present(expr: pl.Expr) -> pl.Expr:
        return pl.when(present).then(expr).otherwise(None)

    return [
        present.alias("note_present"),
        when_present(masked.str.contains(INDICATION)).alias("doc_indication"),
        when_present(symptom_months(norm)).alias("doc_symptom_months"),
        when_present(failed).alias("doc_conservative_failed"),
        when_present(conservative_weeks(norm)).alias("doc_conservative_weeks"),
        when_present(masked.str.contains(FUNCTIONAL)).alias("doc_functional_impact"),
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
        when_present(masked.str.contains(IMAGING)).alias("doc_imaging_guidance"),
        when_present(masked.str.contains(IMAGES_SAVED)).alias("doc_images_saved"),
        when_present(aspiration).alias("doc_aspiration"),
        when_present(agent.otherwise(pl.lit("not_documented"))).alias("doc_anesthetic_agent"),
        when_present(volume).alias("doc_volume_ml"),
        when_present(masked.str.contains(RESPONSE) | norm.str.contains(RESPONSE)).alias(
            "doc_response_measured"
        ),
        when_present(relief_pct(norm)).alias("doc_prior_relief_pct"),
    ]


def text_features(frame: pl.LazyFrame, text: str = "text") -> pl.LazyFrame:
    """The old `add_note_text_features`: features of the text in column `text`."""
    present = pl.col(text).is_not_null() & (pl.col(text).str.strip_chars() != "")
    return (
        frame.with_columns(normalized_text(pl.col(text)).alias("_norm"))
        .with_columns(negation_masked(pl.col("_norm")).alias("_masked"))
        .with_columns(*note_text_features(pl.col("_norm"), pl.col("_masked"), present))
        .drop("_norm", "_masked")
    )


def text_note_relief(notes: pl.LazyFrame) -> pl.LazyFrame:
    """The old `note_relief`: relief per note read from its text."""
    return (
        notes.filter(pl.col("text").str.contains(RELIEF_HINT))
        .select(
            "patient_key",
            pl.col("note_date").cast(pl.Date),
            normalized_text(pl.col("text"), number_words=False).alias("_norm"),
        )
        .with_columns(relief_pct(pl.col("_norm")).alias("relief_pct"))
        .filter(pl.col("relief_pct").is_not_null())
        .drop("_norm")
    )
