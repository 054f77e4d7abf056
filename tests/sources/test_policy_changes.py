"""Planted payer policy changes in the synthetic generator (issue 18 test worlds)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.sources.synthetic import generate_world
from pipelines.sources.synthetic.world import (
    PAYERS,
    PolicyChange,
    parse_policy_change,
    payer_policy_on,
    payers_with_changes,
)
from pipelines.sources.synthetic.world import day_number as day

# sha256 over every file of `generate_world(lines=1500, seed=11)` and its CSV truth, taken from
# the generator without the policy-change code (after `--lines` became exact, which trims the
# last patient): without the flag nothing may move. Re-pinned when claims gained
# `rendering_provider_name` (issue 21); with that column dropped the world still hashes to the
# earlier pin 511d8a62…8423, so no other value moved. Re-pinned again when claims gained
# `billing_npi`; with it dropped the world hashes to the previous pin 95c9e520…4714.
PINNED_DIGEST = "b58dababc8fe0b123a7a78a7c09cce98dbb7e07ba7ab404475803a0ba1f4aa0f"


def world_digest(out: Path, truth: Path) -> str:
    h = hashlib.sha256()
    for p in [*sorted(q for q in out.rglob("*") if q.is_file()), truth]:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def test_without_changes_the_output_is_byte_identical(tmp_path: Path) -> None:
    summary = generate_world(tmp_path / "landing", lines=1500, seed=11, truth=tmp_path / "t.csv")
    assert world_digest(tmp_path / "landing", tmp_path / "t.csv") == PINNED_DIGEST
    assert summary.policy_changes_path is None
    assert not list(tmp_path.glob("*.json"))


def test_parse_policy_change_names_the_problem() -> None:
    assert parse_policy_change("IBX-PPO:2025-06:prior_auth") == PolicyChange(
        "IBX-PPO", date(2025, 6, 1), "prior_auth"
    )
    with pytest.raises(ValueError, match="unknown payer"):
        parse_policy_change("P99:2025-06:prior_auth")
    with pytest.raises(ValueError, match="kind must be"):
        parse_policy_change("IBX-PPO:2025-06:weather")
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_policy_change("IBX-PPO:June:prior_auth")
    with pytest.raises(ValueError, match="already requires"):
        payers_with_changes([parse_policy_change("AETNA-COMM:2025-06:prior_auth")])


def test_changes_act_through_the_payer_policy_from_their_month() -> None:
    changed = {
        p.payer_id: p
        for p in payers_with_changes(
            [
                parse_policy_change("UHC-MA:2025-08:frequency"),
                parse_policy_change("TRAVELERS-WC:2025-10:documentation"),
                parse_policy_change("MCR-JH:2025-09:bilateral_rtlt"),
            ]
        )
    }
    uhc = changed["UHC-MA"]
    assert payer_policy_on(uhc, day(date(2025, 7, 31))).max_blocks_365d == 6
    assert payer_policy_on(uhc, day(date(2025, 8, 1))).max_blocks_365d == 3
    assert payer_policy_on(uhc, day(date(2025, 8, 1))).min_interval_days == 14
    wc = changed["TRAVELERS-WC"]
    assert payer_policy_on(wc, day(date(2025, 9, 30))).medical_review_rate == 0.05
    assert payer_policy_on(wc, day(date(2025, 10, 1))).medical_review_rate == 0.45
    assert changed["MCR-JH"].bilateral_convention_before == "modifier_50"
    assert changed["MCR-JH"].bilateral_convention == "rt_lt_two_lines"
    unchanged = next(p for p in PAYERS if p.payer_id == "MCR-J15")
    assert payer_policy_on(unchanged, day(date(2026, 1, 1))) is unchanged


def test_planted_prior_auth_change_denies_lines_without_auth_from_its_month(
    tmp_path: Path,
) -> None:
    truth = tmp_path / "truth.csv"
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--out",
            str(tmp_path / "landing"),
            "--lines",
            "12000",
            "--seed",
            "5",
            "--truth",
            str(truth),
            "--policy-change",
            "IBX-PPO:2025-06:prior_auth",
        ],
    )
    assert result.exit_code == 0, result.output
    sidecar = json.loads((tmp_path / "truth.policy_changes.json").read_text())
    assert sidecar["planted"] == [
        {"payer_id": "IBX-PPO", "first_month": "2025-06", "kind": "prior_auth"}
    ]
    assert {"payer_id": "HUMANA-MA", "first_month": "2026-04", "kind": "prior_auth"} in sidecar[
        "builtin"
    ]
    claims = pl.read_csv(tmp_path / "landing" / "claims" / "*.csv", infer_schema=False)
    lines = (
        claims.filter(pl.col("cpt_code") == "64520")
        .with_columns(pl.col("line_number").cast(pl.Int64))
        .join(
            pl.read_csv(truth, schema_overrides={"cause": pl.String}),
            on=["claim_id", "line_number"],
        )
        .with_columns(after=pl.col("service_date") >= "2025-06-01")
    )
    ibx = lines.filter(pl.col("payer_id") == "IBX-PPO")
    assert (
        ibx.filter(pl.col("after"))["policy_change"].to_list()
        == ["prior_auth"] * ibx.filter(pl.col("after")).height
    )
    assert (
        ibx.filter(~pl.col("after"))["policy_change"].null_count()
        == ibx.filter(~pl.col("after")).height
    )
    auth_denials = ibx.filter(pl.col("cause") == "prior_auth")
    assert auth_denials.height >= 5
    assert auth_denials["after"].all()
    # Offices catch up over months; the first quarter carries the jump.
    first_quarter = ibx.filter(pl.col("after") & (pl.col("service_date") < "2025-09-01"))
    before = ibx.filter(~pl.col("after"))
    jump = first_quarter["true_probability"].mean() - before["true_probability"].mean()
    assert jump > 0.12
