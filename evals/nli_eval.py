"""Evaluate the persona-consistency scorer on labelled (utterance, persona sentence) pairs.

Inputs, one pair a line:

* ``dnli``: ``utterance</s>persona_sentence</s>label`` with label positive, neutral or
  negative (Dialogue NLI's format);
* ``jsonl``: ``{"utterance": ..., "persona": ..., "label": ...}`` with label
  entailment, neutral or contradiction (or positive, neutral, negative).

:func:`evaluate` scores the pairs and returns a report dict: 3-way accuracy, macro-F1,
per-label precision/recall/F1, the confusion matrix, contradiction AUROC (contradiction
against the rest, on the contradiction probability) and the expected calibration error
(top-label confidence, 10 equal-width bins). :func:`write_report` writes it as
``report.json`` and ``report.md`` with ``confusion_matrix.png`` and ``reliability.png``.
Bad input raises :class:`chimera.domain.errors.InputError` naming the file and line.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sklearn.metrics import roc_auc_score

from chimera.adapters.nli.scorer import LABELS
from chimera.domain.errors import InputError
from chimera.evals.reliability_plot import plot_reliability_diagram

FORMATS = ("dnli", "jsonl")
ECE_BINS = 10
DEFAULT_REPORTS_DIR = Path("evals") / "reports"
# Reported by chimera.evals.persona_pairs on persona-fact/post pairs.
RATE_KEY = "agreement_read_as_contradiction_rate"

_LABEL_ALIASES = {
    "entailment": "entailment",
    "positive": "entailment",
    "entail": "entailment",
    "neutral": "neutral",
    "contradiction": "contradiction",
    "negative": "contradiction",
    "contradict": "contradiction",
}


@dataclass(frozen=True)
class LabeledPair:
    utterance: str
    persona: str
    label: str  # one of LABELS


class Scorer(Protocol):
    def predict_proba(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray: ...


def normalise_label(raw: object, where: str) -> str:
    label = _LABEL_ALIASES.get(str(raw).strip().lower()) if isinstance(raw, str) else None
    if label is None:
        known = "entailment|neutral|contradiction or positive|neutral|negative"
        raise InputError(f"{where}: unknown label {raw!r} (expected {known})")
    return label


def persona_groups(pairs: Sequence[LabeledPair]) -> np.ndarray:
    """Each pair's persona sentence as a number (sentences in sorted order): the groups of
    grouped cross-validation, the same in every fit script (fit_cross_encoder.py, which
    stands alone, numbers them the same way)."""
    ids = {s: i for i, s in enumerate(sorted({p.persona for p in pairs}))}
    return np.array([ids[p.persona] for p in pairs])


def load_pairs(path: Path | str, fmt: str = "dnli") -> list[LabeledPair]:
    """Read labelled pairs; blank lines are skipped, anything else malformed is an error."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r} (expected one of: {', '.join(FORMATS)})")
    path = Path(path)
    pairs = [
        _parse_dnli(line, where) if fmt == "dnli" else _parse_jsonl(line, where)
        for where, line in numbered_lines(path)
    ]
    if not pairs:
        raise InputError(f"{path}: no pairs in the file")
    return pairs


def numbered_lines(path: Path) -> list[tuple[str, str]]:
    """The file's non-blank lines, each with where it is (for error messages)."""
    if not path.exists():
        raise InputError(f"data file not found: {path}")
    if not path.is_file():
        raise InputError(f"not a file: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return [
        (f"{path}: line {number}", line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]


def _parse_dnli(line: str, where: str) -> LabeledPair:
    parts = line.split("</s>")
    if len(parts) != 3:
        raise InputError(
            f"{where}: expected 'utterance</s>persona_sentence</s>label', "
            f"found {len(parts) - 1} '</s>' separator(s)"
        )
    utterance, persona, raw = (p.strip() for p in parts)
    if not utterance or not persona:
        raise InputError(f"{where}: empty utterance or persona sentence")
    return LabeledPair(utterance, persona, normalise_label(raw, where))


def json_object(line: str, where: str) -> dict[str, Any]:
    """The line as a JSON object, or an InputError saying where and what is wrong."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise InputError(f"{where}: expected a JSON object, found {type(row).__name__}")
    return row


def _parse_jsonl(line: str, where: str) -> LabeledPair:
    row = json_object(line, where)
    for key in ("utterance", "persona", "label"):
        if key not in row:
            raise InputError(f"{where}: missing field {key!r}")
    for key in ("utterance", "persona"):
        if not isinstance(row[key], str) or not row[key].strip():
            raise InputError(f"{where}: field {key!r} must be a non-empty string")
    return LabeledPair(
        row["utterance"].strip(), row["persona"].strip(), normalise_label(row["label"], where)
    )


def _auroc(positive: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve; None when one class is missing."""
    if positive.all() or not positive.any():
        return None
    return float(roc_auc_score(positive, score))


def reliability_bins(
    y: np.ndarray, prob: np.ndarray, bins: int = ECE_BINS
) -> tuple[float, list[dict[str, Any]]]:
    """Expected calibration error over top-label confidence, and the bins it sums."""
    conf = prob.max(axis=1)
    correct = prob.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows: list[dict[str, Any]] = []
    ece = 0.0
    for k in range(bins):
        lo, hi = edges[k], edges[k + 1]
        mask = (conf > lo) & (conf <= hi) if k else (conf >= lo) & (conf <= hi)
        count = int(mask.sum())
        row: dict[str, Any] = {
            "lower": float(lo),
            "upper": float(hi),
            "count": count,
            "confidence": None,
            "accuracy": None,
        }
        if count:
            row["confidence"] = float(conf[mask].mean())
            row["accuracy"] = float(correct[mask].mean())
            ece += count / len(y) * abs(row["accuracy"] - row["confidence"])
        rows.append(row)
    return float(ece), rows


def compute_metrics(y: Sequence[int] | np.ndarray, prob: np.ndarray) -> dict[str, Any]:
    """Metrics of probabilities ``prob`` (n x 3, columns in LABELS order) for labels ``y``."""
    y = np.asarray(y, dtype=int)
    prob = np.asarray(prob, dtype=float)
    if prob.ndim != 2 or prob.shape != (len(y), len(LABELS)):
        raise ValueError(f"prob must be {len(y)} x {len(LABELS)}, got {prob.shape}")
    if len(y) == 0:
        raise InputError("no pairs to evaluate")
    pred = prob.argmax(axis=1)
    k = len(LABELS)
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (y, pred), 1)
    per_label: dict[str, dict[str, float | int]] = {}
    f1s = []
    for i, name in enumerate(LABELS):
        tp = int(confusion[i, i])
        predicted, actual = int(confusion[:, i].sum()), int(confusion[i].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[name] = {"precision": precision, "recall": recall, "f1": f1, "support": actual}
        if actual:
            f1s.append(f1)
    ece, bins = reliability_bins(y, prob)
    contradiction = LABELS.index("contradiction")
    return {
        "n": len(y),
        "accuracy": float((pred == y).mean()),
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
        "contradiction_auroc": _auroc(y == contradiction, prob[:, contradiction]),
        "ece": ece,
        "per_label": per_label,
        "confusion_matrix": {
            "labels": list(LABELS),
            "rows_true_cols_predicted": confusion.tolist(),
        },
        "reliability": {"bins": bins, "ece_bins": ECE_BINS},
        "label_counts": {name: int((y == i).sum()) for i, name in enumerate(LABELS)},
    }


def evaluate(pairs: Sequence[LabeledPair], scorer: Scorer | None = None) -> dict[str, Any]:
    """Score labelled pairs with ``scorer`` (the shipped scorer by default) and report."""
    if not pairs:
        raise InputError("no pairs to evaluate")
    if scorer is None:
        from chimera.adapters.nli.choice import get_scorer

        scorer = get_scorer()
    y = np.array([LABELS.index(p.label) for p in pairs])
    prob = scorer.predict_proba([(p.utterance, p.persona) for p in pairs])
    report = compute_metrics(y, prob)
    meta = getattr(scorer, "metadata", None)
    if isinstance(meta, dict):
        report["model"] = {
            k: meta[k]
            for k in ("model_id", "base_model", "embedder", "fitted_at", "kind")
            if k in meta
        }
    report["created_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return report


def default_out_dir() -> Path:
    return DEFAULT_REPORTS_DIR / datetime.now().strftime("%Y%m%d-%H%M%S")


def _fmt(value: float | None) -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (f"{value:.3f}")
    )


def training_data_warning(report: dict[str, Any]) -> str | None:
    """What to say when the pairs are the model's own training pairs; None otherwise."""
    if not report.get("fitted_on_this_data"):
        return None
    cv = report.get("grouped_cv") or {}
    return (
        "These are the model's training pairs: the figures below are fitted figures, not "
        "an estimate. The honest ones are its grouped cross-validation figures "
        f"({cv.get('folds', '?')} folds by {cv.get('groups', 'persona sentence')}): "
        f"accuracy {_fmt(cv.get('accuracy'))}, contradiction AUROC "
        f"{_fmt(cv.get('contradiction_auroc'))}, ECE {_fmt(cv.get('ece'))}."
    )


def _training_data_lines(report: dict[str, Any]) -> list[str]:
    warning = training_data_warning(report)
    return [f"**{warning}**", ""] if warning else []


def report_markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Persona consistency",
        "",
        f"Pairs: {report['n']}" + (f" from `{report['data']}`" if report.get("data") else ""),
        "",
        *_training_data_lines(report),
        "| metric | value |",
        "| --- | --- |",
        f"| 3-way accuracy | {_fmt(report['accuracy'])} |",
        f"| macro-F1 | {_fmt(report['macro_f1'])} |",
        f"| contradiction AUROC | {_fmt(report['contradiction_auroc'])} |",
        f"| expected calibration error ({report['reliability']['ece_bins']} bins) | "
        f"{_fmt(report['ece'])} |",
        *(
            [f"| agreement read as contradiction | {_fmt(report[RATE_KEY])} |"]
            if RATE_KEY in report
            else []
        ),
        "",
        "| label | precision | recall | F1 | support |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, row in report["per_label"].items():
        lines.append(
            f"| {name} | {_fmt(row['precision'])} | {_fmt(row['recall'])} | "
            f"{_fmt(row['f1'])} | {row['support']} |"
        )
    matrix = report["confusion_matrix"]["rows_true_cols_predicted"]
    lines += [
        "",
        "Confusion matrix (rows: true, columns: predicted):",
        "",
        "| true \\ predicted | " + " | ".join(LABELS) + " |",
        "| --- | " + " | ".join("---" for _ in LABELS) + " |",
    ]
    for name, row in zip(LABELS, matrix, strict=True):
        lines.append(f"| {name} | " + " | ".join(str(c) for c in row) + " |")
    lines += [
        "",
        "![confusion matrix](confusion_matrix.png)",
        "![reliability diagram](reliability.png)",
        "",
    ]
    return "\n".join(lines)


def _plot_confusion(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.array(report["confusion_matrix"]["rows_true_cols_predicted"])
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros_like(matrix, dtype=float), where=totals > 0)
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(LABELS)), LABELS)
    ax.set_yticks(range(len(LABELS)), LABELS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(LABELS)):
        for j in range(len(LABELS)):
            ax.text(
                j,
                i,
                f"{matrix[i, j]}\n{share[i, j]:.0%}",
                ha="center",
                va="center",
                color="white" if share[i, j] > 0.6 else "black",
                fontsize=9,
            )
    fig.colorbar(image, ax=ax, label="share of the true label")
    ax.set_title(f"Confusion matrix\naccuracy {report['accuracy']:.3f}, n={report['n']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_reliability(report: dict[str, Any], path: Path) -> None:
    plot_reliability_diagram(
        report["reliability"]["bins"],
        path,
        observed="accuracy",
        bar_label="accuracy in bin",
        xlabel="confidence of the predicted label",
        ylabel="accuracy",
        title=f"Reliability diagram\nECE {report['ece']:.3f}, n={report['n']}",
    )


def write_report(report: dict[str, Any], out_dir: Path | str | None = None) -> Path:
    """Write report.json, report.md, confusion_matrix.png and reliability.png; the folder."""
    folder = Path(out_dir) if out_dir is not None else default_out_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the report folder {folder}: {exc.strerror}") from None
    (folder / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (folder / "report.md").write_text(report_markdown(report), encoding="utf-8")
    _plot_confusion(report, folder / "confusion_matrix.png")
    _plot_reliability(report, folder / "reliability.png")
    return folder


def training_data_note(data: Path | str, scorer: Scorer | None) -> dict[str, Any]:
    """``fitted_on_this_data`` (the data file's sha256 is the one the scorer's model records
    for its training data) and, when true, the model's own grouped-CV figures: scored on
    its training pairs, the scorer's figures say little, the grouped-CV ones are honest."""
    meta = getattr(scorer, "metadata", None)
    if not isinstance(meta, dict):
        return {"fitted_on_this_data": False}
    trained = meta.get("training_data") or {}
    digest = hashlib.sha256(Path(data).read_bytes()).hexdigest()
    fitted = isinstance(trained, dict) and trained.get("sha256") == digest
    note: dict[str, Any] = {"fitted_on_this_data": fitted}
    if fitted:
        cv = meta.get("grouped_cv") or {}
        note["grouped_cv"] = {k: v for k, v in cv.items() if k != "candidates"}
    return note


def run(
    data: Path | str,
    fmt: str = "dnli",
    out_dir: Path | str | None = None,
    scorer: Scorer | None = None,
) -> tuple[dict[str, Any], Path]:
    """Load, evaluate and write: the report and its folder."""
    pairs = load_pairs(data, fmt)
    if scorer is None:
        from chimera.adapters.nli.choice import get_scorer

        scorer = get_scorer()
    report = evaluate(pairs, scorer)
    report["data"] = str(data)
    report["format"] = fmt
    report.update(training_data_note(data, scorer))
    return report, write_report(report, out_dir)
