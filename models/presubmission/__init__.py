"""Pre-submission check: score claims before they go out, with the daily run's features and model."""

from models.presubmission.context import NoChampionError, ScoringContext
from models.presubmission.score import PresubmissionResult, score_unsent

__all__ = ["NoChampionError", "PresubmissionResult", "ScoringContext", "score_unsent"]
