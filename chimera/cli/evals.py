"""``chimera eval``: evaluations of Chimera's own models.

``chimera eval persona-consistency --data FILE [--format dnli|jsonl] [--json] [--out DIR]``
scores labelled (utterance, persona sentence) pairs with the persona-consistency scorer,
prints the metrics and writes a report folder (JSON, Markdown, confusion matrix and
reliability diagram as PNG; default ``evals/reports/<timestamp>/`` under the current
folder). When the data file is the one the model was fitted on (same sha256), the report
says so (``fitted_on_this_data: true`` and the model's ``grouped_cv`` figures, the honest
ones). Exit status: 0 done, 2 bad input (missing file, malformed line, unknown label),
1 internal error.

``chimera eval gate --data FILE.jsonl [--split fit|holdout] [--json] [--out DIR]`` runs
the judge on labelled drafts and reports how its gate routes them (see
``chimera.evals.gate``); the run is kept as JSONL and in PostgreSQL like the others.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from chimera.cli.support import JsonOpt, emit_json, err, execute, fail, out, with_runner

eval_app = typer.Typer(
    help="Evaluations: score Chimera's models on labelled data, write reports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@eval_app.callback()
def _group() -> None:
    """Keeps ``eval`` a group of commands even while it has only one."""


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _table(title: str, columns: tuple[str, ...]) -> Table:
    """A titled table: the first column names things (left), the others are figures (right)."""
    table = Table(title=title, title_justify="left")
    for position, column in enumerate(columns):
        table.add_column(column, justify="right" if position else "left")
    return table


def _print_readable(report: dict[str, Any], folder: Path) -> None:
    table = _table(f"Persona consistency ({report['n']} pairs)", ("metric", "value"))
    table.add_row("3-way accuracy", _fmt(report["accuracy"]))
    table.add_row("macro-F1", _fmt(report["macro_f1"]))
    table.add_row("contradiction AUROC", _fmt(report["contradiction_auroc"]))
    table.add_row("expected calibration error", _fmt(report["ece"]))
    if "agreement_read_as_contradiction_rate" in report:
        table.add_row(
            "agreement read as contradiction", _fmt(report["agreement_read_as_contradiction_rate"])
        )
        table.add_row(
            "agreement flagged by the judge", _fmt(report["agreement_flagged_by_judge_rate"])
        )
    out.print(table)
    labels = _table("Per label", ("label", "precision", "recall", "F1", "support"))
    for name, row in report["per_label"].items():
        labels.add_row(
            name, _fmt(row["precision"]), _fmt(row["recall"]), _fmt(row["f1"]), str(row["support"])
        )
    out.print(labels)
    from chimera.evals.nli_eval import training_data_warning

    warning = training_data_warning(report)
    if warning:
        out.print(f"[bold yellow]{escape(warning)}[/]")
    out.print(f"report: {folder}", highlight=False)


def _score_consistency(
    data: Path | None, pairs: Path | None, fmt: str, out_dir: Path | None
) -> tuple[dict[str, Any], Path]:
    """The DNLI-style evaluation of --data, or the judge-view one of --pairs."""
    if pairs is not None:
        from chimera.evals.persona_pairs import run_pairs

        return run_pairs(pairs, out_dir)
    from chimera.evals.nli_eval import run

    assert data is not None  # the command checked that exactly one was given
    return run(data, fmt, out_dir)


@eval_app.command("persona-consistency")
def persona_consistency(
    data: Annotated[
        Path | None, typer.Option("--data", help="Labelled (utterance, persona) pairs.")
    ] = None,
    pairs: Annotated[
        Path | None,
        typer.Option("--pairs", help="Persona-fact/post pairs (JSONL), scored as the judge does."),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="dnli (utterance</s>persona</s>label) or jsonl.")
    ] = "dnli",
    as_json: JsonOpt = False,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Report folder (default evals/reports/<timestamp>/)."),
    ] = None,
) -> None:
    """Score labelled (utterance, persona) pairs: accuracy, macro-F1, AUROC, calibration;
    with --pairs, also how often an agreement is read as a contradiction."""
    if (data is None) == (pairs is None):
        fail("give exactly one of --data and --pairs")
    report, folder = execute(
        lambda: asyncio.to_thread(_score_consistency, data, pairs, fmt, out_dir)
    )
    if as_json:
        emit_json({**report, "report_dir": str(folder)})
    else:
        _print_readable(report, folder)


def _print_gate(report: dict[str, Any]) -> None:
    table = _table(f"Gate ({report['n']} drafts)", ("metric", "value"))
    for key in (
        "false_publish_rate", "outright_publish_rate", "false_review_rate", "auroc", "ece",
        "p50_seconds", "p95_seconds",
    ):  # fmt: skip
        table.add_row(key, _fmt(report[key]))
    out.print(table)
    per = _table(
        "Per category", ("category", "n", "false publish", "outright publish", "false review")
    )
    for name, m in report["per_category"].items():
        per.add_row(
            escape(name), str(m["n"]), _fmt(m["false_publish_rate"]),
            _fmt(m["outright_publish_rate"]), _fmt(m["false_review_rate"]),
        )  # fmt: skip
    out.print(per)
    for name, m in report.get("per_persona", {}).items():
        out.print(
            f"{escape(name)}: {m['n']} drafts, false publish {_fmt(m['false_publish_rate'])}, "
            f"false review {_fmt(m['false_review_rate'])}, auroc {_fmt(m['auroc'])}",
            highlight=False,
        )
    confusion = report["confusion"]
    for expected, row in confusion.items():
        routes = ", ".join(f"{route} {count}" for route, count in row.items())
        out.print(f"expected {expected}: {routes}", highlight=False)


@eval_app.command("gate")
def gate_command(
    data: Annotated[Path, typer.Option("--data", help="Labelled drafts, JSON a line.")],
    split: Annotated[
        str | None, typer.Option("--split", help="Only this split: fit or holdout.")
    ] = None,
    as_json: JsonOpt = False,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Write a report folder (Markdown, reliability diagram)."),
    ] = None,
) -> None:
    """Judge labelled drafts as the graph does and report how the gate routes them:
    false publish, outright publish and false review rates, AUROC, ECE, seconds a draft."""
    from chimera.evals.gate_data import load_cases

    execute(lambda: asyncio.to_thread(load_cases, data, split))  # bad input: nothing runs

    async def work(runner: Any) -> dict[str, Any]:
        from chimera.evals.gate import run_gate_eval
        from chimera.evals.gate_report import write_report
        from chimera.evals.runs import save_run, write_jsonl
        from chimera.settings import Settings

        def progress(done: int, total: int) -> None:
            if not as_json and (done % 25 == 0 or done == total):
                err.print(f"  {done}/{total} drafts judged", highlight=False)

        run, metrics = await run_gate_eval(
            runner.context, runner.context.services, data, split=split,
            combiner_from=runner.store, progress=progress,
        )  # fmt: skip
        report = {
            **metrics, "run_id": run.run_id, "data": str(data), "split": split or "all",
            "judge_model": runner.context.judge_model,
        }  # fmt: skip
        write_jsonl(run, Settings().home / "evals")
        await save_run(runner.db.pool, run)
        report["results_file"] = run.results_file
        if out_dir is not None:
            report["report_dir"] = str(write_report(report, run.results, out_dir))
        return report

    report = execute(lambda: with_runner(work, memory=True))
    if as_json:
        emit_json(report)
        return
    _print_gate(report)
    out.print(f"run {report['run_id']}; results: {report['results_file']}", highlight=False)
    if "report_dir" in report:
        out.print(f"report: {report['report_dir']}", highlight=False)


@eval_app.command("run")
def run_suite_command(
    suite: Annotated[str, typer.Argument(help="The suite to run: personagym.")] = "personagym",
    personas: Annotated[int, typer.Option(help="How many PersonaGym personas (seeded).")] = 10,
    questions: Annotated[int, typer.Option(help="Questions per persona.")] = 2,
    seed: Annotated[int, typer.Option(help="Sampling seed: same seed, same items.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Generate answers with the configured models and score their persona consistency;
    the run is kept as JSONL (CHIMERA_HOME/evals/) and in PostgreSQL."""
    if suite != "personagym":
        fail(f"unknown suite {suite!r}; suites: personagym")
    if personas < 1 or questions < 1:
        fail("--personas and --questions must be at least 1")

    async def work(runner: Any) -> dict[str, Any]:
        from chimera.evals.personagym_suite import run_suite
        from chimera.evals.runs import save_run, write_jsonl
        from chimera.settings import Settings

        def progress(done: int, total: int) -> None:
            if not as_json:
                err.print(f"  {done}/{total} answered and scored", highlight=False)

        run = await run_suite(
            runner.context, runner.context.services, runner.store, personas=personas,
            questions=questions, seed=seed, progress=progress,
        )  # fmt: skip
        write_jsonl(run, Settings().home / "evals")
        await save_run(runner.db.pool, run)
        return {
            "run_id": run.run_id,
            "suite": run.suite,
            "models": run.models,
            "params": run.params,
            "metrics": run.metrics,
            "results_file": run.results_file,
        }

    summary = execute(lambda: with_runner(work, memory=True))
    if as_json:
        emit_json(summary)
        return
    out.print(f"[bold]{summary['run_id']}[/]  models {summary['models']}", highlight=False)
    for name, value in summary["metrics"].items():
        out.print(f"  {name}: {value}")
    out.print(f"results: {summary['results_file']}", highlight=False)


@eval_app.command("list")
def list_command(
    suite: Annotated[str | None, typer.Option(help="Only this suite's runs.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Eval runs, newest first, with their metrics."""
    from chimera.evals.runs import list_runs

    rows = execute(lambda: with_runner(lambda r: list_runs(r.db.pool, suite)))
    if as_json:
        emit_json(rows)
        return
    if not rows:
        out.print("no eval runs yet: chimera eval run personagym")
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("run", "suite", "models", "finished", "metrics"):
        table.add_column(column, overflow="fold")
    for row in rows:
        # Numbers only: a gate run also keeps its reliability bins, for the studio.
        metrics = ", ".join(
            f"{k}={v}" for k, v in row["metrics"].items() if not isinstance(v, dict | list)
        )
        models = ", ".join(f"{k}={v}" for k, v in row["models"].items())
        table.add_row(row["run_id"], row["suite"], models, row["finished_at"][:19], metrics)
    out.print(table)


@eval_app.command("compare")
def compare_command(
    run_a: Annotated[str, typer.Argument(help="The baseline run.")],
    run_b: Annotated[str, typer.Argument(help="The run compared with it.")],
    top: Annotated[int, typer.Option(help="How many most-changed items to show.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Metric by metric (B minus A), and the items whose score moved most."""
    from chimera.evals.runs import compare_runs

    report = execute(lambda: with_runner(lambda r: compare_runs(r.db.pool, run_a, run_b)))
    if as_json:
        emit_json(report)
        return
    table = Table(show_edge=False, pad_edge=False, title=f"{run_a} -> {run_b}")
    for column in ("metric", "A", "B", "B - A"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name, row in report["metrics"].items():
        table.add_row(name, f"{row['a']:.4f}", f"{row['b']:.4f}", f"{row['delta']:+.4f}")
    out.print(table)
    out.print(f"{len(report['items_changed'])} of {report['items_in_both']} items changed score")
    for item in report["items_changed"][:top]:
        out.print(f"  {item['item_id']}: {item['a']} -> {item['b']} ({item['delta']:+.4f})")


@eval_app.command("calibration")
def calibration_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report only; keep the current combiner.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Fit the judge's combiner on reviewer decisions (approve/edit positive, reject
    negative) and report the calibration error before and after."""

    async def work(runner: Any) -> dict[str, Any]:
        from chimera.evals.fit_combiner import fit_combiner, reviewer_labels
        from chimera.graphs.memory.combiner import save_combiner

        combiner, report = fit_combiner(await reviewer_labels(runner.db.pool))
        if not dry_run:
            await save_combiner(runner.store, combiner)
        return {**report, "saved": not dry_run}

    report = execute(lambda: with_runner(work, memory=True))
    if as_json:
        emit_json(report)
        return
    out.print(
        f"fitted on {report['labels']} reviewer decisions ({report['positive']} approved or "
        f"edited), {report['folds']}-fold cross-validated"
    )
    out.print(
        f"  expected calibration error: {report['ece_before']:.4f} -> {report['ece_after']:.4f}"
    )
    out.print(
        f"  Brier score:                {report['brier_before']:.4f} -> {report['brier_after']:.4f}"
    )
    out.print(f"  weights {report['weights']}, intercept {report['intercept']}")
    out.print("saved: the judge uses it from now on" if report["saved"] else "dry run: not saved")
