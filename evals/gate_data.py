"""The labelled drafts of ``chimera eval gate``: one JSON object a line with ``persona``
(id or path), ``topic``, ``brief``, ``draft``, ``expected`` (``publish`` or ``review``) and
optional ``id``, ``category`` and ``split`` (``fit`` or ``holdout``). Every line is checked,
and every persona loaded, before anything is judged; kept apart from the judging so that
bad input is refused at once, without loading any model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from chimera.adapters.persona_files import load_persona
from chimera.domain.errors import ChimeraError, InputError
from chimera.domain.types import Persona

DEFAULT_DATA = Path(str(files("chimera.evals") / "gate" / "drafts.jsonl"))
EXPECTED = ("publish", "review")
SPLITS = ("fit", "holdout")
_REQUIRED = ("persona", "topic", "brief", "draft", "expected")
_OPTIONAL = ("id", "category", "split")


@dataclass(frozen=True)
class GateCase:
    """One labelled draft; ``line`` is its 1-based line number in the data file."""

    id: str
    persona: str
    topic: str
    brief: str
    draft: str
    expected: str
    category: str
    split: str | None
    line: int


# --- loading ---------------------------------------------------------------------------


def parse_case(text: str, line: int, where: str) -> GateCase:
    """One data line as a GateCase, or an InputError naming the line and what is wrong."""
    at = f"{where}, line {line}"
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{at}: not valid JSON ({exc.msg}, column {exc.colno})") from None
    if not isinstance(row, dict):
        raise InputError(f"{at}: expected a JSON object, got {type(row).__name__}")
    unknown = sorted(set(row) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        allowed = ", ".join((*_REQUIRED, *_OPTIONAL))
        raise InputError(f"{at}: unknown field(s) {', '.join(unknown)}; allowed: {allowed}")
    for key in (*_REQUIRED, *_OPTIONAL):
        if key not in row:
            if key in _REQUIRED:
                raise InputError(f"{at}: missing field {key!r}")
            continue
        if not isinstance(row[key], str) or not row[key].strip():
            raise InputError(f"{at}: field {key!r} must be a non-empty string")
    if row["expected"] not in EXPECTED:
        raise InputError(f"{at}: 'expected' must be publish or review, got {row['expected']!r}")
    split = row.get("split")
    if split is not None and split not in SPLITS:
        raise InputError(f"{at}: 'split' must be fit or holdout, got {split!r}")
    return GateCase(
        id=row.get("id") or f"line-{line}",
        persona=row["persona"].strip(),
        topic=row["topic"],
        brief=row["brief"],
        draft=row["draft"],
        expected=row["expected"],
        category=row.get("category") or "uncategorised",
        split=split,
        line=line,
    )


def load_cases(
    path: Path | str, split: str | None = None
) -> tuple[list[GateCase], dict[str, Persona]]:
    """Every line checked before anything runs: the cases (of ``split`` only, when given)
    and the personas they name, loaded. Any bad line is an InputError naming it."""
    path = Path(path)
    if split is not None and split not in SPLITS:
        raise InputError(f"--split must be fit or holdout, got {split!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read it ({exc})") from None
    cases: list[GateCase] = []
    personas: dict[str, Persona] = {}
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        case = parse_case(raw, number, str(path))
        if case.id in seen:
            raise InputError(
                f"{path}, line {number}: id {case.id!r} already used on line {seen[case.id]}"
            )
        seen[case.id] = number
        if case.persona not in personas:
            try:
                personas[case.persona] = load_persona(case.persona)
            except ChimeraError as exc:
                raise InputError(f"{path}, line {number}: {exc}") from None
        cases.append(case)
    if split is not None:
        cases = [c for c in cases if c.split == split]
    if not cases:
        which = f" in split {split!r}" if split else ""
        raise InputError(f"{path}: no drafts to judge{which}")
    return cases, personas
