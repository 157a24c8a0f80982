"""The judge's learned parts: the sensitive-topic head, the calibrated combiner, and
the fit shipped as package data (its format, never its exact figures: refitting must
not break a test)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from chimera.domain.errors import InputError
from chimera.domain.signals.combiner import SIGNAL_NAMES, Combiner
from chimera.domain.signals.sensitive import TOPICS, SensitiveHead, sensitive_signal
from chimera.graphs.memory import combiner as fitted


def _unit(i: int, dim: int = 4) -> np.ndarray:
    v = np.zeros(dim)
    v[i] = 1.0
    return v


def _head() -> SensitiveHead:
    return SensitiveHead(
        coef=np.array([0.0, 6.0, 0.0, 0.0]),
        intercept=-3.0,
        threshold=0.5,
        prototypes={"health": _unit(1), "politics": _unit(2)},
    )


def test_the_head_flags_by_probability_and_names_the_nearest_topic() -> None:
    head = _head()
    advice = sensitive_signal([_unit(0), _unit(1)], head)  # the brief is the risky one
    assert advice.flags == ["sensitive:health"] and advice.signal["score"] < 0.1
    calm = sensitive_signal([_unit(0), _unit(3)], head)
    assert calm.flags == [] and calm.signal["score"] > 0.9
    assert SensitiveHead.from_json(head.to_json()).probability(_unit(1)) == pytest.approx(
        head.probability(_unit(1)), abs=1e-5
    )


def test_a_calibrated_combiner_maps_the_sigmoid_through_its_points() -> None:
    raw = Combiner(weights={"rubric": 4.0}, intercept=-2.0)
    mapped = Combiner(weights={"rubric": 4.0}, intercept=-2.0, calibration=[(0.2, 0.0), (0.8, 1.0)])
    assert raw.confidence({"rubric": 0.5}) == 0.5
    assert mapped.confidence({"rubric": 0.5}) == 0.5  # halfway between the points
    assert mapped.confidence({"rubric": 1.0}) == 1.0  # beyond the last point: flat
    assert mapped.confidence({"rubric": 0.0}) == 0.0
    assert mapped.confidence({"rubric": 0.6}) > mapped.confidence({"rubric": 0.55})


def test_routing_tests_run_on_the_pinned_weighted_mean() -> None:
    assert fitted.fitted_file() is None
    assert fitted.shipped_combiner() == Combiner()
    assert fitted.shipped_sensitive_head() is None


def test_the_shipped_fit_is_complete(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(fitted.FIT_ENV)
    fitted.clear_cache()
    try:
        data = json.loads(fitted.SHIPPED_FILE.read_text(encoding="utf-8"))
        assert data["split"] == "fit"  # fitted on the fit split only
        combiner = fitted.shipped_combiner()
        assert combiner.calibrated and combiner.source == "gate set"
        assert set(combiner.weights) == set(SIGNAL_NAMES)
        xs = [x for x, _ in combiner.calibration or []]
        assert xs == sorted(xs)
        head = fitted.shipped_sensitive_head()
        assert head is not None and head.coef.shape == (384,)
        assert set(head.prototypes) == set(TOPICS) and 0 < head.threshold < 1
    finally:
        fitted.clear_cache()


def test_a_fit_named_by_the_environment_is_read_or_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    own = tmp_path / "fit.json"
    own.write_text(json.dumps({"combiner": {"weights": {"rubric": 1.0}, "intercept": 0.0}}))
    monkeypatch.setenv(fitted.FIT_ENV, str(own))
    fitted.clear_cache()
    try:
        assert fitted.shipped_combiner().weights == {"rubric": 1.0}
        assert fitted.shipped_sensitive_head() is None
        monkeypatch.setenv(fitted.FIT_ENV, str(tmp_path / "missing.json"))
        with pytest.raises(InputError, match="no such file"):
            fitted.shipped_combiner()
    finally:
        fitted.clear_cache()


async def test_the_judge_reports_whether_anything_interrupts_as_a_signal() -> None:
    from chimera.adapters.inmemory import InMemoryAuditLog, InMemoryPublisher
    from chimera.adapters.memory.postgres import in_memory_store
    from chimera.adapters.models.factory import load_chat_model
    from chimera.adapters.persona_files import load_persona
    from chimera.domain.types import Task
    from chimera.graphs.context import Context
    from chimera.graphs.services import Services
    from chimera.nodes.judge import judge_draft

    services = Services(
        publisher=InMemoryPublisher(), audit=InMemoryAuditLog(), chat_model=load_chat_model
    )
    ava, task = load_persona("ava"), Task(id="t", kind="post", topic="thrifting", brief="b")
    store = in_memory_store()
    clean = "Thrifted a wool blazer for $9, worn 45 times: 20 cents a wear. ♻️ #thrifting #AI"
    for draft, score in ((clean, 1.0), ("Call me on (210) 555-0147 ♻️ #thrifting #AI", 0.0)):
        verdict = (
            await judge_draft(Context(services=services), services, store, ava, task, draft)
        ).verdict
        [flags] = [s for s in verdict["signals"] if s["name"] == "flags"]
        assert flags["score"] == score and (verdict["route"] == "review") == (score == 0.0)


async def test_a_verdict_under_the_shipped_fit_checkpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every score a plain float: a numpy one made the checkpointer fail mid-run."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    from chimera.adapters.inmemory import InMemoryAuditLog, InMemoryPublisher
    from chimera.adapters.memory.postgres import in_memory_store
    from chimera.adapters.models.factory import load_chat_model
    from chimera.adapters.nli.choice import get_scorer
    from chimera.adapters.persona_files import load_persona
    from chimera.domain.types import Task
    from chimera.graphs.context import Context
    from chimera.graphs.services import Services
    from chimera.nodes.judge import judge_draft

    monkeypatch.delenv(fitted.FIT_ENV)
    fitted.clear_cache()
    try:
        services = Services(
            publisher=InMemoryPublisher(),
            audit=InMemoryAuditLog(),
            chat_model=load_chat_model,
            nli_scorer=get_scorer(),
        )
        task = Task(id="t", kind="post", topic="thrifting", brief="a thrifting tip")
        draft = "Thrifted a wool blazer for $9, worn 45 times: 20 cents a wear. ♻️ #thrifting #AI"
        judged = await judge_draft(
            Context(services=services),
            services,
            in_memory_store(),
            load_persona("ava"),
            task,
            draft,
        )
        verdict = judged.verdict
        assert "sensitive" in [s["name"] for s in verdict["signals"]]
        assert all(type(s["score"]) is float for s in verdict["signals"])
        assert type(verdict["confidence"]) is float
        JsonPlusSerializer().dumps_typed(dict(verdict))
    finally:
        fitted.clear_cache()
