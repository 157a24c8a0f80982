"""Fit the judge's learned parts on the labelled gate set's fit split, and ship them.

``uv run python -m chimera.evals.fit_gate [--data evals/gate/drafts.jsonl]`` writes
``graphs/memory/gate_fit.json`` (package data), holding:

1. the sensitive-topic head: a logistic regression over each draft's MiniLM embedding,
   positive for the ``sensitive_*`` categories, its flag threshold chosen on
   out-of-fold probabilities (folds group whole topic blocks, so paraphrases of one
   draft never sit on both sides);
2. the combiner: a logistic regression of ``expected == publish`` on the judge's signal
   scores (the sensitive score taken out-of-fold, so the head's fit does not leak into
   it), followed by an isotonic map fitted on out-of-fold predictions.

Only rows with ``split == "fit"`` are read: the holdout rows are never loaded, so the
``chimera eval gate --split holdout`` figures are on drafts neither part has seen. The
split itself is by whole topic block (each persona's topic is in one split only), set
where the data is written.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from chimera.adapters.embeddings import get_embedder
from chimera.adapters.inmemory import InMemoryAuditLog, InMemoryPublisher
from chimera.adapters.models.factory import load_chat_model
from chimera.adapters.nli.choice import get_scorer
from chimera.domain.signals.combiner import SIGNAL_NAMES
from chimera.domain.signals.sensitive import TOPICS, SensitiveHead
from chimera.evals.gate import judge_cases
from chimera.evals.gate_data import DEFAULT_DATA, GateCase, load_cases
from chimera.graphs.context import Context
from chimera.graphs.memory import combiner as fitted
from chimera.graphs.services import Services

SENSITIVE = ("sensitive_plain", "sensitive_subtle")
# The head may flag at most this share of the fit split's other drafts (out of fold).
MAX_FALSE_SENSITIVE = 0.01
FOLDS = 5
# Regularisation and calibration were chosen by nested grouped cross-validation on the
# fit split alone (out-of-fold ECE: isotonic 0.027-0.040 against Platt 0.045-0.078 and
# none 0.052-0.089, for C from 0.3 to 10): never by the holdout figures.
COMBINER_C = 3.0
SEED = 0


def topic_block(case: GateCase) -> str:
    return f"{case.persona}:{case.topic}"


def fit_sensitive_head(
    cases: list[GateCase], vectors: np.ndarray
) -> tuple[SensitiveHead, np.ndarray, dict[str, Any]]:
    """The head, the out-of-fold probabilities of every case, and a short report."""
    y = np.array([c.category in SENSITIVE for c in cases], dtype=int)
    groups = [topic_block(c) for c in cases]
    oof = np.zeros(len(cases))
    for train, test in GroupKFold(n_splits=FOLDS).split(vectors, y, groups):
        model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000)
        model.fit(vectors[train], y[train])
        oof[test] = model.predict_proba(vectors[test])[:, 1]
    negatives = np.sort(oof[y == 0])
    allowed = int(np.floor(MAX_FALSE_SENSITIVE * len(negatives)))
    threshold = float(negatives[len(negatives) - allowed - 1]) + 1e-6
    model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000)
    model.fit(vectors, y)
    prototypes = get_embedder().embed(list(TOPICS.values()))
    head = SensitiveHead(
        coef=model.coef_[0].astype(np.float64),
        intercept=float(model.intercept_[0]),
        threshold=threshold,
        prototypes={name: prototypes[i].astype(np.float64) for i, name in enumerate(TOPICS)},
    )
    report = {
        "drafts": len(cases),
        "sensitive": int(y.sum()),
        "threshold": round(threshold, 4),
        "oof_recall": round(float((oof[y == 1] >= threshold).mean()), 4),
        "oof_false_flags": round(float((oof[y == 0] >= threshold).mean()), 4),
    }
    return head, oof, report


def fit_combiner(
    results: list[dict[str, Any]], cases: list[GateCase]
) -> tuple[dict[str, Any], dict[str, Any]]:
    x = np.array([[r["signals"].get(n, 1.0) for n in SIGNAL_NAMES] for r in results])
    y = np.array([r["expected"] == "publish" for r in results], dtype=int)
    groups = [topic_block(c) for c in cases]
    oof = np.zeros(len(results))
    for train, test in GroupKFold(n_splits=FOLDS).split(x, y, groups):
        model = LogisticRegression(C=COMBINER_C, max_iter=2000)
        model.fit(x[train], y[train])
        oof[test] = model.predict_proba(x[test])[:, 1]
    isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    isotonic.fit(oof, y)
    points = [
        (round(float(a), 6), round(float(b), 6))
        for a, b in zip(isotonic.X_thresholds_, isotonic.y_thresholds_, strict=True)
    ]
    model = LogisticRegression(C=COMBINER_C, max_iter=2000)
    model.fit(x, y)
    combiner = {
        "weights": {
            n: round(float(w), 6) for n, w in zip(SIGNAL_NAMES, model.coef_[0], strict=True)
        },
        "intercept": round(float(model.intercept_[0]), 6),
        "fitted_on": len(results),
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "calibration": points,
        "source": "gate set",
    }
    report = {"drafts": len(results), "publish": int(y.sum()), "calibration_points": len(points)}
    return combiner, report


async def fit(data: Path, out: Path, cache: Path | None = None) -> dict[str, Any]:
    if out != fitted.SHIPPED_FILE or os.environ.get(fitted.FIT_ENV):
        os.environ[fitted.FIT_ENV] = str(out)  # the judge must read the fit being written
    cases, personas = load_cases(data, "fit")
    vectors = get_embedder().embed([c.draft for c in cases]).astype(np.float64)
    head, oof, head_report = fit_sensitive_head(cases, vectors)
    # The judge reads gate_fit.json: first with the head only (combiner: weighted mean).
    out.write_text(json.dumps({"sensitive": head.to_json()}), encoding="utf-8")
    fitted.clear_cache()
    services = Services(
        publisher=InMemoryPublisher(),
        audit=InMemoryAuditLog(),
        chat_model=load_chat_model,
        nli_scorer=get_scorer(),
    )
    if cache is not None and cache.is_file():
        results = [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines()]
    else:
        results = await judge_cases(Context(services=services), services, cases, personas)
        if cache is not None:
            cache.write_text("".join(json.dumps(r) + "\n" for r in results), encoding="utf-8")
    # The head's own fit drafts would read as cleanly sorted: its score and its flag are
    # taken out of fold instead.
    for result, p in zip(results, oof, strict=True):
        result["signals"]["sensitive"] = round(1 - float(p), 4)
        others = [f for f in result["flags"] if not f.startswith("sensitive:")]
        result["signals"]["flags"] = 0.0 if others or p >= head.threshold else 1.0
    combiner, combiner_report = fit_combiner(results, cases)
    payload = {
        "format": "chimera-gate-fit/1",
        "data": data.name,
        "split": "fit",
        "sensitive": head.to_json(),
        "combiner": combiner,
        "report": {"sensitive": head_report, "combiner": combiner_report},
    }
    out.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    fitted.clear_cache()
    return {"sensitive": head_report, "combiner": combiner_report}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=fitted.SHIPPED_FILE)
    parser.add_argument(
        "--cache", type=Path, help="Keep the judged fit drafts here, and reuse them if present."
    )
    args = parser.parse_args()
    print(json.dumps(asyncio.run(fit(args.data, args.out, args.cache)), indent=1))


if __name__ == "__main__":
    main()
