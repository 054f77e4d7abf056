"""Synthetic landing data for CPT 64520 with a known ground truth (see docs/synthetic-data.md)."""

from pipelines.sources.synthetic.generate import GenerationSummary, generate_world

__all__ = ["GenerationSummary", "generate_world"]
