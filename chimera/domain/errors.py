"""Errors Chimera reports to people. Each says what is wrong and what to do.

Every Chimera error is a ``ValueError``: LangGraph's server passes the message of
ValueError-like built-in errors to its clients and hides any other exception behind
"An internal error occurred", and a LangGraph ``RetryPolicy`` does not retry them by
default (a bad persona or a malformed model reply does not get better by retrying).
"""

from __future__ import annotations


class ChimeraError(ValueError):
    """Base of Chimera's own errors."""


class InputError(ChimeraError):
    """Bad input from the user: exit status 2, nothing changed."""


class ConfigError(InputError):
    """Configuration that cannot work (unknown model string, missing key)."""


class PersonaError(InputError):
    """A persona that is missing or malformed; the message names the file and the field."""


class ModelOutputError(ChimeraError):
    """A model replied with something that is not the structured output asked for."""


class DatabaseUnavailable(ChimeraError):
    """The database went away and did not come back in time; the message says what to do."""


class ThreadBusy(InputError):
    """Another live process drives the thread (it holds the thread's lease)."""
