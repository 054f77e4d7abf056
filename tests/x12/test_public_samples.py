"""Public X12 samples nobody here wrote (../shared/x12/SOURCES.md): every row accounted for.

Every 837P and 835 sample is dropped into one landing folder and the real ingest assets run
through Dagster: each file's rows are loaded or quarantined with a named reason (or the file is
rejected with one), the claims contract stops the model (no claim line loads), and the remits
are still read, labelled and counted into the remit-only KPIs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from data_contracts.row_rules import REASONS
from pipelines.cli import _print_run_summary, console
from pipelines.defs.ingest.assets import (
    line_outcomes,
    reference_tables,
    remit_line_outcomes,
    staged_claim_lines,
    staged_remits,
)
from pipelines.defs.ingest.checks import staged_claim_lines_contract, staged_remits_contract
from pipelines.defs.kpis.assets import remit_denial_kpis
from pipelines.defs.resources import build_resources
from pipelines.runner import summarise
from pipelines.settings import ProductSettings
from pipelines.sources.landing import ingest_folders, load_reference_tables

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "x12"
if not SAMPLES.is_dir():
    SAMPLES = Path("/work/shared/x12")
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="public X12 samples not present")

# Reasons the X12 readers give (docs/x12.md "Rejections") and the file-level one.
X12_REASONS = {
    "not_x12",
    "not_835",
    "not_837",
    "truncated_file",
    "unparsable_segment",
    "unbalanced_segment",
    "no_service_line",
    "unmatched_reversal",
    "rejected_file",
}

# Per file: rows read and the quarantine reasons (reason, column) → rows. Measured once and
# checked by hand against the files (docs/x12.md "Public samples").
# Billing (NM1*85) and rendering (NM1*82) NPIs are both checked; the billing one comes first.
NPI = ("bad_npi_check_digit", "billing_npi")
RENDERING_NPI = ("bad_npi_check_digit", "rendering_npi")
ICD9 = ("icd9_history", "diagnosis_codes")
NO_DOB = ("missing_required", "patient_birth_date")
EXPECTED_CLAIMS: dict[str, tuple[int, dict[tuple[str, str | None], int]]] = {
    "imsweb__x12_complex.txt": (10, {NPI: 6, NO_DOB: 4}),
    "imsweb__x12_many_claims.txt": (820, {NO_DOB: 820}),
    "imsweb__x12_multiple_st.txt": (4, {NO_DOB: 4}),
    "imsweb__x12_valid.txt": (2, {NO_DOB: 2}),
    "lfh__demo.837": (4, {ICD9: 4}),
    "lfh__demo.ambulance.example5.837": (4, {NPI: 4}),
    "lfh__demo.autoaccident.837": (2, {NPI: 2}),
    "lfh__demo.cob.2ndary.example4.837": (1, {NPI: 1}),
    "lfh__demo.cob.example3.A.837": (3, {NPI: 3}),
    "lfh__demo.cob.example3.B.837": (3, {NPI: 3}),
    "lfh__demo.cob.example3.C.837": (3, {NPI: 3}),
    "lfh__demo.cob.example4.837": (1, {NPI: 1}),
    "lfh__demo.drug.example10.1.837": (2, {ICD9: 2}),
    "lfh__demo.drug.example10.2.837": (6, {ICD9: 6}),
    "lfh__demo.drug.example10.3.837": (6, {ICD9: 6}),
    "lfh__demo.example1.837": (4, {ICD9: 4}),
    # A valid rendering NPI under a placeholder billing NPI: before both were checked, the
    # lines reached the ICD-9 rule.
    "lfh__demo.example11.837": (2, {NPI: 2}),
    # A placeholder rendering NPI under a valid billing NPI.
    "lfh__demo.example12.837": (1, {RENDERING_NPI: 1}),
    "lfh__demo.example2.837": (4, {NPI: 4}),
    "lfh__demo.example7.837": (2, {NPI: 2}),
    "lfh__demo.example8.837": (1, {ICD9: 1}),
    "lfh__demo.example9.837": (1, {NPI: 1}),
}
# example6 is byte for byte example4's secondary claim: skipped as a duplicate file.
DUPLICATE_FILES = {"lfh__demo.example6.837"}
EXPECTED_REMITS: dict[str, tuple[int, int, dict[tuple[str, str | None], int]]] = {
    # file: (rows read, remit lines loaded, quarantined (reason, column) → rows)
    "edi835parser__blue_cross_nc_sample.txt": (6, 2, {("missing_required", "paid_amount"): 1}),
    "edi835parser__emedny_sample.txt": (11, 7, {}),
    "edi835parser__united_healthcare_legacy_sample.txt": (12, 5, {}),
    "lfh__cob-contractural-adjustment.835": (3, 1, {}),
    "lfh__managed-care.835": (7, 2, {}),
    "lfh__medicare-part-a.835": (2, 0, {("no_service_line", "line_number"): 2}),
    "lfh__secondary-payment.835": (7, 2, {("no_service_line", "line_number"): 1}),
    "lfh__tertiary-payment.835": (1, 0, {("unbalanced_segment", "paid_amount"): 1}),
    "pyx12__835_mult_loops.txt": (6, 3, {}),
}
# 999 acknowledgements named *.997: no 835 inside, so the file is rejected whole.
REJECTED_REMIT_FILES = {"lfh__managed-care.835.997", "pyx12__835_mult_loops.997"}


def _landing(root: Path) -> Path:
    landing = root / "landing"
    for folder, sub in (("claims", "837p"), ("remits", "835")):
        (landing / folder).mkdir(parents=True)
        for sample in sorted((SAMPLES / sub).iterdir()):
            shutil.copy(sample, landing / folder / sample.name)
    return landing


def _settings(root: Path, landing: Path) -> ProductSettings:
    return ProductSettings(
        landing=landing, warehouse=root / "warehouse.duckdb", exports=root / "exports"
    )


def test_every_public_sample_row_is_accounted_for_and_remits_feed_kpis(tmp_path: Path) -> None:
    settings = _settings(tmp_path, _landing(tmp_path))
    result = dg.materialize(
        [
            reference_tables,
            staged_claim_lines,
            staged_claim_lines_contract,
            staged_remits,
            remit_line_outcomes,
            remit_denial_kpis,
            line_outcomes,
            staged_remits_contract,
        ],
        resources=build_resources(settings),
        raise_on_error=False,
    )
    done = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    # No claim line loads, so the blocking claims contract fails and stops line_outcomes ...
    assert checks["staged_claim_lines_contract"] is False
    assert "line_outcomes" not in done
    # ... but not the remittances, their outcomes or the remit-only KPIs.
    assert {"staged_remits", "remit_line_outcomes", "remit_denial_kpis"} <= done
    with console.capture() as captured:
        _print_run_summary(summarise(result), settings, 1.0)
    summary = " ".join(captured.get().split())
    assert (
        "Remits alone: 22 remit lines, 7 denied (31.8%); 22 match no loaded claim line; "
        "top denial CARCs: CO-251 2, CO-29 2, OA-A7 2, CO-16 1" in summary
    )
    assert "rows set aside (quarantined with a reason)" in summary
    assert "scored and exported" not in summary

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        ledger = {
            path: (status, read, loaded, quarantined, message)
            for path, status, read, loaded, quarantined, message in con.execute(
                "SELECT path, status, rows_read, rows_loaded, rows_quarantined, message "
                "FROM ingest_ledger"
            ).fetchall()
        }
        reasons: dict[str, dict[tuple[str, str | None], int]] = {}
        for path, reason, column, n in con.execute(
            "SELECT source_file, reason, column_name, count(*) FROM quarantined_rows GROUP BY ALL"
        ).fetchall():
            reasons.setdefault(path, {})[(reason, column)] = n
        staged = dict(
            con.execute("SELECT source_file, count(*) FROM staged_remits GROUP BY 1").fetchall()
        )
        outcomes = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE denied), "
            "count(*) FILTER (WHERE matched_claim_line) FROM remit_line_outcomes WHERE latest"
        ).fetchall()[0]
        pareto = con.execute(
            "SELECT denial_group_code || '-' || primary_denial_carc, count(*) "
            "FROM remit_line_outcomes WHERE denied GROUP BY 1"
        ).fetchall()
        kpis = con.execute(
            "SELECT sum(remit_lines), sum(denied_lines), sum(lines_without_claim_line) "
            "FROM remit_denial_kpis"
        ).fetchall()[0]
        denied_mult_loops = con.execute(
            "SELECT list(primary_denial_carc ORDER BY source_row) FROM remit_line_outcomes "
            "WHERE source_file = 'remits/pyx12__835_mult_loops.txt' AND denied"
        ).fetchall()[0][0]

    every_sample = {f"claims/{p.name}" for p in (SAMPLES / "837p").iterdir()}
    every_sample |= {f"remits/{p.name}" for p in (SAMPLES / "835").iterdir()}
    assert set(ledger) == every_sample
    for path, (status, read, loaded, quarantined, _message) in ledger.items():
        assert loaded + quarantined == read, path
        found = reasons.get(path, {})
        assert sum(found.values()) == (1 if status == "rejected" else quarantined), path
        for reason, _column in found:
            assert reason in set(REASONS) | X12_REASONS, (path, reason)

    for name, (read, expected) in EXPECTED_CLAIMS.items():
        path = f"claims/{name}"
        assert ledger[path][:4] == ("loaded", read, 0, read), path
        assert reasons[path] == expected, path
    for name in DUPLICATE_FILES:
        assert ledger[f"claims/{name}"][0] == "skipped_duplicate"
    for name, (read, remit_lines, expected) in EXPECTED_REMITS.items():
        path = f"remits/{name}"
        quarantined = sum(expected.values())
        assert ledger[path][:4] == ("loaded", read, read - quarantined, quarantined), path
        assert reasons.get(path, {}) == expected, path
        assert staged.get(path, 0) == remit_lines, path
    for name in REJECTED_REMIT_FILES:
        status, _, loaded, _, message = ledger[f"remits/{name}"]
        assert (status, loaded) == ("rejected", 0)
        assert "no 835 transaction set (found ST 999)" in message
        assert reasons[f"remits/{name}"] == {("rejected_file", None): 1}

    remit_lines = sum(lines for _, lines, _ in EXPECTED_REMITS.values())
    assert outcomes == (remit_lines, 7, 0)
    assert kpis == (remit_lines, 7, remit_lines)
    assert dict(pareto) == {"CO-16": 1, "OA-A7": 2, "CO-29": 2, "CO-251": 2}
    # pyx12's sample: CLP02 = 4 (denied), CAS CO-16 on the first line, OA-A7 on the other two.
    assert denied_mult_loops == ["16", "A7", "A7"]


def _variant(text: str, claim_id: str, **changes: str) -> str:
    """lfh__demo.example2.837 with its claim id and the given segments' text replaced."""
    text = text.replace("CLM*26462967*", f"CLM*{claim_id}*")
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new)
    return text


def test_plan_type_icd9_encodings_and_empty_files(tmp_path: Path) -> None:
    example2 = (SAMPLES / "837p" / "lfh__demo.example2.837").read_text()
    remit_sample = (SAMPLES / "835" / "pyx12__835_mult_loops.txt").read_text()
    no_sbr09 = {"SBR*P*18*12312-A******HM~": "SBR*P*18*12312-A~"}
    valid_npi = {"XX*9876543210~": "XX*1234567893~"}
    in_2024 = {"DTP*472*D8*200610": "DTP*472*D8*202410", "*20061015*1023*": "*20241015*1023*"}
    icd10 = {"HI*BK:0340*BF:V7389~": "HI*ABK:G90522*ABF:E119~"}
    landing = tmp_path / "landing"
    claims, remits = landing / "claims", landing / "remits"
    claims.mkdir(parents=True)
    remits.mkdir(parents=True)
    files = {
        # No SBR09, and the payer is not in the table.
        "a_unknown_payer.837": _variant(example2, "A1", **no_sbr09, **{"PI*741234~": "PI*999999~"}),
        # No SBR09, payer in the table: the next rule decides (ICD-9 on a 2006 service).
        "b_icd9_2006.837": _variant(example2, "B1", **no_sbr09, **valid_npi),
        "c_icd9_2024.837": _variant(example2, "C1", **no_sbr09, **valid_npi, **in_2024),
        "d_icd10_2024.837": _variant(example2, "D1", **no_sbr09, **valid_npi, **in_2024, **icd10),
    }
    for name, text in files.items():
        (claims / name).write_text(text)
    # The unchanged sample saved as Windows "Unicode" text under a neutral name.
    (claims / "e_utf16.txt").write_bytes(_variant(example2, "E1").encode("utf-16"))
    (claims / "f_not_x12.837").write_text("claim export failed: see log\n")
    header = example2.split("BHT*")[0]
    (claims / "g_no_claims.837").write_text(
        header + "BHT*0019*00*0123*20061015*1023*RP~SE*3*0021~GE*1*1~IEA*1*000000907~"
    )
    encodings = {
        "utf8.835": remit_sample.encode("utf-8"),
        "utf8_bom.835": remit_sample.encode("utf-8-sig"),
        "utf16_le_bom.835": b"\xff\xfe" + remit_sample.encode("utf-16-le"),
        "utf16_be_bom.835": b"\xfe\xff" + remit_sample.encode("utf-16-be"),
    }
    for name, data in encodings.items():
        (remits / name).write_bytes(data)
    table = landing / "reference" / "payer_plan_types.csv"
    table.parent.mkdir()
    table.write_text("payer_id,plan_type,payer_name\n741234,Commercial,AHLIC\nX9,self_pay,\n")
    settings = _settings(tmp_path, landing)
    assert settings.payer_plan_types == table

    with duckdb.connect(str(settings.warehouse)) as con:
        reference = load_reference_tables(con, settings.payer_plan_types)
        ingest_folders(con, landing, ("claims", "remits", "remit_adjustments"), b"k" * 32)
        ledger = dict(
            (
                (p, (s, r, lo, q, m))
                for p, s, r, lo, q, m in con.execute(
                    "SELECT path, status, rows_read, rows_loaded, rows_quarantined, message "
                    "FROM ingest_ledger"
                ).fetchall()
            )
        )
        reasons = {
            (p, r, c): n
            for p, r, c, n in con.execute(
                "SELECT source_file, reason, column_name, count(*) FROM quarantined_rows "
                "GROUP BY ALL"
            ).fetchall()
        }
        loaded = con.execute(
            "SELECT claim_id, plan_type, diagnosis_codes FROM staged_claim_lines ORDER BY source_row"
        ).fetchall()
        remit_rows = con.execute(
            "SELECT source_file, list((line_number, paid_amount, match_cpt_code) "
            "ORDER BY source_row) FROM staged_remits GROUP BY 1"
        ).fetchall()

    assert reference.rows["ref_payer_plan_types"] == 1
    assert reference.payer_plan_types_problems == [
        "payer_plan_types.csv line 3: unknown plan_type 'self_pay' for X9"
    ]
    assert reasons[("claims/a_unknown_payer.837", "missing_plan_type", "plan_type")] == 4
    assert reasons[("claims/b_icd9_2006.837", "icd9_history", "diagnosis_codes")] == 4
    assert reasons[("claims/c_icd9_2024.837", "icd9_code", "diagnosis_codes")] == 4
    assert ledger["claims/d_icd10_2024.837"][:4] == ("loaded", 4, 4, 0)
    # Plan type from the payer table; each line's codes as its SV107 pointer names them.
    assert loaded == [("D1", "commercial", ["G90522"])] * 2 + [("D1", "commercial", ["E119"])] * 2
    assert ledger["claims/e_utf16.txt"][:4] == ("loaded", 4, 0, 4)
    assert reasons[("claims/e_utf16.txt", "bad_npi_check_digit", "billing_npi")] == 4
    status, _, rows_loaded, _, message = ledger["claims/f_not_x12.837"]
    assert (status, rows_loaded) == ("rejected", 0)
    assert message.startswith("no X12 interchange")
    status, _, rows_loaded, _, message = ledger["claims/g_no_claims.837"]
    assert (status, rows_loaded) == ("rejected", 0)
    assert message.startswith("no claim lines (SV1)")
    by_file = dict(remit_rows)
    assert set(by_file) == {f"remits/{name}" for name in encodings}
    assert len(by_file["remits/utf8.835"]) == 3
    assert all(rows == by_file["remits/utf8.835"] for rows in by_file.values())
