"""Personas as ``personas/<id>/SOUL.md`` files: YAML front matter, then Markdown sections.

A SOUL.md starts with front matter between ``---`` lines (id, name, handle, platforms,
topics and optional thresholds), followed by the sections ``## Backstory``,
``## Voice and tone``, ``## Core beliefs``, ``## Directives`` and ``## Example posts``.
Every problem is a ``PersonaError`` that names the file, the field or section, and
what is expected.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Hashable
from typing import Any

import yaml

from chimera.domain.errors import PersonaError
from chimera.domain.types import Persona, Thresholds

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_HANDLE = re.compile(r"^@\S+$")
_REQUIRED_FIELDS = ("id", "name", "handle", "platforms", "topics")
_FIELDS = (*_REQUIRED_FIELDS, "thresholds")
_THRESHOLD_KEYS = ("review", "publish")

# Canonical heading (as shown in messages) -> Persona key; aliases map onto the same key.
_SECTIONS = {
    "Backstory": "backstory",
    "Voice and tone": "voice",
    "Core beliefs": "beliefs",
    "Directives": "directives",
    "Example posts": "examples",
}
_ALIASES = {heading.lower(): key for heading, key in _SECTIONS.items()} | {
    "voice & tone": "voice",
    "voice": "voice",
}
_HEADING_OF = {key: heading for heading, key in _SECTIONS.items()}
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^ {0,3}[-*+](?:\s+(.*)|\s*)$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def parse_persona(text: str, source: str) -> Persona:
    """Parse and validate the text of a SOUL.md; ``source`` names it in errors."""
    front, body, body_line = _split_front_matter(text, source)
    fields = _parse_front_matter(front, source)
    sections = _parse_sections(body, body_line, source)
    return Persona(
        id=fields["id"],
        name=fields["name"],
        handle=fields["handle"],
        platforms=fields["platforms"],
        topics=fields["topics"],
        thresholds=fields["thresholds"],
        backstory=_prose(sections, "backstory", source),
        voice=_prose(sections, "voice", source),
        beliefs=_bullets(sections, "beliefs", source, "belief"),
        directives=_bullets(sections, "directives", source, "directive"),
        examples=_bullets(sections, "examples", source, "example post"),
        source=source,
    )


# --- front matter --------------------------------------------------------------------


def _split_front_matter(text: str, source: str) -> tuple[str, list[str], int]:
    """(front matter YAML, body lines, 1-based line number of the first body line)."""
    lines = text.splitlines()
    if not lines or lines[0].rstrip() != "---":
        raise PersonaError(f"{source}: no YAML front matter (the file must start with '---')")
    for index in range(1, len(lines)):
        if lines[index].rstrip() == "---":
            return "\n".join(lines[1:index]), lines[index + 1 :], index + 2
    raise PersonaError(
        f"{source}: front matter is not closed (expected a '---' line after the fields)"
    )


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that rejects repeated keys, which YAML would silently overwrite."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, Hashable) and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        if isinstance(key, Hashable):
            seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def _load_yaml(front: str, source: str) -> object:
    """The front matter as Python data, or a PersonaError quoting the YAML problem."""
    try:
        # Safe: _UniqueKeyLoader is a SafeLoader that only adds the duplicate-key check.
        return yaml.load(front, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or exc.context or "syntax error"
        where = ""
        if exc.problem_mark is not None:
            # +2: the mark counts from 0 and the YAML starts on the file's second line.
            line = exc.problem_mark.line + 2
            where = f" (line {line}, column {exc.problem_mark.column + 1})"
        hint = ""
        if "'@'" in problem:
            hint = "; quote values that start with '@', e.g. handle: \"@name\""
        raise PersonaError(
            f"{source}: front matter is not valid YAML: {problem}{where}{hint}"
        ) from exc
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PersonaError(f"{source}: front matter is not valid YAML: {first}") from exc


def _parse_front_matter(front: str, source: str) -> dict[str, Any]:
    """Validated front-matter fields, with thresholds defaulting to {}."""
    data = _load_yaml(front, source)
    if data is None:
        raise PersonaError(
            f"{source}: front matter is empty; expected fields {', '.join(_REQUIRED_FIELDS)}"
        )
    if not isinstance(data, dict):
        raise PersonaError(
            f"{source}: front matter must be a mapping of fields "
            f"({', '.join(_REQUIRED_FIELDS)}), got {type(data).__name__}"
        )
    for key in data:
        if key not in _FIELDS:
            raise PersonaError(f"{source}: unknown front-matter field {key!r}{_suggest(key)}")
    for key in _REQUIRED_FIELDS:
        if key not in data:
            raise PersonaError(f"{source}: missing front-matter field {key!r}")

    ident = _string(data, "id", source)
    if not _ID.match(ident):
        raise PersonaError(
            f"{source}: field 'id' must be a slug of lowercase letters, digits, '-' or '_', "
            f"starting with a letter or digit (got {ident!r})"
        )
    handle = _string(data, "handle", source)
    if not handle.startswith("@"):
        raise PersonaError(f"{source}: field 'handle' must start with '@' (got {handle!r})")
    if not _HANDLE.match(handle):
        raise PersonaError(
            f"{source}: field 'handle' must be '@' followed by a name without spaces "
            f"(got {handle!r})"
        )
    return {
        "id": ident,
        "name": _string(data, "name", source),
        "handle": handle,
        "platforms": _string_list(data, "platforms", source),
        "topics": _string_list(data, "topics", source),
        "thresholds": _thresholds(data.get("thresholds"), source),
    }


def _suggest(key: object) -> str:
    """'; did you mean ...' for a misspelt field, else the list of allowed fields."""
    close = difflib.get_close_matches(str(key), _FIELDS, n=1)
    allowed = f"allowed fields: {', '.join(_FIELDS)}"
    return f" (did you mean {close[0]!r}?); {allowed}" if close else f"; {allowed}"


def _string(data: dict[str, Any], key: str, source: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise PersonaError(f"{source}: field {key!r} must be a non-empty string (got {value!r})")
    return value.strip()


def _string_list(data: dict[str, Any], key: str, source: str) -> list[str]:
    value = data[key]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(item, str) and item.strip() for item in value)
    ):
        raise PersonaError(
            f"{source}: field {key!r} must be a non-empty list of strings, "
            f"e.g. [a, b] (got {value!r})"
        )
    return [item.strip() for item in value]


def _thresholds(value: object, source: str) -> Thresholds:
    """Optional review/publish thresholds, each in [0, 1] with review <= publish."""
    if value is None:
        return Thresholds()
    if not isinstance(value, dict):
        raise PersonaError(
            f"{source}: field 'thresholds' must be a mapping with 'review' and/or 'publish' "
            f"(got {value!r})"
        )
    result = Thresholds()
    for key, number in value.items():
        if key not in _THRESHOLD_KEYS:
            raise PersonaError(
                f"{source}: unknown field 'thresholds.{key}'; allowed: review, publish"
            )
        # bool is an int subclass; 'review: yes' is a typo, not 1.0.
        valid = isinstance(number, int | float) and not isinstance(number, bool)
        if not valid or not math.isfinite(number) or not 0.0 <= number <= 1.0:
            raise PersonaError(
                f"{source}: field 'thresholds.{key}' must be a number from 0 to 1 (got {number!r})"
            )
        if key == "review":
            result["review"] = float(number)
        else:
            result["publish"] = float(number)
    review, publish = result.get("review"), result.get("publish")
    if review is not None and publish is not None and review > publish:
        raise PersonaError(
            f"{source}: field 'thresholds.review' ({review}) must not exceed "
            f"'thresholds.publish' ({publish})"
        )
    return result


# --- Markdown sections ---------------------------------------------------------------


def _parse_sections(body: list[str], first_line: int, source: str) -> dict[str, list[str]]:
    """Lines of each known ``## `` section by Persona key; unknown sections are dropped."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    in_fence = False
    for number, line in enumerate(body, start=first_line):
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        if heading is None:
            if current is not None:
                current.append(line)
            continue
        current = None
        if len(heading.group(1)) != 2:
            continue
        title = " ".join(heading.group(2).rstrip("#").strip().rstrip(":").split())
        key = _ALIASES.get(title.lower())
        if key is None:
            continue
        if key in sections:
            raise PersonaError(
                f"{source}: section '## {_HEADING_OF[key]}' appears twice (again at line {number})"
            )
        current = sections[key] = []
    return sections


def _section(sections: dict[str, list[str]], key: str, source: str) -> list[str]:
    if key not in sections:
        also = " (or '## Voice & tone', '## Voice')" if key == "voice" else ""
        raise PersonaError(f"{source}: missing section '## {_HEADING_OF[key]}'{also}")
    return sections[key]


def _prose(sections: dict[str, list[str]], key: str, source: str) -> str:
    """A prose section's text, trimmed; it must not be empty."""
    text = "\n".join(line.rstrip() for line in _section(sections, key, source)).strip()
    if not text:
        raise PersonaError(f"{source}: section '## {_HEADING_OF[key]}' is empty")
    return text


def _bullets(sections: dict[str, list[str]], key: str, source: str, what: str) -> list[str]:
    """A bullet section's items; other text in it is ignored, and one bullet is required.

    As in Markdown, an item continues on indented lines (or unindented lines with no blank
    line before them); soft line breaks become spaces and blank lines paragraph breaks.
    """
    items: list[str] = []
    continues = False  # whether the next non-bullet line belongs to the last item
    blank_before = False
    for line in _section(sections, key, source):
        bullet = _BULLET.match(line)
        if bullet:
            items.append((bullet.group(1) or "").strip())
            continues = True
        elif not line.strip():
            blank_before = True
            continue
        elif continues and (line[:1].isspace() or not blank_before):
            joiner = ("\n\n" if blank_before else " ") if items[-1] else ""
            items[-1] += joiner + line.strip()
        else:
            # Unindented prose after a blank line is commentary around the list, not an item.
            continues = False
        blank_before = False
    heading = _HEADING_OF[key]
    if not items:
        raise PersonaError(
            f"{source}: section '## {heading}' needs at least one bullet ('- ...'), "
            f"one {what} per bullet"
        )
    if any(not text for text in items):
        raise PersonaError(f"{source}: section '## {heading}' has an empty bullet")
    return items
