"""The AI-disclosure label as a whole token at the place the persona requires: the
last token of the post ("#AI at the very end"). ``#AIRDROP``, ``#AIart`` or ``(#AI)``
in the middle is not the label; the label in the middle of a post is misplaced."""

from __future__ import annotations

import re

from chimera.domain.signals.detection import Detection, detection

MISSING_FLAG = "policy:ai_disclosure_missing"
MISPLACED_FLAG = "policy:ai_disclosure_misplaced"
# Closing punctuation or emoji a post may end on after its label does not move it.
_TRAILING = re.compile(r"[\s.!?…)\]\"'\ufe0f\U0001f300-\U0001faff\u2600-\u27bf]*$")


def label_tokens(text: str, label: str) -> list[int]:
    """Positions where ``label`` stands as a whole token (not a prefix of a longer tag)."""
    pattern = re.compile(r"(?<![\w#])" + re.escape(label) + r"(?![\w])")
    return [m.start() for m in pattern.finditer(text)]


def disclosure_signal(draft: str, label: str) -> Detection:
    if not label:
        return detection("disclosure", 1.0, ["no disclosure label required"])
    found = label_tokens(draft, label)
    if not found:
        near = re.findall(re.escape(label) + r"\w+", draft, re.IGNORECASE)
        hint = f" ({', '.join(sorted(set(near)))} is not the label)" if near else ""
        return detection(
            "disclosure", 0.0, [f"the AI-disclosure label {label} is missing{hint}"], [MISSING_FLAG]
        )
    body = _TRAILING.sub("", draft)
    if not body.endswith(label) or found[-1] != len(body) - len(label):
        return detection(
            "disclosure",
            0.5,
            [f"the AI-disclosure label {label} is not at the end of the post"],
            [MISPLACED_FLAG],
        )
    return detection("disclosure", 1.0, [f"ends with the AI-disclosure label {label}"])
