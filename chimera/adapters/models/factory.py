"""Chat models from configuration strings.

- ``offline``: Chimera's deterministic built-in model (no network).
- ``openai:MODEL``: langchain-openai's ChatOpenAI; the base URL comes from
  CHIMERA_OPENAI_BASE_URL (or OPENAI_BASE_URL), the key from
  CHIMERA_OPENAI_API_KEY (or OPENAI_API_KEY), so any OpenAI-compatible
  endpoint works.
- anything else, ``provider:model``: ``init_chat_model``.

A configured provider that fails raises; it never falls back to offline.
"""

from __future__ import annotations

import os
from functools import lru_cache

from langchain_core.language_models import BaseChatModel

from chimera.domain.errors import ConfigError

OFFLINE = "offline"


def is_offline(spec: str) -> bool:
    return spec.strip().lower() == OFFLINE


def describe_model(spec: str) -> str:
    """How a model shows to people: the offline one is always labelled as such."""
    return "offline (deterministic built-in model, no network)" if is_offline(spec) else spec


@lru_cache(maxsize=32)
def load_chat_model(spec: str, timeout_s: float = 60.0) -> BaseChatModel:
    spec = spec.strip()
    if is_offline(spec):
        from chimera.adapters.models.offline import OfflineChatModel

        return OfflineChatModel()
    provider, sep, model = spec.partition(":")
    if not sep or not provider or not model:
        raise ConfigError(
            f"model {spec!r} is not 'offline' or 'provider:model' (e.g. 'openai:gpt-4.1-mini')"
        )
    if provider == "openai":
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        key = os.environ.get("CHIMERA_OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY")
        base_url = os.environ.get("CHIMERA_OPENAI_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
        if not key and not base_url:
            raise ConfigError(
                f"model {spec!r} needs OPENAI_API_KEY (or CHIMERA_OPENAI_API_KEY), or "
                "CHIMERA_OPENAI_BASE_URL for an OpenAI-compatible endpoint"
            )
        return ChatOpenAI(
            model=model,
            base_url=base_url,
            # Local OpenAI-compatible servers often need no key; the client still wants one.
            api_key=SecretStr(key or "not-needed"),
            timeout=timeout_s,
            max_retries=1,
        )
    from langchain.chat_models import init_chat_model

    return init_chat_model(spec, timeout=timeout_s)
