"""835 reader: public samples, bad input, reversals, several envelopes."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipelines.sources.x12 import looks_like_x12, read_x12_remits
from pipelines.sources.x12.remits import ADJUSTMENT_COLUMNS, ADJUSTMENT_ROW_SCALE, REMIT_COLUMNS

SAMPLES = Path(__file__).parents[1] / "fixtures" / "x12" / "835"
SAMPLE_835 = sorted(p for p in SAMPLES.iterdir() if p.suffix != ".997")
ACKNOWLEDGEMENTS = sorted(SAMPLES.glob("*.997"))

ISA = (
    "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PRACTICE       "
    "*240401*1200*^*00501*000000001*0*T*:~"
)


def _remit(name: str) -> pl.DataFrame:
    return read_x12_remits(SAMPLES / name).remits


def _line(frame: pl.DataFrame, **where: object) -> dict:
    rows = frame.filter(*(pl.col(k) == v for k, v in where.items())).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


def _write(tmp_path: Path, text: str, name: str = "remit.835") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _transaction(claims: str, date: str = "20240401", control: str = "0001") -> str:
    body = (
        f"ST*835*{control}~BPR*I*0*C*NON************{date}~TRN*1*1*1~DTM*405*{date}~"
        f"N1*PR*PAYER~N1*PE*PRACTICE*XX*1234567893~LX*1~{claims}"
    )
    count = body.count("~") + 1
    return f"{body}SE*{count}*{control}~"


def _interchange(*transactions: str, control: str = "000000001") -> str:
    isa = ISA.replace("000000001", control)
    return f"{isa}GS*HP*P*R*20240401*1200*1*X*005010X221A1~{''.join(transactions)}GE*{len(transactions)}*1~IEA*1*{control}~"


@pytest.mark.parametrize("path", SAMPLE_835, ids=lambda p: p.name)
def test_every_public_835_parses_with_balanced_lines(path: Path) -> None:
    batch = read_x12_remits(path)
    assert batch.segments_read > 20
    assert batch.claims >= 1
    assert batch.remits.columns == list(REMIT_COLUMNS)
    assert batch.adjustments.columns == list(ADJUSTMENT_COLUMNS)
    assert batch.remits.schema["source_row"] == pl.Int64
    # Ingestion keys rows by source_row: it must be unique within each frame.
    assert batch.remits["source_row"].is_unique().all()
    assert batch.adjustments["source_row"].is_unique().all()
    assert set(batch.rejected["reason"]) <= {
        "unbalanced_segment",
        "missing_required",
        "no_service_line",
    }
    # Every line returned balances: SVC02 − ΣCAS under that SVC = SVC03, re-read from the file.
    text = path.read_text()
    segments = [s.strip() for s in text.split("~") if s.strip()]
    for remit in batch.remits.iter_rows(named=True):
        position = remit["source_row"]
        svc = segments[position - 1].replace(">", ":").split("*")
        end = next(
            (
                p
                for p in range(position + 1, len(segments) + 1)
                if segments[p - 1].split("*")[0] in ("SVC", "CLP", "SE")
            ),
            len(segments) + 1,
        )
        cas_position = pl.col("source_row") // ADJUSTMENT_ROW_SCALE
        own = batch.adjustments.filter((cas_position > position) & (cas_position < end))["amount"]
        assert Decimal(svc[2]) - sum(map(Decimal, own), Decimal(0)) == Decimal(remit["paid_amount"])


def test_acknowledgement_files_are_not_835(tmp_path: Path) -> None:
    for path in ACKNOWLEDGEMENTS:
        batch = read_x12_remits(path)
        assert batch.remits.is_empty()
        assert batch.rejected.filter(pl.col("reason") == "not_835")["source_row"].to_list() == [3]


def test_denied_lines_keep_carc_rarc_and_zero_paid() -> None:
    batch = read_x12_remits(SAMPLES / "pyx12__835_mult_loops.txt")
    assert batch.remits["claim_id"].to_list() == ["2005555A"] * 3
    assert batch.remits["paid_amount"].to_list() == ["0.00"] * 3
    assert batch.remits["adjudication_date"].unique().to_list() == ["2013-09-01"]
    assert batch.remits["match_cpt_code"].to_list() == ["T1005"] * 3
    assert batch.remits["match_service_date"].to_list() == [
        "2003-11-29",
        "2003-10-30",
        "2003-10-31",
    ]
    adjustments = batch.adjustments.select("group_code", "carc", "amount", "rarc").rows()
    assert adjustments == [
        ("CO", "16", "500.04", "N14"),
        ("OA", "A7", "127.80", "N14"),
        ("OA", "A7", "287.55", "N14"),
    ]


def test_united_healthcare_lines_ref_6r_amt_b6_and_all_cas_triplets() -> None:
    batch = read_x12_remits(SAMPLES / "edi835parser__united_healthcare_legacy_sample.txt")
    assert batch.lines == 5 and batch.claims == 2
    line = _line(batch.remits, line_number="800941258002")
    assert line["claim_id"] == "001-18573-358"
    assert (line["paid_amount"], line["allowed_amount"]) == ("0.00", "105.26")
    assert line["adjudication_date"] == "2021-02-01"
    adjustments = batch.adjustments.filter(pl.col("line_number") == "123456789014")
    # CAS*PR*2*5.13**1*110 carries two triplets in one segment.
    assert adjustments.select("group_code", "carc", "amount", "source_row").rows() == [
        ("PR", "2", "5.13", 59000),
        ("PR", "1", "110.00", 59001),
        ("CO", "45", "184.32", 60000),
    ]


def test_bare_st_file_and_original_procedure_svc06() -> None:
    batch = read_x12_remits(SAMPLES / "edi835parser__blue_cross_nc_sample.txt")
    line = _line(batch.remits, line_number="0001")
    assert (line["claim_id"], line["paid_amount"], line["allowed_amount"]) == (
        "200200964A52",
        "1057.86",
        "1175.40",
    )
    # SVC01 says 59430 but SVC06 is the procedure as submitted: lines are matched on it.
    assert line["match_cpt_code"] == "59410"
    assert line["adjudication_date"] == "2011-01-04"
    rejected = batch.rejected.row(0, named=True)
    assert (rejected["source_row"], rejected["reason"], rejected["column_name"]) == (
        28,
        "missing_required",
        "paid_amount",
    )


def test_claim_level_cas_attaches_to_the_single_line() -> None:
    batch = read_x12_remits(SAMPLES / "lfh__managed-care.835")
    first = batch.adjustments.filter(pl.col("claim_id") == "5554555444")
    assert first.select("group_code", "carc", "amount", "source_row").rows() == [
        ("PR", "1", "300.00", 19000),
        ("CO", "A2", "50.00", 14000),
    ]
    # No AMT*B6: allowed is paid plus the patient's share.
    assert _line(batch.remits, claim_id="8765432112")["allowed_amount"] == "1150.00"
    assert batch.remits["match_cpt_code"].to_list() == ["99211", "93555"]


def test_stray_component_separator_and_unbalanced_and_claim_only() -> None:
    secondary = read_x12_remits(SAMPLES / "lfh__secondary-payment.835")
    assert secondary.remits.select("match_cpt_code", "match_modifiers", "paid_amount").rows() == [
        ("12345", "26", "30.00"),
        ("66543", "26", "280.00"),
    ]
    assert secondary.rejected.select("source_row", "reason").rows() == [(16, "no_service_line")]
    tertiary = read_x12_remits(SAMPLES / "lfh__tertiary-payment.835")
    assert tertiary.remits.is_empty()
    assert tertiary.rejected.select("source_row", "reason", "column_name").rows() == [
        (20, "unbalanced_segment", "paid_amount")
    ]
    assert "24599.00" in tertiary.rejected["raw_record"][0]


def test_not_x12_file_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "claim_id,line_number\nC1,1\n", "remits.csv")
    batch = read_x12_remits(path)
    assert batch.remits.is_empty() and batch.segments_read == 0
    assert batch.rejected.select("source_row", "reason").rows() == [(1, "not_x12")]


def test_truncated_file_keeps_complete_claims(tmp_path: Path) -> None:
    claims = (
        "CLP*A1*1*100*80**12*X~SVC*HC:64520*100*80**1~CAS*CO*45*20~REF*6R*1~"
        "CLP*A2*1*200*150**12*Y~SVC*HC:64520*200*150**1~CAS*CO*4"
    )
    text = _interchange(_transaction(claims)).rsplit("CAS*CO*4", 1)[0] + "CAS*CO*4"
    batch = read_x12_remits(_write(tmp_path, text))
    assert batch.remits.select("claim_id", "line_number", "paid_amount").rows() == [
        ("A1", "1", "80.00")
    ]
    # The cut segment and the claim it belongs to are both reported with their positions.
    assert batch.rejected.select("source_row", "reason").rows() == [
        (14, "truncated_file"),
        (16, "truncated_file"),
    ]


def test_unbalanced_svc_is_rejected_and_rest_loads(tmp_path: Path) -> None:
    claims = (
        "CLP*B1*1*300*180**12*X~"
        "SVC*HC:64520:50*200*100**1~DTM*472*20240301~CAS*CO*45*90~REF*6R*1~"
        "SVC*HC:77002*100*80**1~DTM*472*20240301~CAS*CO*45*15~CAS*PR*2*5~REF*6R*2~"
    )
    batch = read_x12_remits(_write(tmp_path, _interchange(_transaction(claims))))
    assert batch.remits.select("line_number", "paid_amount", "allowed_amount").rows() == [
        ("2", "80.00", "85.00")
    ]
    assert batch.adjustments.select("group_code", "carc", "amount").rows() == [
        ("CO", "45", "15.00"),
        ("PR", "2", "5.00"),
    ]
    rejected = batch.rejected.row(0, named=True)
    assert (rejected["source_row"], rejected["reason"]) == (11, "unbalanced_segment")
    assert rejected["raw_record"].startswith("SVC*HC:64520:50*200*100**1")


def test_reversal_and_correction_leave_only_the_final_outcome(tmp_path: Path) -> None:
    original = (
        "CLP*R1*4*500*0**MB*X~SVC*HC:64520:50*500*0**1~DTM*472*20240301~CAS*CO*50*500~"
        "REF*6R*1~LQ*HE*N115~"
    )
    reversal = "CLP*R1*22*-500*0**MB*X~SVC*HC:64520:50*-500*0**1~CAS*CO*50*-500~REF*6R*1~"
    correction = (
        "CLP*R1*1*500*345.53**MB*X~SVC*HC:64520:50*500*345.53**1~DTM*472*20240301~"
        "CAS*CO*45*154.47~REF*6R*1~AMT*B6*345.53~"
    )
    text = _interchange(
        _transaction(original, "20240401", "0001"),
        _transaction(reversal + correction, "20240420", "0002"),
    )
    batch = read_x12_remits(_write(tmp_path, text))
    assert batch.remits.select(
        "claim_id", "line_number", "adjudication_date", "paid_amount"
    ).rows() == [("R1", "1", "2024-04-20", "345.53")]
    assert batch.adjustments.select("carc", "amount", "rarc").rows() == [("45", "154.47", None)]
    assert batch.claims == 3
    assert batch.reversals.rows() == [("R1", 24, True, "2024-04-20")]


def test_reversal_without_original_is_reported(tmp_path: Path) -> None:
    reversal = "CLP*Z9*22*-100*-80**MB*X~SVC*HC:64520*-100*-80**1~CAS*CO*45*-20~REF*6R*1~"
    batch = read_x12_remits(_write(tmp_path, _interchange(_transaction(reversal))))
    assert batch.remits.is_empty()
    assert batch.rejected["reason"].to_list() == ["unmatched_reversal"]
    # The original was in an earlier file: ingestion gets the reversal to apply across files.
    assert batch.reversals.rows() == [("Z9", 10, False, "2024-04-01")]


def test_several_isa_envelopes_with_their_own_delimiters(tmp_path: Path) -> None:
    first = _interchange(
        _transaction("CLP*M1*1*100*80**12*X~SVC*HC:64520:RT*100*80**1~CAS*CO*45*20~")
    )
    second = (
        _interchange(
            _transaction("CLP*M2*4*100*0**12*X~SVC*HC:64520:LT*100*0**1~CAS*CO*197*100~"),
            control="000000002",
        )
        .replace("*", "|")
        .replace("~", "\n")
        .replace(":", ">")
    )
    batch = read_x12_remits(_write(tmp_path, first.replace("~", "~\r\n") + second))
    assert batch.remits.select("claim_id", "match_cpt_code", "match_modifiers").rows() == [
        ("M1", "64520", "RT"),
        ("M2", "64520", "LT"),
    ]
    assert batch.adjustments["carc"].to_list() == ["45", "197"]
    assert batch.rejected.is_empty()


def test_claim_level_cas_split_over_lines_by_charge(tmp_path: Path) -> None:
    claims = (
        "CLP*S1*4*300*0**12*X~CAS*CO*29*300~"
        "SVC*HC:64520*200*200**1~REF*6R*1~SVC*HC:77002*100*100**1~REF*6R*2~"
    )
    batch = read_x12_remits(_write(tmp_path, _interchange(_transaction(claims))))
    # One claim-level CAS shared by two lines: each share keeps a source_row of its own.
    assert batch.adjustments.select("line_number", "carc", "amount", "source_row").rows() == [
        ("1", "29", "200.00", 11000),
        ("2", "29", "100.00", 11010),
    ]


def test_unparsable_segment_is_rejected_and_rest_loads(tmp_path: Path) -> None:
    claims = "CLP*U1*1*100*80**12*X~SVC*HC:64520*100*80**1~#?garbage*1~CAS*CO*45*20~REF*6R*1~"
    path = _write(tmp_path, _interchange(_transaction(claims)))
    batch = read_x12_remits(path)
    assert batch.remits.select("claim_id", "line_number", "paid_amount").rows() == [
        ("U1", "1", "80.00")
    ]
    assert batch.rejected.select("source_row", "reason", "raw_record").rows() == [
        (12, "unparsable_segment", "#?garbage*1")
    ]
    assert looks_like_x12(path)
    assert not looks_like_x12(SAMPLES.parent / "SOURCES.md")
    assert looks_like_x12(SAMPLES / "edi835parser__blue_cross_nc_sample.txt")


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(min_value=0, max_value=10_000), junk=st.text(max_size=8))
@example(cut=3, junk="")
@example(cut=0, junk="ISA*")
@example(cut=106, junk="")
def test_any_cut_or_junk_never_raises_and_keeps_only_true_rows(cut: int, junk: str) -> None:
    text = (SAMPLES / "edi835parser__united_healthcare_legacy_sample.txt").read_text()
    full = read_x12_remits(SAMPLES / "edi835parser__united_healthcare_legacy_sample.txt")
    position = cut % len(text)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cut.835"
        path.write_text(text[:position] + junk)
        batch = read_x12_remits(path)
    # Whatever the damage, the rows that come back are rows of the intact file.
    kept = batch.remits.join(full.remits, on=list(REMIT_COLUMNS), how="anti", nulls_equal=True)
    assert kept.is_empty()
    if batch.remits.height < full.remits.height:
        assert batch.rejected.height > 0
