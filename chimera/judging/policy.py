"""Policy checks: sensitive topics, suspected prompt injection, the AI-disclosure label."""

from __future__ import annotations

import re

from graphs.state import Signal

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

_INJECTION = re.compile(
    r"(ignore (?:all |any )?(?:the )?(?:previous|prior|above|earlier) (?:instructions|rules)|"
    r"disregard (?:all |any |your )?(?:previous |prior )?(?:instructions|rules|guidelines)|"
    r"you are now (?:a|an|in)\b|reveal (?:your|the) system prompt|"
    r"(?:send|transfer|wire) (?:all |the )?(?:funds|money|eth|usdc|tokens?)\b|0x[0-9a-fA-F]{40})",
    re.IGNORECASE,
)


def sensitive_topics(*texts: str) -> list[str]:
    """Names of the sensitive topics any of the texts touch, in a stable order."""
    joined = "\n".join(texts)
    return [name for name, pattern in SENSITIVE_TOPICS.items() if pattern.search(joined)]


def injection_markers(*texts: str) -> list[str]:
    return sorted({m.group(0) for text in texts for m in _INJECTION.finditer(text)})


def policy_signal(draft: str, brief: str, disclosure_label: str) -> tuple[Signal, list[str]]:
    """The policy signal and the flags it raises.

    Flags interrupt whatever the score; the score itself only drops for fixable lapses.
    """
    flags: list[str] = []
    reasons: list[str] = []
    score = 1.0
    for topic in sensitive_topics(draft, brief):
        flags.append(f"sensitive:{topic}")
        reasons.append(f"touches a sensitive topic ({topic}): a human must approve")
    markers = injection_markers(draft, brief)
    if markers:
        flags.append("injection")
        reasons.append(f"suspected prompt injection: {', '.join(repr(m) for m in markers)}")
    if disclosure_label and disclosure_label.lower() not in draft.lower():
        flags.append("policy:ai_disclosure_missing")
        score -= 0.5
        reasons.append(f"the AI-disclosure label {disclosure_label} is missing")
    if not reasons:
        reasons.append("no sensitive topic, no injection marker, disclosure label present")
    return Signal(name="policy", score=score, weight=0.2, reasons=reasons), flags
