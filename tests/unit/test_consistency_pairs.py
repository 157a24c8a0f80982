"""Persona-fact/post pairs: the loader, the judge-view scoring, the metrics and the CLI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from chimera.cli.evals import eval_app
from chimera.domain.errors import InputError
from chimera.evals.persona_pairs import (
    PersonaPostPair,
    accuracy_by_kind,
    agreement_flagged_by_judge_rate,
    agreement_read_as_contradiction_rate,
    evaluate_persona_post_pairs,
    judge_view_proba,
    load_persona_post_pairs,
)

SHIPPED_PAIRS = Path(__file__).resolve().parents[2] / "evals" / "consistency_pairs" / "pairs.jsonl"
E, N, C = 0, 1, 2


def _row(pair_id: str, label: str, post: str = "I mend my jeans.", kind: str = "") -> str:
    body = {"id": pair_id, "persona": "ava", "fact": "I repair clothes.", "post": post}
    return json.dumps({**body, "label": label, **({"kind": kind} if kind else {})})


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class SentenceScorer:
    """Probabilities looked up by sentence; records the pairs it was asked about."""

    def __init__(self, table: dict[str, tuple[float, float, float]]) -> None:
        self.table = table
        self.calls: list[list[tuple[str, str]]] = []

    def predict_proba(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        self.calls.append(list(pairs))
        return np.array([self.table[utterance] for utterance, _ in pairs])


def test_loader_reads_fields_and_skips_blank_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, _row("a", "entailment", kind="negation"), "", _row("b", "negative"))
    pairs = load_persona_post_pairs(path)
    assert [p.pair_id for p in pairs] == ["a", "b"]
    assert pairs[0] == PersonaPostPair(
        "a", "ava", "I repair clothes.", "I mend my jeans.", "entailment", "negation"
    )
    assert pairs[1].label == "contradiction" and pairs[1].kind == ""


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 1: not valid JSON"),
        ("[1]", "expected a JSON object"),
        (json.dumps({"id": "a", "persona": "ava", "fact": "f", "label": "neutral"}), "'post'"),
        (_row("a", "maybe"), "unknown label"),
    ],
)
def test_loader_names_the_bad_line(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_persona_post_pairs(_write(tmp_path, line))


def test_loader_rejects_repeated_ids_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="line 2: id 'a' repeats"):
        load_persona_post_pairs(_write(tmp_path, _row("a", "neutral"), _row("a", "neutral")))
    with pytest.raises(InputError, match="no pairs"):
        load_persona_post_pairs(_write(tmp_path, ""))


def test_judge_view_takes_the_most_contradicting_sentence_in_one_call() -> None:
    scorer = SentenceScorer(
        {
            "I mend.": (0.8, 0.1, 0.1),
            "I bin torn shirts.": (0.1, 0.2, 0.7),
            "Patches rule.": (0.9, 0.05, 0.05),
        }
    )
    pairs = [
        PersonaPostPair(
            "a", "ava", "I repair.", "I mend. I bin torn shirts. #mending #AI", "contradiction"
        ),
        PersonaPostPair("b", "ava", "I repair.", "Patches rule.", "entailment"),
    ]
    prob, sentences = judge_view_proba(pairs, scorer)
    assert len(scorer.calls) == 1
    assert scorer.calls[0] == [
        ("I mend.", "I repair."),
        ("I bin torn shirts.", "I repair."),
        ("Patches rule.", "I repair."),
    ]
    np.testing.assert_allclose(prob, [[0.1, 0.2, 0.7], [0.9, 0.05, 0.05]])
    assert sentences == ["I bin torn shirts.", "Patches rule."]


def test_agreement_rates_by_hand() -> None:
    y = np.array([E, E, E, E, C, N])
    prob = np.array(
        [
            [0.2, 0.1, 0.7],  # agreement read as contradiction, past the 0.6 floor
            [0.4, 0.1, 0.5],  # read as contradiction, under the floor
            [0.8, 0.1, 0.1],
            [0.3, 0.5, 0.2],
            [0.0, 0.0, 1.0],  # real contradictions never count
            [0.0, 0.0, 1.0],
        ]
    )
    assert agreement_read_as_contradiction_rate(y, prob) == pytest.approx(2 / 4)
    assert agreement_flagged_by_judge_rate(y, prob, floor=0.6) == pytest.approx(1 / 4)
    assert agreement_read_as_contradiction_rate(np.array([C]), prob[:1]) is None


def test_accuracy_by_kind_groups_label_and_kind() -> None:
    pairs = [
        PersonaPostPair("a", "ava", "f", "p", "entailment", "negation"),
        PersonaPostPair("b", "ava", "f", "p", "entailment", "negation"),
        PersonaPostPair("c", "ava", "f", "p", "neutral"),
    ]
    assert accuracy_by_kind(pairs, np.array([True, False, True])) == {
        "entailment/negation": {"n": 2, "accuracy": 0.5},
        "neutral": {"n": 1, "accuracy": 1.0},
    }


def test_evaluate_names_the_agreements_read_as_contradiction() -> None:
    scorer = SentenceScorer({"I never shop fast fashion.": (0.2, 0.1, 0.7), "Hi.": (0.1, 0.8, 0.1)})
    pairs = [
        PersonaPostPair(
            "neg", "ava", "I avoid fast fashion.", "I never shop fast fashion.", "entailment"
        ),
        PersonaPostPair("neu", "ava", "I avoid fast fashion.", "Hi.", "neutral"),
    ]
    report = evaluate_persona_post_pairs(pairs, scorer)
    assert report["accuracy"] == pytest.approx(0.5)
    assert report["agreement_read_as_contradiction_rate"] == 1.0
    assert [a["id"] for a in report["agreements_read_as_contradiction"]] == ["neg"]


def test_shipped_pairs_cover_three_personas_and_all_labels() -> None:
    pairs = load_persona_post_pairs(SHIPPED_PAIRS)
    assert len(pairs) >= 150
    assert {p.persona for p in pairs} == {"ava", "kai", "ren"}
    assert {p.label for p in pairs} == {"entailment", "neutral", "contradiction"}
    assert sum(p.kind == "negation" for p in pairs) >= 20


def test_cli_runs_the_shipped_scorer_on_the_shipped_pairs(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        eval_app,
        [
            "persona-consistency", "--pairs", str(SHIPPED_PAIRS),
            "--out", str(tmp_path / "report"), "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for key in (
        "accuracy", "contradiction_auroc", "agreement_read_as_contradiction_rate",
        "agreement_flagged_by_judge_rate", "per_kind", "agreements_read_as_contradiction",
    ):  # fmt: skip
        assert key in report
    assert report["n"] == len(load_persona_post_pairs(SHIPPED_PAIRS))
    assert (tmp_path / "report" / "report.md").read_text(encoding="utf-8").count(
        "agreement read as contradiction"
    ) == 1
    # The figures, for the record (not a target: see the README next to the pairs).
    print(
        {
            k: report[k]
            for k in ("accuracy", "contradiction_auroc", "agreement_read_as_contradiction_rate")
        }
    )


def test_cli_wants_exactly_one_of_data_and_pairs(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(eval_app, ["persona-consistency"]).exit_code == 2
    both = ["persona-consistency", "--data", "x", "--pairs", "y"]
    assert runner.invoke(eval_app, both).exit_code == 2
    missing = runner.invoke(eval_app, ["persona-consistency", "--pairs", str(tmp_path / "no")])
    assert missing.exit_code == 2
