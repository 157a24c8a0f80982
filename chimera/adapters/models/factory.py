"""Chat models from configuration strings.

- ``offline``: Chimera's deterministic built-in model (no network).
- ``provider:model``: LangChain's ``init_chat_model``, for every provider. For
  ``openai`` the base URL comes from CHIMERA_OPENAI_BASE_URL (or OPENAI_BASE_URL)
  and the key from CHIMERA_OPENAI_API_KEY (or OPENAI_API_KEY), so any
  OpenAI-compatible endpoint works. Other providers read their own variables
  (ANTHROPIC_API_KEY, OLLAMA_HOST, ...).

A provider whose package is missing is a ConfigError naming the extra to install
(``pip install 'chimera[anthropic]'``). A configured provider that fails raises; it
never falls back to offline.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from langchain_core.language_models import BaseChatModel

from chimera.domain.errors import ConfigError
from chimera.domain.redaction import redact_value

OFFLINE = "offline"
# provider -> the chimera extra that installs its LangChain package (pyproject.toml).
PROVIDER_EXTRAS = {
    "anthropic": "anthropic",
    "ollama": "ollama",
    "mistralai": "mistral",
    "groq": "groq",
}
# Providers whose chat model takes ``max_retries``: one quick retry in the client; the
# graph's RetryPolicy (chimera.graphs.retry) handles longer outages.
_TAKES_MAX_RETRIES = frozenset({"openai", "azure_openai", "anthropic", "mistralai", "groq"})
_PROVIDER = re.compile(r"^[a-z][a-z0-9_-]*$")


@dataclass(frozen=True)
class ModelSpec:
    """A parsed ``provider:model`` string."""

    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"


def is_offline(spec: str) -> bool:
    return spec.strip().lower() == OFFLINE


def describe_model(spec: str) -> str:
    """How a model shows to people: the offline one is always labelled as such."""
    return "offline (deterministic built-in model, no network)" if is_offline(spec) else spec


def parse_model_spec(spec: str) -> ModelSpec:
    """``provider:model`` (the model part may hold more colons, as in ``ollama:qwen3:8b``).
    Anything else is a ConfigError; ``offline`` is not a provider spec."""
    provider, sep, model = spec.strip().partition(":")
    provider = provider.strip().lower().replace("-", "_")
    model = model.strip()
    if not sep or not model or not _PROVIDER.match(provider):
        raise ConfigError(
            f"model {spec!r} is not 'offline' or 'provider:model' (e.g. 'openai:gpt-4.1-mini', "
            "'anthropic:claude-sonnet-4-5', 'ollama:qwen3')"
        )
    return ModelSpec(provider, model)


def install_hint(provider: str, package: str | None = None) -> str:
    """What to install for ``provider``: Chimera's extra when there is one."""
    extra = PROVIDER_EXTRAS.get(provider)
    if extra:
        return f"pip install 'chimera[{extra}]'"
    return f"pip install {package or 'langchain-' + provider.replace('_', '-')}"


def _openai_options() -> dict[str, Any]:
    from pydantic import SecretStr

    key = os.environ.get("CHIMERA_OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY")
    base_url = os.environ.get("CHIMERA_OPENAI_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
    if not key and not base_url:
        raise ConfigError(
            "openai models need OPENAI_API_KEY (or CHIMERA_OPENAI_API_KEY), or "
            "CHIMERA_OPENAI_BASE_URL for an OpenAI-compatible endpoint"
        )
    # Local OpenAI-compatible servers often need no key; the client still wants one.
    return {"base_url": base_url, "api_key": SecretStr(key or "not-needed")}


def _provider_options(spec: ModelSpec, timeout_s: float) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if spec.provider == "openai":
        options.update(_openai_options())
    if spec.provider == "ollama":
        options["client_kwargs"] = {"timeout": timeout_s}  # ChatOllama ignores ``timeout``
    else:
        options["timeout"] = timeout_s
    if spec.provider in _TAKES_MAX_RETRIES:
        options["max_retries"] = 1
    return options


@lru_cache(maxsize=32)
def load_chat_model(spec: str, timeout_s: float = 60.0) -> BaseChatModel:
    if is_offline(spec):
        from chimera.adapters.models.offline import OfflineChatModel

        return OfflineChatModel()
    parsed = parse_model_spec(spec)
    options = _provider_options(parsed, timeout_s)
    from langchain.chat_models import init_chat_model

    try:
        return init_chat_model(parsed.model, model_provider=parsed.provider, **options)
    except ImportError as exc:
        # langchain names the package it could not import: "... requires the X package".
        named = re.search(r"requires the ([\w.-]+) package", str(exc))
        raise ConfigError(
            f"model {spec!r} needs the {parsed.provider} provider's package, which is not "
            f"installed: {install_hint(parsed.provider, named.group(1) if named else None)}"
        ) from None
    except ValueError as exc:  # unknown provider, or the provider rejected its settings
        raise ConfigError(f"model {spec!r}: {redact_value(str(exc))}") from None
