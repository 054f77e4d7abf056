"""The peer: what an analyst would write instead (pandas for loading and features, scikit-learn model)."""

STAGES = ("ingest", "validate", "features", "train", "score_explain", "export")
