"""The two baselines the model must beat: a rules scrubber and a logistic regression.

The scrubber is what a careful coder checks before submission, from the rules in
`../shared/domain/cpt-64520.md`, read through the agreed feature names. Each rule that fires
carries a denial likelihood; the score is 1 − Π(1 − w) over the rules that fire, on top of a small
floor (the base rate of denials no rule can see). It is not fitted to data.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from models.dataset import FeatureDef

log = logging.getLogger(__name__)

SCRUBBER_FLOOR = 0.05

# Plan types whose payers usually require prior authorization for interventional pain procedures
# (cpt-64520.md §8.3: "no prior auth on commercial/MA → ×4"; §4b commercial policies).
AUTH_PLAN_TYPES = ("commercial", "medicare_advantage", "medicaid", "workers_comp")


@dataclass(frozen=True)
class ScrubberRule:
    """One pre-submission check: the condition on features and the denial likelihood when it fires."""

    name: str
    needs: tuple[str, ...]
    weight: float
    citation: str

    def fires(self) -> pl.Expr:
        return _RULE_EXPRS[self.name]()


def _flag(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.Float64).fill_null(0.0) > 0


_RULE_EXPRS = {
    # Units > 1 against MUE 1 / MAI 3 denies (CO-151/N362) unless billed with 50 (§3).
    "units_over_mue": lambda: _flag("units_over_mue"),
    # 50 together with RT/LT is contradictory laterality coding (§1, CARC 4).
    "modifier_50_with_rt_lt": lambda: _flag("modifier_50_with_rt_lt"),
    # Bilateral coded differently from how this payer pays bilateral 64520 (§1 payer variants).
    "bilateral_convention_mismatch": lambda: (
        pl.col("bilateral_matches_payer_convention").cast(pl.Float64).eq(0.0).fill_null(False)
    ),
    # PC/TC indicator 0: 26/TC on 64520 is invalid (§1 → CO-4).
    "pctc_modifier_invalid": lambda: _flag("pctc_modifier_invalid"),
    # Modifier indicator 0 pairs deny regardless of modifier (§2a/§2b).
    "ncci_unbypassable_edit": lambda: _flag("ncci_unbypassable_edit"),
    # Modifier indicator 1 pairs deny unless 59/X{EPSU} is present (§2d).
    "ncci_edit_without_bypass": lambda: (
        _flag("ncci_edit_present")
        & _flag("ncci_edit_bypassable")
        & ~_flag("ncci_bypass_modifier_present")
    ),
    # E/M on the 64520 date of service needs modifier 25 (§2a, §8.3).
    "em_same_day_without_25": lambda: _flag("em_same_day_without_25"),
    # Commercial/MA/Medicaid/WC without an authorization number (§8.3 CO-197).
    "no_auth_where_required": lambda: (
        pl.col("plan_type").is_in(AUTH_PLAN_TYPES).fill_null(False) & ~_flag("prior_auth_present")
    ),
    # Primary diagnosis not a covered indication: upper-limb CRPS, metabolic neuropathy,
    # symptom-only codes (§4a L35457, §4c).
    "non_indication_dx": lambda: (
        pl.col("dx_primary_is_indication").cast(pl.Float64).eq(0.0).fill_null(False)
    ),
    "dx_upper_limb_or_metabolic": lambda: (
        _flag("dx_upper_limb_crps") | _flag("dx_metabolic_neuropathy")
    ),
    # Aetna CPB 0447: not more often than once every 7 days; IBX: ≤ 6 per 12 months (§4b).
    "frequency_limits": lambda: (
        _flag("prior_64520_7d") | (pl.col("prior_64520_365d").cast(pl.Float64).fill_null(0.0) >= 6)
    ),
    # Submitted after the payer's filing limit (§5 CARC 29).
    "filing_lag_over_limit": lambda: _flag("lag_over_filing_limit"),
}

SCRUBBER_RULES: tuple[ScrubberRule, ...] = (
    ScrubberRule("units_over_mue", ("units_over_mue",), 0.85, "cpt-64520.md §3 MUE 1 / MAI 3"),
    ScrubberRule("modifier_50_with_rt_lt", ("modifier_50_with_rt_lt",), 0.6, "cpt-64520.md §1"),
    ScrubberRule(
        "bilateral_convention_mismatch",
        ("bilateral_matches_payer_convention",),
        0.6,
        "cpt-64520.md §1 bilateral reporting",
    ),
    ScrubberRule(
        "pctc_modifier_invalid", ("pctc_modifier_invalid",), 0.8, "cpt-64520.md §1 PC/TC 0"
    ),
    ScrubberRule("ncci_unbypassable_edit", ("ncci_unbypassable_edit",), 0.9, "cpt-64520.md §2b"),
    ScrubberRule(
        "ncci_edit_without_bypass",
        ("ncci_edit_present", "ncci_edit_bypassable", "ncci_bypass_modifier_present"),
        0.7,
        "cpt-64520.md §2d",
    ),
    ScrubberRule("em_same_day_without_25", ("em_same_day_without_25",), 0.5, "cpt-64520.md §2a"),
    ScrubberRule(
        "no_auth_where_required", ("plan_type", "prior_auth_present"), 0.35, "cpt-64520.md §8.3"
    ),
    ScrubberRule("non_indication_dx", ("dx_primary_is_indication",), 0.3, "cpt-64520.md §4c"),
    ScrubberRule(
        "dx_upper_limb_or_metabolic",
        ("dx_upper_limb_crps", "dx_metabolic_neuropathy"),
        0.5,
        "cpt-64520.md §4a L35457, §4c",
    ),
    ScrubberRule(
        "frequency_limits", ("prior_64520_7d", "prior_64520_365d"), 0.4, "cpt-64520.md §4b"
    ),
    ScrubberRule(
        "filing_lag_over_limit", ("lag_over_filing_limit",), 0.9, "cpt-64520.md §5 CARC 29"
    ),
)


def scrubber_rules_for(columns: Sequence[str]) -> list[ScrubberRule]:
    """The rules whose input features are present in the frame; missing ones are logged."""
    usable = [r for r in SCRUBBER_RULES if all(c in columns for c in r.needs)]
    skipped = [r.name for r in SCRUBBER_RULES if r not in usable]
    if skipped:
        log.warning("rules scrubber: skipping rules without their features: %s", skipped)
    return usable


def scrubber_hits(frame: pl.DataFrame) -> pl.DataFrame:
    """One Boolean column per usable rule: did it fire on the line."""
    return frame.select([r.fires().alias(r.name) for r in scrubber_rules_for(frame.columns)])


def rules_scrubber_score(frame: pl.DataFrame) -> np.ndarray:
    """Scrubber score in [0, 1]: 1 − (1 − floor) Π (1 − w) over the rules that fire."""
    rules = scrubber_rules_for(frame.columns)
    survive = pl.lit(1.0 - SCRUBBER_FLOOR)
    for r in rules:
        survive = survive * pl.when(r.fires()).then(1.0 - r.weight).otherwise(1.0)
    return frame.select((1.0 - survive).alias("p")).get_column("p").to_numpy()


@dataclass
class LogisticBaseline:
    """Logistic regression on the same features: standardised numerics, one-hot categoricals."""

    features: list[FeatureDef]
    pipeline: Pipeline

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        return self.pipeline.predict_proba(_to_pandas(frame, self.features))[:, 1]


def _to_pandas(frame: pl.DataFrame, features: Sequence[FeatureDef]):
    exprs = [
        pl.col(f.name).cast(pl.String)
        if f.kind == "categorical"
        else pl.col(f.name).cast(pl.Float64)
        for f in features
    ]
    pdf = frame.select(exprs).to_pandas()
    for f in features:
        if f.kind == "categorical":
            pdf[f.name] = pdf[f.name].astype(object).where(pdf[f.name].notna(), "__missing__")
    return pdf


# A linear baseline with ~100 coefficients does not need millions of rows, while sklearn's one-hot
# + lbfgs over them costs minutes and gigabytes (the 10M-line benchmark's train stage). The cap
# binds only above ~1.3M claim lines (250k labelled 64520 lines in the training months).
LOGISTIC_MAX_TRAIN_ROWS = 250_000


def fit_logistic_baseline(
    frame: pl.DataFrame, features: Sequence[FeatureDef], seed: int = 7
) -> LogisticBaseline:
    """Fit the logistic-regression baseline on labelled training lines (a seeded sample if many)."""
    features = list(features)
    if frame.height > LOGISTIC_MAX_TRAIN_ROWS:
        frame = frame.sample(n=LOGISTIC_MAX_TRAIN_ROWS, seed=seed)
    num = [f.name for f in features if f.kind != "categorical"]
    cat = [f.name for f in features if f.kind == "categorical"]
    pre = ColumnTransformer(
        [
            (
                "num",
                Pipeline(
                    [
                        (
                            "impute",
                            SimpleImputer(
                                strategy="median", add_indicator=True, keep_empty_features=True
                            ),
                        ),
                        ("scale", StandardScaler()),
                    ]
                ),
                num,
            ),
            ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=20), cat),
        ]
    )
    pipe = Pipeline(
        [("pre", pre), ("lr", LogisticRegression(C=1.0, max_iter=2000, random_state=seed))]
    )
    y = frame.get_column("denied").cast(pl.Int64).to_numpy()
    pipe.fit(_to_pandas(frame, features), y)
    return LogisticBaseline(features, pipe)
