"""Persona-consistency scorers: does an utterance entail, leave open, or contradict a
persona sentence?

:func:`chimera.adapters.nli.choice.get_scorer` gives the one the judge and
``chimera eval persona-consistency`` use:
:class:`PersonaConsistencyScorer`, or, when ``CHIMERA_NLI_SCORER`` names a cross-encoder's
``.onnx`` file (fitted by ``evals/fit_cross_encoder.py``, its ``.json`` beside it), the
:class:`chimera.adapters.nli.cross_encoder.CrossEncoderScorer` of that file.

:class:`PersonaConsistencyScorer` runs on numpy alone: the features of
:mod:`chimera.adapters.nli.features` (frozen MiniLM vectors from
:mod:`chimera.adapters.embeddings` plus lexical and word-alignment cues) go through the
network saved in ``model.npz`` beside this file, fitted by ``evals/fit_nli_scorer.py``
(which records its grouped cross-validation figures in the file's metadata:
:attr:`PersonaConsistencyScorer.metadata`).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from chimera.adapters.embeddings import AloneVectors, Embedder, get_embedder, shared_alone_vectors
from chimera.adapters.nli import features as F
from chimera.domain.errors import ChimeraError

LABELS: tuple[str, str, str] = ("entailment", "neutral", "contradiction")
DEFAULT_MODEL_PATH = Path(str(files("chimera.adapters.nli") / "model.npz"))
FORMAT = "chimera-persona-consistency/1"
# The network's first layer is a (pairs x 1563) by (1563 x 768) product: OpenBLAS split it
# over both cores of a shared 2-core machine took 15x longer than one thread (48 ms
# against 3.5 ms for 20 pairs). Limited per call, so that nothing else in the process
# is; the controller is made once because finding the BLAS libraries each call costs.
_BLAS = ThreadpoolController()


class ConsistencyModelError(ChimeraError):
    """The scorer's model file is missing, of another format, or fitted on other features."""


@dataclass(frozen=True)
class ConsistencyScore:
    """Probabilities of the three labels for one (utterance, persona sentence) pair."""

    entailment: float
    neutral: float
    contradiction: float

    @property
    def label(self) -> str:
        probs = (self.entailment, self.neutral, self.contradiction)
        return LABELS[int(np.argmax(probs))]

    def as_dict(self) -> dict[str, float | str]:
        return {
            "entailment": self.entailment,
            "neutral": self.neutral,
            "contradiction": self.contradiction,
            "label": self.label,
        }


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


@dataclass(frozen=True)
class NetworkWeights:
    """A standardiser, dense layers with ReLU between them, softmax with a temperature."""

    mean: np.ndarray
    scale: np.ndarray
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    temperature: float = 1.0

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        h = (x.astype(np.float64) - self.mean) / self.scale
        last = len(self.weights) - 1
        with _BLAS.limit(limits=1, user_api="blas"):
            for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
                h = h @ w + b
                if i < last:
                    h = np.maximum(h, 0.0)
        return _softmax(h / self.temperature)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"mean": self.mean, "scale": self.scale}
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            out[f"w{i}"] = w
            out[f"b{i}"] = b
        return out


def save_model(path: Path, network: NetworkWeights, metadata: dict[str, Any]) -> None:
    """Write a model file the scorer loads: arrays plus JSON metadata.

    Weight matrices are stored as float16 (half the size; the probabilities move by
    about 1e-3 at most), the standardiser and biases as float32.
    """
    meta = {
        **metadata,
        "format": FORMAT,
        "labels": list(LABELS),
        "layers": len(network.weights),
        "temperature": network.temperature,
        "lexical_features": list(F.LEXICAL_FEATURES),
        "alignment_features": list(F.ALIGNMENT_FEATURES),
    }
    payload: dict[str, Any] = {
        k: v.astype(np.float16 if k.startswith("w") else np.float32)
        for k, v in network.arrays().items()
    }
    payload["metadata"] = np.array(json.dumps(meta))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        np.savez_compressed(fh, **payload)


def load_model(path: Path) -> tuple[NetworkWeights, dict[str, Any]]:
    if not path.is_file():
        raise ConsistencyModelError(
            f"persona-consistency model not found: {path} "
            "(fit one with `uv run python -m chimera.evals.fit_nli_scorer --data FILE`)"
        )
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["metadata"]))
        if meta.get("format") != FORMAT:
            raise ConsistencyModelError(f"{path}: not a {FORMAT} model file")
        if meta.get("lexical_features") != list(F.LEXICAL_FEATURES) or meta.get(
            "alignment_features"
        ) != list(F.ALIGNMENT_FEATURES):
            raise ConsistencyModelError(
                f"{path} was fitted on other features than chimera.adapters.nli.features "
                "computes now: fit it again"
            )
        layers = int(meta["layers"])
        network = NetworkWeights(
            mean=data["mean"].astype(np.float64),
            scale=data["scale"].astype(np.float64),
            weights=tuple(data[f"w{i}"].astype(np.float64) for i in range(layers)),
            biases=tuple(data[f"b{i}"].astype(np.float64) for i in range(layers)),
            temperature=float(meta.get("temperature", 1.0)),
        )
    return network, meta


def feature_matrix(parts: dict[str, np.ndarray]) -> np.ndarray:
    """The model's input: embedding, lexical and alignment features side by side."""
    return np.hstack([parts["embedding"], parts["lexical"], parts["alignment"]])


class CachingEmbedder:
    """An embedder that remembers its last ``size`` texts: the persona's facts and the
    content words of its posts come back with every draft, and embedding them again
    was most of the judge's time."""

    def __init__(self, embedder: Embedder | None = None, size: int = 50_000) -> None:
        self._embedder = embedder
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._alone = shared_alone_vectors() if embedder is None else AloneVectors(embedder)

    @property
    def inner(self) -> Embedder:
        return self._embedder or get_embedder()

    def embed_alone(self, text: str) -> np.ndarray:
        """The vector of ``text`` embedded on its own, as the store embeds a search query
        (with the shared embedder, the very vector the store's search of it used)."""
        return self._alone.vector(text)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            fresh = self.inner.embed(missing)
            with self._lock:
                for text, vector in zip(missing, fresh, strict=True):
                    self._vectors[text] = vector
                while len(self._vectors) > self._size:
                    self._vectors.popitem(last=False)
        with self._lock:
            rows = []
            for text in texts:
                vector = self._vectors.get(text)
                if vector is None:  # evicted meanwhile by another thread's batch
                    vector = self.inner.embed([text])[0]
                else:
                    self._vectors.move_to_end(text)
                rows.append(vector)
        if not rows:
            return np.zeros((0, self.inner.dim), dtype=np.float32)
        return np.stack(rows)


class PersonaConsistencyScorer:
    """Scores (utterance, persona sentence) pairs; loads its model file on first use."""

    def __init__(self, model_path: Path | str | None = None, embedder: Embedder | None = None):
        self.model_path = Path(model_path) if model_path is not None else DEFAULT_MODEL_PATH
        self._embedder = CachingEmbedder(embedder)
        self._network: NetworkWeights | None = None
        self._metadata: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def embedder(self) -> CachingEmbedder:
        """The sentence embedder, with a cache (the judge embeds its draft through it too)."""
        return self._embedder

    @property
    def metadata(self) -> dict[str, Any]:
        """What the model file says of itself (fitted on, grouped-CV metrics, ...)."""
        self._load()
        return dict(self._metadata)

    def _load(self) -> NetworkWeights:
        if self._network is None:
            with self._lock:
                if self._network is None:
                    self._network, self._metadata = load_model(self.model_path)
        return self._network

    def predict_proba(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Rows of (entailment, neutral, contradiction) probabilities, one per pair."""
        network = self._load()
        if not pairs:
            return np.zeros((0, len(LABELS)))
        parts = F.pair_features([(str(u), str(p)) for u, p in pairs], self.embedder.embed)
        return network.predict_proba(feature_matrix(parts))

    def warm_sentences(self, utterances: Sequence[str]) -> None:
        """Embed the utterances now, as :meth:`predict_proba` would (sorted, the cached
        left out), so that it finds them cached: the judge runs this, and
        :meth:`warm_words`, in threads beside its memory search, other model calls."""
        self.embedder.embed(sorted(set(utterances)))

    def warm_words(self, utterances: Sequence[str]) -> None:
        """Embed the utterances' content words now, as :meth:`predict_proba` would."""
        words = sorted({w for s in set(utterances) for w in F.content_tokens(s)})
        if words:
            self.embedder.embed(words)

    def score_many(self, pairs: Sequence[tuple[str, str]]) -> list[ConsistencyScore]:
        return [ConsistencyScore(*map(float, row)) for row in self.predict_proba(pairs)]

    def score(self, utterance: str, persona: str) -> ConsistencyScore:
        """How ``utterance`` stands to the persona sentence ``persona``."""
        return self.score_many([(utterance, persona)])[0]


# Names a cross-encoder .onnx file to score with instead of the shipped network.
