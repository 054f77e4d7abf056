"""The definitions the peer shares with the product, exported once to JSON.

Names, kinds and reason groups of the features, the documentation regular expressions, the label
code sets and the reason texts are *definitions*; the peer reuses them so that it computes the same
features and writes the same export. Exporting them to a file keeps polars out of the peer's
processes (its memory is pandas and scikit-learn only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def build_spec() -> dict[str, Any]:
    """Feature catalog, regexes, label sets and reason texts from the product's modules."""
    from data_contracts import label
    from models.features import documentation as doc
    from models.features import history, modifiers, same_day, timing
    from models.features.catalog import FEATURES
    from models.operating_point import DEFAULT_RECOVERY_RATE, DEFAULT_REWORK_COST_USD
    from models.reasons import NO_ACTION, REASONS
    from models.train import DEFAULT_PARAMS

    patterns = {
        name: getattr(doc, name)
        for name in dir(doc)
        if name.isupper() and isinstance(getattr(doc, name), str)
    }
    return {
        "features": [
            {"name": f.name, "kind": f.kind, "reason_group": f.reason_group} for f in FEATURES
        ],
        "patterns": patterns,
        "agents": doc.AGENTS,
        "number_words": doc.NUMBER_WORDS,
        "minimal_relief_pct": doc.MINIMAL_RELIEF_PCT,
        "weeks_per_month": doc.WEEKS_PER_MONTH,
        "distinct_modifiers": list(modifiers.DISTINCT_PROCEDURE_MODIFIERS),
        "convention_min_encounters": modifiers.CONVENTION_MIN_ENCOUNTERS,
        "convention_min_share": modifiers.CONVENTION_MIN_SHARE,
        "history_windows": list(history.HISTORY_WINDOWS_DAYS),
        "prior_weight": history.DEFAULT_PRIOR_WEIGHT,
        "auth_carcs": list(timing.AUTH_CARCS),
        "auth_category": timing.AUTH_CATEGORY,
        "timely_carc": timing.TIMELY_FILING_CARC,
        "em_bypass": same_day.EM_BYPASS_MODIFIER,
        "non_denial_carcs": sorted(label.NON_DENIAL_CARCS),
        "denial_groups": sorted(label.DENIAL_GROUP_CODES),
        "reasons": {g: [r.code, r.sentence, r.fix] for g, r in REASONS.items()},
        "no_action": NO_ACTION,
        "rework_cost_usd": DEFAULT_REWORK_COST_USD,
        "recovery_rate": DEFAULT_RECOVERY_RATE,
        "lgb_params": {k: v for k, v in DEFAULT_PARAMS.items() if isinstance(v, int | float | str)},
    }


def write_spec(path: Path) -> Path:
    """Write the spec JSON (called by the harness before the peer runs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build_spec(), indent=1))
    return path


def load_spec(path: Path) -> dict[str, Any]:
    """The spec as written by `write_spec`."""
    return json.loads(Path(path).read_text())
