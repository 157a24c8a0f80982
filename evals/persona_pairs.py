"""Measure the persona-consistency scorer on persona-fact/post pairs of social-media text.

The pairs (``evals/consistency_pairs/pairs.jsonl``) are one JSON object a line:
``{"id", "persona", "fact", "post", "label", "kind"?}`` with label entailment, neutral or
contradiction. Each post is scored the way the judge's consistency signal scores a draft
(:func:`chimera.domain.signals.persona_consistency.consistency_signal`): the post is cut
into sentences (trailing hashtags dropped), every sentence is scored against the fact, and
the sentence with the highest contradiction probability speaks for the post. Its row of
probabilities is the post's prediction.

On top of :func:`chimera.evals.nli_eval.compute_metrics` the report carries
``agreement_read_as_contradiction_rate`` (share of entailment-labelled pairs whose
predicted label is contradiction), ``agreement_flagged_by_judge_rate`` (share of them
whose contradiction probability passes the judge's floor, so the judge would lower its
score), accuracy per kind, and the agreements read as contradictions, named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chimera.adapters.nli.scorer import LABELS
from chimera.domain.errors import InputError
from chimera.domain.signals.persona_consistency import CONTRADICTION_FLOOR, draft_sentences
from chimera.evals.nli_eval import (
    Scorer,
    compute_metrics,
    json_object,
    normalise_label,
    numbered_lines,
    write_report,
)

ENTAILMENT = LABELS.index("entailment")
CONTRADICTION = LABELS.index("contradiction")


@dataclass(frozen=True)
class PersonaPostPair:
    pair_id: str
    persona: str
    fact: str
    post: str
    label: str  # one of LABELS
    kind: str = ""


def _parse_pair(line: str, where: str) -> PersonaPostPair:
    row = json_object(line, where)
    for key in ("id", "persona", "fact", "post", "label"):
        if not isinstance(row.get(key), str) or not row[key].strip():
            raise InputError(f"{where}: field {key!r} must be a non-empty string")
    kind = row.get("kind", "")
    if not isinstance(kind, str):
        raise InputError(f"{where}: field 'kind' must be a string")
    return PersonaPostPair(
        pair_id=row["id"].strip(),
        persona=row["persona"].strip(),
        fact=row["fact"].strip(),
        post=row["post"].strip(),
        label=normalise_label(row["label"], where),
        kind=kind.strip(),
    )


def load_persona_post_pairs(path: Path | str) -> list[PersonaPostPair]:
    """Read the pairs; blank lines are skipped, a malformed line or a repeated id is an error."""
    path = Path(path)
    pairs: list[PersonaPostPair] = []
    seen: set[str] = set()
    for where, line in numbered_lines(path):
        pair = _parse_pair(line, where)
        if pair.pair_id in seen:
            raise InputError(f"{where}: id {pair.pair_id!r} repeats an earlier line")
        seen.add(pair.pair_id)
        pairs.append(pair)
    if not pairs:
        raise InputError(f"{path}: no pairs in the file")
    return pairs


def post_sentences(post: str) -> list[str]:
    """The sentences the judge would score; the whole post when none survive the cut."""
    return draft_sentences(post) or [post]


def judge_view_proba(
    pairs: Sequence[PersonaPostPair], scorer: Scorer
) -> tuple[np.ndarray, list[str]]:
    """Per pair, the probabilities of its most contradicting sentence against the fact,
    and that sentence. One scorer call for all sentences, as the judge batches a draft."""
    spans: list[tuple[int, int]] = []
    flat: list[tuple[str, str]] = []
    for pair in pairs:
        sentences = post_sentences(pair.post)
        spans.append((len(flat), len(flat) + len(sentences)))
        flat.extend((sentence, pair.fact) for sentence in sentences)
    probs = np.asarray(scorer.predict_proba(flat), dtype=float)
    rows, worst_sentences = [], []
    for start, end in spans:
        worst = start + int(np.argmax(probs[start:end, CONTRADICTION]))
        rows.append(probs[worst])
        worst_sentences.append(flat[worst][0])
    return np.stack(rows), worst_sentences


def agreement_read_as_contradiction_rate(y: np.ndarray, prob: np.ndarray) -> float | None:
    """Share of entailment-labelled pairs predicted contradiction; None without any."""
    agreements = y == ENTAILMENT
    if not agreements.any():
        return None
    return float((prob[agreements].argmax(axis=1) == CONTRADICTION).mean())


def agreement_flagged_by_judge_rate(
    y: np.ndarray, prob: np.ndarray, floor: float = CONTRADICTION_FLOOR
) -> float | None:
    """Share of entailment-labelled pairs whose contradiction probability passes the
    judge's floor (the judge lowers a draft's score above it); None without any."""
    agreements = y == ENTAILMENT
    if not agreements.any():
        return None
    return float((prob[agreements, CONTRADICTION] > floor).mean())


def accuracy_by_kind(pairs: Sequence[PersonaPostPair], correct: np.ndarray) -> dict[str, Any]:
    """Accuracy and count per (label, kind), e.g. ``entailment/negation``."""
    groups: dict[str, list[bool]] = {}
    for pair, ok in zip(pairs, correct, strict=True):
        key = f"{pair.label}/{pair.kind}" if pair.kind else pair.label
        groups.setdefault(key, []).append(bool(ok))
    return {
        key: {"n": len(hits), "accuracy": sum(hits) / len(hits)}
        for key, hits in sorted(groups.items())
    }


def evaluate_persona_post_pairs(
    pairs: Sequence[PersonaPostPair], scorer: Scorer | None = None
) -> dict[str, Any]:
    """Score the pairs as the judge does (the shipped scorer by default) and report."""
    if not pairs:
        raise InputError("no pairs to evaluate")
    if scorer is None:
        from chimera.adapters.nli.choice import get_scorer

        scorer = get_scorer()
    y = np.array([LABELS.index(p.label) for p in pairs])
    prob, sentences = judge_view_proba(pairs, scorer)
    report = compute_metrics(y, prob)
    pred = prob.argmax(axis=1)
    report["agreement_read_as_contradiction_rate"] = agreement_read_as_contradiction_rate(y, prob)
    report["agreement_flagged_by_judge_rate"] = agreement_flagged_by_judge_rate(y, prob)
    report["judge_contradiction_floor"] = CONTRADICTION_FLOOR
    report["per_kind"] = accuracy_by_kind(pairs, pred == y)
    report["agreements_read_as_contradiction"] = [
        {
            "id": pair.pair_id,
            "fact": pair.fact,
            "post": pair.post,
            "sentence": sentence,
            "contradiction": round(float(row[CONTRADICTION]), 4),
        }
        for pair, row, sentence, label in zip(pairs, prob, sentences, pred, strict=True)
        if pair.label == "entailment" and label == CONTRADICTION
    ]
    return report


def run_pairs(
    data: Path | str, out_dir: Path | str | None = None, scorer: Scorer | None = None
) -> tuple[dict[str, Any], Path]:
    """Load, evaluate and write the report folder: the report and its folder."""
    report = evaluate_persona_post_pairs(load_persona_post_pairs(data), scorer)
    report["data"] = str(data)
    report["format"] = "persona-pairs"
    return report, write_report(report, out_dir)
