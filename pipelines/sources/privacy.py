"""Patient-key hashing lives in `data_contracts.privacy` (ingestion and pre-submission share it)."""

from data_contracts.privacy import (
    PADS_TABLE,
    PHI_KEY_ENV,
    hmac_pads,
    load_phi_key,
    patient_key,
    patient_key_sql,
    read_phi_key,
)

__all__ = [
    "PADS_TABLE",
    "PHI_KEY_ENV",
    "hmac_pads",
    "load_phi_key",
    "patient_key",
    "patient_key_sql",
    "read_phi_key",
]
