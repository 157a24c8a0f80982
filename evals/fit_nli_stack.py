"""Fit the stacker of the persona-consistency cross-encoder and record its grouped-CV figures.

    uv run python -m chimera.evals.fit_nli_stack --data DNLI.txt --oof WORK/oof.npz \\
        [--model FILE.onnx] [--with-mlp] [--ship stack_logits_lexical|..._mlp] [--dry-run]

Reads the cross-encoder's out-of-fold int8 logits written by ``evals/fit_cross_encoder.py``
(``oof.npz``, in a work folder outside the repository) and compares, with the same folds
(GroupKFold by persona sentence, as :mod:`chimera.evals.fit_nli_scorer` makes them), a few
ways of turning them into probabilities: the softmax as is; with a temperature; a
multinomial logistic regression over the logits; the same with the cheap lexical cues of
:mod:`chimera.adapters.nli.features` (numbers that disagree, one-sided negation, antonyms,
overlap); and, with ``--with-mlp``, also with the out-of-fold probabilities of the numpy
MLP scorer (which needs every content word embedded at run time, so it is measured, not
shipped, unless it earns its cost). In each fold the stacker is fitted on the other folds'
out-of-fold rows, and its regularisation is chosen by that grouped CV alone.

The chosen stacker (``--ship``), refitted on all out-of-fold rows, goes into the model's
``.json`` metadata with every candidate's figures; the chosen candidate's are the model's
``grouped_cv`` figures. The network's out-of-fold probabilities take about ten minutes;
they are kept beside ``oof.npz`` as ``mlp_oof.npz``. The report goes to stdout as JSON;
progress to stderr. No DNLI text or per-pair output is written anywhere but the work
folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from chimera.adapters.nli import features as F
from chimera.adapters.nli.cross_encoder import DEFAULT_CROSS_ENCODER_PATH, metadata_path
from chimera.adapters.nli.scorer import LABELS
from chimera.domain.errors import InputError
from chimera.evals.nli_eval import compute_metrics, load_pairs, persona_groups

C_GRID = (0.01, 0.1, 1.0, 10.0)
KEEP = ("accuracy", "macro_f1", "contradiction_auroc", "ece")
# Lexical cues the stacker may read (every one of LEXICAL_FEATURES: all are cheap).
LEXICAL = tuple(f"lex_{name}" for name in F.LEXICAL_FEATURES)
LOGITS = tuple(f"ce_{label}" for label in LABELS)


def log(message: str) -> None:
    print(f"[stack {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _figures(y: np.ndarray, prob: np.ndarray) -> dict[str, float]:
    m = compute_metrics(y, prob)
    return {k: round(float(m[k]), 4) for k in KEEP}


def _log_loss(y: np.ndarray, prob: np.ndarray) -> float:
    return float(-np.log(np.clip(prob[np.arange(len(y)), y], 1e-12, None)).mean())


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    grid = np.arange(0.5, 4.01, 0.05)
    losses = [_log_loss(y, _softmax(logits / t)) for t in grid]
    return round(float(grid[int(np.argmin(losses))]), 2)


def _logistic(c: float) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))


def by_folds(
    fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray], fold: np.ndarray
) -> np.ndarray:
    """Out-of-fold probabilities: each fold predicted by what ``fit_predict`` fits on the rest."""
    prob = np.zeros((len(fold), len(LABELS)))
    for k in np.unique(fold):
        train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        prob[test] = fit_predict(train, test)
    return prob


def stacked(x: np.ndarray, y: np.ndarray, fold: np.ndarray) -> tuple[dict[str, Any], float]:
    """Grouped-CV figures of the logistic stacker over ``x`` at each C, and the best C
    (least out-of-fold log loss)."""
    rows: dict[str, Any] = {}
    best_c, best_loss = C_GRID[0], np.inf
    for c in C_GRID:

        def fit_predict(train: np.ndarray, test: np.ndarray, c: float = c) -> np.ndarray:
            return np.asarray(_logistic(c).fit(x[train], y[train]).predict_proba(x[test]))

        prob = by_folds(fit_predict, fold)
        loss = _log_loss(y, prob)
        rows[f"C={c}"] = {**_figures(y, prob), "log_loss": round(loss, 4)}
        if loss < best_loss:
            best_c, best_loss = c, loss
    return rows, best_c


def mlp_oof(pairs: list[Any], y: np.ndarray, groups: np.ndarray, folds: int) -> np.ndarray:
    """The numpy MLP scorer's grouped out-of-fold probabilities (its own fitting recipe)."""
    from chimera.adapters.embeddings import Embedder
    from chimera.evals.fit_nli_scorer import LogitEnsemble, grouped_cv

    parts = F.pair_features([(p.utterance, p.persona) for p in pairs], Embedder().load().embed)
    x = np.hstack([parts["embedding"], parts["lexical"], parts["alignment"]])
    _, prob = grouped_cv(LogitEnsemble, x, y, groups, folds)
    return prob


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="DNLI-format pairs")
    parser.add_argument("--oof", type=Path, required=True, help="oof.npz of fit_cross_encoder")
    parser.add_argument("--model", type=Path, default=DEFAULT_CROSS_ENCODER_PATH)
    parser.add_argument("--with-mlp", action="store_true", help="also stack the MLP scorer")
    parser.add_argument("--dry-run", action="store_true", help="report, write nothing")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--ship",
        default="stack_logits_lexical",
        choices=("stack_logits", "stack_logits_lexical", "stack_logits_lexical_mlp"),
        help="the stacker written into the model's metadata (the _mlp one runs the network too)",
    )
    parser.add_argument(
        "--partial", action="store_true", help="preview on the folds done so far (a dry run)"
    )
    args = parser.parse_args(argv)
    from sklearn.model_selection import GroupKFold

    try:
        pairs = load_pairs(args.data, "dnli")
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    y = np.array([LABELS.index(p.label) for p in pairs])
    groups = persona_groups(pairs)
    with np.load(args.oof) as saved:
        fold = saved["fold"].astype(int)
        logits = saved["int8_logits"].astype(np.float64)
        torch_logits = saved["torch_logits"].astype(np.float64)
        variants = {
            key[5:-7]: saved[key].astype(np.float64)
            for key in saved.files
            if key.startswith("int8_") and key.endswith("_logits") and key != "int8_logits"
        }
    if len(fold) != len(y) or ((fold < 0).any() and not args.partial):
        print("error: the out-of-fold file does not cover every pair of --data", file=sys.stderr)
        return 2
    folds = args.folds
    for k, (_, test) in enumerate(GroupKFold(n_splits=folds).split(np.zeros(len(y)), y, groups)):
        if not (fold[test] == k).all() and (fold[test] >= 0).any():
            print("error: the out-of-fold file's folds are not this data's", file=sys.stderr)
            return 2
    if args.partial:  # a preview on the folds done so far: nothing is written
        args.dry_run = True
        keep = np.flatnonzero(fold >= 0)
        pairs = [pairs[i] for i in keep]
        y, fold, logits, torch_logits = y[keep], fold[keep], logits[keep], torch_logits[keep]
        variants = {k: v[keep] for k, v in variants.items()}
    log(f"{len(y)} pairs, {folds} grouped folds")
    if args.ship.endswith("_mlp"):
        args.with_mlp = True

    pair_texts = [(p.utterance, p.persona) for p in pairs]
    lexical = F.lexical_matrix(pair_texts).astype(np.float64)
    cv: dict[str, Any] = {
        "cross_encoder_torch_softmax": _figures(y, _softmax(torch_logits)),
        "cross_encoder_int8_softmax": _figures(y, _softmax(logits)),
    }
    temp = by_folds(lambda tr, te: _softmax(logits[te] / fit_temperature(logits[tr], y[tr])), fold)
    cv["cross_encoder_int8_temperature"] = _figures(y, temp)
    for how, values in variants.items():
        # Each way of quantising, against the torch model, on the rows it was run on.
        have = np.abs(values).sum(axis=1) > 0
        if have.any():
            p_torch, p_int8 = _softmax(torch_logits[have]), _softmax(values[have])
            cv[f"int8_{how}_against_torch"] = {
                "pairs": int(have.sum()),
                **_figures(y[have], p_int8),
                "torch_on_these_pairs": _figures(y[have], p_torch),
                "label_agreement": round(float((p_torch.argmax(1) == p_int8.argmax(1)).mean()), 4),
                "mean_abs_contradiction_difference": round(
                    float(np.abs(p_torch[:, 2] - p_int8[:, 2]).mean()), 4
                ),
                "max_abs_probability_difference": round(float(np.abs(p_torch - p_int8).max()), 4),
            }
    candidates: dict[str, tuple[tuple[str, ...], np.ndarray]] = {
        "stack_logits": (LOGITS, logits),
        "stack_logits_lexical": (LOGITS + LEXICAL, np.hstack([logits, lexical])),
    }
    if args.with_mlp:
        # Kept beside oof.npz (the work folder, never the repository): ten minutes to make.
        cached = args.oof.with_name("mlp_oof.npz")
        if cached.is_file() and not args.partial:
            with np.load(cached) as kept:
                mlp = kept["prob"]
        else:
            t = time.perf_counter()
            mlp = mlp_oof(pairs, y, groups, folds)
            log(f"MLP out-of-fold probabilities in {time.perf_counter() - t:.0f}s")
            if not args.partial:
                np.savez(cached, prob=mlp)
        cv["mlp_scorer"] = _figures(y, mlp)
        log_mlp = np.log(np.clip(mlp, 1e-6, None))
        names = LOGITS + LEXICAL + tuple(f"mlp_{label}" for label in LABELS)
        candidates["stack_logits_lexical_mlp"] = (names, np.hstack([logits, lexical, log_mlp]))
    chosen_c: dict[str, float] = {}
    for name, (_, x) in candidates.items():
        rows, best_c = stacked(x, y, fold)
        chosen_c[name] = best_c
        cv[name] = {**rows[f"C={best_c}"], "C": best_c, "by_C": rows}
        log(f"{name}: {cv[name]['accuracy']} accuracy, C={best_c}")
    for name, value in cv.items():
        if not name.startswith("stack"):
            log(f"{name}: {value}")

    shipped = args.ship
    if shipped not in candidates:
        print(f"error: --ship {shipped}: not measured (--with-mlp?)", file=sys.stderr)
        return 2
    names, x = candidates[shipped]
    model = _logistic(chosen_c[shipped]).fit(x, y)
    scaler, lr = model[0], model[-1]
    if list(lr.classes_) != list(range(len(LABELS))):
        raise AssertionError(f"unexpected classes {lr.classes_}")
    stacker = {
        "kind": "multinomial logistic regression over standardised columns",
        "features": list(names),
        "C": chosen_c[shipped],
        "mean": scaler.mean_.tolist(),
        "scale": np.where(scaler.scale_ == 0, 1.0, scaler.scale_).tolist(),
        "coef": lr.coef_.tolist(),
        "intercept": lr.intercept_.tolist(),
        "fitted_on": "the cross-encoder's out-of-fold int8 logits, all folds",
    }
    from chimera.adapters.nli.cross_encoder import Stacker

    check = Stacker.from_metadata(stacker).predict_proba(x)
    if not np.allclose(check, model.predict_proba(x), atol=1e-6):
        raise AssertionError("the saved stacker disagrees with the fitted one")
    grouped = {
        "folds": folds,
        "groups": "persona sentence",
        "shipped": shipped,
        **{k: cv[shipped][k] for k in KEEP},
        "candidates": cv,
    }
    report: dict[str, Any] = {"grouped_cv": grouped, "stacker": stacker}
    meta_file = metadata_path(args.model)
    if not args.dry_run:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if "cross_encoder_fit_grouped_cv" not in meta and "grouped_cv" in meta:
            # The fit script's own figures (torch and int8 softmax, agreement), kept aside.
            meta["cross_encoder_fit_grouped_cv"] = meta["grouped_cv"]
        meta["grouped_cv"] = grouped
        meta["stacker"] = stacker
        meta_file.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        log(f"wrote the stacker and grouped-CV figures into {meta_file}")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
