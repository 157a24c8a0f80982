"""Model strings: parsing, and the errors people get for a spec that cannot work."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator

import pytest

from chimera.adapters.models import factory
from chimera.adapters.models.factory import (
    PROVIDER_EXTRAS,
    ModelSpec,
    load_chat_model,
    parse_model_spec,
)
from chimera.domain.errors import ConfigError, InputError

# provider -> the module init_chat_model imports for it
PROVIDER_MODULES = {
    "anthropic": "langchain_anthropic",
    "ollama": "langchain_ollama",
    "mistralai": "langchain_mistralai",
    "groq": "langchain_groq",
}


@pytest.fixture(autouse=True)
def fresh_models() -> Iterator[None]:
    """load_chat_model and langchain's provider lookup both cache what they loaded."""
    from langchain.chat_models import base

    load_chat_model.cache_clear()
    base._get_chat_model_creator.cache_clear()
    yield
    load_chat_model.cache_clear()
    base._get_chat_model_creator.cache_clear()


@pytest.mark.parametrize(
    ("spec", "provider", "model"),
    [
        ("openai:gpt-4.1-mini", "openai", "gpt-4.1-mini"),
        ("ollama:qwen3:8b", "ollama", "qwen3:8b"),  # model names may hold colons
        ("  anthropic:claude-sonnet-4-5 ", "anthropic", "claude-sonnet-4-5"),
        ("Azure-OpenAI:my-deployment", "azure_openai", "my-deployment"),
    ],
)
def test_spec_parses_into_provider_and_model(spec: str, provider: str, model: str) -> None:
    assert parse_model_spec(spec) == ModelSpec(provider, model)
    assert str(parse_model_spec(spec)) == f"{provider}:{model}"


@pytest.mark.parametrize(
    "spec", ["gpt4", "openai:", ":gpt-4", "  ", "open ai:gpt-4", "1openai:x", "openai:   "]
)
def test_malformed_spec_is_a_config_error(spec: str) -> None:
    with pytest.raises(ConfigError, match="provider:model") as caught:
        load_chat_model(spec)
    assert isinstance(caught.value, InputError)  # exit status 2


def test_unknown_provider_is_a_config_error_listing_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"(?s)'nosuch:model'.*Unsupported.*anthropic.*ollama"):
        load_chat_model("nosuch:model")


@pytest.mark.parametrize("provider", sorted(PROVIDER_EXTRAS))
def test_missing_provider_package_names_the_extra(
    provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules is Python's own way to make an import fail: init_chat_model
    # really meets an ImportError for the package, whether or not the extra is installed.
    monkeypatch.setitem(sys.modules, PROVIDER_MODULES[provider], None)
    monkeypatch.setitem(sys.modules, "langchain_community", None)  # ollama's old home

    with pytest.raises(ConfigError) as caught:
        load_chat_model(f"{provider}:some-model")

    message = str(caught.value)
    assert f"pip install 'chimera[{PROVIDER_EXTRAS[provider]}]'" in message
    assert f"'{provider}:some-model'" in message
    assert caught.value.__cause__ is None  # no ImportError chained into what people see


def test_provider_without_an_extra_names_its_package() -> None:
    # langchain-cohere is in no extra, so no install here has it.
    assert importlib.util.find_spec("langchain_cohere") is None
    with pytest.raises(ConfigError, match=r"pip install langchain-cohere"):
        load_chat_model("cohere:command-r")


def test_every_extra_is_declared_in_pyproject() -> None:
    import tomllib
    from pathlib import Path

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    extras = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    for provider, extra in PROVIDER_EXTRAS.items():
        package = PROVIDER_MODULES[provider].replace("_", "-")
        assert any(req.startswith(package) for req in extras[extra]), (extra, extras)


def test_openai_goes_through_init_chat_model(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, dict[str, object]]] = []
    from langchain.chat_models import base

    real = base.init_chat_model

    def spy(model: str, **kwargs: object) -> object:
        seen.append((model, kwargs))
        return real(model, **kwargs)  # type: ignore[arg-type]

    import langchain.chat_models

    monkeypatch.setattr(langchain.chat_models, "init_chat_model", spy)
    monkeypatch.setenv("CHIMERA_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.delenv("CHIMERA_OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    model = load_chat_model("openai:test-model", 7.0)

    assert type(model).__name__ == "ChatOpenAI"
    [(name, kwargs)] = seen
    assert name == "test-model" and kwargs["model_provider"] == "openai"
    assert kwargs["base_url"] == "http://127.0.0.1:9/v1"
    assert (kwargs["timeout"], kwargs["max_retries"]) == (7.0, 1)
    assert model.max_retries == 1  # type: ignore[attr-defined]


def test_provider_settings_error_is_a_config_error_without_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "sk-canary-7c1d9e2f4a"
    monkeypatch.setenv("CHIMERA_OPENAI_API_KEY", secret)
    monkeypatch.setattr(
        factory,
        "_provider_options",
        lambda spec, timeout: {"api_key": secret, "temperature": f"hot-{secret}"},
    )
    with pytest.raises(ConfigError) as caught:
        load_chat_model("openai:test-model")
    assert "temperature" in str(caught.value)
    assert secret not in str(caught.value)
