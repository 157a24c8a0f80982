"""Small, deterministic text analysis shared by the offline model and the judge's
lexical signals: content words, what a persona rejects, and whether a text endorses it."""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"[a-z0-9]+(?:['\u2019][a-z]+)?")
STOPWORDS = frozenset(
    """
    a an the and or but if of on in at to for from by with about as is are was were be been
    being it its this that these those i me my we our you your they them their he she his her
    do does did not no so than then too very can will just up out over into onto off more most
    some any all each every what which who whom how why when where there here get got let lets
    let's one ones also only own same such both few other again once
    """.split()
)
# Words too common in persona statements to identify what a persona rejects.
_GENERIC = frozenset(
    """
    promote promotes promoting give gives giving post posts posting brand brands thing things
    people share shares sharing use using make makes making talk talking advice content
    """.split()
)
NEGATIONS = frozenset(
    """
    no not never avoid avoids avoiding skip skipping ditch ditched against stop stopped without
    dont don't won't wont quit instead refuse rejects reject anti
    """.split()
)
_REJECTION = re.compile(
    r"\b(?:never|against|avoid|refuse to|won't|will not|don't|do not|no more)\b\s+(.*)",
    re.IGNORECASE,
)


def stem(word: str) -> str:
    """Crude plural folding, enough to match 'hauls' with 'haul'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens, hyphens split, apostrophes kept inside words."""
    return _WORD.findall(text.lower().replace("-", " "))


def content_words(text: str) -> list[str]:
    return [stem(t) for t in tokens(text) if t not in STOPWORDS and len(t) > 1]


def rejected_terms(statements: Iterable[str]) -> list[str]:
    """Phrases a persona rejects ('never promote fast-fashion hauls or brands' -> 'fast
    fashion haul'). A term needs two content words, or one long word, to be distinctive."""
    found: list[str] = []
    for statement in statements:
        match = _REJECTION.search(statement)
        if not match:
            continue
        for part in re.split(r",|;|:|\bor\b|\band\b|\bnor\b", match.group(1)):
            words = [w for w in content_words(part) if w not in _GENERIC]
            if len(words) >= 2 or (len(words) == 1 and len(words[0]) >= 8):
                term = " ".join(words[:3])
                if term not in found:
                    found.append(term)
    return found


def endorsed_terms(terms: Iterable[str], text: str) -> list[str]:
    """The terms that ``text`` mentions without a negation just before them."""
    words = [stem(t) for t in tokens(text)]
    hits: list[str] = []
    for term in terms:
        parts = term.split()
        for i in range(len(words) - len(parts) + 1):
            if words[i : i + len(parts)] != parts:
                continue
            window = words[max(0, i - 4) : i]
            if not any(w in NEGATIONS or w.endswith("n't") for w in window):
                hits.append(term)
                break
    return hits


def topic_overlap(topics: Iterable[str], text: str) -> list[str]:
    """The persona topics that ``text`` touches (any distinctive word in common)."""
    words = set(content_words(text))
    return [t for t in topics if set(content_words(t)) - _GENERIC & words]
