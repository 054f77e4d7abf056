"""X12 readers and writer: 835 remittances and 837P claims in the flat input contract's shapes."""

from pipelines.sources.x12.claims import X12ClaimBatch, read_x12_claims
from pipelines.sources.x12.redact import redact_x12_text
from pipelines.sources.x12.remits import X12RemitBatch, read_x12_remits
from pipelines.sources.x12.segments import looks_like_x12
from pipelines.sources.x12.writer import write_x12_landing

__all__ = [
    "X12ClaimBatch",
    "X12RemitBatch",
    "looks_like_x12",
    "read_x12_claims",
    "read_x12_remits",
    "redact_x12_text",
    "write_x12_landing",
]
