"""``chimera eval gate``: how well the judge's gate tells good drafts from bad ones.

Each labelled draft (one JSON object a line: ``persona`` (id or path), ``topic``,
``brief``, ``draft``, ``expected`` ``publish`` or ``review``, optional ``category``,
``id`` and ``split``) is scored by ``judge_draft``, the judge node's own work, against
long-term memory seeded as a run seeds it: the policies and their violation examples,
and each persona's facts and example posts. The store is a fresh in-process one, so the
figures do not depend on what a user's memory has accumulated; the fitted combiner, if
any, is the caller's.

Metrics, overall and per category: the confusion of expected against route, the false
publish rate (review drafts that publish at all: ``publish`` or ``async_review``), the
outright publish rate (review drafts routed ``publish``), the false review rate (publish
drafts that interrupt), AUROC and ECE of the confidence as the probability of
``publish``, and the seconds a draft takes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langgraph.store.base import BaseStore
from sklearn.metrics import roc_auc_score

from chimera.adapters.memory.postgres import in_memory_store
from chimera.domain.errors import InputError
from chimera.domain.redaction import redact_value, secret_values
from chimera.domain.types import Persona, Task
from chimera.evals.gate_data import EXPECTED, GateCase, load_cases
from chimera.evals.runs import EvalRun, new_run_id
from chimera.graphs.context import Context
from chimera.graphs.memory.combiner import load_combiner, save_combiner
from chimera.graphs.memory.seed import seed_persona, seed_policies
from chimera.graphs.services import Services
from chimera.nodes.judge import judge_draft

SUITE = "gate"
ROUTES = ("publish", "async_review", "review")
ECE_BINS = 10
WORST_CASES = 20


# --- judging ---------------------------------------------------------------------------


async def seeded_store(personas: Sequence[Persona], combiner_from: BaseStore | None) -> BaseStore:
    """A fresh in-process memory seeded as a run seeds it, with the combiner the judge
    would load from ``combiner_from`` (the fitted one, or the default)."""
    store = in_memory_store()
    await seed_policies(store)
    for persona in personas:
        await seed_persona(store, persona)
    if combiner_from is not None:
        await save_combiner(store, await load_combiner(combiner_from))
    return store


async def judge_cases(
    context: Context,
    services: Services,
    cases: Sequence[GateCase],
    personas: dict[str, Persona],
    *,
    combiner_from: BaseStore | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """One result per case: its labels, the verdict (route, confidence, flags, signals,
    reasons) and the seconds ``judge_draft`` took. Results are kept (JSONL, PostgreSQL):
    any known secret in a draft or a reason is masked in them."""
    store = await seeded_store(list(personas.values()), combiner_from)
    secrets = secret_values()
    results: list[dict[str, Any]] = []
    for done, case in enumerate(cases, start=1):
        persona = personas[case.persona]
        task = Task(id=case.id, kind="post", topic=case.topic, brief=case.brief)
        started = time.perf_counter()
        judged = await judge_draft(context, services, store, persona, task, case.draft)
        seconds = time.perf_counter() - started
        verdict = judged.verdict
        result = {
            "item_id": case.id,
            "persona": persona["id"],
            "category": case.category,
            "split": case.split,
            "expected": case.expected,
            "route": verdict["route"],
            "confidence": float(verdict["confidence"]),
            "score": float(verdict["confidence"]),  # what ``eval compare`` compares
            "flags": list(verdict["flags"]),
            "signals": {s["name"]: round(float(s["score"]), 4) for s in verdict["signals"]},
            "reasons": list(verdict["reasons"]),
            "seconds": round(seconds, 5),
            "draft": case.draft,
        }
        results.append(redact_value(result, secrets))
        if progress is not None:
            progress(done, len(cases))
    return results


# --- metrics ---------------------------------------------------------------------------


def _share(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def reliability(
    publish: np.ndarray, confidence: np.ndarray, bins: int = ECE_BINS
) -> tuple[float | None, list[dict[str, Any]]]:
    """ECE of ``confidence`` as the probability that a draft is publish-labelled, over
    equal-width bins (the first closed on both sides), and the bins it sums."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows: list[dict[str, Any]] = []
    ece = 0.0
    for k in range(bins):
        lo, hi = edges[k], edges[k + 1]
        mask = (confidence > lo) & (confidence <= hi) if k else (confidence <= hi)
        count = int(mask.sum())
        row: dict[str, Any] = {
            "lower": round(float(lo), 4),
            "upper": round(float(hi), 4),
            "count": count,
            "confidence": None,
            "publish_share": None,
        }
        if count:
            row["confidence"] = float(confidence[mask].mean())
            row["publish_share"] = float(publish[mask].mean())
            ece += count / len(confidence) * abs(row["publish_share"] - row["confidence"])
        rows.append(row)
    return (round(ece, 4) if len(confidence) else None), rows


def gate_metrics(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The gate's metrics over ``results`` (each with expected, route, confidence and
    seconds); a rate whose denominator is empty, or AUROC with one class, is None."""
    expected = np.array([r["expected"] for r in results], dtype=object)
    route = np.array([r["route"] for r in results], dtype=object)
    confidence = np.array([float(r["confidence"]) for r in results], dtype=float)
    seconds = np.array([float(r["seconds"]) for r in results], dtype=float)
    publish = expected == "publish"
    review = ~publish
    confusion = {
        e: {r: int(((expected == e) & (route == r)).sum()) for r in ROUTES} for e in EXPECTED
    }
    auroc = None
    if publish.any() and review.any():
        auroc = round(float(roc_auc_score(publish, confidence)), 4)
    ece, bins = reliability(publish.astype(float), confidence)
    return {
        "n": len(results),
        "confusion": confusion,
        "false_publish_rate": _share(int((review & (route != "review")).sum()), int(review.sum())),
        "outright_publish_rate": _share(
            int((review & (route == "publish")).sum()), int(review.sum())
        ),
        "false_review_rate": _share(int((publish & (route == "review")).sum()), int(publish.sum())),
        "auroc": auroc,
        "ece": ece,
        "p50_seconds": round(float(np.percentile(seconds, 50)), 5) if len(seconds) else None,
        "p95_seconds": round(float(np.percentile(seconds, 95)), 5) if len(seconds) else None,
        "reliability": {"bins": bins, "ece_bins": ECE_BINS},
    }


def _breakdown(results: Sequence[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for value in sorted({r[key] for r in results}):
        metrics = gate_metrics([r for r in results if r[key] == value])
        del metrics["reliability"]
        groups[value] = metrics
    return groups


def summarize(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Overall metrics at the top level, the same per category under ``per_category``
    and per persona under ``per_persona``."""
    if not results:
        raise InputError("no drafts were judged")
    report = gate_metrics(results)
    report["per_category"] = _breakdown(results, "category")
    report["per_persona"] = _breakdown(results, "persona")
    return report


def worst_cases(results: Sequence[dict[str, Any]], top: int = WORST_CASES) -> list[dict[str, Any]]:
    """The gate's worst mistakes first: review drafts published outright, then under
    async review, by confidence (highest first); then publish drafts sent to review, by
    confidence (lowest first)."""
    rank = {"publish": 0, "async_review": 1}
    published = [r for r in results if r["expected"] == "review" and r["route"] != "review"]
    published.sort(key=lambda r: (rank[r["route"]], -r["confidence"]))
    stopped = [r for r in results if r["expected"] == "publish" and r["route"] == "review"]
    stopped.sort(key=lambda r: r["confidence"])
    keys = ("item_id", "persona", "category", "expected", "route", "confidence", "flags")
    return [
        {**{k: r[k] for k in keys}, "draft": r["draft"], "reasons": r["reasons"]}
        for r in (published + stopped)[:top]
    ]


# --- the run ---------------------------------------------------------------------------


async def run_gate_eval(
    context: Context,
    services: Services,
    data: Path | str,
    *,
    split: str | None = None,
    combiner_from: BaseStore | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[EvalRun, dict[str, Any]]:
    """Load and check every line, judge the drafts, and summarise: the EvalRun to keep
    (its metrics the headline numbers, which ``eval list`` and ``eval compare`` show, and
    the reliability bins, which the studio plots; its results the per-draft verdicts,
    categories included) and the full report (JSON keys as in ``summarize``)."""
    cases, personas = load_cases(data, split)
    results = await judge_cases(
        context, services, cases, personas, combiner_from=combiner_from, progress=progress
    )
    run = EvalRun(
        run_id=new_run_id(SUITE),
        suite=SUITE,
        models={"judge": context.judge_model},
        params={"data": str(data), "split": split or "all", "memory": "fresh, seeded as a run"},
    )
    run.results = results
    report = summarize(results)
    kept = {k: v for k, v in report.items() if not isinstance(v, dict)}
    run.metrics = {**kept, "reliability": report["reliability"]}
    return run, report
