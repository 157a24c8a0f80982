"""The gate's routes at their edges, and the combiner."""

from __future__ import annotations

import pytest

from chimera.domain.gate import route_for
from chimera.domain.signals.combiner import Combiner
from chimera.domain.types import Signal
from chimera.graphs.context import Context


@pytest.mark.parametrize(
    ("confidence", "route"),
    [
        (0.0, "review"),
        (0.6999, "review"),
        (0.7, "async_review"),  # exactly 0.7 publishes, listed for async review
        (0.8, "async_review"),
        (0.9, "async_review"),  # exactly 0.9 still gets an async review
        (0.9001, "publish"),
        (1.0, "publish"),
    ],
)
def test_route_edges(confidence: float, route: str) -> None:
    assert route_for(confidence, [], 0.7, 0.9) == route


@pytest.mark.parametrize("flag", ["sensitive:health", "injection", "policy:ai_disclosure_missing"])
def test_any_flag_interrupts_whatever_the_score(flag: str) -> None:
    assert route_for(1.0, [flag], 0.7, 0.9) == "review"


def test_persona_thresholds_override_context() -> None:
    ctx = Context()
    assert ctx.thresholds_for({}) == (0.7, 0.9)
    review, publish = ctx.thresholds_for({"review": 0.72, "publish": 0.92})
    assert (review, publish) == (0.72, 0.92)
    assert route_for(0.71, [], review, publish) == "review"
    assert route_for(0.91, [], review, publish) == "async_review"


def test_uncalibrated_combiner_is_a_weighted_mean() -> None:
    signals = [
        Signal(name="rubric", score=1.0, weight=0.5, reasons=[]),
        Signal(name="persona_consistency", score=0.0, weight=0.3, reasons=[]),
        Signal(name="policy", score=0.5, weight=0.2, reasons=[]),
    ]
    combiner = Combiner()
    assert not combiner.calibrated
    assert combiner.combine(signals) == pytest.approx(0.6)
    with pytest.raises(ValueError):
        combiner.combine([Signal(name="unknown", score=1.0, weight=0.0, reasons=[])])


def test_calibrated_combiner_is_logistic() -> None:
    combiner = Combiner(weights={"rubric": 4.0, "policy": 2.0}, intercept=-3.0, fitted_on=40)
    assert combiner.calibrated
    assert combiner.confidence({"rubric": 0.75, "policy": 0.0}) == pytest.approx(0.5)
    assert combiner.confidence({"rubric": 1.0, "policy": 1.0}) == pytest.approx(0.9526, abs=1e-4)


def test_flags_found_before_the_judge_interrupt_and_say_why() -> None:
    from chimera.domain.gate import with_flags
    from chimera.domain.types import Verdict

    clean = Verdict(confidence=0.97, signals=[], flags=[], route="publish", reasons=["fine"])
    flagged = with_flags(clean, ["hidden_characters"], 0.7, 0.9)
    assert flagged["route"] == "review" and flagged["flags"] == ["hidden_characters"]
    assert flagged["reasons"][-1] == "draft: hidden_characters removed before judging"
    assert with_flags(clean, [], 0.7, 0.9) is clean
    again = with_flags(flagged, ["hidden_characters"], 0.7, 0.9)
    assert again["flags"] == ["hidden_characters"]  # once
