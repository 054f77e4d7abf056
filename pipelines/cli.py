"""The `denial-risk` command: generate synthetic data, run the pipeline, open the dashboards."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipelines.settings import ProductSettings

app = typer.Typer(
    help="Denial-risk pipeline and model for CPT 64520 claim lines.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()

DEFAULT_DEMO_LINES = 100_000
DEFAULT_SEED = 7

LandingOpt = Annotated[
    Path | None, typer.Option(help="Landing folder [env DENIAL_RISK_LANDING, default data/landing]")
]
WarehouseOpt = Annotated[
    Path | None,
    typer.Option(
        help="DuckDB warehouse [env DENIAL_RISK_WAREHOUSE, default data/warehouse.duckdb]"
    ),
]
ExportsOpt = Annotated[
    Path | None, typer.Option(help="Exports folder [env DENIAL_RISK_EXPORTS, default data/exports]")
]


def _settings(
    landing: Path | None, warehouse: Path | None, exports: Path | None
) -> ProductSettings:
    defaults = ProductSettings()
    return ProductSettings(
        landing=landing or defaults.landing,
        warehouse=warehouse or defaults.warehouse,
        exports=exports or defaults.exports,
    )


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Landing folder to write")],
    lines: Annotated[int, typer.Option(help="Total claim lines (all CPT codes)")] = 100_000,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives identical files")
    ] = DEFAULT_SEED,
    truth: Annotated[
        Path | None,
        typer.Option(help="Ground-truth file (.csv or .parquet), outside the landing folder"),
    ] = None,
    format: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    x12: Annotated[
        bool, typer.Option("--x12", help="Write claims as 837P and remits as 835")
    ] = False,
    policy_change: Annotated[
        list[str] | None,
        typer.Option(
            "--policy-change",
            help="Plant an unannounced payer policy change, PAYER_ID:YYYY-MM:KIND with KIND "
            "prior_auth, bilateral_rtlt, frequency or documentation (repeatable)",
        ),
    ] = None,
    acknowledgements: Annotated[
        float,
        typer.Option(
            "--acknowledgements",
            help="Share of claims rejected at the front end first (277CA files in "
            "acknowledgements/; most are resubmitted, a few dropped), e.g. 0.03",
        ),
    ] = 0.0,
) -> None:
    """Generate a SYNTHETIC landing folder (and its ground truth) in the input contract."""
    if lines <= 0:
        raise typer.BadParameter(f"--lines must be a positive number of claim lines, not {lines}")
    if format not in ("csv", "parquet"):
        raise typer.BadParameter("--format must be csv or parquet")
    if not 0.0 <= acknowledgements < 1.0:
        raise typer.BadParameter("--acknowledgements must be a share between 0 and 1")
    summary = _generate(
        out,
        lines,
        seed,
        truth,
        format,  # type: ignore[arg-type]
        x12,
        policy_change or [],
        acknowledgements,
    )
    _print_generation(summary)


def _generate(
    out: Path,
    lines: int,
    seed: int,
    truth: Path | None,
    fmt: Literal["csv", "parquet"],
    x12: bool,
    policy_changes: list[str] | None = None,
    acknowledgements: float = 0.0,
):
    from pipelines.sources.synthetic import generate_world
    from pipelines.sources.synthetic.world import parse_policy_change, payers_with_changes

    try:
        planted = [parse_policy_change(text) for text in policy_changes or []]
        payers_with_changes(planted)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--policy-change") from exc

    if truth is not None and truth.resolve().is_relative_to(out.resolve()):
        raise typer.BadParameter(
            "--truth must not be inside the landing folder: the pipeline would read it"
        )
    with Progress(
        TextColumn("generating synthetic claims"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} lines"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("generate", total=lines)
        return generate_world(
            out,
            lines=lines,
            seed=seed,
            truth=truth,
            fmt=fmt,
            x12=x12,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
            policy_changes=planted,
            acknowledgements=acknowledgements,
        )


def _print_generation(summary) -> None:
    console.print(
        f"[bold]SYNTHETIC[/bold] data written to {summary.out} ({len(summary.files)} files)"
    )
    console.print(
        f"  claim lines {summary.claim_lines:,}; 64520 lines {summary.lines_64520:,} "
        f"({summary.pending_lines_64520:,} pending); 64520 denial rate {summary.denial_rate_64520:.1%}"
    )
    console.print(f"  oracle ROC AUC on pending 64520 lines: {summary.oracle_roc_auc_pending:.4f}")
    if summary.truth:
        console.print(f"  ground truth: {summary.truth}")
    if summary.policy_changes_path:
        console.print(f"  planted policy changes: {summary.policy_changes_path}")
    console.print(f"  took {summary.seconds:.1f} s")


PracticeOpt = Annotated[
    str | None,
    typer.Option(
        help="Run for this practice: its own folders under DENIAL_RISK_PRACTICES_ROOT "
        "(default data/practices); the folder flags are then not used"
    ),
]


RUN_JOBS = ("daily", "retrain", "full")


@app.command()
def run(
    landing: LandingOpt = None,
    warehouse: WarehouseOpt = None,
    exports: ExportsOpt = None,
    practice: PracticeOpt = None,
    job: Annotated[
        str,
        typer.Option(
            help="daily: ingest new files, update features, score; retrain: train and promote, "
            "rescore; full: everything"
        ),
    ] = "full",
    full: Annotated[
        bool,
        typer.Option("--full", help="Rebuild every feature row and rescore every pending line"),
    ] = False,
) -> None:
    """Load the landing folder, validate, build features, train, score, export and report."""
    if job not in RUN_JOBS:
        raise typer.BadParameter(f"--job must be one of {', '.join(RUN_JOBS)}, not {job}")
    tags: dict[str, str] = {}
    if practice is not None:
        settings, tags = _practice_run(practice)
    else:
        settings = _settings(landing, warehouse, exports)
    _require_claim_files(settings.landing)
    report = _run(settings, tags, job=job, full_rebuild=full)
    raise typer.Exit(report.exit_code)


def _practice_run(name: str) -> tuple[ProductSettings, dict[str, str]]:
    from pipelines.defs.operations.jobs import practice_run_tags
    from pipelines.practices import PracticeError, practices_root, require_practice

    try:
        settings = require_practice(practices_root(), name)
    except PracticeError as exc:
        raise typer.BadParameter(str(exc), param_hint="--practice") from exc
    return settings, practice_run_tags(name)


practice_app = typer.Typer(
    help="Practices of a billing service, each with its own files (docs/operations.md).",
    no_args_is_help=True,
)
app.add_typer(practice_app, name="practice")


@practice_app.command("add")
def practice_add(
    name: Annotated[str, typer.Argument(help="Practice name: a-z, 0-9, - and _")],
) -> None:
    """Create a practice's landing folders under DENIAL_RISK_PRACTICES_ROOT (idempotent)."""
    from pipelines.practices import PracticeError, add_practice, practices_root

    try:
        settings = add_practice(practices_root(), name)
    except PracticeError as exc:
        raise typer.BadParameter(str(exc), param_hint="NAME") from exc
    console.print(
        f"practice {name}: drop its files into {settings.landing}/{{claims,remits,remit_adjustments,notes}}"
    )
    console.print(f"  warehouse {settings.warehouse}; exports {settings.exports}")


@practice_app.command("list")
def practice_list() -> None:
    """List the practices under DENIAL_RISK_PRACTICES_ROOT with their landing folders."""
    from pipelines.practices import list_practices, practice_settings, practices_root

    root = practices_root()
    names = list_practices(root)
    if not names:
        console.print(f"no practices under {root} (add one with `denial-risk practice add NAME`)")
        return
    for name in names:
        console.print(f"{name}\t{practice_settings(root, name).landing}", soft_wrap=True)


def _require_claim_files(landing: Path) -> None:
    """Stop with exit code 2, in plain words, before any Dagster or GX work when nothing is there."""
    from pipelines.sources.landing.files import discover

    if not discover(landing, "claims"):
        console.print(
            f"[red]no claim files found in {landing / 'claims'}[/red] "
            f"(landing folder {landing}; see the README's input contract)",
            soft_wrap=True,
        )
        raise typer.Exit(2)


def _run(
    settings: ProductSettings,
    tags: dict[str, str] | None = None,
    job: str = "full",
    full_rebuild: bool = False,
):
    from pipelines.runner import EXIT_RUN_IN_PROGRESS, RunInProgress, run_pipeline

    rebuild = ", full rebuild" if full_rebuild else ""
    console.print(f"Running the {job} job{rebuild} on {settings.landing} → {settings.warehouse}")
    started: dict[str, float] = {}

    def on_step(event: str, step: str) -> None:
        if event == "step_start":
            started[step] = time.perf_counter()
            console.print(f"  [cyan]…[/cyan] {step}")
        elif event == "step_success":
            console.print(
                f"  [green]✓[/green] {step} ({time.perf_counter() - started.get(step, 0):.1f} s)"
            )
        elif event == "step_failure":
            console.print(f"  [red]✗[/red] {step}")
        elif event == "step_skipped":
            console.print(
                f"  [yellow]-[/yellow] {step} skipped (an upstream step or blocking check failed)"
            )

    began = time.perf_counter()
    since = datetime.now(UTC)
    try:
        report = run_pipeline(
            settings, job=job, full_rebuild=full_rebuild, on_step=on_step, tags=tags
        )
    except RunInProgress as busy:
        console.print(f"[yellow]{busy}[/yellow]")
        raise typer.Exit(EXIT_RUN_IN_PROGRESS) from busy
    _print_run_summary(report, settings, time.perf_counter() - began)
    _print_set_aside_files(settings, since)
    return report


def _print_set_aside_files(settings: ProductSettings, since: datetime, limit: int = 20) -> None:
    """Name the files whose rows this run quarantined, with the reasons (from quarantined_rows)."""
    import duckdb

    if not settings.warehouse.exists():
        return
    try:
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            rows = con.execute(
                "SELECT source_file, reason, count(*) FROM quarantined_rows "
                "WHERE quarantined_at >= ? GROUP BY ALL ORDER BY 1, 2",
                [since],
            ).fetchall()
    except duckdb.Error:
        return
    for path, reason, count in rows[:limit]:
        console.print(f"  set aside: {path}: {count:,} {reason}")
    if len(rows) > limit:
        console.print(f"  … and {len(rows) - limit} more (see quarantined_rows)")
    if rows:
        by_reason: dict[str, int] = {}
        for _, reason, count in rows:
            by_reason[reason] = by_reason.get(reason, 0) + count
        top = sorted(by_reason.items(), key=lambda item: (-item[1], item[0]))[:3]
        console.print("  most common: " + ", ".join(f"{r} {n:,} rows" for r, n in top))
        console.print(
            f"  where to look: table quarantined_rows in {settings.warehouse} (source_file, "
            "source_row, column_name, reason); each reason and its fix: README "
            '"Input contract" and docs/x12.md'
        )


def _print_run_summary(report, settings: ProductSettings, seconds: float) -> None:
    from pipelines.runner import EXIT_SET_ASIDE

    table = Table(title="Ingestion", show_lines=False)
    table.add_column("staged", no_wrap=True)
    for column in ("files", "skipped", "rejected", "rows", "loaded", "quarantined"):
        table.add_column(column, justify="right")
    for asset, meta in report.metadata.items():
        if "rows_read" in meta:
            table.add_row(
                asset.removeprefix("staged_"),
                *(
                    f"{int(meta.get(k, 0) or 0):,}"
                    for k in (
                        "files_loaded",
                        "files_skipped",
                        "files_rejected",
                        "rows_read",
                        "rows_loaded",
                        "rows_quarantined",
                    )
                ),
            )
    console.print(table)
    for asset, meta in report.metadata.items():
        if meta.get("rejected_files"):
            console.print(f"[red]Rejected files ({asset}):[/red] {meta['rejected_files']}")
        if meta.get("files_withdrawn"):
            console.print(
                f"[yellow]Withdrawn files ({asset}):[/yellow] {meta['files_withdrawn']} left the "
                "landing folder; their rows were removed (ingest_ledger status withdrawn)"
            )
        if meta.get("rows_set_aside"):
            console.print(
                f"[yellow]Set aside by matching ({asset}):[/yellow] {meta['set_aside']} "
                "(quarantined_rows; matched again on every run)"
            )
    if report.rows_set_aside:
        # Only a completed run scored and exported the rest (a blocking check may have stopped it).
        rest = "the other rows were validated, scored and exported" if report.completed else ""
        console.print(
            f"[yellow]{report.rows_set_aside:,} rows set aside[/yellow] (quarantined with a "
            f"reason){'; ' + rest if rest else ''}"
        )

    _print_remit_kpis(report)

    work = report.daily_work
    console.print(
        f"Work: {work['rows_validated']:,} rows validated, {work['lines_featurized']:,} lines "
        f"featurized, {work['lines_rescored']:,} lines rescored"
    )
    passed = sum(c.passed for c in report.checks)
    console.print(f"Checks: {passed} passed, {len(report.checks) - passed} failed")
    for check in report.checks:
        if not check.passed:
            colour = "red" if check.severity == "ERROR" else "yellow"
            console.print(
                f"  [{colour}]{check.severity} {check.asset}:{check.name}[/{colour}] {check.description}"
            )

    model = report.metadata.get("denial_model", {})
    if model:
        console.print(
            f"Model {model.get('model_version')} (champion {model.get('champion_version')}): "
            f"ROC AUC {_fmt(model.get('roc_auc'))}, ECE {_fmt(model.get('ece'))}"
        )
    drift = report.metadata.get("policy_drift_alerts", {})
    if drift:
        payers = drift.get("active_payers") or "none"
        console.print(
            f"Policy drift: {drift.get('new_alerts', 0)} new alert(s), "
            f"{drift.get('active_alerts', 0)} active (payers: {payers}); adjudications through "
            f"{drift.get('latest_adjudication_month')}, "
            f"{float(drift.get('pending_share_latest_submission_month') or 0):.0%} of the "
            "latest submission month's lines still pending"
        )
    export_path = report.value("risk_score_export", "export_path")
    if export_path:
        rows = report.value("risk_score_export", "dagster/row_count")
        console.print(f"Export: {export_path} ({rows} pending 64520 lines scored)")
    report_path = report.value("static_report", "report_path")
    if report_path:
        console.print(f"Report: {report_path}")
    docs_index = settings.data_docs / "index.html"
    if docs_index.exists():
        console.print(f"Data Docs: {docs_index}")
    for step, message in report.failed_steps:
        console.print(f"[red]Step {step} failed:[/red] {message}")
    status = {
        0: "[green]succeeded[/green]",
        EXIT_SET_ASIDE: "[yellow]succeeded with rows or files set aside[/yellow]",
    }.get(report.exit_code, "[red]needs attention[/red]")
    console.print(f"Run {report.run_id[:8]} {status} in {seconds:.1f} s")


def _print_remit_kpis(report) -> None:
    """The remit-only KPIs: read from remittances even when no claim line loaded (issue 21)."""
    kpis = report.metadata.get("remit_denial_kpis", {})
    if not kpis.get("remit_lines"):
        return
    lines, denied = int(kpis["remit_lines"]), int(kpis.get("denied_lines", 0) or 0)
    console.print(
        f"Remits alone: {lines:,} remit lines, {denied:,} denied ({denied / lines:.1%}); "
        f"{int(kpis.get('lines_without_claim_line', 0) or 0):,} match no loaded claim line; "
        f"top denial CARCs: {kpis.get('carc_pareto') or 'none'} "
        "(tables remit_line_outcomes, remit_denial_kpis)"
    )


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "n/a"


@app.command()
def dashboard(
    warehouse: WarehouseOpt = None,
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8050,
) -> None:
    """Serve the analysts' dashboards from the snapshot the last run published."""
    import duckdb

    from dashboards.app import run as run_dashboard
    from dashboards.auth import CredentialsError, credentials_from_env, require_credentials
    from dashboards.snapshot import snapshot_for_serving

    try:
        require_credentials(host, credentials_from_env())
    except CredentialsError as refused:
        console.print(f"[red]{refused}[/red]")
        raise typer.Exit(2) from refused
    settings = _settings(None, warehouse, None)
    published_before = settings.published_snapshot.exists()
    try:
        snapshot = snapshot_for_serving(settings.published_snapshot, settings.warehouse)
    except duckdb.IOException as locked:
        console.print(
            f"[red]No published snapshot at {settings.published_snapshot.resolve()}[/red], and "
            f"the warehouse {settings.warehouse.resolve()} is held by a running writer "
            f"({type(locked).__name__}); try again when the run has finished.",
            soft_wrap=True,
        )
        raise typer.Exit(2) from locked
    if snapshot is None:
        # Name the files this command looked for, and the run that would publish them.
        console.print(
            f"[red]No published snapshot at {settings.published_snapshot.resolve()}[/red] "
            f"(the run publishes it beside the warehouse {settings.warehouse.resolve()}). "
            f"Run `denial-risk run --warehouse {settings.warehouse}` first.",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    if not published_before:
        console.print(
            f"No run had published a snapshot (a run whose claims all fail their contract stops "
            f"before publishing); published {snapshot} from the warehouse as it stands.",
            soft_wrap=True,
        )
    console.print(f"Dashboards on http://{host}:{port}/ (snapshot {snapshot})")
    run_dashboard(snapshot, host=host, port=port)


@app.command()
def serve(
    warehouse: WarehouseOpt = None,
    host: Annotated[
        str, typer.Option(help="Address to bind (beyond loopback needs a token)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8060,
) -> None:
    """Serve the pre-submission check over HTTP and FHIR (env DENIAL_RISK_API_TOKEN: bearer token)."""
    from service.app import serve as serve_api
    from service.security import InsecureBindError
    from service.settings import ServiceSettings

    settings = _settings(None, warehouse, None)
    try:
        serve_api(
            ServiceSettings(warehouse=settings.warehouse, models_dir=settings.models), host, port
        )
    except InsecureBindError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


@app.command()
def demo(
    lines: Annotated[
        int, typer.Option(help="Claim lines to generate when data/landing is absent")
    ] = DEFAULT_DEMO_LINES,
) -> None:
    """Generate the default synthetic world (when absent), run everything, and say where to look."""
    settings = ProductSettings()
    truth = settings.data_root / "truth" / "truth_64520.csv"
    if not settings.landing.is_dir() or not any(settings.landing.rglob("*.*")):
        console.print(
            f"No landing data in {settings.landing}: generating the default SYNTHETIC world"
        )
        _print_generation(_generate(settings.landing, lines, DEFAULT_SEED, truth, "csv", False))
    report = _run(settings)
    if report.exit_code != 1 and truth.exists():
        _evaluate_against_truth(settings, truth)
    console.print("")
    console.print(f"Exports:    {settings.exports}")
    console.print(f"Report:     {settings.reports / 'report.html'}")
    console.print(f"Data Docs:  {settings.data_docs / 'index.html'}")
    console.print("Dashboards: uv run denial-risk dashboard   (then open http://127.0.0.1:8050/)")
    raise typer.Exit(report.exit_code)


@app.command()
def evaluate(
    truth: Annotated[Path, typer.Option(help="Ground-truth file written by `generate --truth`")],
    warehouse: WarehouseOpt = None,
) -> None:
    """SYNTHETIC data only: compare the champion's scores of pending lines with the true probability."""
    settings = _settings(None, warehouse, None)
    _evaluate_against_truth(settings, truth)


def _evaluate_against_truth(settings: ProductSettings, truth: Path) -> None:
    from pipelines.oracle import evaluate_against_truth

    try:
        table = evaluate_against_truth(settings, truth)
    except (FileNotFoundError, ValueError) as exc:
        # A wrong path or a truth file of another world: say so in one line, no traceback.
        console.print(f"[red]Cannot evaluate against {truth}:[/red] {exc}")
        raise typer.Exit(2) from exc
    view = Table(title="Pending 64520 lines against the ground truth (synthetic)")
    # The columns a terminal can show; every metric is in the oracle_evaluation table.
    shown = ["scorer", "lines", "roc_auc", "expected_roc_auc", "ece_equal_count", "expected_ece"]
    shown += ["mean_probability", "denial_rate"]
    full, table = table, table.select([c for c in shown if c in table.columns])
    for column in table.columns:
        view.add_column(column, justify="left" if column == "scorer" else "right")
    for row in table.iter_rows():
        view.add_row(*(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row))
    console.print(view)
    from models.evaluate import target_results

    targets = Table(title="Model targets on these pending lines (also in the model card)")
    for column in ("target", "measured", "met"):
        targets.add_column(column)
    for t in target_results({r["scorer"]: r for r in full.to_dicts()}):
        targets.add_row(t["target"], t["measured"], "yes" if t["met"] else "NO")
    console.print(targets)


# `denial-risk score` exit codes (README "Check claims before they go out").
SCORE_OK = 0
SCORE_SOME_REJECTED = 1
SCORE_CANNOT_RUN = 2


@app.command()
def score(
    input: Annotated[Path, typer.Option("--input", help="Folder with claims/ and optional notes/")],
    warehouse: WarehouseOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder [default: the exports folder]")
    ] = None,
) -> None:
    """Check unsent claims before they go out: denial risk, reasons and edits (nothing is loaded).

    Exit 0 when every row was scored, 1 when some rows were rejected (the rest are scored and
    written), 2 when nothing could be scored (no claim files, an unreadable file, no champion).
    """
    from models.presubmission import NoChampionError, ScoringContext
    from pipelines.presubmission import RequestFolderError, score_folder

    settings = _settings(None, warehouse, None)
    if not input.is_dir():
        console.print(f"[red]Input folder {input} does not exist.[/red]")
        raise typer.Exit(SCORE_CANNOT_RUN)
    try:
        context = ScoringContext.load(settings.warehouse, settings.models)
        written = score_folder(context, input, out or settings.exports)
    except (NoChampionError, RequestFolderError) as error:
        console.print(f"[red]Cannot score {input}:[/red] {error}")
        raise typer.Exit(SCORE_CANNOT_RUN) from error
    _print_score_summary(written)
    raise typer.Exit(SCORE_SOME_REJECTED if written.rejected_rows else SCORE_OK)


def _print_score_summary(written) -> None:
    import polars as pl

    result = written.result
    lines = result.lines
    console.print(
        f"Scored {lines.height:,} 64520 lines ({result.context_lines.height:,} other lines "
        f"checked as context) with model {result.model_version}"
    )
    console.print(f"  high risk: {written.high_band:,}   rejected rows: {written.rejected_rows:,}")
    if written.rejected_rows:
        reasons = (
            pl.read_csv(written.rejected_path, infer_schema=False)
            .group_by("reason", "field")
            .len()
            .sort("len", descending=True)
            .head(5)
        )
        for row in reasons.iter_rows(named=True):
            console.print(f"    {row['len']:,} × {row['reason']} ({row['field']})")
    top_edits = written.top_edits()
    if top_edits:
        console.print("  top edits: " + ", ".join(f"{code} {n:,}" for code, n in top_edits))
    view = Table(title="Highest expected loss")
    for column in ("claim_id", "line", "probability", "band", "loss $", "edits", "reason"):
        view.add_column(column)
    for row in lines.head(5).iter_rows(named=True):
        view.add_row(
            row["claim_id"],
            str(row["line_number"]),
            f"{row['denial_probability']:.3f}",
            row["risk_band"],
            f"{row['expected_loss_usd']:.2f}",
            row["edit_codes"] or "",
            row["reason_1"] or "",
        )
    if lines.height:
        console.print(view)
    console.print(f"Results: {written.path}")
    console.print(f"Rejected rows: {written.rejected_path}")
    console.print(f"Manifest: {written.manifest_path}")


if __name__ == "__main__":
    app()
