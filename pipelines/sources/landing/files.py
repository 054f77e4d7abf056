"""Landing-file discovery, format detection and content hashing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

FileFormat = Literal["csv", "parquet", "jsonl", "x12"]

X12_SUFFIXES = frozenset({".835", ".837", ".edi", ".x12"})
CSV_SUFFIXES = frozenset({".csv", ".txt"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})
# Folders where an X12 interchange may arrive instead of a flat extract.
X12_FOLDERS = frozenset({"claims", "remits"})
# Files still being written or left by editors are not extracts.
IGNORED_SUFFIXES = frozenset({".tmp", ".part", ".crdownload", ".swp"})
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class LandingFile:
    """One file of a landing sub-folder."""

    path: Path
    relative_path: str
    folder: str
    size_bytes: int


def discover(landing: Path, folder: str) -> list[LandingFile]:
    """The files of one landing sub-folder (recursive, sorted by path, hidden files skipped)."""
    root = landing / folder
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if not path.is_file() or any(p.startswith((".", "~")) for p in parts):
            continue
        if path.suffix.lower() in IGNORED_SUFFIXES:
            continue
        found.append(
            LandingFile(
                path=path,
                relative_path=path.relative_to(landing).as_posix(),
                folder=folder,
                size_bytes=path.stat().st_size,
            )
        )
    return found


def sha256_of(path: Path) -> str:
    """SHA-256 hex of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def detect_format(file: LandingFile) -> FileFormat:
    """X12 by suffix or an `ISA` start (claims/remits only), else Parquet magic, suffix, CSV."""
    suffix = file.path.suffix.lower()
    with file.path.open("rb") as handle:
        head = handle.read(512)
    if file.folder in X12_FOLDERS and (
        suffix in X12_SUFFIXES or head.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"ISA")
    ):
        return "x12"
    if head.startswith(b"PAR1") or suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    return "csv"
