"""Hidden text: characters a reader does not see but a model does (Unicode tag
characters, zero-width and bidirectional controls) and HTML comments. Their usual
purpose in a draft is smuggled instructions, so they count as suspected injection."""

from __future__ import annotations

import re
import unicodedata

from chimera.domain.signals.detection import Detection, detection

INJECTION_FLAG = "injection"
_KINDS: dict[str, re.Pattern[str]] = {
    "Unicode tag characters": re.compile("[\U000e0000-\U000e007f]"),
    "zero-width characters": re.compile("[\u200b\u200c\u200d\u2060\u180e\ufeff]"),
    "bidirectional controls": re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]"),
    "HTML comment": re.compile(r"<!--.*?(?:-->|$)", re.DOTALL),
}
# Emoji sequences use ZWJ (U+200D) and variation selectors between pictographs: those are
# visible glyphs, not hidden text.
_EMOJI_ZWJ = re.compile(
    "(?<=[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f])\u200d(?=[\U0001f000-\U0001faff\u2600-\u27bf])"
)


def decode_tags(text: str) -> str:
    """What Unicode tag characters spell (they mirror ASCII at U+E0000)."""
    return "".join(chr(ord(ch) - 0xE0000) for ch in text if 0xE0020 <= ord(ch) <= 0xE007E)


def hidden_findings(text: str) -> list[str]:
    visible = _EMOJI_ZWJ.sub("", text)
    found = []
    for kind, pattern in _KINDS.items():
        matches = pattern.findall(visible)
        if matches:
            found.append(f"{kind} ({len(matches)})")
    spelled = decode_tags(text)
    if spelled:
        found.append(f"tag characters spell {spelled[:80]!r}")
    characters = list(_KINDS.values())[:3]
    other = {
        unicodedata.name(ch, hex(ord(ch)))
        for ch in visible
        if unicodedata.category(ch) == "Cf" and not any(p.match(ch) for p in characters)
    }
    if other:
        found.append("other invisible format characters: " + ", ".join(sorted(other)))
    return found


def hidden_text_signal(draft: str) -> Detection:
    findings = hidden_findings(draft)
    if findings:
        return detection(
            "hidden_text", 0.0, [f"hidden text: {'; '.join(findings)}"], [INJECTION_FLAG]
        )
    return detection("hidden_text", 1.0, ["no hidden characters or HTML comments"])
