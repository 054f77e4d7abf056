"""The synthetic generator: determinism, contract validity, statistics and mechanisms."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import polars as pl
import pytest

from data_contracts import codes
from data_contracts.input_contract import FOLDERS, column_names
from data_contracts.label import NON_DENIAL_CARCS, PATIENT_SHARE_CARCS, is_denial_adjustment
from data_contracts.row_rules import first_failure_sql, normalized_sql, npi_is_valid, rules
from pipelines.sources.synthetic import GenerationSummary, generate_world
from pipelines.sources.synthetic.world import PENDING_FROM

LINES = 20_000


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    root = tmp_path_factory.mktemp("synthetic")
    return generate_world(root / "landing", lines=LINES, seed=7, truth=root / "truth.csv")


def read_folder(out: Path, folder: str) -> pl.DataFrame:
    return pl.concat(
        [pl.read_csv(p, infer_schema=False) for p in sorted((out / folder).glob("*.csv"))],
        how="vertical",
    )


@pytest.fixture(scope="module")
def frames(world: GenerationSummary) -> dict[str, pl.DataFrame]:
    out = {folder: read_folder(world.out, folder) for folder in FOLDERS}
    out["truth"] = pl.read_csv(world.truth, schema_overrides={"cause": pl.String})
    return out


@pytest.fixture(scope="module")
def lines_64520(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """64520 lines with their truth and (when adjudicated) remit."""
    claims = (
        frames["claims"]
        .filter(pl.col("cpt_code") == "64520")
        .with_columns(pl.col("line_number").cast(pl.Int64))
    )
    truth = frames["truth"]
    return claims.join(truth, on=["claim_id", "line_number"], how="left")


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    a = generate_world(tmp_path / "a", lines=4_000, seed=3, truth=tmp_path / "ta.csv")
    b = generate_world(tmp_path / "b", lines=4_000, seed=3, truth=tmp_path / "tb.csv")
    c = generate_world(tmp_path / "c", lines=4_000, seed=4, truth=tmp_path / "tc.csv")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert (tmp_path / "ta.csv").read_bytes() == (tmp_path / "tb.csv").read_bytes()
    assert digest(tmp_path / "a") != digest(tmp_path / "c")
    assert a.claim_lines == b.claim_lines
    assert c.claim_lines >= 4_000
    assert 0.10 <= c.denial_rate_64520 <= 0.30


def test_summary_figures(world: GenerationSummary, frames: dict[str, pl.DataFrame]) -> None:
    assert LINES <= world.claim_lines <= LINES + 200
    assert frames["claims"].height == world.claim_lines
    assert world.lines_64520 == frames["truth"].height
    share = world.lines_64520 / world.claim_lines
    assert 0.22 <= share <= 0.38, share
    assert 0.12 <= world.denial_rate_64520 <= 0.25
    assert 0.75 <= world.oracle_roc_auc_pending <= 0.97
    assert 0.05 <= world.pending_lines_64520 / world.lines_64520 <= 0.20
    assert all(p.exists() for p in world.files)


def test_truth_is_outside_the_landing_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="truth"):
        generate_world(tmp_path / "landing", lines=500, truth=tmp_path / "landing" / "truth.csv")


def test_files_have_contract_columns_and_monthly_names(world: GenerationSummary) -> None:
    for folder in FOLDERS:
        files = sorted((world.out / folder).glob("*.csv"))
        assert len(files) >= 20, folder
        for path in files:
            header = path.open().readline().strip().split(",")
            assert header == column_names(folder), path
            assert path.stem.rsplit("_", 1)[1][:2] == "20"
    assert (world.out / "claims" / "claims_2025-03.csv").exists()


def contract_failures(out: Path, folder: str) -> dict[str, int]:
    """Rows failing the input contract's row rules, by reason and column."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE ref_modifiers AS SELECT unnest($1::VARCHAR[]) AS modifier",
        [sorted(codes.modifier_codes())],
    )
    con.execute(
        "CREATE TABLE ref_pos AS SELECT unnest($1::VARCHAR[]) AS pos_code",
        [sorted(codes.place_of_service_codes())],
    )
    con.execute(
        "CREATE TABLE ref_icd10cm AS SELECT unnest($1::VARCHAR[]) AS code",
        [sorted(codes.icd10cm_codes())],
    )
    con.execute(
        "CREATE TABLE ref_carc_rarc AS SELECT unnest($1::VARCHAR[]) AS adj_code, 'CARC' AS adj_type "
        "UNION ALL SELECT unnest($2::VARCHAR[]), 'RARC'",
        [sorted(codes.carc_codes()), sorted(codes.rarc_codes())],
    )
    cols = ", ".join(f"{normalized_sql(c, c)} AS {c}" for c in column_names(folder))
    source = f"read_csv('{out / folder}/*.csv', all_varchar=true, header=true)"
    sql = (
        f"SELECT f, count(*) FROM (SELECT {first_failure_sql(folder)} AS f FROM "
        f"(SELECT {cols}, NULL::VARCHAR AS match_cpt_code FROM {source}) r) GROUP BY f"
    )
    ordered = rules(folder)
    out_counts: dict[str, int] = {}
    for index, count in con.execute(sql).fetchall():
        key = "ok" if index is None else f"{ordered[index - 1].reason}:{ordered[index - 1].column}"
        out_counts[key] = count
    return out_counts


@pytest.mark.parametrize("folder", list(FOLDERS))
def test_every_row_passes_the_contract_row_rules(world: GenerationSummary, folder: str) -> None:
    failures = contract_failures(world.out, folder)
    assert set(failures) == {"ok"}, failures


def test_keys_unique_and_npis_valid(frames: dict[str, pl.DataFrame]) -> None:
    claims = frames["claims"]
    assert claims.select("claim_id", "line_number").is_duplicated().sum() == 0
    assert frames["notes"]["note_id"].is_duplicated().sum() == 0
    assert all(npi_is_valid(n) for n in claims["rendering_npi"].unique())
    assert claims["patient_id"].str.contains(r"^P\d{7}$").all()
    with_dot = claims["diagnosis_codes"].str.contains(r"\.").mean()
    assert 0.2 < with_dot < 0.8  # real extracts vary


def test_pending_lines_have_no_remits(frames: dict[str, pl.DataFrame]) -> None:
    claims = frames["claims"].with_columns(pl.col("line_number").cast(pl.Int64))
    remits = frames["remits"].with_columns(pl.col("line_number").cast(pl.Int64))
    joined = claims.join(remits, on=["claim_id", "line_number"], how="left")
    pending = joined.filter(pl.col("submission_date") >= PENDING_FROM.isoformat())
    assert pending.height > 0
    assert pending["adjudication_date"].null_count() == pending.height
    labelled = joined.filter(pl.col("submission_date") < PENDING_FROM.isoformat())
    assert labelled["adjudication_date"].null_count() == 0
    assert (labelled["adjudication_date"] >= labelled["submission_date"]).all()
    assert claims["service_date"].max() <= "2026-11-25"
    assert claims["service_date"].min() >= "2024-09-01"


def test_remits_balance_and_follow_the_label_rule(
    frames: dict[str, pl.DataFrame], lines_64520: pl.DataFrame
) -> None:
    claims = frames["claims"].with_columns(pl.col("line_number").cast(pl.Int64))
    adj = frames["remit_adjustments"].with_columns(
        pl.col("line_number").cast(pl.Int64), pl.col("amount").cast(pl.Float64)
    )
    remits = frames["remits"].with_columns(
        pl.col("line_number").cast(pl.Int64),
        pl.col("paid_amount").cast(pl.Float64),
        pl.col("allowed_amount").cast(pl.Float64),
    )
    adj = adj.with_columns(
        pl.struct("group_code", "carc")
        .map_elements(
            lambda x: is_denial_adjustment(x["group_code"], x["carc"]), return_dtype=pl.Boolean
        )
        .alias("is_denial")
    )
    totals = adj.group_by("claim_id", "line_number").agg(
        pl.col("amount").sum().alias("adjusted"),
        pl.col("is_denial").any().alias("has_denial"),
        (pl.col("group_code") == "PR").any().alias("has_pr"),
    )
    full = remits.join(
        claims.select("claim_id", "line_number", "charge_amount", "cpt_code"),
        on=["claim_id", "line_number"],
    ).join(totals, on=["claim_id", "line_number"], how="left")
    gap = (
        full["charge_amount"].cast(pl.Float64) - full["adjusted"].fill_null(0) - full["paid_amount"]
    ).abs()
    assert gap.max() < 0.005
    # Every denied 64520 line in the truth pays 0 with a denial CARC; paid lines carry no denial CARC.
    outcome = lines_64520.filter(~pl.col("is_pending")).join(full, on=["claim_id", "line_number"])
    denied = outcome.filter(pl.col("denied") == 1)
    assert (denied["paid_amount"] == 0).all() and denied["has_denial"].all()
    paid = outcome.filter(pl.col("denied") == 0)
    assert not paid["has_denial"].fill_null(False).any()
    # Zero paid through the deductible alone: patient liability, not a denial (label.py).
    zero_paid_not_denied = paid.filter(pl.col("paid_amount") == 0)
    assert zero_paid_not_denied.height > 0
    assert zero_paid_not_denied["has_pr"].all()
    assert set(adj["carc"].unique()) >= {"45", "1", "2", "253"}
    assert {"45", "253", "59"} <= NON_DENIAL_CARCS and {"1", "2", "3"} == PATIENT_SHARE_CARCS


def test_cause_mix_and_carcs(frames: dict[str, pl.DataFrame], lines_64520: pl.DataFrame) -> None:
    labelled = lines_64520.filter(~pl.col("is_pending") & (pl.col("denied") == 1))
    share = labelled["cause"].value_counts(normalize=True)
    mix = dict(zip(share["cause"], share["proportion"], strict=True))
    assert 0.06 <= mix["eligibility"] <= 0.30
    assert 0.06 <= mix["prior_auth"] <= 0.30
    assert 0.12 <= mix["medical_necessity"] <= 0.40
    for cause in (
        "claim_data",
        "documentation_request",
        "frequency",
        "bilateral_convention",
        "timely_filing",
        "units_mue",
        "ncci_bundling",
    ):
        assert mix.get(cause, 0) > 0.003, cause
    adj = frames["remit_adjustments"]
    carcs = set(adj["carc"].unique())
    assert {"4", "16", "27", "29", "50", "97", "151", "197", "252", "18", "45", "253"} <= carcs
    rarcs = set(adj["rarc"].drop_nulls().unique())
    assert {"M76", "N115", "N362", "N435"} <= rarcs


def test_payer_mix(lines_64520: pl.DataFrame) -> None:
    share = lines_64520["plan_type"].value_counts(normalize=True)
    mix = dict(zip(share["plan_type"], share["proportion"], strict=True))
    # cpt-64520.md §8.1: Medicare FFS 33%, MA 20%, commercial 30%, Medicaid 8%, WC 7%.
    assert 0.22 <= mix["medicare"] <= 0.45
    assert 0.10 <= mix["medicare_advantage"] <= 0.30
    assert 0.18 <= mix["commercial"] <= 0.42
    assert 0.03 <= mix["medicaid"] <= 0.15
    assert 0.02 <= mix["workers_comp"] <= 0.14


def test_bilateral_conventions_learnable_from_paid_history(lines_64520: pl.DataFrame) -> None:
    lab = lines_64520.filter(~pl.col("is_pending"))
    mod50 = lab.filter(pl.col("modifier_1") == "50")
    rt_lt_payer = mod50.filter(
        pl.col("payer_id").is_in(["AETNA-COMM", "UHC-COMM", "CENTENE-MCD", "TRAVELERS-WC"])
    )
    fifty_payer = mod50.filter(pl.col("payer_id").is_in(["MCR-J15", "MCR-JH", "UHC-MA", "IBX-PPO"]))
    assert rt_lt_payer.height > 10 and fifty_payer.height > 30
    assert rt_lt_payer["denied"].mean() > 0.6
    assert fifty_payer["denied"].mean() < 0.35
    # Medicare pays bilateral as one 64520-50 line; a second RT/LT line breaks MUE 1 (§3).
    day_lines = lab.group_by("claim_id").agg(pl.len().alias("n"), pl.col("payer_id").first())
    two_line = lab.join(day_lines.filter(pl.col("n") == 2), on="claim_id").filter(
        pl.col("payer_id").is_in(["MCR-J15", "MCR-JH"])
    )
    second = two_line.filter(pl.col("line_number") == pl.col("line_number").max().over("claim_id"))
    assert second["denied"].mean() > 0.7


def test_deterministic_rules(lines_64520: pl.DataFrame, frames: dict[str, pl.DataFrame]) -> None:
    lab = lines_64520.filter(~pl.col("is_pending"))
    mods = pl.concat_list("modifier_1", "modifier_2", "modifier_3", "modifier_4")
    medicare_units = lab.filter(
        (pl.col("units").cast(pl.Float64) > 1) & (pl.col("plan_type") == "medicare")
    )
    if medicare_units.height:
        assert medicare_units["denied"].mean() > 0.8
    pctc = lab.filter(mods.list.contains("26") | mods.list.contains("TC"))
    if pctc.height:
        assert pctc["denied"].mean() > 0.8
    # 77002 without 59/X is bundled into 64520 (modifier indicator 1, §2a).
    claims = frames["claims"].with_columns(pl.col("line_number").cast(pl.Int64))
    remits = frames["remits"].with_columns(pl.col("line_number").cast(pl.Int64))
    fluoro = claims.filter(pl.col("cpt_code") == "77002").join(
        remits, on=["claim_id", "line_number"]
    )
    no_bypass = fluoro.filter(
        ~pl.concat_list("modifier_1", "modifier_2")
        .list.eval(pl.element().is_in(["59", "XU"]))
        .list.any()
    )
    assert no_bypass.height > 10
    assert (no_bypass["paid_amount"].cast(pl.Float64) == 0).mean() > 0.8


def test_drift_humana_prior_auth(lines_64520: pl.DataFrame) -> None:
    humana = lines_64520.filter((pl.col("payer_id") == "HUMANA-MA") & ~pl.col("is_pending"))
    before = humana.filter(pl.col("service_date") < "2026-04-01")
    after = humana.filter(pl.col("service_date") >= "2026-04-01")
    assert (before["cause"] == "prior_auth").sum() == 0
    assert (after["cause"] == "prior_auth").sum() > 0


def test_note_variety(frames: dict[str, pl.DataFrame]) -> None:
    notes = frames["notes"]
    procedure = notes.filter(pl.col("note_type") == "procedure")["text"]
    assert procedure.n_unique() > 0.95 * procedure.len()
    sentences = procedure.str.split(". ").explode().str.replace_all(r"\d+", "#").unique()
    assert sentences.len() > 300
    text = " ".join(procedure.to_list())
    for phrase in (
        "fluoro",
        "C-arm",
        "PT",
        "No images saved",
        "Denies relief",
        "without aspiration",
        "Negative aspiration",
        "bupivacaine",
    ):
        assert phrase in text, phrase
    assert set(notes["note_type"].unique()) >= {"procedure", "history_physical", "follow_up"}


def test_parquet_output(tmp_path: Path) -> None:
    summary = generate_world(
        tmp_path / "pq", lines=2_000, seed=5, fmt="parquet", truth=tmp_path / "truth.parquet"
    )
    claims = pl.read_parquet(tmp_path / "pq" / "claims" / "*.parquet")
    assert claims.columns == column_names("claims")
    assert claims.schema["service_date"] == pl.Date
    assert claims.height == summary.claim_lines
    truth = pl.read_parquet(tmp_path / "truth.parquet")
    assert truth.columns == [
        "claim_id",
        "line_number",
        "true_probability",
        "denied",
        "cause",
        "is_pending",
    ]


def test_parquet_money_keeps_cents_like_csv(tmp_path: Path) -> None:
    generate_world(tmp_path / "csv", lines=1_500, seed=9, fmt="csv")
    generate_world(tmp_path / "pq", lines=1_500, seed=9, fmt="parquet")
    from_csv = pl.read_csv(
        tmp_path / "csv" / "remits" / "*.csv", schema_overrides={"paid_amount": pl.String}
    )
    from_parquet = pl.read_parquet(tmp_path / "pq" / "remits" / "*.parquet")
    assert from_parquet.schema["paid_amount"] == pl.Decimal(12, 2)
    assert from_parquet["paid_amount"].cast(pl.String).sort().to_list() == (
        from_csv["paid_amount"].sort().to_list()
    )
    cents = (from_parquet["paid_amount"].cast(pl.Float64) * 100).round() % 100
    assert (cents != 0).any(), "some payments must have cents"


def test_progress_is_reported(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    generate_world(tmp_path / "p", lines=3_000, progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1] == (3_000, 3_000)
    assert not (tmp_path / "p" / "truth.csv").exists()
