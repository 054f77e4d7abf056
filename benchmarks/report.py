"""Summaries, target verdicts and the markdown table of a benchmark run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from benchmarks.ours import REPORTED

SECTION = "## Benchmark (issue 10)"
PEER_OF = {
    "ingest": "ingest",
    "validate": "validate",
    "features": "features",
    "train": "train",
    "score_explain": "score_explain",
    "export": "export",
}
LABELS = {
    "ingest": "ingest",
    "validate": "validate (GX checks)",
    "features": "features",
    "train": "train",
    "score_explain": "score + explain",
    "export": "export",
    "report": "report (snapshot + HTML)",
}


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _group(stages: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, m in stages.items():
        group = m.get("group", name)
        g = out.setdefault(
            group,
            {
                "wall_s": 0.0,
                "cpu_s": 0.0,
                "work_s": 0.0,
                "peak_rss_mb": 0.0,
                "ok": True,
                "parts": [],
            },
        )
        g["wall_s"] += m["wall_s"]
        g["cpu_s"] += m["cpu_s"]
        g["work_s"] += (m.get("info") or {}).get("pipeline_s") or m.get("inner_wall_s") or 0.0
        g["peak_rss_mb"] = max(g["peak_rss_mb"], m["tree_peak_rss_mb"])
        g["ok"] = g["ok"] and m["ok"]
        g["parts"].append(name)
        g["load"] = max(g.get("load", 0.0), m["load_before"][0], m["load_after"][0])
    return out


def summarise_size(result: dict[str, Any]) -> dict[str, Any]:
    """Per reported stage (ours, peer), floors, ratios and rates for one size."""
    ours = _group(result.get("ours", {}).get("stages", {}))
    peer = _group(result.get("peer", {}).get("stages", {}) or {})
    floors = result.get("floors", {})
    ingest_floor = floors.get("ingest", {})
    model = (floors.get("model") or {}).get("info", {})
    floor_ingest_s = (ingest_floor.get("info") or {}).get("seconds")
    e2e = result.get("ours", {}).get("e2e")
    peer_e2e = (result.get("peer") or {}).get("e2e")
    summary: dict[str, Any] = {
        "ours": ours,
        "peer": peer,
        "floors": {
            "ingest_s": floor_ingest_s,
            "ingest_process_wall_s": ingest_floor.get("wall_s"),
            "train_s": model.get("floor_train_s"),
            "score_explain_pending_s": model.get("floor_score_explain_pending_s"),
            "predict_pending_s": model.get("floor_predict_pending_s"),
            "pred_contrib_pending_s": model.get("floor_pred_contrib_pending_s"),
        },
        "rates": {
            "score_lines_per_s": model.get("score_lines_per_s"),
            "booster_predict_lines_per_s": model.get("booster_predict_lines_per_s"),
            "pred_contrib_lines_per_s": model.get("pred_contrib_lines_per_s"),
            "score_lines_per_cpu_s": model.get("score_lines_per_cpu_s"),
            "booster_predict_lines_per_cpu_s": model.get("booster_predict_lines_per_cpu_s"),
            "pred_contrib_lines_per_cpu_s": model.get("pred_contrib_lines_per_cpu_s"),
            "rate_rows": model.get("rate_rows"),
            "pred_contrib_rows": model.get("pred_contrib_rows"),
        },
        "pending_lines": model.get("pending_rows"),
        "x_floor": {
            "ingest_work": _ratio(ours.get("ingest", {}).get("work_s"), floor_ingest_s),
            "ingest_process": _ratio(
                ours.get("ingest", {}).get("wall_s"), ingest_floor.get("wall_s")
            ),
            "train_work": _ratio(ours.get("train", {}).get("work_s"), model.get("floor_train_s")),
            "score_explain_work": _ratio(
                ours.get("score_explain", {}).get("work_s"),
                model.get("floor_score_explain_pending_s"),
            ),
        },
        "ours_sum_of_stages_s": sum(g["wall_s"] for g in ours.values()),
        "peer_sum_of_stages_s": sum(g["wall_s"] for g in peer.values()) if peer else None,
    }
    summary["peer_over_ours"] = {
        stage: _ratio(peer[PEER_OF[stage]]["wall_s"], ours[stage]["wall_s"])
        for stage in PEER_OF
        if stage in ours and PEER_OF[stage] in peer
    }
    if e2e:
        summary["e2e"] = {
            "ours_wall_s": e2e["wall_s"],
            "ours_cpu_s": e2e["cpu_s"],
            "ours_peak_rss_mb": e2e["tree_peak_rss_mb"],
            "ours_ok": e2e["ok"],
        }
        if peer_e2e:
            summary["e2e"].update(
                peer_wall_s=peer_e2e["wall_s"],
                peer_cpu_s=peer_e2e["cpu_s"],
                peer_peak_rss_mb=peer_e2e["tree_peak_rss_mb"],
                peer_ok=peer_e2e["ok"],
                peer_over_ours=_ratio(peer_e2e["wall_s"], e2e["wall_s"]),
            )
    return summary


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets with the measured value and met / missed / not measured."""
    sizes = results["sizes"]

    def s(size: str) -> dict[str, Any]:
        return sizes.get(size, {}).get("summary", {})

    def verdict(ok: bool | None) -> str:
        return "not measured" if ok is None else ("met" if ok else "MISSED")

    rows = []
    e1 = s("1m").get("e2e", {})
    e10 = s("10m").get("e2e", {})
    t = e1.get("ours_wall_s")
    rows.append(
        {
            "target": "end to end at 1M <= 90 s",
            "value": t,
            "unit": f"s wall ({_f(e1.get('ours_cpu_s'))} s CPU)",
            "verdict": verdict(None if t is None else t <= 90),
        }
    )
    t10 = e10.get("ours_wall_s")
    ratio = _ratio(t10, t)
    rows.append(
        {
            "target": "end to end at 10M <= 10x the 1M time",
            "value": ratio,
            "unit": "x",
            "verdict": verdict(None if ratio is None else ratio <= 10),
        }
    )
    rss10 = e10.get("ours_peak_rss_mb")
    rows.append(
        {
            "target": "peak RSS at 10M <= 6 GB",
            "value": rss10,
            "unit": "MB",
            "verdict": verdict(None if rss10 is None else rss10 <= 6 * 1024),
        }
    )
    for size in sizes:
        x = s(size).get("x_floor", {}).get("ingest_work")
        rows.append(
            {
                "target": f"ingest within 1.5x of bare DuckDB read ({size})",
                "value": x,
                "unit": "x",
                "verdict": verdict(None if x is None else x <= 1.5),
            }
        )
    for size in sizes:
        r = s(size).get("rates", {})
        v, c = r.get("score_lines_per_s"), r.get("score_lines_per_cpu_s")
        rows.append(
            {
                "target": f"scoring >= 500,000 lines/s ({size})",
                "value": v,
                "unit": f"lines/s wall ({_f(c, 0)} per CPU-s)",
                "verdict": verdict(None if v is None else v >= 500_000),
            }
        )
        v, c = r.get("pred_contrib_lines_per_s"), r.get("pred_contrib_lines_per_cpu_s")
        rows.append(
            {
                "target": f"pred_contrib >= 10,000 lines/s ({size})",
                "value": v,
                "unit": f"lines/s wall ({_f(c, 0)} per CPU-s)",
                "verdict": verdict(None if v is None else v >= 10_000),
            }
        )
    po = e1.get("peer_over_ours")
    rows.append(
        {
            "target": "end to end >= 5x faster than the peer at 1M",
            "value": po,
            "unit": "x",
            "verdict": verdict(None if po is None else po >= 5),
        }
    )
    pr, orss = e1.get("peer_peak_rss_mb"), e1.get("ours_peak_rss_mb")
    rows.append(
        {
            "target": "less peak memory than the peer at 1M",
            "value": _ratio(pr, orss),
            "unit": "peer/ours",
            "verdict": verdict(None if pr is None or orss is None else orss < pr),
        }
    )
    return rows


def _f(v: Any, digits: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float | int):
        if abs(v) >= 10_000:
            return f"{v:,.0f}"
        return f"{v:.{digits}f}"
    return str(v)


def _gb(mb: float | None) -> str:
    return "–" if mb is None else f"{mb / 1024:.2f}"


def size_table(size: str, res: dict[str, Any]) -> list[str]:
    """Markdown rows of one size: stages, floors, peer and end to end."""
    s = res["summary"]
    ours, peer, floors = s["ours"], s["peer"], s["floors"]
    floor_of = {
        "ingest": (floors.get("ingest_s"), s["x_floor"].get("ingest_work")),
        "train": (floors.get("train_s"), s["x_floor"].get("train_work")),
        "score_explain": (
            floors.get("score_explain_pending_s"),
            s["x_floor"].get("score_explain_work"),
        ),
    }
    lines = [
        f"### {size} claim lines ({res['lines']:,}; {_f(s.get('pending_lines'), 0)} pending 64520 lines scored)",
        "",
        "| stage | ours wall s | ours work s | ours CPU s | ours peak RSS GB | floor s | ours / floor | peer wall s | peer peak RSS GB | peer / ours | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for stage in REPORTED:
        o = ours.get(stage)
        if o is None:
            continue
        fl, x = floor_of.get(stage, (None, None))
        p = peer.get(PEER_OF.get(stage, ""), {})
        ratio = s["peer_over_ours"].get(stage)
        flag = "" if o["ok"] else " (FAILED)"
        lines.append(
            f"| {LABELS[stage]}{flag} | {_f(o['wall_s'])} | {_f(o['work_s'])} | {_f(o['cpu_s'])} | "
            f"{_gb(o['peak_rss_mb'])} | {_f(fl, 2)} | {_f(x, 2)} | {_f(p.get('wall_s'))} | "
            f"{_gb(p.get('peak_rss_mb'))} | {_f(ratio, 2)} | {_f(o.get('load'), 1)} |"
        )
    lines.append(
        f"| sum of stage processes | {_f(s['ours_sum_of_stages_s'])} | | | | | | "
        f"{_f(s['peer_sum_of_stages_s'])} | | {_f(_ratio(s['peer_sum_of_stages_s'], s['ours_sum_of_stages_s']), 2)} | |"
    )
    e = s.get("e2e")
    if e:
        load = res["ours"]["e2e"]["load_before"][0]
        lines.append(
            f"| **end to end, one process** | **{_f(e['ours_wall_s'])}** | | {_f(e['ours_cpu_s'])} | "
            f"**{_gb(e['ours_peak_rss_mb'])}** | | | **{_f(e.get('peer_wall_s'))}** | "
            f"**{_gb(e.get('peer_peak_rss_mb'))}** | **{_f(e.get('peer_over_ours'), 2)}** | {_f(load, 1)} |"
        )
    peer_note = res.get("peer", {}).get("skipped")
    if peer_note:
        lines.append("")
        lines.append(f"Peer at this size: {peer_note}.")
    r = s["rates"]
    oh = res.get("overhead", {})
    lines += [
        "",
        f"Production model rates (whole modelling table, {_f(r.get('rate_rows'), 0)} lines): "
        f"scoring {_f(r.get('score_lines_per_s'), 0)} lines/s wall, "
        f"{_f(r.get('score_lines_per_cpu_s'), 0)} per CPU-second (`models.scoring.score`, "
        f"feature matrix and calibration included; bare booster predict "
        f"{_f(r.get('booster_predict_lines_per_s'), 0)} lines/s wall, "
        f"{_f(r.get('booster_predict_lines_per_cpu_s'), 0)} per CPU-second); `pred_contrib` "
        f"{_f(r.get('pred_contrib_lines_per_s'), 0)} lines/s wall, "
        f"{_f(r.get('pred_contrib_lines_per_cpu_s'), 0)} per CPU-second "
        f"(`models.explain.contributions` on {_f(r.get('pred_contrib_rows'), 0)} lines; the "
        "model trains and predicts with one thread, so lines per CPU-second is close to what an "
        "idle machine gives). "
        f"Fixed cost of every stage process: interpreter {_f(oh.get('interpreter', {}).get('wall_s'))} s, "
        f"import Dagster + load the definitions {_f(oh.get('code_location', {}).get('wall_s'))} s.",
        "",
    ]
    steps = ((res.get("ours", {}).get("e2e") or {}).get("info") or {}).get("step_s") or {}
    if steps:
        top = sorted(steps.items(), key=lambda kv: -kv[1])[:10]
        lines += [
            "Where the end-to-end time goes (Dagster step, seconds): "
            + ", ".join(f"`{k}` {v:.1f}" for k, v in top)
            + ".",
            "",
        ]
    ours_auc = ((res.get("ours", {}).get("e2e") or {}).get("info") or {}).get("roc_auc")
    peer_auc = (((res.get("peer") or {}).get("e2e") or {}).get("info") or {}).get("roc_auc_valid")
    if ours_auc is not None or peer_auc is not None:
        lines += [
            f"Model quality on the same out-of-time validation months (ROC AUC, end-to-end runs): "
            f"ours {_f(ours_auc, 3)} (LightGBM, calibrated out of fold), peer {_f(peer_auc, 3)} "
            "(HistGradientBoosting, isotonic fitted on those months).",
            "",
        ]
    agreement = (res.get("peer") or {}).get("feature_agreement")
    if isinstance(agreement, dict):
        shares = agreement["share_equal"]
        exact = sum(1 for v in shares.values() if v >= 0.999)
        worst = sorted(shares.items(), key=lambda kv: kv[1])[:3]
        lines += [
            f"Peer features: {exact} of {len(shares)} shared features equal ours on >= 99.9% of "
            f"the {agreement['lines_joined']:,} lines (lowest: "
            + ", ".join(f"`{k}` {v:.1%}" for k, v in worst)
            + f"); {len(agreement['features_only_ours'])} newer catalog features are not in the "
            "peer (" + ", ".join(f"`{n}`" for n in agreement["features_only_ours"]) + "), so the "
            "peer's feature time is a lower bound.",
            "",
        ]
    return lines


def write_markdown(results: dict[str, Any], json_path: Path | str) -> str:
    """The section for docs/performance.md."""
    meta = results["meta"]
    m = meta["machine"]
    targets = results.get("targets") or evaluate_targets(results)
    sizes = ",".join(results["sizes"])
    lines = [
        SECTION,
        "",
        f"One run of `{meta['command']}` on {meta['started_at'][:10]} "
        f"({meta['started_at'][11:16]}–{meta.get('finished_at', '')[11:16]} UTC), tree `{meta['git']}`. "
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['mem_total_gb']} GB RAM, Python {m['python']}. "
        f"Raw numbers: `{json_path}`. The load average before each measurement is in the table "
        "(2.0 = both cores busy; the benchmark itself keeps it near 1, more means other jobs ran "
        "beside it, which lengthens wall times far more than CPU time or memory).",
        "",
        "How it is measured (`benchmarks/`): each stage of our pipeline is a separate process running "
        "`pipelines.runner.run_pipeline` with an asset selection of the real Dagster graph "
        "(ingest = reference_tables, staged_claim_lines, staged_remits, staged_notes, line_outcomes; "
        "validate = the asset checks alone, a checks-only selection, so no subtraction is needed; "
        "features = modelling_table; train = denial_model; score + explain = risk_scores; export = "
        "risk_score_export; report = published_snapshot + static_report). *Wall* is the whole "
        "process (interpreter, imports and loading the definitions included); *work* is the "
        "`run_pipeline` call alone. CPU is user + sys from `wait4`; peak RSS is the sampled peak "
        "of the process tree (Chromium for the report PNGs included). *End to end* is one "
        "`run_pipeline` of every unpartitioned asset and check in one process on a fresh warehouse. "
        "Floors in the same run: DuckDB `CREATE TABLE AS SELECT * FROM read_csv(...)` of the same "
        "landing CSVs into a fresh file (ingest); bare `lightgbm.train` with the production "
        "parameters on the finished feature matrix (train); bare `predict` + `pred_contrib` on "
        "the pending lines' matrix (score + explain). The peer (`benchmarks/peer/`) is pandas + "
        "scikit-learn `HistGradientBoostingClassifier`, the same features from the same definitions, "
        "occlusion reasons instead of SHAP, and the same export columns; its stages hand over "
        "parquet files. It has no report stage.",
        "",
    ]
    for size, res in results["sizes"].items():
        lines += size_table(size, res)
    lines += ["### Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    for t in targets:
        lines.append(f"| {t['target']} | {_f(t['value'], 2)} {t['unit']} | {t['verdict']} |")
    findings = Path(str(json_path)).with_suffix(".findings.md")
    findings = (
        findings if findings.is_absolute() else Path(__file__).resolve().parents[1] / findings
    )
    if findings.exists():
        lines += ["", findings.read_text().rstrip("\n")]
    lines += [
        "",
        "Reproduce (the worlds are generated on first use into `benchmarks/cache/`, gitignored; "
        "10M takes ~5 min and 3.6 GB of disk):",
        "",
        "```",
        f"uv run python -m benchmarks.run --sizes {sizes}",
        "uv run pytest tests/benchmarks -q   # harness smoke test, no timing assertions",
        "```",
        "",
    ]
    return "\n".join(lines)


def update_performance_doc(doc: Path, markdown: str) -> None:
    """Replace the section in place (up to the next '## ' heading), or append it at the end."""
    text = doc.read_text() if doc.exists() else "# Performance\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: markdown.rstrip("\n") + "\n\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + markdown.rstrip("\n") + "\n"
    doc.write_text(text.rstrip("\n") + "\n")


def main() -> None:
    """Rewrite the markdown (and docs/performance.md) from a results JSON: `python -m benchmarks.report FILE`."""
    import json
    import sys

    path = Path(sys.argv[1]).resolve()
    results = json.loads(path.read_text())
    for res in results["sizes"].values():
        peer = res.get("peer") or {}
        failed = [m for m in (peer.get("stages") or {}).values() if not m["ok"]]
        guard = next((m["error"] for m in failed if "PeerMemoryGuard" in m["error"]), None)
        if guard is not None:
            # A run that refused the peer for memory: record it as skipped, not as a failure.
            reason = guard.strip().splitlines()[-1].split(": ", 1)[-1]
            res["peer"] = {"skipped": reason}
        res["summary"] = summarise_size(res)
    results["targets"] = evaluate_targets(results)
    repo = Path(__file__).resolve().parents[1]
    markdown = write_markdown(
        results, path.relative_to(repo) if path.is_relative_to(repo) else path
    )
    path.with_suffix(".md").write_text(markdown)
    if "--no-docs" not in sys.argv:
        update_performance_doc(repo / "docs" / "performance.md", markdown)


if __name__ == "__main__":
    main()
