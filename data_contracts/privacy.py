"""Patient identifiers become keyed hashes at load: HMAC-SHA256 with a per-installation key.

The key comes from `DENIAL_RISK_PHI_KEY` or, when unset, is generated once into
`ProductSettings.phi_key_file` (mode 0600) beside the warehouse. Without the key a patient_key
cannot be linked back to a patient_id by hashing candidate ids (a plain SHA-256 could).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

PHI_KEY_ENV = "DENIAL_RISK_PHI_KEY"
_BLOCK_SIZE = 64  # SHA-256 block size in bytes (RFC 2104).


def load_phi_key(key_file: Path) -> bytes:
    """The HMAC key: from the environment, else from the key file (created once, 0600)."""
    from_env = os.environ.get(PHI_KEY_ENV)
    if from_env:
        return from_env.encode()
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two concurrent first runs cannot both write a different key.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return key_file.read_text().strip().encode()
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return key_file.read_text().strip().encode()


def read_phi_key(key_file: Path) -> bytes | None:
    """The HMAC key from the environment or the key file, never creating one (None when absent)."""
    from_env = os.environ.get(PHI_KEY_ENV)
    if from_env:
        return from_env.encode()
    if not key_file.exists():
        return None
    return key_file.read_text().strip().encode()


def patient_key(patient_id: str, key: bytes) -> str:
    """HMAC-SHA256 hex of one patient id (the reference the SQL version is tested against)."""
    return hmac.new(key, patient_id.encode(), hashlib.sha256).hexdigest()


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """Inner and outer padded keys of RFC 2104, so DuckDB can compute the HMAC with sha256()."""
    if len(key) > _BLOCK_SIZE:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK_SIZE, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


PADS_TABLE = "_phi_pads"


def patient_key_sql(column: str) -> str:
    """DuckDB SQL for HMAC-SHA256 hex of a text column; the pads sit in temp table `_phi_pads`.

    Kept in a temp table rather than inlined so key material never appears in SQL text or errors.
    """
    inner = f"(SELECT ipad FROM {PADS_TABLE})"
    outer = f"(SELECT opad FROM {PADS_TABLE})"
    return f"sha256({outer} || unhex(sha256({inner} || encode({column}))))"
