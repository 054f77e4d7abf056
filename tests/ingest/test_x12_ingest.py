"""X12 835 through ingestion: format sniffing, cross-file reversals, line matching by match_*."""

from __future__ import annotations

from pathlib import Path

import pytest
from landing_world import claim_row, query, run_all, settings_for, write_csv

from pipelines.sources.landing.files import LandingFile, detect_format

ISA = (
    "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PRACTICE       "
    "*240401*1200*^*00501*000000001*0*T*:~"
)


def _transaction(claims: str, date: str, control: str = "0001") -> str:
    body = (
        f"ST*835*{control}~BPR*I*0*C*NON************{date}~TRN*1*1*1~DTM*405*{date}~"
        f"N1*PR*PAYER~N1*PE*PRACTICE*XX*1234567893~LX*1~{claims}"
    )
    return f"{body}SE*{body.count('~') + 1}*{control}~"


def _interchange(*transactions: str) -> str:
    return (
        f"{ISA}GS*HP*P*R*20240401*1200*1*X*005010X221A1~{''.join(transactions)}"
        f"GE*{len(transactions)}*1~IEA*1*000000001~"
    )


def _landing_file(path: Path, folder: str) -> LandingFile:
    return LandingFile(path, f"{folder}/{path.name}", folder, path.stat().st_size)


@pytest.mark.parametrize("name", ["era_0401.txt", "era_0401.edi", "era_0401.835", "ERA0401"])
def test_x12_is_recognised_by_content_or_suffix(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("\n" + _interchange(_transaction("CLP*C1*1*100*80**MB*X~", "20240401")))
    assert detect_format(_landing_file(path, "remits")) == "x12"
    # Only claims/ and remits/ take X12; elsewhere a .txt stays a flat file.
    assert detect_format(_landing_file(path, "notes")) == "csv"


def test_flat_text_file_is_not_taken_for_x12(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "claims.txt", [claim_row()])
    assert detect_format(_landing_file(path, "claims")) == "csv"


PAID = (
    "CLP*R1*1*1250*248**MB*X~SVC*HC:64520:LT*1250*248**1~DTM*472*20240304~CAS*CO*45*1002~REF*6R*1~"
)
REVERSAL = "CLP*R1*22*-1250*-248**MB*X~SVC*HC:64520:LT*-1250*-248**1~CAS*CO*45*-1002~REF*6R*1~"
DENIED = "CLP*R1*4*1250*0**MB*X~SVC*HC:64520:LT*1250*0**1~DTM*472*20240304~CAS*CO*50*1250~REF*6R*1~"


def _outcome(settings) -> tuple:  # noqa: ANN001
    return query(
        settings,
        "SELECT status, paid_amount, adjudication_date::VARCHAR, primary_denial_carc "
        "FROM line_outcomes WHERE claim_id = 'R1'",
    )[0]


def test_reversal_in_a_later_file_cancels_the_earlier_payment(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    landing = settings.landing
    write_csv(landing / "claims" / "claims.csv", [claim_row(claim_id="R1")])
    (landing / "remits").mkdir()
    (landing / "remits" / "a_0401.835").write_text(_interchange(_transaction(PAID, "20240401")))
    _, outcomes = run_all(settings)
    assert _outcome(settings) == ("paid", 248, "2024-04-01", None)

    # The payer takes the payment back in a later file: no outcome stands, the line is pending.
    (landing / "remits" / "b_0420.835").write_text(_interchange(_transaction(REVERSAL, "20240420")))
    summaries, outcomes = run_all(settings)
    remits = summaries[1]
    assert [(f.path, f.status, f.rows_read, f.rows_loaded) for f in remits.files] == [
        ("remits/a_0401.835", "unchanged", 0, 0),
        ("remits/b_0420.835", "loaded", 1, 1),
    ]
    assert query(settings, "SELECT count(*) FROM quarantined_rows") == [(0,)]
    assert query(
        settings,
        "SELECT claim_id, adjudication_date::VARCHAR, cancelled_in_file, source_file "
        "FROM staged_remit_reversals",
    ) == [("R1", "2024-04-20", False, "remits/b_0420.835")]
    assert _outcome(settings) == ("pending", None, None, None)
    assert outcomes.remits_cancelled_by_reversal == 1
    assert outcomes.reversals_without_original == 0

    # The correction comes in a third file and stands; the reversal does not touch it.
    (landing / "remits" / "c_0502.835").write_text(_interchange(_transaction(DENIED, "20240502")))
    _, outcomes = run_all(settings)
    assert _outcome(settings) == ("denied", 0, "2024-05-02", "50")
    assert outcomes.remits_cancelled_by_reversal == 1


def test_reversal_of_a_claim_never_paid_cancels_nothing_and_is_counted(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    landing = settings.landing
    write_csv(landing / "claims" / "claims.csv", [claim_row(claim_id="R1")])
    (landing / "remits").mkdir()
    (landing / "remits" / "b.835").write_text(_interchange(_transaction(REVERSAL, "20240420")))
    summaries, outcomes = run_all(settings)
    assert summaries[1].rows_loaded == 1
    assert summaries[1].rows_quarantined == 0
    assert outcomes.reversals_without_original == 1
    assert _outcome(settings) == ("pending", None, None, None)


def test_reversal_and_correction_in_one_later_file(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    landing = settings.landing
    write_csv(landing / "claims" / "claims.csv", [claim_row(claim_id="R1")])
    (landing / "remits").mkdir()
    (landing / "remits" / "a.835").write_text(_interchange(_transaction(PAID, "20240401")))
    (landing / "remits" / "b.edi").write_text(
        _interchange(_transaction(REVERSAL + DENIED, "20240420"))
    )
    summaries, _ = run_all(settings)
    assert summaries[1].rows_quarantined == 0
    # Without the cross-file reversal the earlier CO-45 adjustment of a.835 would sit beside the
    # CO-50 denial; it is cancelled with its remit.
    assert _outcome(settings) == ("denied", 0, "2024-04-20", "50")
    assert query(settings, "SELECT denial_carcs FROM line_outcomes WHERE claim_id = 'R1'") == [
        (["50"],)
    ]


def test_remit_line_number_naming_no_claim_line_is_matched_by_procedure_date_and_charge(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path)
    landing = settings.landing
    # Two 64520 lines the same day with the same modifier, told apart only by their charge.
    write_csv(
        landing / "claims" / "claims.csv",
        [
            claim_row(claim_id="M1", line_number="1", charge_amount="900.00"),
            claim_row(claim_id="M1", line_number="2", charge_amount="1250.00"),
            claim_row(claim_id="M1", line_number="3", cpt_code="77003", modifier_1=""),
        ],
    )
    # The payer echoes its own line item control numbers (7, 8) instead of the claim's lines;
    # the 1250.00 block comes first in the file.
    claims = (
        "CLP*M1*1*2350*330**MB*X~"
        "SVC*HC:64520:LT*1250*200**1~DTM*472*20240304~CAS*CO*45*1050~REF*6R*7~"
        "SVC*HC:64520:LT*900*130**1~DTM*472*20240304~CAS*CO*45*770~REF*6R*800941258001~"
    )
    (landing / "remits").mkdir()
    (landing / "remits" / "era.txt").write_text(_interchange(_transaction(claims, "20240401")))
    summaries, outcomes = run_all(settings)
    assert summaries[1].files_loaded == 1
    assert summaries[1].rows_quarantined == 0
    assert query(
        settings,
        "SELECT line_number, paid_amount::VARCHAR, match_charge_amount::VARCHAR "
        "FROM staged_remits ORDER BY source_row",
    ) == [(2, "200.00", "1250.00"), (1, "130.00", "900.00")]
    # The adjustments follow their remit line.
    assert query(
        settings,
        "SELECT line_number, amount::VARCHAR FROM staged_remit_adjustments ORDER BY source_row",
    ) == [(2, "1050.00"), (1, "770.00")]
    assert query(
        settings,
        "SELECT line_number, status, paid_amount::VARCHAR FROM line_outcomes ORDER BY line_number",
    ) == [(1, "paid", "130.00"), (2, "paid", "200.00"), (3, "pending", None)]
    assert outcomes.unmatched_remits == 0


def test_remit_waits_for_its_claim_line_and_is_matched_on_a_later_run(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    landing = settings.landing
    write_csv(landing / "claims" / "a.csv", [claim_row(claim_id="OTHER")])
    claims = (
        "CLP*W1*1*1250*248**MB*X~SVC*HC:64520:LT*1250*248**1~DTM*472*20240304~"
        "CAS*CO*45*1002~REF*6R*9~"
    )
    (landing / "remits").mkdir()
    (landing / "remits" / "era.835").write_text(_interchange(_transaction(claims, "20240401")))
    _, outcomes = run_all(settings)
    assert outcomes.unmatched_remits == 1
    # Set aside (quarantined as unmatched_line) until its claim line arrives.
    assert query(settings, "SELECT line_number FROM held_remits") == [(9,)]
    assert query(settings, "SELECT count(*) FROM staged_remits") == [(0,)]

    write_csv(landing / "claims" / "b.csv", [claim_row(claim_id="W1", line_number="1")])
    _, outcomes = run_all(settings)
    assert outcomes.unmatched_remits == 0
    assert query(settings, "SELECT line_number FROM staged_remits") == [(1,)]
    assert query(settings, "SELECT count(*) FROM held_remits") == [(0,)]
    assert query(settings, "SELECT count(*) FROM quarantined_rows") == [(0,)]
    assert query(
        settings,
        "SELECT rows_loaded, rows_quarantined FROM ingest_ledger WHERE path = 'remits/era.835'",
    ) == [(2, 0)]
    assert query(settings, "SELECT status FROM line_outcomes WHERE claim_id = 'W1'") == [("paid",)]
