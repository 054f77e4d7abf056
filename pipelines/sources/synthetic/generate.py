"""`generate_world`: the chunked driver that writes the landing folder and the truth file."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from data_contracts.input_contract import FOLDERS
from pipelines.sources.synthetic.acknowledgements import pick_rejections, write_rejections
from pipelines.sources.synthetic.claims import (
    ADJ_KEYS,
    CLAIM_KEYS,
    NOTE_KEYS,
    REMIT_KEYS,
    ChunkSimulator,
)
from pipelines.sources.synthetic.oracle import oracle_roc_auc
from pipelines.sources.synthetic.world import (
    PolicyChange,
    builtin_policy_changes,
    make_npi,
    make_providers,
    payers_with_changes,
    provider_count,
)
from pipelines.sources.synthetic.writer import LandingWriter, TruthWriter

PATIENTS_PER_CHUNK = 2_000

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "claims": {k: pl.String for k in CLAIM_KEYS}
    | {
        "line_number": pl.Int64,
        "patient_birth_date": pl.Int32,
        "service_date": pl.Int32,
        "submission_date": pl.Int32,
        "units": pl.Int64,
        "charge_amount": pl.Int64,
    },
    "remits": {k: pl.String for k in REMIT_KEYS}
    | {
        "line_number": pl.Int64,
        "adjudication_date": pl.Int32,
        "allowed_amount": pl.Int64,
        "paid_amount": pl.Int64,
    },
    "remit_adjustments": {k: pl.String for k in ADJ_KEYS}
    | {"line_number": pl.Int64, "amount": pl.Int64, "adjudication_date": pl.Int32},
    "notes": {k: pl.String for k in NOTE_KEYS} | {"note_date": pl.Int32},
    "truth": {
        "claim_id": pl.String,
        "line_number": pl.Int64,
        "true_probability": pl.Float64,
        "denied": pl.Int8,
        "cause": pl.String,
        "is_pending": pl.Boolean,
    },
}
MONTH_OF: dict[str, str] = {
    "claims": "submission_date",
    "remits": "adjudication_date",
    "remit_adjustments": "adjudication_date",
    "notes": "note_date",
}


@dataclass(frozen=True)
class GenerationSummary:
    """What one generation wrote and its headline statistics."""

    out: Path
    files: list[Path]
    claim_lines: int
    lines_64520: int
    pending_lines_64520: int
    denial_rate_64520: float
    oracle_roc_auc_pending: float
    truth: Path | None
    seconds: float
    patients: int = 0
    cause_counts: dict[str, int] | None = None
    policy_changes_path: Path | None = None


def policy_changes_path(truth: Path) -> Path:
    """The JSON sidecar of planted policy changes beside the truth file."""
    return truth.with_name(truth.stem + ".policy_changes.json")


def write_policy_changes(path: Path, planted: Sequence[PolicyChange]) -> Path:
    """Planted and built-in policy changes of a world, as JSON (synthetic truth, never landed)."""
    record = {
        "synthetic": True,
        "planted": [c.as_record() for c in planted],
        "builtin": [c.as_record() for c in builtin_policy_changes()],
    }
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


def trim_chunk(frames: dict[str, pl.DataFrame], excess: int) -> dict[str, pl.DataFrame]:
    """Drop the last `excess` claim lines of a chunk and every remit, note and truth row of them.

    Patients are simulated whole, so the last one overshoots the lines asked for; cutting its
    newest lines keeps `generate --lines N` exact (the patient's history stays consistent).
    """
    claims = frames["claims"].head(frames["claims"].height - excess)
    keys = claims.select("claim_id", "line_number")
    encounters = claims.select("encounter_id").unique()
    out = {"claims": claims}
    for name in ("remits", "remit_adjustments", "truth"):
        out[name] = frames[name].join(keys, on=["claim_id", "line_number"], how="semi")
    out["notes"] = frames["notes"].join(encounters, on="encounter_id", how="semi")
    return out


def chunk_rng(seed: int, chunk: int) -> random.Random:
    """A chunk's own random stream, derived from the seed and the chunk number only."""
    state = np.random.SeedSequence([seed, chunk]).generate_state(2)
    return random.Random(int(state[0]) << 32 | int(state[1]))


def generate_world(
    out: Path,
    lines: int = 100_000,
    seed: int = 7,
    truth: Path | None = None,
    fmt: Literal["csv", "parquet"] = "csv",
    x12: bool = False,
    progress: Callable[[int, int], None] | None = None,
    policy_changes: Sequence[PolicyChange] = (),
    acknowledgements: float = 0.0,
) -> GenerationSummary:
    """Write a synthetic landing folder of exactly `lines` claim lines and its ground truth.

    `acknowledgements`: share of claims rejected at the front end first (277CA files in
    `acknowledgements/`, truth beside the truth file; `synthetic/acknowledgements.py`).
    """
    started = time.perf_counter()
    out = Path(out)
    if truth is not None:
        truth = Path(truth)
        if truth.resolve().is_relative_to(out.resolve()):
            raise ValueError("the truth file must not be inside the landing folder")
    planted = tuple(policy_changes)
    payers = payers_with_changes(planted)
    world_rng = np.random.default_rng(np.random.SeedSequence([seed, 2**31 - 1]))
    providers = make_providers(world_rng, provider_count(lines))
    other_bases = world_rng.choice(np.arange(100_000_000, 199_999_999), size=40, replace=False)
    other_npis = tuple(make_npi(int(b)) for b in other_bases)
    counters = {"patient": 0, "claim": 0, "encounter": 0, "note": 0}
    writer = LandingWriter(out, fmt)
    truth_writer = TruthWriter(truth) if truth is not None else None
    done = 0
    chunk = 0
    lines_64520 = pending_64520 = labelled = labelled_denied = 0
    pending_p: list[np.ndarray] = []
    pending_y: list[np.ndarray] = []
    causes: dict[str, int] = {}
    rejections: list = []
    rejection_truth: list[dict] = []
    try:
        while done < lines:
            sim = ChunkSimulator(
                chunk_rng(seed, chunk), providers, other_npis, counters, payers, planted
            )
            for _ in range(PATIENTS_PER_CHUNK):
                sim.patient()
                if done + sim.lines >= lines:
                    break
            chunk += 1
            columns_of = {
                "claims": sim.claims,
                "remits": sim.remits,
                "remit_adjustments": sim.adjustments,
                "notes": sim.notes,
                "truth": sim.truth,
            }
            frames = {k: pl.DataFrame(v, schema=SCHEMAS[k]) for k, v in columns_of.items()}
            if planted:
                frames["truth"] = frames["truth"].with_columns(
                    pl.Series("policy_change", sim.truth_policy, dtype=pl.String)
                )
            if done + sim.lines > lines:
                frames = trim_chunk(frames, done + sim.lines - lines)
            done += frames["claims"].height
            if acknowledgements > 0:
                # Its own stream: the world's claims and outcomes do not depend on the share.
                ack_rng = np.random.default_rng(np.random.SeedSequence([seed, chunk, 277]))
                acks, acks_truth = pick_rejections(
                    frames["claims"], frames["remits"], ack_rng, acknowledgements
                )
                rejections.extend(acks)
                rejection_truth.extend(acks_truth)
            t = frames.pop("truth")
            for folder, frame in frames.items():
                month = frame[MONTH_OF[folder]].cast(pl.Date).dt.strftime("%Y-%m")
                writer.write(folder, frame, month)
            lines_64520 += t.height
            pend = t.filter(pl.col("is_pending"))
            pending_64520 += pend.height
            pending_p.append(pend["true_probability"].to_numpy())
            pending_y.append(pend["denied"].to_numpy())
            lab = t.filter(~pl.col("is_pending"))
            labelled += lab.height
            labelled_denied += int(lab["denied"].sum())
            for cause, n in lab.drop_nulls("cause").group_by("cause").len().iter_rows():
                causes[cause] = causes.get(cause, 0) + n
            if truth_writer is not None:
                truth_writer.write(t)
            if progress is not None:
                progress(min(done, lines), lines)
    finally:
        files = writer.close()
        if truth_writer is not None:
            truth_writer.close()
    if x12:
        from pipelines.sources.x12.writer import write_x12_landing

        write_x12_landing(out)
        # The X12 writer replaces flat claims/remits files with .837/.835 files.
        files = sorted(p for folder in FOLDERS for p in (out / folder).iterdir() if p.is_file())
    if acknowledgements > 0:
        files += write_rejections(out, rejections, rejection_truth, truth)
    sidecar = None
    if truth is not None and planted:
        sidecar = write_policy_changes(policy_changes_path(truth), planted)
    y = np.concatenate(pending_y) if pending_y else np.zeros(0)
    p = np.concatenate(pending_p) if pending_p else np.zeros(0)
    return GenerationSummary(
        out=out,
        files=files,
        claim_lines=done,
        lines_64520=lines_64520,
        pending_lines_64520=pending_64520,
        denial_rate_64520=labelled_denied / labelled if labelled else float("nan"),
        oracle_roc_auc_pending=oracle_roc_auc(y, p),
        truth=truth,
        seconds=time.perf_counter() - started,
        patients=counters["patient"],
        cause_counts=dict(sorted(causes.items())),
        policy_changes_path=sidecar,
    )
