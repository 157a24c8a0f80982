"""Embedding throughput of Chimera's embedder (int8 ONNX all-MiniLM-L6-v2 on the CPU).

Measures, in one process:

- load: seconds for the first :class:`~chimera.adapters.embeddings.Embedder` to load (imports of
  onnxruntime and tokenizers included) and for a second one (model file only);
- sentences per second embedding a list in batches (``Embedder.embed``, batch size 64
  by default, texts sorted by length), for short texts (about 8 words: queries),
  memories (about 19 words: the texts ``memory_search`` loads) and long texts (150 to
  200 words, near the model's 256-token cut);
- the baseline, run in the same process on the same texts: a naive loop that embeds one
  sentence per call (``embed_one``). Speed is reported as the ratio batched / naive,
  never as absolute thresholds; the naive loop's per-call time is also the latency of
  embedding one search query;
- agreement: the cosine between a text's batched vector and its one-at-a-time vector
  (int8 dynamic quantisation scales activations per batch, so they differ slightly).

Batched and naive runs alternate ``--repeats`` times and the median is kept, so a
neighbour's load on the machine hits both alike.

Run from the project root::

    uv run python -m benchmarks.embedding_throughput [--short 512] [--memory 512] \
        [--long 64] [--batch-sizes 64] [--repeats 3] [--threads N] [--json]

Results go to stdout and ``benchmarks/results/embedding_throughput-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks import corpus
from benchmarks.report import publish


def measure_load(threads: int | None = None) -> dict[str, float]:
    """Seconds to load a first embedder (with its imports) and a second one."""
    from chimera.adapters.embeddings import Embedder

    began = time.perf_counter()
    Embedder(threads=threads).load()
    first = time.perf_counter() - began
    began = time.perf_counter()
    Embedder(threads=threads).load()
    second = time.perf_counter() - began
    return {"first_load_s": round(first, 3), "second_load_s": round(second, 3)}


def measure(
    embedder: Any, texts: Sequence[str], *, batch_size: int, repeats: int = 3
) -> dict[str, Any]:
    """Batched vs one-sentence-per-call throughput on ``texts`` with ``embedder``.

    ``embedder`` is a :class:`~chimera.adapters.embeddings.Embedder`; its ``batch_size`` is set to
    ``batch_size`` for the batched runs and restored afterwards.
    """
    texts = list(texts)
    saved = embedder.batch_size
    embedder.batch_size = batch_size
    try:
        embedder.embed(texts[: min(len(texts), batch_size)])  # warm-up
        embedder.embed_one(texts[0])
        batched_s: list[float] = []
        naive_s: list[float] = []
        per_call: list[float] = []
        batched = single = None
        for _ in range(repeats):
            began = time.perf_counter()
            batched = embedder.embed(texts)
            batched_s.append(time.perf_counter() - began)
            rows = []
            began = time.perf_counter()
            for text in texts:
                t0 = time.perf_counter()
                rows.append(embedder.embed_one(text))
                per_call.append(time.perf_counter() - t0)
            naive_s.append(time.perf_counter() - began)
            single = np.stack(rows)
    finally:
        embedder.batch_size = saved
    assert batched is not None and single is not None
    cosines = np.sum(batched * single, axis=1)  # unit vectors
    batched_rate = len(texts) / statistics.median(batched_s)
    naive_rate = len(texts) / statistics.median(naive_s)
    ms = np.asarray(per_call) * 1000
    return {
        "texts": len(texts),
        "mean_words": round(float(np.mean([len(t.split()) for t in texts])), 1),
        "batch_size": batch_size,
        "repeats": repeats,
        "batched_per_s": round(batched_rate, 1),
        "naive_per_s": round(naive_rate, 1),
        "ratio_batched_vs_naive": round(batched_rate / naive_rate, 2),
        "one_text_p50_ms": round(float(np.percentile(ms, 50)), 2),
        "one_text_p95_ms": round(float(np.percentile(ms, 95)), 2),
        "min_cosine_batched_vs_one": round(float(cosines.min()), 5),
    }


def run(
    n_short: int,
    n_memory: int,
    n_long: int,
    *,
    batch_sizes: Sequence[int] = (64,),
    repeats: int = 3,
    threads: int | None = None,
) -> dict[str, Any]:
    from chimera.adapters.embeddings import MODEL_ID, Embedder

    report: dict[str, Any] = {
        "benchmark": "embedding_throughput",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "cpus": os.cpu_count(),
        "threads": threads or "onnxruntime default",
        "model": MODEL_ID,
        "load": measure_load(threads),
        "runs": [],
    }
    embedder = Embedder(threads=threads).load()
    for kind, texts in (
        ("short", corpus.short_texts(n_short)),
        ("memory", [text for _, text in corpus.memories(n_memory)]),
        ("long", corpus.long_texts(n_long)),
    ):
        if not texts:
            continue
        for batch_size in batch_sizes:
            result = measure(embedder, texts, batch_size=batch_size, repeats=repeats)
            report["runs"].append({"kind": kind, **result})
    return report


def render(report: dict[str, Any]) -> str:
    lines = [
        f"embedding_throughput {report['date']} ({report['cpus']} CPUs, "
        f"threads: {report['threads']}, {report['model']})",
        f"load: first {report['load']['first_load_s']} s (with imports), "
        f"second {report['load']['second_load_s']} s",
        "",
        f"{'kind':<6} {'texts':>6} {'words':>6} {'batch':>6} {'batched/s':>10} {'naive/s':>8} "
        f"{'ratio':>6} {'1-text p50 ms':>14} {'min cos':>8}",
    ]
    for r in report["runs"]:
        lines.append(
            f"{r['kind']:<6} {r['texts']:>6} {r['mean_words']:>6} {r['batch_size']:>6} "
            f"{r['batched_per_s']:>10} {r['naive_per_s']:>8} {r['ratio_batched_vs_naive']:>6} "
            f"{r['one_text_p50_ms']:>14} {r['min_cosine_batched_vs_one']:>8}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", type=int, default=512, help="number of short texts")
    parser.add_argument("--memory", type=int, default=512, help="number of memory texts")
    parser.add_argument("--long", type=int, default=64, help="number of long texts")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, help="onnxruntime intra-op threads")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    report = run(
        args.short,
        args.memory,
        args.long,
        batch_sizes=args.batch_sizes,
        repeats=args.repeats,
        threads=args.threads,
    )
    publish("embedding_throughput", report, args.json, render)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
