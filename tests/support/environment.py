"""The environment a test hands a subprocess: none of the developer's settings that would
change what Chimera does, but the test suite's own pins (tests/conftest.py)."""

from __future__ import annotations

import os

# Routing tests run on the weighted mean, whatever fit ships (tests/conftest.py).
PINNED = ("CHIMERA_GATE_FIT",)


def subprocess_env(prefixes: tuple[str, ...] = ("CHIMERA_", "OPENAI_")) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update({k: os.environ[k] for k in PINNED if k in os.environ})
    return env
