"""Personas on disk: ``<dir>/<id>/SOUL.md`` files found by id or path.

The search dirs are those in ``CHIMERA_PERSONAS_DIR`` (os.pathsep-separated), then
``<CHIMERA_HOME>/personas`` (the user's own: the studio saves edits there), then the
personas shipped inside the package (``chimera/personas``, read-only seeds).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from chimera.domain.errors import InputError, PersonaError
from chimera.domain.hygiene import clean
from chimera.domain.personas import parse_persona
from chimera.domain.types import Persona
from chimera.settings import default_home

PERSONAS_DIR: Path = Path(str(files("chimera") / "personas"))
SOUL_FILE = "SOUL.md"
ENV_DIRS = "CHIMERA_PERSONAS_DIR"
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def load_persona(id_or_path: str | Path, search_dirs: Sequence[Path] | None = None) -> Persona:
    """Load a persona from a SOUL.md file, a folder holding one, or an id in the search dirs.

    By default the search dirs are those in ``CHIMERA_PERSONAS_DIR`` (os.pathsep-separated)
    followed by ``PERSONAS_DIR``; the first folder holding ``<id>/SOUL.md`` wins.
    """
    path = Path(id_or_path).expanduser()
    if path.is_file():
        return _read_persona(path)
    if path.is_dir():
        soul = path / SOUL_FILE
        if not soul.exists():
            raise PersonaError(f"{soul}: no such file (a persona folder must hold a {SOUL_FILE})")
        return _read_persona(soul)
    wanted = str(id_or_path)
    dirs = _search_dirs(search_dirs)
    if _ID.match(wanted):
        for folder in dirs:
            candidate = folder / wanted / SOUL_FILE
            if candidate.is_file():
                return _read_in_folder(candidate)
        tried = " or ".join(str(folder / wanted / SOUL_FILE) for folder in dirs)
        raise PersonaError(f"unknown persona {wanted!r}: no {tried}; {_known(dirs)}")
    if "/" in wanted or os.sep in wanted or wanted.endswith(".md"):
        raise PersonaError(f"{wanted}: no such persona file or folder; {_known(dirs)}")
    raise PersonaError(
        f"unknown persona {wanted!r}: it is not an existing file or folder, nor a persona id "
        f"(lowercase letters, digits, '-' or '_'); {_known(dirs)}"
    )


@dataclass(frozen=True)
class PersonaFiles:
    """The graph's PersonaSource: SOUL.md files found as ``load_persona`` finds them."""

    search_dirs: Sequence[Path] | None = None

    async def load(self, ref: str) -> Persona:
        # In a thread: LangGraph's server refuses blocking file I/O on its event loop.
        return await asyncio.to_thread(load_persona, ref, self.search_dirs)


def list_personas(search_dirs: Sequence[Path] | None = None) -> list[Persona]:
    """Every persona in the search dirs, sorted by id; a malformed one raises PersonaError.

    An id found in several dirs is taken from the first, as ``load_persona`` would.
    """
    found: dict[str, Persona] = {}
    for folder in _search_dirs(search_dirs):
        for soul in _soul_files(folder):
            if soul.parent.name not in found:
                found[soul.parent.name] = _read_in_folder(soul)
    return [found[key] for key in sorted(found)]


def _env_dirs() -> list[Path]:
    env = os.environ.get(ENV_DIRS, "")
    return [Path(part).expanduser() for part in env.split(os.pathsep) if part.strip()]


def home_personas_dir() -> Path:
    """``<CHIMERA_HOME>/personas``: the user's own personas, searched before the shipped."""
    home = os.environ.get("CHIMERA_HOME")
    return (Path(home).expanduser() if home else default_home()) / "personas"


def editable_personas_dir() -> Path:
    """Where an edited persona is saved: the first folder of ``CHIMERA_PERSONAS_DIR``,
    else ``<CHIMERA_HOME>/personas``; either shadows the shipped persona of that id."""
    return next(iter(_env_dirs()), None) or home_personas_dir()


def _search_dirs(search_dirs: Sequence[Path] | None) -> list[Path]:
    """The explicit dirs, or the env var's dirs, the home's and then PERSONAS_DIR."""
    if search_dirs is not None:
        return [Path(d) for d in search_dirs]
    return [*_env_dirs(), home_personas_dir(), PERSONAS_DIR]


def _soul_files(folder: Path) -> list[Path]:
    """``<folder>/<id>/SOUL.md`` files, by folder name; a missing folder has none."""
    if not folder.is_dir():
        return []
    return sorted(p / SOUL_FILE for p in folder.iterdir() if (p / SOUL_FILE).is_file())


def _known(dirs: Sequence[Path]) -> str:
    """'known personas: a, b' for an error message."""
    ids = sorted({soul.parent.name for folder in dirs for soul in _soul_files(folder)})
    if not ids:
        return "known personas: none (searched " + ", ".join(str(d) for d in dirs) + ")"
    return "known personas: " + ", ".join(ids)


def _read_persona(path: Path) -> Persona:
    """Read and parse one SOUL.md, turning I/O and decoding failures into PersonaError."""
    source = str(path)
    try:
        # utf-8-sig: editors that write a BOM would otherwise hide the opening '---'.
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PersonaError(
            f"{source}: persona file is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from exc
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise PersonaError(f"{source}: cannot read persona file: {reason}") from exc
    try:
        # Terminal escapes and hidden characters have no place in a persona; NUL is refused.
        text = clean(text, what="the persona file").text
    except InputError as exc:
        raise PersonaError(f"{source}: {exc}") from None
    return parse_persona(text, source)


def _read_in_folder(soul: Path) -> Persona:
    """Read ``<dir>/<id>/SOUL.md``, whose id must match its folder so lookups by id agree."""
    persona = _read_persona(soul)
    folder = soul.parent.name
    if persona["id"] != folder:
        raise PersonaError(
            f"{soul}: field 'id' is {persona['id']!r} but the folder is named {folder!r}; "
            "rename one so they match"
        )
    return persona
