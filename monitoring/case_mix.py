"""The lines the drift detection reads and their case-mix risk (expected denial probability)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl

from data_contracts.input_contract import TARGET_CPT
from models.baselines import rules_scrubber_score
from models.scoring import score
from models.train import ModelArtifact

CaseMix = Literal["model", "scrubber"]
# Columns the monitored lines carry besides the modelling table's (not features).
MONITORING_COLUMNS: tuple[str, ...] = ("adjudication_date", "case_mix")

# Every 64520 line of the modelling table (features included, for scoring) with its adjudication
# date from line_outcomes (null while pending).
MONITORED_LINES_SQL = f"""
SELECT m.*, o.adjudication_date
FROM modelling_table m
LEFT JOIN line_outcomes o USING (claim_id, line_number)
WHERE m.cpt_code = '{TARGET_CPT}'
"""


def case_mix_risk(
    lines: pl.DataFrame, artifact: ModelArtifact | None, source: CaseMix = "model"
) -> np.ndarray:
    """Expected denial probability of each line: the champion's score, or the rules scrubber's."""
    if source == "model":
        if artifact is None:
            raise ValueError("case mix from the model needs a champion")
        return score(artifact, lines.drop(MONITORING_COLUMNS, strict=False))
    return rules_scrubber_score(lines)


def with_case_mix(
    lines: pl.DataFrame, artifact: ModelArtifact | None, source: CaseMix = "model"
) -> pl.DataFrame:
    """The lines with a `case_mix` column."""
    return lines.with_columns(pl.Series("case_mix", case_mix_risk(lines, artifact, source)))
