"""Fit the persona-consistency scorer on Dialogue NLI pairs and save its model file.

    uv run python -m chimera.evals.fit_nli_scorer --data PATH [--out chimera/consistency/model.npz]

The data (``utterance</s>persona_sentence</s>label``, labels positive/neutral/negative)
is read only here, at fitting time; none of it goes into the model file, which holds
fitted weights and the cross-validation figures. Cross-validation is grouped by persona
sentence (GroupKFold), since persona sentences repeat across pairs and random folds
would score pairs whose persona sentence the model has already seen. Baselines are
reported beside the final model: cosine similarity alone, a logistic regression over
``[u, v, |u-v|, u*v]``, and the same with the lexical and alignment features.
The report goes to stdout as JSON; progress to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from chimera.adapters.embeddings import MODEL_ID, Embedder
from chimera.adapters.nli import features as F
from chimera.adapters.nli.scorer import (
    DEFAULT_MODEL_PATH,
    LABELS,
    NetworkWeights,
    load_model,
    save_model,
)
from chimera.domain.errors import InputError
from chimera.evals.nli_eval import compute_metrics, load_pairs, persona_groups

# The final model: one-hidden-layer networks over all features, strongly regularised,
# three seeds averaged. Chosen by grouped CV on the training sample (single network,
# 5 folds): alpha 10 gave 0.797-0.801 accuracy over three seeds, alpha 20 0.798,
# alpha 40 0.784, 512 units 0.793; averaging three seeds added about 0.01.
HIDDEN = 256
ALPHA = 10.0
SEEDS = (0, 1, 2)


def log(message: str) -> None:
    print(f"[fit {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _mlp(seed: int) -> Any:
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        StandardScaler(),
        MLPClassifier(
            hidden_layer_sizes=(HIDDEN,),
            alpha=ALPHA,
            max_iter=200,
            early_stopping=True,
            validation_fraction=0.1,
            n_iter_no_change=10,
            random_state=seed,
        ),
    )


class SeedEnsemble:
    """The mean of the probabilities of networks that differ only in their seed."""

    def __init__(self, seeds: tuple[int, ...] = SEEDS) -> None:
        self.seeds = seeds
        self.members: list[Any] = []

    def fit(self, x: np.ndarray, y: np.ndarray) -> SeedEnsemble:
        self.members = [_mlp(seed).fit(x, y) for seed in self.seeds]
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.mean([m.predict_proba(x) for m in self.members], axis=0)


def _logistic(c: float = 1.0) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=3000)


def grouped_cv(
    make: Callable[[], Any], x: np.ndarray, y: np.ndarray, groups: np.ndarray, folds: int
) -> tuple[dict[str, Any], np.ndarray]:
    """Out-of-fold probabilities with folds grouped by persona sentence, and their metrics."""
    from sklearn.model_selection import GroupKFold

    prob = np.zeros((len(y), len(LABELS)))
    for train, test in GroupKFold(n_splits=folds).split(x, y, groups):
        prob[test] = make().fit(x[train], y[train]).predict_proba(x[test])
    metrics = compute_metrics(y, prob)
    keep = ("accuracy", "macro_f1", "contradiction_auroc", "ece")
    return {k: round(float(metrics[k]), 4) for k in keep}, prob


def network_weights(pipeline: Any) -> NetworkWeights:
    """The scaler and layers of a fitted StandardScaler + MLPClassifier pipeline."""
    scaler, mlp = pipeline[0], pipeline[-1]
    if list(mlp.classes_) != list(range(len(LABELS))):
        raise ValueError(f"unexpected classes {mlp.classes_}")
    scale = np.where(scaler.scale_ == 0, 1.0, scaler.scale_)
    return NetworkWeights(
        mean=np.asarray(scaler.mean_),
        scale=np.asarray(scale),
        weights=tuple(np.asarray(w) for w in mlp.coefs_),
        biases=tuple(np.asarray(b) for b in mlp.intercepts_),
    )


def merge_members(members: list[NetworkWeights]) -> NetworkWeights:
    """One network whose output layer averages the members' logits.

    Members share the standardiser (fitted on the same rows); their hidden layers are
    stacked side by side and their output weights divided by their number. The mean of
    logits (not of probabilities) keeps the file a plain two-layer network.
    """
    first = members[0]
    n = len(members)
    return NetworkWeights(
        mean=first.mean,
        scale=first.scale,
        weights=(
            np.hstack([m.weights[0] for m in members]),
            np.vstack([m.weights[1] for m in members]) / n,
        ),
        biases=(
            np.concatenate([m.biases[0] for m in members]),
            np.mean([m.biases[1] for m in members], axis=0),
        ),
    )


class LogitEnsemble(SeedEnsemble):
    """Seed ensemble that averages logits, the way the saved merged network does."""

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        merged = merge_members([network_weights(m) for m in self.members])
        return merged.predict_proba(x)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="DNLI-format pairs")
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH, help="model file")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-baselines", action="store_true", help="CV the final model only")
    parser.add_argument("--no-cv", action="store_true", help="fit and save, no CV")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        pairs = load_pairs(args.data, "dnli")
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    y = np.array([LABELS.index(p.label) for p in pairs])
    log(f"{len(pairs)} pairs, labels {np.bincount(y, minlength=3).tolist()} {list(LABELS)}")

    t0 = time.perf_counter()
    embedder = Embedder().load()
    parts = F.pair_features([(p.utterance, p.persona) for p in pairs], embedder.embed)
    features_s = time.perf_counter() - t0
    log(f"features in {features_s:.1f}s")
    emb, lex, ali = parts["embedding"], parts["lexical"], parts["alignment"]
    x = np.hstack([emb, lex, ali])
    groups = persona_groups(pairs)
    persona_sentences = len(set(groups.tolist()))
    log(f"{persona_sentences} distinct persona sentences: the CV groups")

    cv: dict[str, Any] = {}
    if not args.no_cv:
        candidates: list[tuple[str, Callable[[], Any], np.ndarray]] = []
        if not args.no_baselines:
            candidates += [
                ("cosine_only_logreg", _logistic, emb[:, -1:]),
                ("logreg_embedding", _logistic, emb[:, :-1]),
                ("logreg_embedding_lexical_alignment", _logistic, x),
            ]
        candidates.append(("final_mlp_ensemble", LogitEnsemble, x))
        for name, make, features in candidates:
            t = time.perf_counter()
            cv[name], _ = grouped_cv(make, features, y, groups, args.folds)
            log(f"CV {name}: {cv[name]} ({time.perf_counter() - t:.0f}s)")

    t = time.perf_counter()
    ensemble = SeedEnsemble().fit(x, y)
    network = merge_members([network_weights(m) for m in ensemble.members])
    fit_s = time.perf_counter() - t
    log(f"final fit in {fit_s:.1f}s")
    check = network.predict_proba(x[:200])
    expected = LogitEnsemble()
    expected.members = ensemble.members
    if not np.allclose(check, expected.predict_proba(x[:200]), atol=1e-5):
        raise AssertionError("the merged network disagrees with the fitted members")

    import sklearn

    metadata = {
        "kind": f"mlp {HIDDEN}x{len(SEEDS)} relu, alpha {ALPHA}, logit mean of seeds {SEEDS}",
        "model_id": f"persona-consistency-mlp-{datetime.now(UTC):%Y%m%d}",
        "embedder": MODEL_ID,
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_data": {
            "name": args.data.name,
            "sha256": hashlib.sha256(args.data.read_bytes()).hexdigest(),
            "pairs": len(pairs),
            "persona_sentences": persona_sentences,
            "label_counts": dict(zip(LABELS, np.bincount(y, minlength=3).tolist(), strict=True)),
        },
        "grouped_cv": {"folds": args.folds, "groups": "persona sentence", **cv},
        "sklearn": sklearn.__version__,
        "fit_seconds": round(fit_s, 1),
    }
    save_model(args.out, network, metadata)
    saved, _ = load_model(args.out)
    drift = float(np.abs(saved.predict_proba(x) - network.predict_proba(x)).max())
    log(
        f"saved {args.out} ({args.out.stat().st_size / 1024:.0f} KiB); "
        f"largest probability change from storing float16: {drift:.1e}"
    )
    if drift > 0.01:
        raise AssertionError("the saved model's probabilities drifted from the fitted ones")
    report = {
        **metadata,
        "out": str(args.out),
        "features_seconds": round(features_s, 1),
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
