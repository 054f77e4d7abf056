"""837P reader: public samples and bad input."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from data_contracts.input_contract import column_names
from pipelines.sources.x12 import read_x12_claims
from pipelines.sources.x12.claims import plan_type_for

SAMPLES = Path(__file__).parents[1] / "fixtures" / "x12" / "837p"


def _claims(name: str) -> pl.DataFrame:
    return read_x12_claims(SAMPLES / name).claims


@pytest.mark.parametrize("path", sorted(SAMPLES.iterdir()), ids=lambda p: p.name)
def test_every_public_837p_parses(path: Path) -> None:
    batch = read_x12_claims(path)
    assert batch.claims.columns == [*column_names("claims"), "source_row"]
    assert batch.lines >= 1 and batch.claims_read >= 1
    assert batch.rejected.is_empty()
    assert batch.claims["claim_id"].null_count() == 0
    assert batch.claims["cpt_code"].null_count() == 0
    assert batch.claims["service_date"].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    assert batch.claims["charge_amount"].str.contains(r"^\d+\.\d{2}$").all()


def test_subscriber_is_patient_with_pointers_primary_first() -> None:
    claims = _claims("lfh__demo.cob.example3.A.837")
    first = claims.row(0, named=True)
    assert first["claim_id"] == "26407789"
    assert first["payer_id"] == "999996666"
    assert first["payer_name"] == "KEY INSURANCE COMPANY"
    assert first["plan_type"] == "commercial"
    assert first["submission_date"] == "2005-10-15"
    assert first["service_date"] == "2005-10-03"
    assert claims["diagnosis_codes"].to_list() == [
        "4779;2724;2780;53081",
        "4779;2724",
        "4779;2724",
    ]
    assert claims["cpt_code"].to_list() == ["99213", "90782", "J3301"]
    assert claims["charge_amount"].to_list() == ["43.00", "15.00", "21.04"]
    # The other payer's loops (SBR*S, NM1*PR of 2330B) do not replace the primary payer.
    assert claims["payer_id"].unique().to_list() == ["999996666"]


def test_medicare_dependent_modifiers_and_units() -> None:
    claims = _claims("lfh__demo.example8.837")
    row = claims.row(0, named=True)
    assert (row["cpt_code"], row["modifier_1"], row["modifier_2"], row["modifier_3"]) == (
        "K0001",
        "RR",
        "KH",
        "BR",
    )
    assert (row["plan_type"], row["place_of_service"], row["rendering_npi"]) == (
        "medicare",
        "12",
        "7778889999",
    )
    assert (row["patient_id"], row["patient_birth_date"], row["patient_sex"]) == (
        "987654321A",
        "1920-10-23",
        "M",
    )
    assert row["diagnosis_codes"] == "436;3449"
    ambulance = _claims("lfh__demo.ambulance.example5.837")
    assert ambulance["units"].to_list() == ["1", "21", "1", "1"]
    assert ambulance["place_of_service"].unique().to_list() == ["41"]


def test_dependent_patient_id_joins_subscriber_and_birth_date() -> None:
    row = _claims("lfh__demo.example1.837").row(0, named=True)
    assert row["patient_id"] == "JS00111223333:1973-05-01"
    assert row["patient_birth_date"] == "1973-05-01"


def test_rendering_provider_claim_and_line_level() -> None:
    # The file holds two ISA envelopes with the same three claims (five lines) each.
    claims = _claims("imsweb__x12_complex.txt")
    assert claims["claim_id"].to_list() == 2 * (["A37YH556"] * 2 + ["A37YH667"] + ["A37YH668"] * 2)
    # 2420A NM1*82 on line 3 overrides the claim's 2310B rendering provider.
    assert claims.filter(pl.col("line_number") == "3")["rendering_npi"].to_list() == [
        "303304",
        "303304",
    ]
    assert claims["rendering_npi"].value_counts().sort("rendering_npi").rows() == [
        ("1223939", 8),
        ("303304", 2),
    ]


def test_several_st_in_one_file() -> None:
    batch = read_x12_claims(SAMPLES / "imsweb__x12_multiple_st.txt")
    assert batch.claims_read == 4
    assert batch.claims["payer_name"].to_list() == [
        "HEALTH INSURANCE COMPANY",
        "HEALTH INSURANCE COMPANY TWO",
        "HEALTH INSURANCE COMPANY",
        "AN INSURANCE COMPANY",
    ]


def test_plan_type_map() -> None:
    assert plan_type_for("MB", "X") == "medicare"
    assert plan_type_for("16", "X") == "medicare_advantage"
    assert plan_type_for("HM", "HUMANA MEDICARE") == "medicare_advantage"
    assert plan_type_for("HM", "AETNA") == "commercial"
    assert plan_type_for("MC", None) == "medicaid"
    assert plan_type_for("BL", None) == "commercial"
    assert plan_type_for("WC", None) == "workers_comp"
    assert plan_type_for("VA", None) == "other"
    assert plan_type_for(None, None) is None


def test_not_x12_and_truncated_837(tmp_path: Path) -> None:
    junk = tmp_path / "claims.txt"
    junk.write_text("hello, world\n")
    assert read_x12_claims(junk).rejected["reason"].to_list() == ["not_x12"]
    text = (SAMPLES / "lfh__demo.cob.example3.A.837").read_text()
    cut = tmp_path / "cut.837"
    cut.write_text(text[: text.index("SV1*HC:J3301")] + "SV1*HC:J33")
    batch = read_x12_claims(cut)
    # The claim open when the file ended is rejected whole; nothing half-read is returned.
    assert batch.claims.is_empty()
    assert batch.rejected["reason"].to_list() == ["truncated_file", "truncated_file"]


@settings(max_examples=40, deadline=None)
@given(cut=st.integers(min_value=0, max_value=10_000), junk=st.text(max_size=8))
@example(cut=3, junk="")
@example(cut=0, junk="ISA*")
@example(cut=106, junk="")
def test_any_cut_or_junk_never_raises_and_keeps_only_true_rows(cut: int, junk: str) -> None:
    sample = SAMPLES / "lfh__demo.cob.example3.C.837"
    text = sample.read_text()
    full = read_x12_claims(sample).claims
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cut.837"
        path.write_text(text[: cut % len(text)] + junk)
        batch = read_x12_claims(path)
    kept = batch.claims.join(full, on=full.columns, how="anti", nulls_equal=True)
    assert kept.is_empty()
    if batch.claims.height < full.height:
        assert batch.rejected.height > 0


def test_rendering_provider_name_follows_its_npi() -> None:
    claims = _claims("imsweb__x12_complex.txt")
    by_line = dict(zip(claims["line_number"], claims["rendering_provider_name"], strict=True))
    # Claim-level 2310B name ("LAST, FIRST MIDDLE"), and the 2420A line override with its NPI.
    assert by_line["1"] == "2310B1, 2310B1F J"
    assert by_line["3"] == "2420A, TRENT"
    assert by_line["4"] == "2310B2, 2310B1F J"
    assert _claims("lfh__demo.example12.837")["rendering_provider_name"].to_list() == [
        "BLUE, JACKIE D"
    ]
    # No NM1*82: the NPI is the billing provider's (NM1*85), and no rendering name is made up.
    example1 = _claims("lfh__demo.example1.837")
    assert example1["rendering_npi"].unique().to_list() == ["1912301953"]
    assert example1["rendering_provider_name"].null_count() == example1.height
