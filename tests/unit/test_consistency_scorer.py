"""Embeddings, the persona-consistency scorer and its evaluation, offline.

Hand-written sentences only; the scorer is the shipped model file. No network, no data
outside the repository.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from chimera.adapters.embeddings import EMBEDDING_DIM, ChimeraEmbeddings, get_embedder
from chimera.adapters.nli.choice import get_scorer
from chimera.adapters.nli.features import counted_numbers, lexical_features, numbers, tokenize
from chimera.adapters.nli.scorer import PersonaConsistencyScorer
from chimera.cli.evals import eval_app
from chimera.domain.errors import InputError
from chimera.evals.nli_eval import (
    compute_metrics,
    evaluate,
    load_pairs,
    run,
    training_data_note,
    write_report,
)


@pytest.fixture(scope="module")
def scorer() -> PersonaConsistencyScorer:
    return get_scorer()


def test_embedder_loads_offline_and_gives_unit_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    vectors = get_embedder().embed(["I have two dogs.", "My dog is called Rex.", ""])
    assert vectors.shape == (3, EMBEDDING_DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert get_embedder().embed([]).shape == (0, EMBEDDING_DIM)


def test_batches_keep_the_order_of_the_texts() -> None:
    texts = [f"sentence number {i} " + "word " * (i % 7) for i in range(70)]
    together = get_embedder().embed(texts)
    one_by_one = np.stack([get_embedder().embed_one(t) for t in texts[:5]])
    np.testing.assert_allclose(together[:5], one_by_one, atol=1e-4)


def test_similar_sentences_are_closer_than_unrelated_ones() -> None:
    a, b, c = get_embedder().embed(
        [
            "I love walking my dog in the park.",
            "Taking my puppy for a walk is my favourite.",
            "The central bank raised interest rates again.",
        ]
    )
    assert float(a @ b) > float(a @ c) + 0.3


def test_langchain_adapter() -> None:
    from langgraph.store.memory import InMemoryStore

    embeddings = ChimeraEmbeddings()
    docs = embeddings.embed_documents(["a cat on a mat", "stock prices"])
    assert len(docs) == 2 and all(len(d) == EMBEDDING_DIM for d in docs)
    assert len(embeddings.embed_query("a kitten")) == EMBEDDING_DIM
    store = InMemoryStore(index={"dims": EMBEDDING_DIM, "embed": embeddings})
    store.put(("memories",), "pets", {"text": "I have two cats and a dog"})
    store.put(("memories",), "work", {"text": "I work night shifts as a nurse"})
    hits = store.search(("memories",), query="my pets at home", limit=1)
    assert hits[0].key == "pets"


def test_number_words_and_digits_are_read_alike() -> None:
    assert numbers(tokenize("i am twenty two years old")) == {22}
    assert numbers(tokenize("I have 2 dogs and nine cats")) == {2, 9}
    assert numbers(tokenize("no one likes me, one of these days")) == set()
    assert counted_numbers(tokenize("i have three kids")) == {"child": {3}}


def test_lexical_cues_fire(scorer: PersonaConsistencyScorer) -> None:
    from chimera.adapters.nli.features import LEXICAL_FEATURES

    row = dict(
        zip(LEXICAL_FEATURES, lexical_features("I have two dogs", "I have nine dogs"), strict=True)
    )
    assert row["num_mismatch"] == 1 and row["num_noun_conflict"] == 1
    row = dict(zip(LEXICAL_FEATURES, lexical_features("I love cats", "I hate cats"), strict=True))
    assert row["antonym"] >= 1
    row = dict(
        zip(LEXICAL_FEATURES, lexical_features("I don't like tea", "I like tea"), strict=True)
    )
    assert row["neg_mismatch"] == 1


@pytest.mark.parametrize(
    ("utterance", "persona", "label"),
    [
        ("I have two dogs.", "I have nine dogs.", "contradiction"),
        ("I have 2 cats.", "I have 5 cats.", "contradiction"),
        ("I love cats.", "I hate cats.", "contradiction"),
        ("I do not like coffee.", "I like coffee.", "contradiction"),
        ("I work as a nurse at the city hospital.", "I am a nurse.", "entailment"),
        ("My two dogs are my best friends.", "I have two dogs.", "entailment"),
        ("I go swimming every morning before work.", "I like to swim.", "entailment"),
        ("I drive a red truck.", "My favourite food is sushi.", "neutral"),
    ],
)
def test_scorer_labels_clear_cases(
    scorer: PersonaConsistencyScorer, utterance: str, persona: str, label: str
) -> None:
    result = scorer.score(utterance, persona)
    assert result.label == label, result
    assert abs(result.entailment + result.neutral + result.contradiction - 1) < 1e-6


def test_scorer_model_file_describes_itself(scorer: PersonaConsistencyScorer) -> None:
    meta = scorer.metadata
    assert meta["labels"] == ["entailment", "neutral", "contradiction"]
    assert meta["grouped_cv"]["groups"] == "persona sentence"
    assert scorer.predict_proba([]).shape == (0, 3)


class FixedScorer:
    """Returns the probabilities it was given, in order."""

    def __init__(self, prob: Sequence[Sequence[float]]) -> None:
        self.prob = np.asarray(prob, dtype=float)

    def predict_proba(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        assert len(pairs) == len(self.prob)
        return self.prob


def _write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


ROWS = [
    {"utterance": "u1", "persona": "p1", "label": "entailment"},
    {"utterance": "u2", "persona": "p2", "label": "positive"},
    {"utterance": "u3", "persona": "p3", "label": "neutral"},
    {"utterance": "u4", "persona": "p4", "label": "contradiction"},
]


def test_metrics_computed_by_hand(tmp_path: Path) -> None:
    pairs = load_pairs(_write_jsonl(tmp_path / "pairs.jsonl", ROWS), "jsonl")
    assert [p.label for p in pairs] == ["entailment", "entailment", "neutral", "contradiction"]
    # Predicted: entailment, contradiction (wrong), neutral, contradiction -> 3/4 right.
    prob = [[0.9, 0.05, 0.05], [0.2, 0.2, 0.6], [0.1, 0.7, 0.2], [0.1, 0.1, 0.8]]
    report = evaluate(pairs, FixedScorer(prob))
    assert report["accuracy"] == pytest.approx(0.75)
    # F1: entailment P=1 R=1/2 -> 2/3; neutral 1; contradiction P=1/2 R=1 -> 2/3.
    assert report["macro_f1"] == pytest.approx((2 / 3 + 1 + 2 / 3) / 3)
    # Contradiction scores: positive 0.8; negatives 0.05, 0.6, 0.2 -> all below: AUROC 1.
    assert report["contradiction_auroc"] == pytest.approx(1.0)
    # Confidences 0.9 (right), 0.6 (wrong), 0.7 (right), 0.8 (right), one per bin:
    # ECE = (0.1 + 0.6 + 0.3 + 0.2) / 4.
    assert report["ece"] == pytest.approx((0.1 + 0.6 + 0.3 + 0.2) / 4)
    assert report["confusion_matrix"]["rows_true_cols_predicted"] == [
        [1, 0, 1],
        [0, 1, 0],
        [0, 0, 1],
    ]
    folder = write_report(report, tmp_path / "report")
    for name in ("confusion_matrix.png", "reliability.png"):
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((folder / "report.json").read_text())["accuracy"] == 0.75
    assert "| 3-way accuracy | 0.750 |" in (folder / "report.md").read_text()


def test_auroc_counts_ties_half() -> None:
    y = np.array([2, 0, 1, 2])
    prob = np.array([[0.2, 0.3, 0.5], [0.25, 0.25, 0.5], [0.8, 0.1, 0.1], [0.1, 0.1, 0.8]])
    # Positives 0.5, 0.8; negatives 0.5, 0.1: pairs won 1 + 0.5 (tie) + 1 + 1 out of 4.
    assert compute_metrics(y, prob)["contradiction_auroc"] == pytest.approx(3.5 / 4)


def test_real_scorer_end_to_end_on_dnli_format(tmp_path: Path) -> None:
    data = tmp_path / "pairs.txt"
    data.write_text(
        "i have two dogs .</s>i have nine dogs .</s>negative\n"
        "\n"
        "i work as a nurse at the city hospital .</s>i am a nurse .</s>positive\n"
        "i drive a red truck .</s>my favourite food is sushi .</s>neutral\n",
        encoding="utf-8",
    )
    report, folder = run(data, "dnli", tmp_path / "out")
    assert report["n"] == 3 and report["accuracy"] == pytest.approx(1.0)
    assert (folder / "reliability.png").is_file()


def test_bad_input_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_pairs(tmp_path / "missing.jsonl", "jsonl")
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text(json.dumps(ROWS[0]) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 2: not valid JSON"):
        load_pairs(bad_json, "jsonl")
    bad_label = _write_jsonl(tmp_path / "label.jsonl", [*ROWS[:2], {**ROWS[2], "label": "maybe"}])
    with pytest.raises(InputError, match=r"line 3: unknown label 'maybe'"):
        load_pairs(bad_label, "jsonl")
    missing = _write_jsonl(tmp_path / "field.jsonl", [{"utterance": "u", "label": "neutral"}])
    with pytest.raises(InputError, match=r"line 1: missing field 'persona'"):
        load_pairs(missing, "jsonl")
    dnli = tmp_path / "bad.txt"
    dnli.write_text("a</s>b</s>positive\na</s>b positive\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 2: expected 'utterance</s>persona_sentence"):
        load_pairs(dnli, "dnli")
    with pytest.raises(InputError, match="unknown format"):
        load_pairs(dnli, "csv")


def test_cli_exit_codes_and_json(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(eval_app, ["persona-consistency", "--data", str(tmp_path / "no.txt")])
    assert result.exit_code == 2
    data = _write_jsonl(
        tmp_path / "pairs.jsonl",
        [
            {"utterance": "I have two dogs.", "persona": "I have nine dogs.", "label": "negative"},
            {
                "utterance": "I am a nurse at the hospital.",
                "persona": "I am a nurse.",
                "label": "entailment",
            },
        ],
    )
    out = tmp_path / "report"
    result = runner.invoke(
        eval_app,
        [
            "persona-consistency",
            "--data",
            str(data),
            "--format",
            "jsonl",
            "--json",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["n"] == 2 and payload["report_dir"] == str(out)
    assert (out / "confusion_matrix.png").is_file()
    readable = runner.invoke(
        eval_app,
        [
            "persona-consistency",
            "--data",
            str(data),
            "--format",
            "jsonl",
            "--out",
            str(tmp_path / "r2"),
        ],
    )
    assert readable.exit_code == 0 and "3-way accuracy" in readable.stdout


class _FittedOn:
    """A scorer whose model says it was fitted on a given file."""

    def __init__(self, digest: str) -> None:
        self.metadata = {
            "training_data": {"sha256": digest},
            "grouped_cv": {"folds": 5, "groups": "persona sentence", "accuracy": 0.86,
                           "contradiction_auroc": 0.96, "ece": 0.02, "candidates": {}},
        }  # fmt: skip

    def predict_proba(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        return np.tile([0.1, 0.1, 0.8], (len(pairs), 1))


def test_the_report_says_when_it_scores_the_training_pairs(tmp_path: Path) -> None:
    data = tmp_path / "train.txt"
    data.write_text("i have two dogs .</s>i have nine dogs .</s>negative\n", encoding="utf-8")
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    report, folder = run(data, "dnli", tmp_path / "out", scorer=_FittedOn(digest))
    assert report["fitted_on_this_data"] is True
    assert report["grouped_cv"]["accuracy"] == 0.86 and "candidates" not in report["grouped_cv"]
    assert "training pairs" in (folder / "report.md").read_text()
    assert training_data_note(data, _FittedOn("0" * 64)) == {"fitted_on_this_data": False}


def test_pairs_of_one_persona_sentence_share_a_cv_group() -> None:
    from chimera.evals.nli_eval import LabeledPair, persona_groups

    pairs = [LabeledPair("a", "z", "entailment"), LabeledPair("b", "y", "neutral"),
             LabeledPair("c", "z", "contradiction")]  # fmt: skip
    assert persona_groups(pairs).tolist() == [1, 0, 1]
