"""The persona-consistency cross-encoder's run-time scorer (int8 ONNX, no torch), offline.

Hand-written sentences only; no data outside the repository, no torch. No cross-encoder
ships yet (see README.md, Evals): the tests that score need one, named by
``CHIMERA_NLI_SCORER`` (a file fitted by ``evals/fit_cross_encoder.py``), and are skipped
without it; the stacker, the errors and the scorer choice are tested always.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from chimera.adapters.embeddings import default_tokenizer_path
from chimera.adapters.nli.choice import SCORER_ENV, get_scorer
from chimera.adapters.nli.cross_encoder import (
    CrossEncoderScorer,
    Stacker,
    metadata_path,
    stack_columns,
)
from chimera.adapters.nli.features import LEXICAL_FEATURES
from chimera.adapters.nli.scorer import ConsistencyModelError, PersonaConsistencyScorer
from chimera.cli.evals import eval_app


def _fitted_model() -> Path | None:
    named = os.environ.get(SCORER_ENV, "").strip()
    return Path(named) if named and Path(named).is_file() else None


@pytest.fixture(scope="module")
def scorer() -> CrossEncoderScorer:
    model = _fitted_model()
    if model is None:
        pytest.skip(f"no cross-encoder named by {SCORER_ENV}")
    return CrossEncoderScorer(model)


def test_the_environment_chooses_the_scorer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    get_scorer.cache_clear()
    try:
        monkeypatch.delenv(SCORER_ENV, raising=False)
        assert isinstance(get_scorer(), PersonaConsistencyScorer)
        get_scorer.cache_clear()
        monkeypatch.setenv(SCORER_ENV, str(tmp_path / "ce.onnx"))
        chosen = get_scorer()
        assert isinstance(chosen, CrossEncoderScorer)
        assert chosen.model_path == tmp_path / "ce.onnx"
        # The judge embeds its draft through the scorer's embedder.
        assert hasattr(chosen.embedder, "embed_alone")
        with pytest.raises(ConsistencyModelError, match="not found"):
            chosen.predict_proba([("a", "b")])
    finally:
        get_scorer.cache_clear()


def test_metadata_records_fit_and_grouped_cv_and_no_training_text(
    scorer: CrossEncoderScorer,
) -> None:
    meta = scorer.metadata
    assert meta["labels"] == ["entailment", "neutral", "contradiction"]
    assert "MiniLM-L6-v2" in meta["base_model"]
    assert {"lr", "batch", "max_length", "epochs"} <= set(meta["hyperparameters"])
    assert len(meta["training_data"]["sha256"]) == 64 and meta["fitted_at"]
    cv = meta["grouped_cv"]
    assert cv["groups"] == "persona sentence" and cv["folds"] == 5
    for key in ("accuracy", "contradiction_auroc", "ece"):
        assert 0 <= cv[key] <= 1
    assert meta["stacker"]["features"][:3] == ["ce_entailment", "ce_neutral", "ce_contradiction"]
    # Figures and weights only: no string in the metadata is longer than a description.
    text = json.dumps(meta)
    assert "</s>" not in text
    assert meta["onnx_sha256"] == hashlib.sha256(scorer.model_path.read_bytes()).hexdigest()


def test_pairs_are_encoded_as_at_fitting_time(scorer: CrossEncoderScorer) -> None:
    scorer.logits([("x", "y")])
    tokenizer = scorer._tokenizer
    enc = tokenizer.encode_batch([("i have two dogs .", "i am a nurse .")])[0]
    assert enc.tokens[0] == "[CLS]" and enc.tokens.count("[SEP]") == 2
    second = enc.tokens.index("[SEP]") + 1
    assert set(enc.type_ids[:second]) == {0} and set(enc.type_ids[second:]) == {1}
    long = tokenizer.encode_batch([("word " * 200, "persona " * 200)])[0]
    assert len(long.ids) == scorer.metadata["hyperparameters"]["max_length"]


@pytest.mark.parametrize(
    ("utterance", "persona", "label"),
    [
        ("I have two dogs.", "I have nine dogs.", "contradiction"),
        ("I love cats.", "I hate cats.", "contradiction"),
        ("I work as a nurse at the city hospital.", "I am a nurse.", "entailment"),
        ("My two dogs are my best friends.", "I have two dogs.", "entailment"),
        ("I drive a red truck.", "My favourite food is sushi.", "neutral"),
    ],
)
def test_clear_cases(scorer: CrossEncoderScorer, utterance: str, persona: str, label: str) -> None:
    result = scorer.score(utterance, persona)
    assert result.label == label, result
    assert abs(result.entailment + result.neutral + result.contradiction - 1) < 1e-6


def test_one_batch_scores_as_pairs_one_by_one(scorer: CrossEncoderScorer) -> None:
    pairs = [
        ("I have two dogs.", "I have nine dogs."),
        ("I mended my jeans at the repair café on Saturday.", "I run a repair café."),
        ("ok", "I never buy fast fashion."),
    ]
    together = scorer.predict_proba(pairs)
    alone = np.vstack([scorer.predict_proba([p]) for p in pairs])
    np.testing.assert_allclose(together, alone, atol=0.02)
    assert scorer.predict_proba([]).shape == (0, 3)


def test_stacker_columns_and_probabilities() -> None:
    names = ("ce_entailment", "ce_neutral", "ce_contradiction", "lex_num_mismatch")
    logits = np.array([[1.0, 0.0, -1.0]])
    columns = stack_columns(logits, [("I have two dogs", "I have nine dogs")], names)
    assert columns.tolist() == [[1.0, 0.0, -1.0, 1.0]]
    assert "num_mismatch" in LEXICAL_FEATURES
    stacker = Stacker(
        features=names,
        mean=np.zeros(4),
        scale=np.ones(4),
        coef=np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 5.0]]),
        intercept=np.zeros(3),
    )
    prob = stacker.predict_proba(columns)
    assert prob.shape == (1, 3) and prob.argmax() == 2
    with pytest.raises(ConsistencyModelError, match="unknown stacker feature"):
        stack_columns(logits, [("a", "b")], ("mlp_entailment",))
    with_network = stack_columns(
        logits, [("a", "b")], ("ce_neutral", "mlp_contradiction"), np.array([[0.2, 0.3, 0.5]])
    )
    np.testing.assert_allclose(with_network, [[0.0, np.log(0.5)]])


def test_a_missing_model_or_another_tokenizer_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConsistencyModelError, match="not found"):
        CrossEncoderScorer(tmp_path / "none.onnx").predict_proba([("a", "b")])
    fitted = _fitted_model()
    if fitted is None:
        pytest.skip(f"no cross-encoder named by {SCORER_ENV}")
    model = tmp_path / "m.onnx"
    shutil.copy(fitted, model)
    shutil.copy(metadata_path(fitted), metadata_path(model))
    other = tmp_path / "tokenizer.json"
    other.write_text(default_tokenizer_path().read_text(encoding="utf-8") + " ", encoding="utf-8")
    with pytest.raises(ConsistencyModelError, match="not the tokenizer"):
        CrossEncoderScorer(model, tokenizer_path=other).predict_proba([("a", "b")])


def test_the_cli_reports_whether_it_scores_training_pairs(tmp_path: Path) -> None:
    data = tmp_path / "other.txt"
    data.write_text("i have two dogs .</s>i have nine dogs .</s>negative\n", encoding="utf-8")
    result = CliRunner().invoke(
        eval_app, ["persona-consistency", "--data", str(data), "--json", "--out",
                   str(tmp_path / "r")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["fitted_on_this_data"] is False
