"""The AI-disclosure label as a whole token at the place the persona requires: the
last token of the post ("#AI at the very end"), or the first ("#AI · ..."), as the
persona's example posts show. ``#AIRDROP`` or ``#AIart`` is not the label; the label in
the middle of a post is misplaced."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from chimera.domain.signals.detection import Detection, detection

MISSING_FLAG = "policy:ai_disclosure_missing"
MISPLACED_FLAG = "policy:ai_disclosure_misplaced"
# Closing punctuation or emoji a post may end on after its label does not move it.
_TRAILING = re.compile(r"[\s.!?…)\]\"'\ufe0f\U0001f300-\U0001faff\u2600-\u27bf]*$")


Place = Literal["start", "end"]


def label_place(examples: Sequence[str], label: str) -> Place:
    """Where the persona puts its label: at the start when most example posts open with it."""
    opening = sum(bool(label) and e.lstrip().startswith(label) for e in examples)
    return "start" if examples and opening * 2 > len(examples) else "end"


def label_tokens(text: str, label: str) -> list[int]:
    """Positions where ``label`` stands as a whole token (not a prefix of a longer tag)."""
    pattern = re.compile(r"(?<![\w#])" + re.escape(label) + r"(?![\w])")
    return [m.start() for m in pattern.finditer(text)]


def disclosure_signal(draft: str, label: str, place: Place = "end") -> Detection:
    if not label:
        return detection("disclosure", 1.0, ["no disclosure label required"])
    found = label_tokens(draft, label)
    if not found:
        near = re.findall(re.escape(label) + r"\w+", draft, re.IGNORECASE)
        hint = f" ({', '.join(sorted(set(near)))} is not the label)" if near else ""
        return detection(
            "disclosure", 0.0, [f"the AI-disclosure label {label} is missing{hint}"], [MISSING_FLAG]
        )
    if place == "start":
        lead = len(draft) - len(draft.lstrip())
        placed = found[0] == lead
    else:
        body = _TRAILING.sub("", draft)
        placed = found[-1] == len(body) - len(label)
    if not placed:
        return detection(
            "disclosure",
            0.5,
            [f"the AI-disclosure label {label} is not at the {place} of the post"],
            [MISPLACED_FLAG],
        )
    return detection("disclosure", 1.0, [f"the AI-disclosure label {label} at the {place}"])
