"""Flat landing → X12 (writer) → contract rows (readers): the round trip gives the same rows."""

from __future__ import annotations

import io
import json
import logging
import shutil
from pathlib import Path

import polars as pl
import pytest

from data_contracts.input_contract import column_names
from pipelines.sources.x12 import read_x12_claims, read_x12_remits
from pipelines.sources.x12.segments import money, quantity
from pipelines.sources.x12.writer import write_x12_landing

CLAIMS_CSV = """claim_id,line_number,encounter_id,patient_id,patient_birth_date,patient_sex,payer_id,payer_name,plan_type,billing_npi,rendering_npi,rendering_provider_name,place_of_service,service_date,submission_date,cpt_code,modifier_1,modifier_2,modifier_3,modifier_4,units,charge_amount,diagnosis_codes,prior_auth_number
C1,1,E1,P1,1960-02-03,F,MCR01,Medicare Part B,medicare,1234567893,1234567893,"SMITH, ANNA",11,2024-03-01,2024-03-04,64520,50,,,,1,850.00,G90.522;M79.604,
C1,2,E1,P1,1960-02-03,F,MCR01,Medicare Part B,medicare,1234567893,1234567893,"SMITH, ANNA",11,2024-03-01,2024-03-04,77002,26,,,,1,120,G90.522,
C2,1,E2,P2,1975-12-31,M,AET01,Aetna,commercial,1234567893,1234567893,"LINDQVIST, MAYA",22,2024-03-02,2024-03-05,64520,RT,59,,,1,800.00,G90.521,PA123
C2,2,E2,P2,1975-12-31,M,AET01,Aetna,commercial,1234567893,1457329980,,24,2024-03-02,2024-03-05,64520,,LT,,,1.5,800.00,G90.521;G56.41;M54.16,PA124
C3,1,,P3,1950-07-14,U,HUM01,Humana Gold,medicare_advantage,1457329980,1457329980,"OKAFOR, BEN J",11,2024-03-09,2024-03-11,99213,25,,,,1,150.00,M54.16,
C4,1,E4,P4,1982-01-01,F,WC001,State Fund,workers_comp,1234567893,1234567893,,11,2024-03-09,2024-03-11,64520,,,,,2,700.00,G90.50,
"""
REMITS_CSV = """claim_id,line_number,adjudication_date,allowed_amount,paid_amount
C1,1,2024-04-01,345.53,0.00
C1,2,2024-04-01,30.00,24.00
C2,1,2024-04-10,400.00,400.00
C2,2,2024-04-10,0.00,0.00
C3,1,2024-04-10,92.00,73.60
"""
ADJUSTMENTS_CSV = """claim_id,line_number,group_code,carc,amount,rarc
C1,1,CO,50,850.00,N115;M127
C1,2,CO,45,90.00,
C1,2,PR,2,6.00,
C2,1,CO,45,400.00,
C2,2,CO,151,800.00,N362
C3,1,CO,45,58.00,
C3,1,PR,3,18.40,
C3,1,PR,1,0.00,
C3,1,CO,253,0.00,
C3,1,OA,23,0,
C3,1,CO,45,0.00,
C3,1,CO,45,0.00,
C9,1,CO,16,10.00,MA130
"""
DATES = ("patient_birth_date", "service_date", "submission_date", "adjudication_date")
AMOUNTS = ("charge_amount", "allowed_amount", "paid_amount", "amount")


def _landing(root: Path, claims_as_parquet: bool = False) -> Path:
    for folder in ("claims", "remits", "remit_adjustments", "notes"):
        (root / folder).mkdir(parents=True)
    claims = root / "claims" / "claims_2024.csv"
    claims.write_text(CLAIMS_CSV)
    if claims_as_parquet:
        pl.read_csv(claims, infer_schema=False).write_parquet(claims.with_suffix(".parquet"))
        claims.unlink()
    (root / "remits" / "remits_2024.csv").write_text(REMITS_CSV)
    (root / "remit_adjustments" / "adjustments_2024.csv").write_text(ADJUSTMENTS_CSV)
    (root / "notes" / "notes.csv").write_text("note_id,patient_id,note_date,note_type,text\n")
    return root


def normalise(frame: pl.DataFrame, folder: str) -> pl.DataFrame:
    """Contract columns as the readers give them: amounts to cents, units plain, dx without dots."""
    out = frame.select(column_names(folder))
    return out.with_columns(
        *(pl.col(c).map_elements(money, return_dtype=pl.String) for c in AMOUNTS if c in out),
        *(pl.col(c).map_elements(quantity, return_dtype=pl.String) for c in ("units",) if c in out),
        *(
            pl.col(c).str.replace_all(".", "", literal=True).str.to_uppercase()
            for c in ("diagnosis_codes",)
            if c in out
        ),
    )


def _flat(text: str, folder: str) -> pl.DataFrame:
    return normalise(pl.read_csv(io.StringIO(text), infer_schema=False), folder)


def test_writer_replaces_flat_files_and_keeps_notes(tmp_path: Path) -> None:
    landing = _landing(tmp_path / "landing")
    written = write_x12_landing(landing)
    assert [p.relative_to(landing).as_posix() for p in written] == [
        "claims/claims_2024.837",
        "remits/remits_2024.835",
    ]
    remaining = sorted(p.relative_to(landing).as_posix() for p in landing.rglob("*") if p.is_file())
    assert remaining == [
        "claims/claims_2024.837",
        "notes/notes.csv",
        "remit_adjustments/unconverted_adjustments.csv",
        "remits/remits_2024.835",
    ]
    # The adjustment of a line with no remit row has no SVC to live under: it stays flat.
    orphan = pl.read_csv(landing / "remit_adjustments" / "unconverted_adjustments.csv")
    assert orphan["claim_id"].to_list() == ["C9"]


@pytest.mark.parametrize("claims_as_parquet", [False, True])
def test_round_trip_gives_the_same_contract_rows(tmp_path: Path, claims_as_parquet: bool) -> None:
    landing = _landing(tmp_path / "landing", claims_as_parquet)
    write_x12_landing(landing)

    claims = read_x12_claims(landing / "claims" / "claims_2024.837")
    assert claims.rejected.is_empty()
    expected_claims = _flat(CLAIMS_CSV, "claims")
    assert claims.claims.drop("source_row").equals(expected_claims)

    remits = read_x12_remits(landing / "remits" / "remits_2024.835")
    assert remits.rejected.is_empty()
    assert remits.remits.select(column_names("remits")).equals(_flat(REMITS_CSV, "remits"))
    expected_adjustments = _flat(ADJUSTMENTS_CSV, "remit_adjustments").filter(
        pl.col("claim_id") != "C9"
    )
    got = remits.adjustments.select(column_names("remit_adjustments"))
    assert got.equals(expected_adjustments)
    # Lines carry REF*6R, and the procedure from the claim for matching anyway.
    assert remits.remits["match_cpt_code"].to_list() == [
        "64520",
        "77002",
        "64520",
        "64520",
        "99213",
    ]
    assert remits.remits["match_modifiers"].to_list() == ["50", "26", "RT;59", "LT", "25"]


def test_dates_units_and_modifier_gaps_survive(tmp_path: Path) -> None:
    landing = _landing(tmp_path / "landing")
    write_x12_landing(landing)
    claims = read_x12_claims(landing / "claims" / "claims_2024.837").claims
    line = claims.filter((pl.col("claim_id") == "C2") & (pl.col("line_number") == "2"))
    row = line.row(0, named=True)
    assert (row["modifier_1"], row["modifier_2"]) == (None, "LT")
    assert (row["units"], row["place_of_service"], row["rendering_npi"]) == (
        "1.5",
        "24",
        "1457329980",
    )
    assert row["diagnosis_codes"] == "G90521;G5641;M5416"
    assert row["prior_auth_number"] == "PA124"
    assert claims["plan_type"].to_list() == [
        "medicare",
        "medicare",
        "commercial",
        "commercial",
        "medicare_advantage",
        "workers_comp",
    ]


def test_written_files_pass_pyx12_validation(tmp_path: Path) -> None:
    import pyx12.params
    import pyx12.x12n_document

    landing = _landing(tmp_path / "landing")
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    for path in write_x12_landing(landing):
        report = io.StringIO()
        valid = pyx12.x12n_document.x12n_document(
            pyx12.params.params(), str(path), None, None, None, report
        )
        assert valid, json.dumps(json.loads(report.getvalue()))[:2000]


def test_generated_world_reads_back_identically(tmp_path: Path) -> None:
    from pipelines.sources.synthetic import generate_world
    from pipelines.sources.x12.writer import read_flat

    flat, x12 = tmp_path / "flat", tmp_path / "x12"
    generate_world(flat, lines=1200, seed=11, fmt="csv")
    # generate_world(x12=True) ends with this same call; one generation keeps the test fast.
    shutil.copytree(flat, x12)
    write_x12_landing(x12)
    assert not list((x12 / "claims").glob("*.csv"))
    assert not list((x12 / "remits").glob("*.csv"))
    assert sorted(p.name for p in (x12 / "notes").iterdir()) == sorted(
        p.name for p in (flat / "notes").iterdir()
    )

    def flat_rows(folder: str) -> pl.DataFrame:
        frames = [normalise(read_flat(p), folder) for p in sorted((flat / folder).iterdir())]
        return pl.concat(frames).sort(column_names(folder), nulls_last=True)

    claims = [read_x12_claims(p) for p in sorted((x12 / "claims").glob("*.837"))]
    remits = [read_x12_remits(p) for p in sorted((x12 / "remits").glob("*.835"))]
    assert all(b.rejected.is_empty() for b in [*claims, *remits])
    read_back = {
        "claims": pl.concat([b.claims for b in claims]),
        "remits": pl.concat([b.remits for b in remits]),
        "remit_adjustments": pl.concat([b.adjustments for b in remits]),
    }
    for folder, frame in read_back.items():
        columns = column_names(folder)
        expected = flat_rows(folder)
        assert frame.height == expected.height > 100
        assert frame.select(columns).sort(columns, nulls_last=True).equals(expected), folder
