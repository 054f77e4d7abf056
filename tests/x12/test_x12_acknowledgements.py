"""The 277CA reader on the hand-written fixture: claim- and line-level STC, outcomes, rejections."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_contracts.acknowledgements import acknowledgement_outcome
from pipelines.sources.x12.acknowledgements import read_x12_acknowledgements

FIXTURE = Path(__file__).parents[1] / "fixtures" / "x12" / "277ca" / "acknowledgements_0310.277"


def _rows(path: Path) -> list[dict]:
    return read_x12_acknowledgements(path).acknowledgements.to_dicts()


def test_claim_and_line_statuses_are_read_with_their_codes() -> None:
    batch = read_x12_acknowledgements(FIXTURE)
    rows = {(r["claim_id"], r["level"]): r for r in batch.acknowledgements.to_dicts()}
    # Batch-level STCs of the receiver and provider levels (HL 21, 19) are not claims.
    assert sorted(rows) == [
        ("CLM-1", "claim"),
        ("CLM-2", "claim"),
        ("CLM-3", "claim"),
        ("CLM-3", "line"),
        ("CLM-9", "claim"),
    ]
    rejected = rows[("CLM-2", "claim")]
    assert (rejected["status_category"], rejected["status_code"], rejected["entity_code"]) == (
        "A7",
        "562",
        "85",
    )
    assert rejected["effective_date"] == "2024-03-10"
    assert rejected["action_code"] == "U"
    assert rejected["outcome"] == "rejected"
    assert rejected["payer_claim_id"] == "PAYERCLM-2"
    assert rejected["clearinghouse_trace_id"] == "TRACE-2"
    assert rejected["charge_amount"] == "1250.00"
    assert rejected["service_date"] == "2024-03-04"
    assert rows[("CLM-1", "claim")]["outcome"] == "accepted"
    line = rows[("CLM-3", "line")]
    assert (line["line_number"], line["service_cpt_code"], line["status_category"]) == (
        "2",
        "64520",
        "A7",
    )
    assert line["service_date"] == "2024-03-05"
    assert rows[("CLM-9", "claim")]["status_category"] == "A6"
    assert batch.transactions == 1
    assert batch.claims == 5


def test_stc_without_category_is_rejected_with_its_position() -> None:
    rejected = read_x12_acknowledgements(FIXTURE).rejected.to_dicts()
    assert [(r["reason"], r["column_name"]) for r in rejected] == [
        ("missing_required", "status_category")
    ]
    assert rejected[0]["raw_record"].startswith("STC**20240311")


def test_utf8_bom_and_crlf_give_the_same_rows(tmp_path: Path) -> None:
    text = FIXTURE.read_text()
    bom = tmp_path / "bom.277"
    bom.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    assert _rows(bom) == _rows(FIXTURE)


@pytest.mark.parametrize(
    "encoded",
    [
        pytest.param(lambda t: t.encode("utf-16"), id="utf16-bom-native"),
        pytest.param(lambda t: b"\xff\xfe" + t.encode("utf-16-le"), id="utf16-le-bom"),
        pytest.param(lambda t: b"\xfe\xff" + t.encode("utf-16-be"), id="utf16-be-bom"),
        pytest.param(lambda t: t.encode("utf-16-le"), id="utf16-le-no-bom"),
    ],
)
def test_utf16_gives_the_same_rows(tmp_path: Path, encoded) -> None:
    # Windows "Unicode" text: the same decoding function as the 837P and 835 readers.
    path = tmp_path / "unicode.txt"
    path.write_bytes(encoded(FIXTURE.read_text().replace("\n", "\r\n")))
    batch = read_x12_acknowledgements(path)
    assert batch.acknowledgements.height == 5
    assert _rows(path) == _rows(FIXTURE)
    assert batch.rejected.to_dicts() == read_x12_acknowledgements(FIXTURE).rejected.to_dicts()


def test_a_file_cut_inside_a_claim_drops_that_claim(tmp_path: Path) -> None:
    text = FIXTURE.read_text()
    cut = tmp_path / "cut.277"
    cut.write_text(text[: text.index("HL*8*3*PT")] + "HL*8*3*PT~TRN*2*CLM-4~STC*A1:20*2024")
    batch = read_x12_acknowledgements(cut)
    assert "CLM-4" not in batch.acknowledgements["claim_id"].to_list()
    assert "truncated_file" in batch.rejected["reason"].to_list()


def test_a_999_is_not_a_277(tmp_path: Path) -> None:
    path = tmp_path / "ack.999"
    path.write_text(
        "ISA*00*          *00*          *ZZ*A              *ZZ*B              "
        "*240310*0900*^*00501*000000001*0*T*:~GS*FA*A*B*20240310*0900*1*X*005010X231A1~"
        "ST*999*0001*005010X231A1~AK1*HC*1*005010X222A1~AK9*A*1*1*1~SE*4*0001~GE*1*1~IEA*1*1~"
    )
    batch = read_x12_acknowledgements(path)
    assert batch.transactions == 0
    assert batch.acknowledgements.height == 0
    assert batch.rejected["reason"].to_list() == ["not_277"]


@pytest.mark.parametrize(
    ("category", "action", "expected"),
    [
        ("A1", "WQ", "accepted"),
        ("A2", "WQ", "accepted"),
        ("A3", "U", "rejected"),
        ("A4", None, "rejected"),
        ("A6", "U", "rejected"),
        ("A7", "U", "rejected"),
        ("A8", "U", "rejected"),
        ("E0", None, "other"),
        ("E1", "U", "rejected"),
    ],
)
def test_status_category_decides_the_outcome(category, action, expected) -> None:  # noqa: ANN001
    assert acknowledgement_outcome(category, action) == expected
