"""One normaliser for text that crosses an edge: goals, SOUL.md files, model replies,
reviewer edits, tool output.

- NUL is refused (PostgreSQL cannot store it, and it has no place in a post).
- Terminal escapes (CSI, OSC, other ESC sequences) and control characters other than
  newline and tab are removed: they would drive a reviewer's terminal.
- Invisible characters (Unicode tag characters, zero-width characters, bidi overrides
  and isolates) are removed from what is stored and published, and reported as a flag:
  they are a known way to hide instructions from the people who read the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from chimera.domain.errors import InputError

HIDDEN_FLAG = "hidden_characters"
CONTROL_FLAG = "control_characters"

# ESC [ ... final (CSI); ESC ] ... BEL or ST (OSC); ESC P/X/^/_ ... ST; a lone ESC + one char.
_ESCAPE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]?"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
_CONTROL = re.compile(r"[\x01-\x08\x0b-\x1f\x7f-\x9f]")  # newline, tab and CR handled apart
_HIDDEN = re.compile(
    "[\U000e0000-\U000e007f"  # Unicode tag characters
    "\u200b-\u200f"  # zero-width space, joiners, LRM, RLM
    "\u2060-\u2064\ufeff"  # word joiner, invisible operators, BOM
    "\u202a-\u202e\u2066-\u2069\u061c]"  # bidi embeddings, overrides, isolates; ALM
)
# No path separators, white space, quotes or controls: ids end up in paths and shells.
_THREAD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:=@+,~-]{0,127}$")


@dataclass(frozen=True)
class Cleaned:
    text: str
    flags: list[str] = field(default_factory=list)


def clean(text: str, *, what: str, keep_hidden: bool = False) -> Cleaned:
    """``text`` made safe to store, publish and show, with flags for what was removed.
    ``what`` names the text in the error a NUL raises (e.g. "the goal"). ``keep_hidden``
    leaves invisible characters in, for a caller that removes and flags them later."""
    if "\x00" in text:
        raise InputError(
            f"{what} contains a NUL character (at offset {text.index(chr(0))}): remove it"
        )
    flags: list[str] = []
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    stripped = _CONTROL.sub("", _ESCAPE.sub("", text))
    if stripped != text:
        flags.append(CONTROL_FLAG)
    visible = stripped if keep_hidden else _HIDDEN.sub("", stripped)
    if visible != stripped:
        flags.append(HIDDEN_FLAG)
    return Cleaned(visible, flags)


def for_display(text: str) -> str:
    """``text`` with terminal escapes and control characters removed (newlines and tabs
    kept) and invisible characters shown as their code point: safe for a terminal."""
    text = _CONTROL.sub("", _ESCAPE.sub("", text.replace("\x00", "")))
    return _HIDDEN.sub(lambda m: f"<U+{ord(m.group(0)):04X}>", text)


def check_thread_id(thread_id: str) -> str:
    if not _THREAD_ID.match(thread_id) or ".." in thread_id:
        raise InputError(
            f"thread id {for_display(thread_id)!r} is not valid: use letters, digits and "
            "_ . : = @ + , ~ - (at most 128, starting with a letter or digit)"
        )
    return thread_id
