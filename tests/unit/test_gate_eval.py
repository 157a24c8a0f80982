"""The gate eval: loading labelled drafts (every bad line named, nothing run), the
metrics on inputs small enough to check by hand, and the judge run as the graph runs it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chimera.adapters.memory.postgres import in_memory_store
from chimera.app.wiring import in_memory_services
from chimera.domain.errors import InputError
from chimera.evals.gate import gate_metrics, judge_cases, summarize, worst_cases
from chimera.evals.gate_data import DEFAULT_DATA, load_cases
from chimera.evals.gate_report import write_report
from chimera.graphs.context import Context
from chimera.graphs.memory.combiner import load_combiner, save_combiner

GOOD = {
    "persona": "kai",
    "topic": "budget meals",
    "brief": "A post on budget meals with the numbers.",
    "draft": "red lentil soup tonight. $0.80 a serving. the carrot did its best. #budgetmeals #AI",
    "expected": "publish",
}


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "drafts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _result(expected: str, route: str, confidence: float, seconds: float, category: str) -> dict:
    return {
        "item_id": f"{category}-{seconds:g}",
        "persona": "ava",
        "category": category,
        "expected": expected,
        "route": route,
        "confidence": confidence,
        "seconds": seconds,
        "flags": [],
        "reasons": [f"reason {seconds:g}"],
        "draft": f"draft {seconds:g}",
    }


HAND = [
    _result("publish", "publish", 0.95, 1, "good"),
    _result("publish", "async_review", 0.8, 2, "good"),
    _result("publish", "review", 0.3, 3, "good"),
    _result("review", "publish", 0.92, 4, "spam"),
    _result("review", "async_review", 0.75, 5, "spam"),
    _result("review", "review", 0.2, 6, "toxicity"),
    _result("review", "review", 0.1, 7, "toxicity"),
    _result("review", "review", 0.5, 8, "toxicity"),
]


# --- loading -------------------------------------------------------------------------


def test_the_shipped_set_loads_and_splits() -> None:
    everything, personas = load_cases(DEFAULT_DATA)
    holdout, _ = load_cases(DEFAULT_DATA, "holdout")
    fit, _ = load_cases(DEFAULT_DATA, "fit")
    assert set(personas) == {"ava", "kai", "ren"}
    assert len(fit) + len(holdout) == len(everything) >= 420
    assert {c.split for c in holdout} == {"holdout"}


def test_optional_fields_default_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = _write(tmp_path, ["", json.dumps(GOOD), "   "])
    cases, personas = load_cases(path)
    assert [(c.id, c.category, c.split, c.line) for c in cases] == [
        ("line-2", "uncategorised", None, 2)
    ]
    assert personas["kai"]["handle"] == "@kai.cooks.cheap"


def test_a_persona_may_be_a_path_to_its_soul_md(tmp_path: Path) -> None:
    from chimera.adapters.persona_files import load_persona

    soul = tmp_path / "ren-copy" / "SOUL.md"
    soul.parent.mkdir()
    soul.write_text(Path(load_persona("ren")["source"]).read_text(encoding="utf-8"))
    cases, personas = load_cases(_write(tmp_path, [json.dumps({**GOOD, "persona": str(soul)})]))
    assert personas[str(soul)]["id"] == "ren" and cases[0].persona == str(soul)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", r"line 2: not valid JSON"),
        ('["a list"]', r"line 2: expected a JSON object, got list"),
        (json.dumps({**GOOD, "expected": "maybe"}), r"line 2: 'expected' must be publish or"),
        (json.dumps({**GOOD, "draft": None} | {"draft": None}), r"line 2: field 'draft' must be"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "draft"}), r"line 2: missing field"),
        (json.dumps({**GOOD, "draft": "  "}), r"line 2: field 'draft' must be a non-empty string"),
        (json.dumps({**GOOD, "split": "test"}), r"line 2: 'split' must be fit or holdout"),
        (json.dumps({**GOOD, "label": "x"}), r"line 2: unknown field\(s\) label"),
        (json.dumps({**GOOD, "persona": "nobody"}), r"line 2: unknown persona 'nobody'"),
    ],
)  # fmt: skip
def test_a_bad_line_is_named(tmp_path: Path, bad: str, message: str) -> None:
    path = _write(tmp_path, [json.dumps(GOOD), bad, json.dumps(GOOD)])
    with pytest.raises(InputError, match=message):
        load_cases(path)


def test_a_repeated_id_names_both_lines(tmp_path: Path) -> None:
    row = json.dumps({**GOOD, "id": "same"})
    with pytest.raises(InputError, match=r"line 3: id 'same' already used on line 1"):
        load_cases(_write(tmp_path, [row, json.dumps(GOOD), row]))


def test_missing_file_and_empty_split_are_clear(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_cases(tmp_path / "missing.jsonl")
    with pytest.raises(InputError, match="no drafts to judge in split 'holdout'"):
        load_cases(_write(tmp_path, [json.dumps({**GOOD, "split": "fit"})]), "holdout")
    with pytest.raises(InputError, match="--split must be fit or holdout"):
        load_cases(_write(tmp_path, [json.dumps(GOOD)]), "train")


# --- metrics, checked by hand ----------------------------------------------------------


def test_rates_auroc_ece_and_percentiles_by_hand() -> None:
    m = gate_metrics(HAND)
    assert m["n"] == 8
    assert m["confusion"] == {
        "publish": {"publish": 1, "async_review": 1, "review": 1},
        "review": {"publish": 1, "async_review": 1, "review": 3},
    }
    assert m["false_publish_rate"] == 0.4  # 2 of 5 review drafts publish at all
    assert m["outright_publish_rate"] == 0.2  # 1 of 5 outright
    assert m["false_review_rate"] == 0.3333  # 1 of 3 publish drafts interrupted
    assert m["auroc"] == 0.7333  # 11 of 15 (publish, review) pairs ordered right
    # Bins: {0.95, 0.92} -> |0.5 - 0.935|, {0.8, 0.75} -> |0.5 - 0.775|, then one each.
    assert m["ece"] == pytest.approx((0.87 + 0.55 + 0.7 + 0.2 + 0.1 + 0.5) / 8, abs=1e-4)
    assert m["p50_seconds"] == 4.5
    assert m["p95_seconds"] == pytest.approx(7.65)
    assert sum(b["count"] for b in m["reliability"]["bins"]) == 8


def test_per_category_and_undefined_rates() -> None:
    report = summarize(HAND)
    assert report["n"] == 8 and report["false_publish_rate"] == 0.4
    spam = report["per_category"]["spam"]
    assert (spam["false_publish_rate"], spam["outright_publish_rate"]) == (1.0, 0.5)
    assert spam["false_review_rate"] is None and spam["auroc"] is None
    assert report["per_category"]["good"]["false_publish_rate"] is None
    assert report["per_category"]["toxicity"]["false_publish_rate"] == 0.0
    assert list(report["per_category"]) == ["good", "spam", "toxicity"]
    assert list(report["per_persona"]) == ["ava"]
    ava = report["per_persona"]["ava"]
    assert (ava["n"], ava["false_publish_rate"], ava["auroc"]) == (8, 0.4, 0.7333)


def test_a_perfect_gate_scores_perfectly() -> None:
    perfect = [
        _result("publish", "publish", 1.0, 1, "good"),
        _result("review", "review", 0.0, 1, "spam"),
    ]
    m = gate_metrics(perfect)
    assert (m["false_publish_rate"], m["outright_publish_rate"], m["false_review_rate"]) == (
        0.0,
        0.0,
        0.0,
    )
    assert (m["auroc"], m["ece"]) == (1.0, 0.0)


def test_worst_cases_come_first() -> None:
    worst = worst_cases(HAND)
    assert [w["item_id"] for w in worst] == ["spam-4", "spam-5", "good-3"]
    assert worst[0]["reasons"] == ["reason 4"] and worst[0]["draft"] == "draft 4"


def test_report_folder(tmp_path: Path) -> None:
    report: dict[str, Any] = {**summarize(HAND), "data": "x.jsonl", "judge_model": "offline"}
    folder = write_report(report, HAND, tmp_path / "report")
    text = (folder / "report.md").read_text(encoding="utf-8")
    assert "| false publish rate (review drafts published at all) | 0.400 |" in text
    assert "### spam-4 (spam): expected review, routed publish at 0.920" in text
    assert "| ava | 8 | 0.400 | 0.200 | 0.333 | 0.733 |" in text
    assert (folder / "reliability.png").read_bytes()[:4] == b"\x89PNG"
    assert len((folder / "worst_cases.jsonl").read_text().splitlines()) == 3
    assert json.loads((folder / "report.json").read_text())["auroc"] == 0.7333


# --- the judge, as the graph runs it -----------------------------------------------------


async def test_judge_cases_runs_the_judge_with_seeded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    near_copy = {
        **GOOD,
        "id": "copy",
        "draft": "broccoli stems are not trash. peel, slice thin, fry with garlic. "
        "congratulations, you bought broccoli once and ate it twice. #zerowaste #cookingtips #AI",
        "expected": "review",
        "category": "near_duplicate",
    }
    monkeypatch.setenv("CHIMERA_SHOP_TOKEN", "tok-1234567890-abcdef")
    leaky = {**GOOD, "id": "leaky", "draft": "my shop token is tok-1234567890-abcdef #AI"}
    rows = [json.dumps({**GOOD, "id": "good"}), json.dumps(near_copy), json.dumps(leaky)]
    path = _write(tmp_path, rows)
    cases, personas = load_cases(path)
    seen: list[tuple[int, int]] = []
    results = await judge_cases(
        Context(), in_memory_services(), cases, personas, progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert [r["item_id"] for r in results] == ["good", "copy", "leaky"]
    for r in results:
        assert r["route"] in ("publish", "async_review", "review")
        assert 0.0 <= r["confidence"] <= 1.0 and r["seconds"] > 0
        assert set(r["signals"]) >= {"rubric", "persona_consistency", "policy"}
        assert r["reasons"]
    # The persona's example posts were seeded as past posts: the copy is caught as a repeat.
    assert results[1]["route"] == "review"
    assert any("repeat" in reason or "duplicate" in reason for reason in results[1]["reasons"])
    # A known secret is judged (flagged) but never kept in the results.
    assert "secret" in results[2]["flags"] and results[2]["route"] == "review"
    assert "tok-1234567890-abcdef" not in json.dumps(results)


async def test_the_callers_fitted_combiner_is_used() -> None:
    from chimera.evals.gate import seeded_store

    mine = in_memory_store()
    default = await load_combiner(None)
    fitted = replace(default, weights={k: 2 * v for k, v in default.weights.items()})
    await save_combiner(mine, fitted)
    assert await load_combiner(await seeded_store([], combiner_from=mine)) == fitted
    assert await load_combiner(await seeded_store([], combiner_from=None)) == default


def test_readable_output_shows_the_metrics_and_the_breakdowns() -> None:
    from chimera.cli import evals as cli

    with cli.out.capture() as captured:
        cli._print_gate(summarize([*HAND, {**HAND[0], "category": "[bold]odd"}]))
    text = captured.get()
    for shown in ("false_publish_rate", "outright_publish_rate", "auroc", "p95_seconds"):
        assert shown in text
    assert "ava: 9 drafts, false publish 0.400" in text
    assert "expected review: publish 1, async_review 1, review 3" in text
    assert "[bold]odd" in text  # a category is text, never markup
