"""The payer-rules table: learned from modelling-table history, overridden by an analyst's file."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from data_contracts.payer_rules import (
    AUTH_MIN_LINES,
    AUTH_RECENT_LINES,
    PAYER_RULES_SETTING,
    PayerRules,
    PayerRulesFileError,
    payer_rules_file,
)
from models.edits import evaluate_edits
from models.features.table import build_modelling_table
from tests.features import feature_frames as staged

START = date(2025, 1, 6)
AUTH_DENIAL = "Invalid/Missing Authorization"


def history_row(payer: str, day: int, **overrides: Any) -> dict[str, Any]:
    """One labelled, paid 64520 line of the modelling table (the columns the rules read)."""
    row = {
        "payer_id": payer,
        "service_date": START + timedelta(days=day),
        "submission_date": START + timedelta(days=day + 5),
        "is_pending": False,
        "denied": 0,
        "denial_category": None,
        "prior_auth_present": True,
        "payer_bilateral_convention": "unknown",
        "payer_filing_limit_days": None,
    }
    row.update(overrides)
    return row


def history(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(
        list(rows),
        schema={
            "payer_id": pl.String,
            "service_date": pl.Date,
            "submission_date": pl.Date,
            "is_pending": pl.Boolean,
            "denied": pl.Int8,
            "denial_category": pl.String,
            "prior_auth_present": pl.Boolean,
            "payer_bilateral_convention": pl.String,
            "payer_filing_limit_days": pl.Float64,
        },
    )


def no_auth_lines(payer: str, denied: int, total: int, first_day: int = 0) -> list[dict]:
    """`total` labelled lines sent without a number, the first `denied` denied for it."""
    return [
        history_row(
            payer,
            first_day + i,
            prior_auth_present=False,
            denied=int(i < denied),
            denial_category=AUTH_DENIAL if i < denied else None,
        )
        for i in range(total)
    ]


def by_payer(rules: PayerRules) -> dict[str, dict[str, Any]]:
    return {r["payer_id"]: r for r in rules.frame.iter_rows(named=True)}


def test_convention_and_filing_limit_come_from_the_latest_line() -> None:
    rules = by_payer(
        PayerRules.from_history(
            history(
                history_row("A", 0, payer_bilateral_convention="rt_lt_two_lines"),
                history_row(
                    "A", 30, payer_bilateral_convention="modifier_50", payer_filing_limit_days=179
                ),
                history_row("A", 10, denied=1, denial_category="Past Timely Filing Limits"),
                history_row("B", 5, payer_filing_limit_days=200),
            )
        )
    )
    assert rules["A"]["bilateral_convention"] == "modifier_50"
    assert rules["A"]["bilateral_convention_provenance"] == "history"
    # A timely-filing denial bounds A's limit; B has only paid lines, a lower bound.
    assert (rules["A"]["filing_limit_days"], rules["A"]["filing_limit_days_provenance"]) == (
        179,
        "history",
    )
    assert rules["B"]["filing_limit_days"] is None
    assert rules["B"]["filing_limit_days_provenance"] == "default"
    assert rules["B"]["longest_paid_lag_days"] == 200
    assert (rules["B"]["bilateral_convention"], rules["B"]["bilateral_convention_provenance"]) == (
        "unknown",
        "default",
    )


def test_prior_auth_requirement_thresholds() -> None:
    rows = [
        *no_auth_lines("REQ", denied=6, total=10),
        *no_auth_lines("FREE", denied=0, total=30),
        *no_auth_lines("MIXED", denied=3, total=10),
        *no_auth_lines("FEW", denied=AUTH_MIN_LINES - 1, total=AUTH_MIN_LINES - 1),
        # Required since recently: only the last AUTH_RECENT_LINES lines count.
        *no_auth_lines("NEW", denied=0, total=60),
        *no_auth_lines("NEW", denied=AUTH_RECENT_LINES, total=AUTH_RECENT_LINES, first_day=100),
    ]
    rules = by_payer(PayerRules.from_history(history(*rows)))
    assert rules["REQ"]["requires_prior_auth"] is True
    assert rules["REQ"]["requires_prior_auth_provenance"] == "history"
    assert rules["FREE"]["requires_prior_auth"] is False
    assert rules["MIXED"]["requires_prior_auth"] is None
    assert rules["FEW"]["requires_prior_auth"] is None
    assert rules["FEW"]["requires_prior_auth_provenance"] == "default"
    assert rules["NEW"]["requires_prior_auth"] is True


def test_override_file_beats_history_and_blank_cells_keep_it(tmp_path: Path) -> None:
    learned = PayerRules.from_history(
        history(
            history_row("A", 0, payer_bilateral_convention="rt_lt_two_lines"),
            history_row("A", 1, denied=1, denial_category="Past Timely Filing Limits"),
            history_row(
                "A", 2, payer_bilateral_convention="rt_lt_two_lines", payer_filing_limit_days=95
            ),
        )
    )
    path = tmp_path / "rules.csv"
    path.write_text(
        "payer_id,bilateral_convention,filing_limit_days,requires_prior_auth,note\n"
        "A,modifier_50,,yes,contract 2025 section 4\n"
        "NEWPAYER,units_2,180,,\n"
    )
    rules = by_payer(learned.with_overrides(path))
    assert (rules["A"]["bilateral_convention"], rules["A"]["bilateral_convention_provenance"]) == (
        "modifier_50",
        "override",
    )
    assert (rules["A"]["filing_limit_days"], rules["A"]["filing_limit_days_provenance"]) == (
        95,
        "history",
    )
    assert (rules["A"]["requires_prior_auth"], rules["A"]["requires_prior_auth_provenance"]) == (
        True,
        "override",
    )
    new = rules["NEWPAYER"]
    assert (new["bilateral_convention"], new["filing_limit_days"]) == ("units_2", 180)
    assert (new["requires_prior_auth"], new["requires_prior_auth_provenance"]) == (None, "default")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "payer_id,filing_limit_days\nA,90\nB,ninety\n",
            "row 2 (line 3), column filing_limit_days",
        ),
        ("payer_id,filing_limit_days\nA,0\n", "row 1 (line 2), column filing_limit_days"),
        ("payer_id,bilateral_convention\nA,both\n", "row 1 (line 2), column bilateral_convention"),
        ("payer_id,requires_prior_auth\nA,maybe\n", "row 1 (line 2), column requires_prior_auth"),
        ("payer_id,filing_limit_days\n,90\n", "row 1 (line 2), column payer_id: is blank"),
        ("payer_id,filing_limit_days\nA,90\nA,80\n", "row 2 (line 3), column payer_id"),
        ("payer_id,limit\nA,90\n", "unknown column(s) limit"),
        ("payer,filing_limit_days\nA,90\n", "column payer_id is missing"),
    ],
)
def test_bad_override_file_names_row_and_column(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rules.csv"
    path.write_text(text)
    with pytest.raises(PayerRulesFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PayerRules.empty().with_overrides(path)


def test_spreadsheet_export_with_bom_crlf_and_blank_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.csv"
    path.write_bytes(b"\xef\xbb\xbfpayer_id,filing_limit_days\r\nA,90\r\n\r\n")
    rules = by_payer(PayerRules.empty().with_overrides(path))
    assert list(rules) == ["A"]
    assert (rules["A"]["filing_limit_days"], rules["A"]["filing_limit_days_provenance"]) == (
        90,
        "override",
    )


def test_missing_file_and_missing_history_columns(tmp_path: Path) -> None:
    with pytest.raises(PayerRulesFileError, match="payer rules file not found"):
        PayerRules.empty().with_overrides(tmp_path / "absent.csv")
    with pytest.raises(ValueError, match="lacks column\\(s\\): payer_filing_limit_days"):
        PayerRules.from_history(history(history_row("A", 0)).drop("payer_filing_limit_days"))


def test_setting_names_the_override_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(PAYER_RULES_SETTING, raising=False)
    assert payer_rules_file() is None
    monkeypatch.setenv(PAYER_RULES_SETTING, str(tmp_path / "rules.csv"))
    assert payer_rules_file() == tmp_path / "rules.csv"


def test_rules_learned_from_a_real_modelling_table_drive_the_edits() -> None:
    """Paid -50 encounters and a CARC-29 denial in the history become history-sourced edits."""
    paid_50 = [
        staged.claim_line(f"H{i}", modifier_1="50", patient_key=f"h{i}",
                          service_date=date(2025, 1, 2 + i), submission_date=date(2025, 1, 3 + i))
        for i in range(3)
    ]  # fmt: skip
    late = staged.claim_line(
        "P2", patient_key="q", service_date=date(2025, 1, 1), submission_date=date(2025, 4, 11)
    )
    outcomes = staged.outcomes(
        *[staged.outcome(f"H{i}", adjudication_date=date(2025, 2, 1)) for i in range(3)],
        staged.outcome("P2", status="denied", adjudication_date=date(2025, 5, 1),
                       denial_carcs=["29"], primary_denial_carc="29",
                       denial_category="Past Timely Filing Limits"),
    )  # fmt: skip
    probe = staged.claim_line(
        "Z", patient_key="z", service_date=date(2025, 6, 1), submission_date=date(2025, 6, 20)
    )
    table = build_modelling_table(
        staged.claim_lines(*paid_50, late, probe), outcomes, staged.notes()
    )
    rules = PayerRules.from_history(table)
    learned = by_payer(rules)["PAYER_A"]
    assert (learned["bilateral_convention"], learned["filing_limit_days"]) == ("modifier_50", 99)

    request = [
        staged.claim_line("U", modifier_1=None, units=2.0, patient_key="u",
                          service_date=date(2025, 7, 1), submission_date=date(2025, 7, 2)),
        staged.claim_line("OLD", patient_key="o",
                          service_date=date(2025, 3, 1), submission_date=date(2025, 6, 9)),
    ]  # fmt: skip
    lines = staged.claim_lines(*request).collect()
    features = build_modelling_table(
        staged.claim_lines(*paid_50, late, probe, *request), outcomes, staged.notes()
    )
    edits = evaluate_edits(
        lines, same_day=lines, features=features, rules=rules, today=date(2025, 7, 2)
    )
    by_line = {r["claim_id"]: r["edits"] for r in edits.iter_rows(named=True)}
    bilateral = [e for e in by_line["U"] if e["code"] == "BILATERAL_CONVENTION"]
    assert [(e["status"], e["source"]) for e in bilateral] == [("failed", "payer rules (history)")]
    filing = [e for e in by_line["OLD"] if e["code"] == "FILING_LIMIT"]
    assert [(e["status"], e["description"]) for e in filing] == [
        (
            "failed",
            "sent 100 days after service; PAYER_A's filing limit is 99 days (1 day past it)",
        )
    ]
