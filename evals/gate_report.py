"""The report folder of ``chimera eval gate --out DIR``: report.json, report.md (metrics
overall and per category, the confusion, the worst cases with their reasons),
worst_cases.jsonl and reliability.png."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chimera.domain.errors import InputError
from chimera.evals.gate import ROUTES, worst_cases
from chimera.evals.reliability_plot import plot_reliability_diagram

_RATES = (
    ("false_publish_rate", "false publish rate (review drafts published at all)"),
    ("outright_publish_rate", "outright publish rate (review drafts published outright)"),
    ("false_review_rate", "false review rate (publish drafts interrupted)"),
    ("auroc", "AUROC of confidence, publish vs review"),
    ("ece", "expected calibration error"),
    ("p50_seconds", "p50 seconds a draft"),
    ("p95_seconds", "p95 seconds a draft"),
)


def _fmt(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}" if value >= 0.001 or value == 0 else f"{value:.5f}"
    return str(value)


def _one_line(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    shown = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in flat)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def report_markdown(report: dict[str, Any], worst: list[dict[str, Any]]) -> str:
    lines = [
        f"# Gate eval: {report['n']} drafts",
        "",
        f"Data `{report.get('data', '?')}`, split {report.get('split', 'all')}, "
        f"judge model {report.get('judge_model', '?')}.",
        "",
        "| metric | value |",
        "| --- | --- |",
        *(f"| {label} | {_fmt(report[key])} |" for key, label in _RATES),
        "",
        "## Confusion (expected -> route)",
        "",
        "| expected | " + " | ".join(ROUTES) + " |",
        "| --- |" + " --- |" * len(ROUTES),
        *(
            f"| {e} | " + " | ".join(str(row[r]) for r in ROUTES) + " |"
            for e, row in report["confusion"].items()
        ),
        "",
        "## Per category",
        "",
        "| category | n | false publish | outright publish | false review | p50 s |",
        "| --- | --- | --- | --- | --- | --- |",
        *(
            f"| {name} | {m['n']} | {_fmt(m['false_publish_rate'])} | "
            f"{_fmt(m['outright_publish_rate'])} | {_fmt(m['false_review_rate'])} | "
            f"{_fmt(m['p50_seconds'])} |"
            for name, m in report["per_category"].items()
        ),
        "",
        "## Per persona",
        "",
        "| persona | n | false publish | outright publish | false review | AUROC | p50 s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *(
            f"| {name} | {m['n']} | {_fmt(m['false_publish_rate'])} | "
            f"{_fmt(m['outright_publish_rate'])} | {_fmt(m['false_review_rate'])} | "
            f"{_fmt(m['auroc'])} | {_fmt(m['p50_seconds'])} |"
            for name, m in report.get("per_persona", {}).items()
        ),
        "",
        "![reliability diagram](reliability.png)",
        "",
        f"## Worst cases ({len(worst)})",
        "",
    ]
    for case in worst:
        flags = ", ".join(case["flags"]) or "none"
        lines += [
            f"### {case['item_id']} ({case['category']}): expected {case['expected']}, "
            f"routed {case['route']} at {case['confidence']:.3f}, flags {flags}",
            "",
            f"> {_one_line(case['draft'], 400)}",
            "",
            *(f"- {_one_line(reason)}" for reason in case["reasons"]),
            "",
        ]
    return "\n".join(lines)


def plot_reliability(report: dict[str, Any], path: Path) -> None:
    ece = "n/a" if report["ece"] is None else f"{report['ece']:.3f}"
    plot_reliability_diagram(
        report["reliability"]["bins"],
        path,
        observed="publish_share",
        bar_label="share labelled publish",
        xlabel="judge confidence",
        ylabel="share of drafts labelled publish",
        title=f"Gate reliability\nECE {ece}, n={report['n']}",
        annotate_counts=True,
    )


def write_report(report: dict[str, Any], results: list[dict[str, Any]], folder: Path | str) -> Path:
    """Write the report folder; returns it."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the report folder {folder}: {exc.strerror}") from None
    worst = worst_cases(results)
    (folder / "report.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (folder / "report.md").write_text(report_markdown(report, worst), encoding="utf-8")
    with (folder / "worst_cases.jsonl").open("w", encoding="utf-8") as out:
        for case in worst:
            out.write(json.dumps(case, ensure_ascii=False) + "\n")
    plot_reliability(report, folder / "reliability.png")
    return folder
