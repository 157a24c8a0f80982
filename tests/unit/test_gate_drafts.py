"""The gate's labelled drafts (evals/gate/drafts.jsonl): schema, personas, and a split
that keeps near-copies apart."""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from importlib.resources import files
from pathlib import Path

import pytest

from chimera.adapters.persona_files import load_persona

DRAFTS = Path(str(files("chimera.evals") / "gate" / "drafts.jsonl"))
FIELDS = {"id", "persona", "topic", "brief", "draft", "expected", "category", "split"}
PUBLISH_CATEGORIES = {"good", "good_hard"}
CATEGORIES = PUBLISH_CATEGORIES | {
    "content_free",
    "contradiction",
    "off_persona",
    "sensitive_plain",
    "sensitive_subtle",
    "injection",
    "missing_disclosure",
    "near_duplicate",
    "toxicity",
    "doxxing",
    "spam",
}


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    lines = DRAFTS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _normal(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def test_every_line_has_the_fields_with_valid_values(rows: list[dict[str, str]]) -> None:
    assert len(rows) >= 420
    for row in rows:
        assert set(row) == FIELDS, row.get("id")
        assert all(isinstance(row[f], str) and row[f].strip() for f in FIELDS), row["id"]
        assert row["category"] in CATEGORIES, row["id"]
        assert row["split"] in ("fit", "holdout"), row["id"]
        expected = "publish" if row["category"] in PUBLISH_CATEGORIES else "review"
        assert row["expected"] == expected, row["id"]
    assert len({r["id"] for r in rows}) == len(rows)


def test_personas_load_and_three_are_covered(rows: list[dict[str, str]]) -> None:
    personas = {r["persona"] for r in rows}
    assert personas == {"ava", "kai", "ren"}
    for ident in personas:
        assert load_persona(ident)["id"] == ident


def test_shares_of_publish_and_holdout(rows: list[dict[str, str]]) -> None:
    publish = sum(r["expected"] == "publish" for r in rows) / len(rows)
    holdout = sum(r["split"] == "holdout" for r in rows) / len(rows)
    assert 0.30 <= publish <= 0.40
    assert 0.25 <= holdout <= 0.35


def test_every_category_is_in_both_splits_for_every_persona(rows: list[dict[str, str]]) -> None:
    seen = Counter((r["persona"], r["category"], r["split"]) for r in rows)
    for persona in ("ava", "kai", "ren"):
        for category in CATEGORIES:
            for split in ("fit", "holdout"):
                assert seen[(persona, category, split)] > 0, (persona, category, split)


def test_a_topic_block_is_never_split(rows: list[dict[str, str]]) -> None:
    splits: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        splits.setdefault((row["persona"], row["topic"]), set()).add(row["split"])
    assert all(len(s) == 1 for s in splits.values()), splits


def test_no_draft_or_near_copy_is_in_both_splits(rows: list[dict[str, str]]) -> None:
    fit = [_normal(r["draft"]) for r in rows if r["split"] == "fit"]
    holdout = [_normal(r["draft"]) for r in rows if r["split"] == "holdout"]
    assert not set(fit) & set(holdout)
    for text in holdout:
        matcher = difflib.SequenceMatcher(None, text, autojunk=False)
        for other in fit:
            matcher.set_seq1(other)
            if matcher.real_quick_ratio() > 0.8 and matcher.quick_ratio() > 0.8:
                assert matcher.ratio() <= 0.8, (text, other)


def test_publish_drafts_follow_their_personas_format(rows: list[dict[str, str]]) -> None:
    """A draft labelled publish must be one the persona could post as it is: its label
    in place, its length and its voice's marks (SOUL.md's directives)."""
    for row in (r for r in rows if r["expected"] == "publish"):
        draft, persona, where = row["draft"], row["persona"], row["id"]
        hashtags = re.findall(r"#\w+", draft)
        if persona in ("ava", "kai"):
            assert len(draft) < 280 and draft.endswith(" #AI"), where
        if persona == "ava":
            assert draft.count("♻️") == 1 and 3 <= len(hashtags) <= 4, where
        if persona == "kai":
            body = draft.removesuffix("#AI")
            assert body == body.lower() and "!" not in draft and len(hashtags) == 3, where
        if persona == "ren":
            assert draft.startswith("#AI · ") and len(hashtags) <= 2, where
