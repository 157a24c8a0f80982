"""Spam and engagement bait: asks for likes, shares, tags and follows, giveaways,
too-good-to-be-true money, calls to click or DM, and the look of spam (a wall of
hashtags, shouting, runs of exclamation marks or emoji)."""

from __future__ import annotations

import re

from chimera.domain.signals.detection import Detection, detection

SPAM_FLAG = "spam"
_BAIT: dict[str, re.Pattern[str]] = {
    "asks for likes or shares": re.compile(
        r"\b(?:like|share|retweet|rt|repost|save)\s+(?:this\s+|it\s+)?(?:and|&|\+|or|if|to|for)\s+"
        r"(?:share|like|follow|retweet|comment|you|win|more|luck)\b|"
        r"\bsmash (?:that|the) (?:like|follow)",
        re.I,
    ),
    "asks for comments": re.compile(
        r"\b(?:comment|type|drop|reply)\s+(?:a\s+)?(?:[\"'“]?\w+[\"'”]?\s+)?"
        r"(?:below|if you|to (?:get|win|claim|receive)|for (?:the|a|my) (?:link|code|guide))",
        re.I,
    ),
    "asks to tag friends": re.compile(
        r"\btag\s+(?:a|\d+|one|two|three|five|your)\s+(?:\w+\s+)?(?:friends?|people|mates|besties)",
        re.I,
    ),
    "follow bait": re.compile(
        r"\bfollow\s+(?:me\s+|us\s+)?(?:for\s+(?:more|a\s+follow|follow|part)|back|to\s+win)|"
        r"\b(?:f4f|l4l|follow4follow|like4like|followback)\b",
        re.I,
    ),
    "giveaway or prize": re.compile(
        r"\b(?:giveaway|free\s+(?:iphone|gift\s*card|money|cash)|you(?:'ve| have)? won|"
        r"claim your (?:prize|reward)|winners? (?:announced|picked))\b",
        re.I,
    ),
    "money for nothing": re.compile(
        r"\b(?:earn|make)\s+\$?\d[\d,]*k?\s*(?:\$\s*)?(?:a\s+|per\s+|every\s+|/\s*)(?:day|week|hour)|"
        r"\bget paid for\b|\$\$+|"
        r"\b(?:guaranteed|risk[- ]free)\s+(?:returns?|income|profit)|\bpassive income\b|"
        r"\b(?:double|triple) your (?:money|income)",
        re.I,
    ),
    "click or DM bait": re.compile(
        r"\b(?:click|tap)\s+(?:the\s+)?(?:link|here)|\blink in (?:my\s+)?bio\b|"
        r"\bdm (?:me|us)\s+(?:for|to|now|the word)|\bclick\s+\S+\.\w{2,}|"
        r"\b(?:one|this) (?:weird |simple )?trick\b|\bdon'?t want you to know\b|"
        r"\b(?:use|with)\s+(?:my\s+)?(?:promo\s+|discount\s+)?code\s+[A-Z0-9]{3,}",
        re.I,
    ),
    "Spanish engagement bait": re.compile(
        r"\bdale like\b|\betiqueta a\s+(?:\d+|un|una|tres|cinco)\b|\bsorteo\b|"
        r"\bs[ií]gueme para m[aá]s\b|\bcomenta y comparte\b|\bcomparte con \d+ amigos\b|"
        r"\bsolo hoy\b|\blink en (?:la |mi )?bio\b",
        re.I,
    ),
    "false urgency": re.compile(
        r"\b(?:act now|limited time only|only \d+ (?:left|spots)|before it'?s (?:gone|too late)|"
        r"don'?t (?:miss out|scroll)|last chance)\b",
        re.I,
    ),
}
MAX_HASHTAGS = 6
_HASHTAG = re.compile(r"#\w+")
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")


def spam_findings(text: str) -> list[str]:
    found = [name for name, pattern in _BAIT.items() if pattern.search(text)]
    if len(_HASHTAG.findall(text)) > MAX_HASHTAGS:
        found.append(f"more than {MAX_HASHTAGS} hashtags")
    letters = [ch for ch in _HASHTAG.sub("", text) if ch.isalpha()]
    if len(letters) >= 20 and sum(ch.isupper() for ch in letters) > 0.5 * len(letters):
        found.append("mostly capital letters")
    if re.search(r"[!?]{3,}", text):
        found.append("runs of exclamation marks")
    if len(_EMOJI.findall(text)) > 6:
        found.append("a wall of emoji")
    return found


def spam_signal(draft: str) -> Detection:
    """Each finding takes a third off; two or more (or any bait) raise the flag."""
    findings = spam_findings(draft)
    if not findings:
        return detection("spam", 1.0, ["no engagement bait or spam patterns"])
    bait = [f for f in findings if f in _BAIT]
    flags = [SPAM_FLAG] if bait or len(findings) >= 2 else []
    return detection(
        "spam", 1 - len(findings) / 3, [f"spam or engagement bait: {', '.join(findings)}"], flags
    )
