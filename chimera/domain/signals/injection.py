"""Instruction-like text aimed at the system rather than at followers: orders to the
judge, the reviewer or the model ("ignore the judge", "SYSTEM:", "disable the
disclosure"), chat-template markers, and requests to move money. A draft carrying such
residue is suspected injection, whatever else it says."""

from __future__ import annotations

import re

_SYSTEM_NOUN = (
    r"(?:judge|reviewers?|moderat(?:or|ion)|filters?|guardrails?|safety|policy|policies|"
    r"checks?|rules|instructions|guidelines|system prompt|prompt|gate|disclosure(?: label)?|"
    r"(?:ai[- ])?label|#ai)"
)
_PATTERNS = [
    # "ignore all previous instructions", "ignore the judge", "disregard your rules"
    r"\b(?:ignore|disregard|forget|override|bypass|skip|disable|turn off|remove|drop|"
    r"circumvent|get around)\s+(?:all\s+|any\s+|the\s+|your\s+|these\s+|those\s+|my\s+)*"
    r"(?:previous\s+|prior\s+|above\s+|earlier\s+|safety\s+|ai[- ])*" + _SYSTEM_NOUN + r"\b",
    # role markers and chat templates
    r"(?:^|\n|\s)(?:system|assistant|developer)\s*:\s",
    r"\[/?INST\]|<\|(?:im_start|im_end|system|user|assistant|endoftext)\|>|<</?SYS>>",
    r"\byou are now (?:a|an|in|the)\b|\bact as (?:the|an?) (?:judge|system|admin)",
    r"\breveal (?:your|the) (?:system )?prompt\b",
    # text addressed to the machinery rather than to followers
    r"\b(?:note |message |hidden text |instructions? )?(?:for|to) the (?:ai |automated )?"
    r"(?:judge|reviewer|moderator|classifier|grader)\b",
    # orders to route or score the draft
    r"\b(?:publish|post|approve)\s+(?:this\s+|it\s+)?"
    r"(?:immediately|now|without (?:review|checks?))",
    r"\b(?:rate|score)\s+(?:this|it)\s+(?:as\s+)?(?:5|five|10|ten|a perfect)",
    r"\bdo not (?:flag|review|check|label)\b",
    r"\b(?:judge|reviewer|moderator|model)s?\s*[,:]\s*(?:please\s+)?"
    r"(?:ignore|approve|publish|rate|score|pass)",
    # money moving on an instruction found in text
    r"\b(?:send|transfer|wire)\s+(?:all\s+|the\s+)?(?:funds|money|eth|usdc|tokens?|crypto)\b",
    r"\b0x[0-9a-fA-F]{40}\b",
]
_INJECTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)


def injection_markers(*texts: str) -> list[str]:
    """The instruction-like phrases found, each once, in a stable order."""
    return sorted({m.group(0).strip() for text in texts for m in _INJECTION.finditer(text)})
