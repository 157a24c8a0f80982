"""Errors Chimera reports to people. Each says what is wrong and what to do."""

from __future__ import annotations


class ChimeraError(Exception):
    """Base of Chimera's own errors."""


class InputError(ChimeraError):
    """Bad input from the user: exit status 2, nothing changed."""


class ConfigError(InputError):
    """Configuration that cannot work (unknown model string, missing key)."""


class PersonaError(InputError):
    """A persona that is missing or malformed; the message names the file and the field."""


class ModelOutputError(ChimeraError):
    """A model replied with something that is not the structured output asked for."""
