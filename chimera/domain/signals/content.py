"""Does the draft say anything? Placeholder and template text, lorem ipsum, a post that
is only hashtags, a truncated post, and prose with no concrete detail (a number, a
price, a duration, a named thing) all score low; the first four are flagged.

``specificity`` is shared with the offline rubric, so the model's rating and this
signal read concreteness the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chimera.domain.signals.detection import Detection, detection

EMPTY_FLAG = "content:empty"
_PLACEHOLDERS = re.compile(
    r"lorem ipsum|dolor sit amet|\[(?:insert|your|topic|tip|name|link|placeholder)[^\]]*\]|"
    r"\{\{?\s*\w+\s*\}?\}|<(?:insert|topic|tip)[^>]*>|(?-i:\bTODO\b|\bTBD\b)|\bplaceholder\b|"
    r"your (?:text|caption|post) here|"
    r"what it is,? (?:and )?why it matters|one concrete tip|one practical tip followers|"
    r"(?:a|one) (?:short )?(?:personal story|common myth|question) (?:that|about it)|"
    r"the small numbers behind it|a beginner's three-step checklist|"
    r"(?:tip|fact|number|story) goes here|\bas an ai language model\b|"
    r"\[[^\]\n]{1,40}\]|_{3,}|\bitem [a-c]\b|\b(?:coming soon|stay tuned|more soon)\b|"
    r"here is a tip about|\bpart 1 of \d+\b|\bpróximamente\b|\bestad atentos\b|"
    r"pendiente de redactar|qué es,? por qué importa|un consejo concreto",
    re.IGNORECASE,
)
# Openers that announce a post rather than say something.
_ANNOUNCE = re.compile(
    r"\b(?:let'?s talk|real talk about|quick one on|here'?s my take|is having a moment|"
    r"i'?m here for it|stay tuned|more on this soon|thoughts\?|you know what i mean)\b",
    re.IGNORECASE,
)
_TAG_OR_EMOJI = re.compile(r"#\w+|@\w+|https?://\S+|[\U0001f300-\U0001faff\u2600-\u27bf\ufe0f]")
_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*")
# Concrete detail: numbers (prices, counts, times), units, and number words with a noun.
# Concrete detail: a number in any form (prices, times, sizes: "$9", "7am", "32 mm"), a
# number word (English or Spanish) before a noun, or a named thing (a capitalised word
# inside a sentence: "Vía Verde", "Orbea", "Chicago").
_NUMBER = re.compile(
    r"[$€£]\s?\d|\d+(?:[.,:]\d+)?(?:\s?[%¢°])?|"
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|half|a dozen|a couple of|dos|tres|cuatro|cinco|seis|siete|ocho|"
    r"nueve|diez|once|doce|veinte|treinta|cuarenta|cincuenta|cien|media|medio)\s+"
    r"(?:[^\W\d_]+\s+)?[^\W\d_]{3,}",
    re.IGNORECASE,
)
_NAMED = re.compile(r"(?<=[^\W\d_]\s)(?:[A-ZÁÉÍÓÚÑ][^\W\d_]{2,})")
_TRUNCATED = re.compile(
    r"(?:…|\.\.\.|\b(?:and|or|the|a|an|to|of|with|for|but|because|so))\s*$", re.I
)
_STOP = frozenset(
    "a an the and or but so to of in on at for with from by is are was were be been it its "
    "this that these those i me my you your we our they them he she his her what why how "
    "when who which just really very about here there".split()
)


@dataclass(frozen=True)
class Specificity:
    """How much a draft says: words of prose, distinct content words, concrete details."""

    words: int
    content_words: int
    details: int

    @property
    def score(self) -> float:
        """0..1: rises with concrete details and with distinct content words."""
        detail = min(self.details, 3) / 3
        richness = min(self.content_words, 14) / 14
        return round(0.55 * detail + 0.45 * richness, 4)


def prose_of(draft: str) -> str:
    return re.sub(r"\s+", " ", _TAG_OR_EMOJI.sub(" ", draft)).strip()


def specificity(draft: str) -> Specificity:
    prose = prose_of(draft)
    words = _WORD.findall(prose)
    content = {w.lower() for w in words if w.lower() not in _STOP and len(w) > 2}
    return Specificity(
        words=len(words),
        content_words=len(content),
        details=len(_NUMBER.findall(prose)) + len(_NAMED.findall(prose)),
    )


def emptiness_findings(draft: str) -> list[str]:
    """Why a draft says nothing: the flagged kinds of empty."""
    found = []
    placeholder = _PLACEHOLDERS.search(draft)
    if placeholder:
        found.append(f"placeholder or template text {placeholder.group(0)!r}")
    prose = prose_of(draft)
    if len(_WORD.findall(prose)) < 4:
        found.append("no prose: only hashtags, mentions, links or emoji")
    elif _TRUNCATED.search(re.sub(r"(?:\s*#\w+)+\s*$", "", draft.strip()).rstrip()):
        found.append("cut off mid-sentence")
    return found


def content_signal(draft: str) -> Detection:
    """Flagged when the draft is empty (``emptiness_findings``); else its specificity, with
    a penalty for announcing a post instead of saying something."""
    empty = emptiness_findings(draft)
    if empty:
        return detection("content", 0.0, [f"says nothing: {'; '.join(empty)}"], [EMPTY_FLAG])
    spec = specificity(draft)
    score = spec.score
    reasons = [f"{spec.details} concrete detail(s), {spec.content_words} distinct content words"]
    announced = _ANNOUNCE.findall(draft)
    if announced and spec.details == 0:
        score *= 0.5
        reasons.append(f"announces a post without saying much: {announced[0]!r}")
    return detection("content", score, reasons)
