"""Figure functions on tiny frames: titles, axis labels with units, captions, the data drawn."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from dashboards.drift import PSI_MAJOR, feature_psi_by_month, psi
from dashboards.figures import coding, denials, model, work_queue
from dashboards.figures.common import caption_of, is_empty
from dashboards.theme import GREY, OKABE_ITO, category_colour, money, percent, points_change


def tiny_lines() -> pl.DataFrame:
    """Six lines over two months: Jan 1 of 3 denied, Feb 2 of 2 denied (one pending)."""
    return pl.DataFrame(
        {
            "claim_id": ["a", "b", "c", "d", "e", "f"],
            "line_number": [1, 1, 1, 1, 1, 1],
            "payer_id": ["P1", "P1", "P2", "P1", "P2", "P2"],
            "payer_name": [
                "Payer One",
                "Payer One",
                "Payer Two",
                "Payer One",
                "Payer Two",
                "Payer Two",
            ],
            "plan_type": [
                "commercial",
                "commercial",
                "medicare",
                "commercial",
                "medicare",
                "medicare",
            ],
            "place_of_service": ["11", "22", "11", "11", "22", "11"],
            "rendering_npi": ["1", "1", "2", "2", "1", "2"],
            "service_date": [
                date(2025, 1, 5),
                date(2025, 1, 9),
                date(2025, 1, 20),
                date(2025, 2, 3),
                date(2025, 2, 8),
                date(2025, 2, 9),
            ],
            "submission_date": [
                date(2025, 1, 7),
                date(2025, 1, 12),
                date(2025, 1, 22),
                date(2025, 2, 5),
                date(2025, 2, 10),
                date(2025, 2, 11),
            ],
            "adjudication_date": [
                date(2025, 2, 1),
                date(2025, 2, 2),
                date(2025, 2, 4),
                date(2025, 3, 1),
                date(2025, 3, 2),
                None,
            ],
            "service_month": [date(2025, 1, 1)] * 3 + [date(2025, 2, 1)] * 3,
            "charge_amount": [100.0, 300.0, 600.0, 200.0, 200.0, 500.0],
            "expected_payment_usd": [35.0, 105.0, 210.0, 70.0, 70.0, 175.0],
            "status": ["denied", "paid", "paid", "denied", "denied", "pending"],
            "denied": [1, 0, 0, 1, 1, None],
            "primary_denial_carc": ["151", None, None, "16", "96", None],
            "denial_category": [
                "Frequency/Units",
                None,
                None,
                "Additional Information Requested",
                "Non-Covered Service",
                None,
            ],
            "bilateral_coding": [
                "units_gt_1",
                "modifier_50",
                "unilateral",
                "rt_lt_two_lines",
                "unilateral",
                "modifier_50",
            ],
            "payer_bilateral_convention": [
                "modifier_50",
                "modifier_50",
                "rt_lt_two_lines",
                "modifier_50",
                "rt_lt_two_lines",
                "rt_lt_two_lines",
            ],
            "doc_completeness": [0.2, 0.9, 0.95, 0.3, 0.5, 0.8],
        }
    )


def test_monthly_rates_by_count_and_dollars():
    monthly = denials.monthly_denial_rates(tiny_lines())
    jan, feb = monthly.row(0, named=True), monthly.row(1, named=True)
    assert jan["rate_count"] == pytest.approx(1 / 3)
    assert jan["rate_dollars"] == pytest.approx(100 / 1000)
    # The pending February line is outside the denominator (cohort of remitted lines).
    assert feb["lines"] == 2 and feb["rate_count"] == pytest.approx(1.0)
    assert feb["share_adjudicated"] == pytest.approx(2 / 3)


def hfma_lines() -> pl.DataFrame:
    """Ten lines submitted Jan-Apr, two denied in April; one more remitted on 2 May."""
    submitted = (
        [date(2025, 1, 5)] * 2
        + [date(2025, 2, 5)] * 4
        + [date(2025, 3, 5)] * 3
        + [date(2025, 4, 5)] * 2
    )
    adjudicated = [date(2025, 4, 20), date(2025, 4, 21)] + [None] * 8 + [date(2025, 5, 2)]
    return pl.DataFrame(
        {
            "service_date": [d - timedelta(days=3) for d in submitted],
            "submission_date": submitted,
            "adjudication_date": adjudicated,
            "denied": [1, 1] + [0] * 9,
        }
    )


def test_hfma_variant_divides_by_the_three_previous_months_average():
    hfma = denials.hfma_initial_denial_rate(hfma_lines())
    april = hfma.filter(pl.col("month") == date(2025, 4, 1))
    assert april["avg_submitted_prior_3m"][0] == pytest.approx(3.0)
    assert april["rate_count_hfma"][0] == pytest.approx(2 / 3)
    assert april["denied_in_month"][0] == 2
    # The data end on 2 May: May is in progress and not drawn (it would read 0%).
    assert denials.month_in_progress(hfma_lines()) == date(2025, 5, 1)
    assert hfma["month"].max() == date(2025, 4, 1)
    # Remits that stop mid-month leave that month out even when services run on past it.
    later_service = pl.DataFrame(
        {
            "service_date": [date(2025, 6, 10)],
            "submission_date": [None],
            "adjudication_date": [None],
            "denied": [None],
        },
        schema=hfma_lines().schema,
    )
    lines = pl.concat([hfma_lines(), later_service])
    assert denials.month_in_progress(lines) == date(2025, 6, 1)
    assert denials.hfma_initial_denial_rate(lines)["month"].max() == date(2025, 4, 1)


def test_hfma_variant_follows_the_window_not_a_service_date_cut():
    lines = hfma_lines()
    assert denials.hfma_initial_denial_rate(lines, date(2025, 5, 1), None).height == 0
    assert denials.hfma_initial_denial_rate(lines, date(2025, 4, 1), date(2025, 4, 30)).height == 1
    # Cutting the lines by service date removes the submissions of the months before the
    # window, so the denominator shrinks or vanishes (the bug that drew 600%): the page passes
    # uncut lines and the window.
    cut = lines.filter(pl.col("service_date") >= date(2025, 3, 1))
    assert denials.hfma_initial_denial_rate(cut).height == 0
    right = denials.hfma_initial_denial_rate(lines, date(2025, 3, 1))["rate_count_hfma"][0]
    assert right == pytest.approx(2 / 3)
    full = lines.with_columns(
        pl.col("service_date").dt.truncate("1mo").alias("service_month"),
        pl.lit(100.0).alias("charge_amount"),
    )
    fig = denials.denial_rate_by_month_figure(
        full.filter(pl.col("service_date") >= date(2025, 3, 1)), full, date(2025, 3, 1), None
    )
    hfma_trace = [t for t in fig.data if t.name.startswith("HFMA")][0]
    assert list(hfma_trace.y) == pytest.approx([2 / 3])
    assert "denied in the month" in hfma_trace.hovertemplate


def test_month_in_progress_is_marked_on_the_monthly_figure():
    adjudication = pl.col("adjudication_date")
    lines = tiny_lines().with_columns(adjudication.clip(upper_bound=date(2025, 2, 22)))
    assert denials.month_in_progress(lines) == date(2025, 2, 1)
    fig = denials.denial_rate_by_month_figure(lines)
    assert [a.text for a in fig.layout.annotations] == [denials.INCOMPLETE_MONTH_LABEL]
    notes = [row[3] for row in fig.data[0].customdata]
    assert notes[0] == "" and denials.INCOMPLETE_MONTH_LABEL in notes[1]
    # Data that end on a month's last day leave no month in progress.
    complete = tiny_lines().with_columns(adjudication.clip(upper_bound=date(2025, 2, 28)))
    assert denials.month_in_progress(complete) is None
    assert not denials.denial_rate_by_month_figure(complete).layout.annotations


def test_denial_rate_by_month_figure_has_title_axes_caption_and_data():
    fig = denials.denial_rate_by_month_figure(tiny_lines())
    assert fig.layout.title.text == "Initial denial rate of 64520 lines by service month"
    assert fig.layout.xaxis.title.text == "Service month"
    assert "%" in fig.layout.yaxis.title.text and fig.layout.yaxis.tickformat == ".1%"
    assert list(fig.data[0].y) == pytest.approx([1 / 3, 1.0])
    assert list(fig.data[1].y) == pytest.approx([0.1, 400 / 400])
    assert all(trace.hovertemplate for trace in fig.data)
    assert caption_of(fig).startswith("Share of each service month")


@pytest.mark.parametrize("dimension", list(denials.DIMENSIONS))
def test_denial_rate_by_dimension(dimension):
    fig = denials.denial_rate_by_dimension_figure(tiny_lines(), dimension)
    assert denials.DIMENSIONS[dimension].lower() in fig.layout.title.text.lower()
    assert fig.layout.yaxis.title.text == denials.DIMENSIONS[dimension]
    assert (
        sum(len(t.y) for t in fig.data)
        == 2 * tiny_lines().filter(pl.col("denied").is_not_null())[dimension].n_unique()
    )


def test_payer_rates():
    fig = denials.denial_rate_by_dimension_figure(tiny_lines(), "payer_name")
    by_count = dict(zip(fig.data[0].y, fig.data[0].x, strict=True))
    assert by_count == pytest.approx({"Payer One": 2 / 3, "Payer Two": 1 / 2})


def test_carc_pareto_uses_categories_and_descriptions():
    frame = denials.carc_pareto(tiny_lines())
    assert frame["lines_denied"].sum() == 3
    assert frame["cumulative_share"][-1] == pytest.approx(1.0)
    carcs = " ".join(frame["carcs"].to_list())
    assert "CARC 151" in carcs and "Payment adjusted" in carcs
    fig = denials.carc_pareto_figure(tiny_lines())
    assert fig.layout.yaxis2.title.text.startswith("Cumulative share")


def test_dollars_denied_stacks_categories():
    fig = denials.dollars_denied_figure(tiny_lines())
    assert sum(sum(t.y) for t in fig.data) == pytest.approx(500.0)
    assert fig.layout.yaxis.tickformat == "$,.0f"
    assert {t.marker.color for t in fig.data} <= set(OKABE_ITO)


def test_kpi_tiles_month_over_month():
    tiles = denials.kpi_tiles(tiny_lines())
    assert tiles[0]["label"].endswith("(Feb 2025)")
    assert tiles[0]["value"] == "100.0%"
    assert tiles[0]["change"] == "+66.7 pp vs previous month"
    assert tiles[2]["value"] == "$400"


def test_empty_inputs_give_empty_states():
    none_remitted = tiny_lines().with_columns(pl.lit(None, pl.Int64).alias("denied"))
    for fig in (
        denials.denial_rate_by_month_figure(none_remitted),
        denials.carc_pareto_figure(none_remitted),
        denials.kpi_indicator_figure(none_remitted),
        model.roc_figure(None),
        model.realized_performance_figure(None),
        model.drift_figure(None, None),
        model.oracle_figure(None),
        coding.bilateral_by_payer_figure(none_remitted),
    ):
        assert is_empty(fig)
        assert fig.layout.title.text and caption_of(fig)


def test_bilateral_by_payer():
    frame = coding.bilateral_by_payer(tiny_lines())
    # Remitted bilateral lines: a (P1, units>1 vs modifier 50: mismatch, denied),
    # b (P1, modifier 50 = convention, paid), d (P1, RT/LT vs modifier 50: mismatch, denied).
    one = frame.filter(pl.col("payer") == "Payer One")
    rates = dict(zip(one["billing"], one["rate_count"], strict=True))
    assert rates == {"does not match": 1.0, "matches the payer's convention": 0.0}
    assert one["payer_label"][0] == "Payer One (pays modifier 50, 1 line)"
    assert frame.filter(pl.col("payer") == "Payer Two").height == 0
    fig = coding.bilateral_by_payer_figure(tiny_lines())
    assert fig.layout.xaxis.tickformat == ".1%"
    assert {t.name for t in fig.data} == {
        "does not match (pattern x)",
        "matches the payer's convention",
    }
    # The payer's own colour, the same as on the Denials page.
    assert {c for t in fig.data for c in t.marker.color} == {category_colour("Payer One")}


def test_doc_completeness_curve_and_figure():
    curve = coding.doc_completeness_curve(tiny_lines())
    assert curve["lines"].sum() == 5
    assert curve.filter(pl.col("bin") == 2)["rate_count"][0] == 1.0
    fig = coding.doc_completeness_figure(tiny_lines())
    assert "completeness" in fig.layout.xaxis.title.text


def test_fixable_errors_exclude_non_covered():
    frame = coding.fixable_errors(tiny_lines())
    assert set(frame["carc"]) == {"151", "16"}
    assert frame["charges_denied"].sum() == pytest.approx(300.0)
    fig = coding.fixable_errors_figure(tiny_lines())
    assert fig.layout.xaxis.title.text.endswith("(USD)")


def predictions() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "denied": [0, 0, 0, 1, 0, 1, 1, 0, 1, 1],
            "p_model": [0.05, 0.1, 0.2, 0.7, 0.15, 0.8, 0.6, 0.3, 0.9, 0.55],
            "p_logreg": [0.2, 0.1, 0.4, 0.5, 0.3, 0.6, 0.2, 0.5, 0.7, 0.4],
            "p_scrubber": [0.1] * 5 + [0.5] * 5,
            "expected_payment_usd": [100.0] * 10,
            "service_month": [date(2025, 7, 1)] * 10,
        }
    )


def test_model_metrics_and_curves():
    metrics = model.discrimination_metrics(predictions())
    assert metrics.filter(pl.col("scorer") == "p_model")["roc_auc"][0] == pytest.approx(1.0)
    roc = model.roc_figure(predictions())
    assert "AUC 1.000" in roc.data[0].name
    assert roc.layout.xaxis.title.text.startswith("False-positive rate")
    pr = model.pr_figure(predictions())
    assert "denial rate 50.0%" in pr.data[-1].name


def test_oracle_shown_when_present():
    oracle = pl.DataFrame(
        {"scorer": ["model", "oracle"], "metric": ["roc_auc", "roc_auc"], "value": [0.8, 0.85]}
    )
    roc = model.roc_figure(predictions(), oracle)
    assert "0.850" in roc.layout.annotations[0].text
    wide = pl.DataFrame(
        {"model": ["lightgbm", "oracle"], "roc_auc": [0.8, 0.85], "pr_auc": [0.5, 0.6]}
    )
    long = model.oracle_metrics(wide)
    assert long.height == 4 and set(long["metric"]) == {"roc_auc", "pr_auc"}


def test_oracle_figure_keeps_higher_and_lower_is_better_apart():
    oracle = pl.DataFrame(
        {
            "scorer": ["model", "oracle"] * 2,
            "metric": ["roc_auc", "roc_auc", "brier", "brier"],
            "value": [0.8, 0.85, 0.15, 0.13],
        }
    )
    fig = model.oracle_figure(oracle)
    assert "synthetic worlds only" in fig.layout.title.text
    axes = {t.name: t.yaxis for t in fig.data}
    assert axes["roc_auc (higher is better)"] != axes["brier (lower is better)"]
    assert fig.layout.yaxis.title.text == "Metric value (higher is better)"
    assert fig.layout.yaxis2.title.text == "Metric value (lower is better)"
    assert caption_of(fig).startswith("Synthetic worlds only")
    only_higher = model.oracle_figure(oracle.filter(pl.col("metric") == "roc_auc"))
    assert {t.yaxis for t in only_higher.data} == {None}


def test_calibration_lift_and_scores():
    table = model.calibration_table(predictions(), bins=2)
    assert table["observed"].to_list() == pytest.approx([0.0, 1.0])
    assert table["predicted"][0] == pytest.approx(0.16)
    lift = model.lift_table(predictions(), bins=2)
    assert lift["capture_denials"].to_list() == pytest.approx([1.0, 1.0])
    assert lift["lift"][0] == pytest.approx(2.0)
    assert model.lift_capture_figure(predictions()).layout.yaxis.title.text.startswith(
        "Share of denials"
    )
    dist = model.score_distribution_figure(predictions())
    assert len(dist.data) == 2 and dist.data[1].name == "denied (5 lines)"


def test_realized_performance():
    realized = pl.DataFrame(
        {
            "scored_at": [f"2025-0{m}-10 06:00:00" for m in (1, 1, 1, 2, 2, 2)],
            "denial_probability": [0.1, 0.8, 0.2, 0.3, 0.9, 0.1],
            "denied": [0, 1, 0, 0, 1, 1],
        }
    ).with_columns(pl.col("scored_at").str.to_datetime())
    table = model.realized_by_month(realized)
    assert table["observed"].to_list() == pytest.approx([1 / 3, 2 / 3])
    assert table["roc_auc"][0] == pytest.approx(1.0)
    fig = model.realized_performance_figure(realized)
    assert fig.layout.yaxis2.title.text.startswith("ROC AUC")


def test_psi_detects_a_shift():
    assert psi(pl.Series([0.5, 0.5]).to_numpy(), pl.Series([0.5, 0.5]).to_numpy()) == 0
    months = [date(2025, m, 1) for m in range(1, 6)]
    rows = []
    for m in months:
        shift = 0.5 if m == months[-1] else 0.0
        rows += [
            {
                "service_month": m,
                "x": (i / 200) + shift,
                "cat": "a" if i % 2 or m != months[-1] else "b",
            }
            for i in range(200)
        ]
    frame = pl.DataFrame(rows)
    drift = feature_psi_by_month(frame, ["x", "cat"])
    last = drift.filter(pl.col("month") == months[-1])
    assert last.filter(pl.col("feature") == "x")["psi"][0] > PSI_MAJOR
    assert last.filter(pl.col("feature") == "x")["alert"][0] == "major"
    assert drift.filter(pl.col("month") == months[1], pl.col("feature") == "x")["psi"][0] < 0.05
    alerts = model.drift_alerts(drift, None)
    assert "x" in alerts["feature"].to_list()
    fig = model.drift_figure(drift, None)
    assert fig.data[0].type == "heatmap" and fig.layout.yaxis.title.text == "Feature or score"


def test_work_queue_filters_and_ranks():
    queue = pl.DataFrame(
        {
            "claim_id": ["a", "b", "c"],
            "line_number": [1, 1, 2],
            "payer_id": ["P1", "P2", "P1"],
            "rendering_npi": ["1", "1", "2"],
            "service_date": [date(2026, 1, 2), date(2026, 1, 3), date(2026, 1, 9)],
            "charge_amount": [500.0, 800.0, 300.0],
            "denial_probability": [0.2, 0.6, 0.9],
            "risk_band": ["medium", "high", "high"],
            "expected_loss_usd": [35.0, 168.0, 94.5],
            "reason_1": ["DOCUMENTATION", "BILATERAL_UNITS", "BILATERAL_UNITS"],
            "reasons": ["r", "r", "r"],
            "recommended_action": ["x", "y", "z"],
        }
    )
    ranked = work_queue.filter_queue(queue)
    assert ranked["claim_id"].to_list() == ["b", "c", "a"]
    assert work_queue.filter_queue(queue, payers=["P1"], bands=["high"])["claim_id"].to_list() == [
        "c"
    ]
    assert work_queue.filter_queue(queue, end=date(2026, 1, 2))["claim_id"].to_list() == ["a"]
    assert work_queue.queue_totals(ranked)["Expected loss (USD)"] == "$298"
    fig = work_queue.expected_loss_by_reason_figure(ranked)
    assert fig.layout.xaxis.tickformat == "$,.0f"
    assert sum(sum(t.x) for t in fig.data) == pytest.approx(297.5)


def test_work_queue_urgency_search_cents_and_actions():
    from models.reasons import NO_ACTION, REASONS

    queue = pl.DataFrame(
        {
            "claim_id": ["C000101", "C000102", "C000203"],
            "line_number": [1, 1, 2],
            "payer_id": ["P1", "P2", "P1"],
            "service_date": [date(2026, 1, 2)] * 3,
            "charge_amount": [500.004, 800.0, 300.0],
            "risk_band": ["low", "high", "medium"],
            "expected_loss_usd": [100.004, 150.0, 120.0],
            "days_to_filing_limit": [0, None, 30],
            "reason_1": ["BIL01", "NCCI01", None],
            "reason_2": ["NCCI01", None, None],
            "reason_3": [None, None, None],
            "recommended_action": [NO_ACTION, "specific fix", NO_ACTION],
        }
    )
    ranked = work_queue.filter_queue(queue)
    # 0 days left doubles $100 (200); 30 of the 60-day window left: 120 × 1.5 = 180; unknown: ×1.
    assert ranked["claim_id"].to_list() == ["C000101", "C000203", "C000102"]
    assert ranked["urgency"].to_list() == pytest.approx([2.0, 1.5, 1.0])
    assert ranked["priority"].to_list() == pytest.approx([200.0, 180.0, 150.0])
    assert ranked["expected_loss_usd"][0] == 100.0 and ranked["charge_amount"][0] == 500.0
    first = ranked.row(0, named=True)
    # A low-band line with a fixable defect still gets its fix; each reason has its own action.
    assert first["action_1"] == REASONS["BILATERAL_UNITS"].fix
    assert first["action_2"] == REASONS["NCCI_BUNDLING"].fix
    assert ranked.filter(pl.col("claim_id") == "C000102")["action_1"][0] == "specific fix"
    assert work_queue.filter_queue(queue, claim_search=" c000203 ")["claim_id"].to_list() == [
        "C000203"
    ]
    assert work_queue.filter_queue(queue, claim_search="C0001")["claim_id"].n_unique() == 2


def test_formats():
    assert money(1234.5) == "$1,234" or money(1234.5) == "$1,235"
    assert money(-20.0, 2) == "-$20.00"
    assert percent(0.1234) == "12.3%"
    assert points_change(0.12, 0.10) == "+2.0 pp vs previous month"


def test_small_segments_are_greyed_and_colours_follow_the_value():
    lines = tiny_lines()
    fig = denials.denial_rate_by_dimension_figure(lines, "payer_name")
    # Every payer of tiny_lines has fewer than MIN_LINES_FOR_RATE remitted lines: all grey.
    assert set(fig.data[0].marker.color) == {GREY}
    assert "too few" in fig.data[0].customdata[0][2]
    big = pl.concat([lines] * denials.MIN_LINES_FOR_RATE)
    colours = dict(
        zip(
            denials.denial_rate_by_dimension_figure(big, "payer_name").data[0].y,
            denials.denial_rate_by_dimension_figure(big, "payer_name").data[0].marker.color,
            strict=True,
        )
    )
    assert colours == {
        "Payer One": category_colour("Payer One"),
        "Payer Two": category_colour("Payer Two"),
    }
    # Filtering one payer out leaves the other's colour unchanged.
    only_two = big.filter(pl.col("payer_name") == "Payer Two")
    fig_two = denials.denial_rate_by_dimension_figure(only_two, "payer_name")
    assert list(fig_two.data[0].marker.color) == [category_colour("Payer Two")]
    assert category_colour("Bundling") == category_colour("Bundling") != GREY


def test_kpi_indicator_delta_is_in_points():
    fig = denials.kpi_indicator_figure(tiny_lines())
    rate = fig.data[0]
    # Jan 1/3 → Feb 2/2: +66.7 points, drawn as numbers ×100 with a " pp" suffix.
    assert rate.value == pytest.approx(100.0)
    assert rate.delta.reference == pytest.approx(100 / 3)
    assert rate.delta.suffix == " pp" and rate.number.suffix == "%"
    assert fig.data[2].delta.suffix in ("", None)


def test_carc_97_is_bundling():
    from dashboards.figures.common import carc_category_map

    assert carc_category_map()["97"] == "Bundling"
    lines = tiny_lines().with_columns(
        pl.lit("97").alias("primary_denial_carc"), pl.lit(None, pl.String).alias("denial_category")
    )
    assert denials.carc_pareto(lines)["category"].to_list() == ["Bundling"]


def test_codes_in_words():
    from dashboards.figures.common import code_in_words

    assert code_in_words("place_of_service", "11") == "11 · Office"
    assert code_in_words("plan_type", "medicare") == "Medicare (fee for service)"
    assert code_in_words("carc", "97").startswith("CARC 97: The benefit for this service")
    assert (
        code_in_words("rarc", "M2")
        == "RARC M2: Not paid separately when the patient is an inpatient."
    )
    assert code_in_words("place_of_service", "ZZ") == "ZZ"
    fig = denials.denial_rate_by_dimension_figure(tiny_lines(), "place_of_service")
    assert set(fig.data[0].y) == {"11 · Office", "22 · On Campus-Outpatient Hospital"}
    lines = tiny_lines().with_columns(pl.lit("M2").alias("primary_rarc"))
    assert "most often with RARC M2: Not paid separately" in " ".join(
        denials.carc_pareto(lines)["carcs"].to_list()
    )
