"""Policy checks: sensitive topics, suspected prompt injection, secrets, the AI-disclosure
label, repeats of past posts and closeness to the policies' violation examples."""

from __future__ import annotations

import re
from collections.abc import Sequence

from chimera.domain.memory import Memory
from chimera.domain.signals.disclosure import Place, disclosure_signal
from chimera.domain.signals.injection import injection_markers
from chimera.domain.signals.secrets import secret_flags
from chimera.domain.types import Signal

# Topics that always go to a human, whatever the score (DESIGN.md: the judge).
SENSITIVE_TOPICS: dict[str, re.Pattern[str]] = {
    "politics": re.compile(
        r"\b(elections?|electoral|vot(?:e|es|ing|ers?)|ballots?|senators?|congress(?:man|woman)?|"
        r"parliament|presidents?|presidential|democrats?|republicans?|politic(?:s|al|ians?)|"
        r"immigration|abortion|gun control|prime minister|legislation|partisan)\b",
        re.IGNORECASE,
    ),
    "health": re.compile(
        r"\b(vaccin\w*|diagnos\w*|cures?|medications?|medicines?|dosages?|prescriptions?|"
        r"cancer|diabetes|covid|symptoms?|diseases?|weight[- ]loss|detox\w*|medical|"
        r"supplements?|pills?)\b",
        re.IGNORECASE,
    ),
    "financial advice": re.compile(
        r"\b(invest(?:ing|ment|ments|or|ors)?|stocks?|shares in|crypto\w*|bitcoin|ethereum|"
        r"portfolio|retirement|401k|mortgages?|day[- ]trading|financial advice|"
        r"interest rates?|nfts?|get rich)\b",
        re.IGNORECASE,
    ),
    "legal advice": re.compile(
        r"\b(lawsuits?|sue|suing|legal advice|attorneys?|lawyers?|court cases?|custody|"
        r"copyright infringement|liabilit(?:y|ies))\b",
        re.IGNORECASE,
    ),
}


def sensitive_topics(*texts: str) -> list[str]:
    """Names of the sensitive topics any of the texts touch, in a stable order."""
    joined = "\n".join(texts)
    return [name for name, pattern in SENSITIVE_TOPICS.items() if pattern.search(joined)]


# Cosine similarity from which a draft counts as a repeat of a past post, or as close to
# a policy's violation example (all-MiniLM-L6-v2; see tests/unit/test_judge_memory.py).
NEAR_DUPLICATE = 0.92
NEAR_VIOLATION = 0.75


def policy_signal(
    draft: str,
    brief: str,
    disclosure_label: str,
    *,
    past_posts: Sequence[Memory] = (),
    violations: Sequence[Memory] = (),
    weight: float = 0.2,
    label_place: Place = "end",
    topics_by_words: bool = True,
    topic: str = "",
) -> tuple[Signal, list[str]]:
    """The policy signal and the flags it raises.

    Flags interrupt whatever the score; the score itself only drops for fixable lapses.
    ``past_posts`` and ``violations`` are the persona's posts and the policies' violation
    examples closest to the draft, with their similarity scores. ``topics_by_words`` is
    off when the judge has the learned sensitive-topic classifier (``signals.sensitive``);
    the task's ``topic`` is still read by them then: a goal that asks for a sensitive
    subject goes to a human however the draft answers it (an evasive draft reads clean).
    """
    flags: list[str] = []
    reasons: list[str] = []
    score = 1.0
    # The word lists are the fallback for a judge without the learned classifier.
    for name in sensitive_topics(draft, brief) if topics_by_words else []:
        flags.append(f"sensitive:{name}")
        reasons.append(f"touches a sensitive topic ({name}): a human must approve")
    for name in [] if topics_by_words else sensitive_topics(topic):
        flags.append(f"sensitive:{name}")
        reasons.append(f"the task's topic {topic!r} is a sensitive subject ({name})")
    markers = injection_markers(draft, brief)
    if markers:
        flags.append("injection")
        reasons.append(f"suspected prompt injection: {', '.join(repr(m) for m in markers)}")
    found, why = secret_flags(draft)
    flags += found
    reasons += why
    disclosure = disclosure_signal(draft, disclosure_label, label_place)
    if disclosure.flags:
        flags += disclosure.flags
        score -= 0.5 * (1 - disclosure.signal["score"])
        reasons += disclosure.signal["reasons"]
    repeat = max(past_posts, key=lambda m: m.score, default=None)
    if repeat is not None and repeat.score >= NEAR_DUPLICATE:
        flags.append("policy:near_duplicate")
        score -= 0.5
        reasons.append(f"near-duplicate ({repeat.score:.2f}) of a past post: {repeat.text!r}")
    for example in violations:
        if example.score >= NEAR_VIOLATION:
            policy = example.value.get("policy_text", "a policy")
            flags.append("policy:violation")
            reasons.append(
                f"close ({example.score:.2f}) to a violation of {policy!r}: {example.text!r}"
            )
            break
    if not reasons:
        reasons.append(
            "no sensitive topic, no injection marker, no repeat or policy violation, "
            "disclosure label present"
        )
    return Signal(name="policy", score=max(score, 0.0), weight=weight, reasons=reasons), flags
