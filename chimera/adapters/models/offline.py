"""Chimera's built-in offline chat model: deterministic, no network, labelled 'offline'.

It speaks LangChain's tool-calling protocol, so ``with_structured_output`` goes
through the same parser as any provider's model does.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from chimera.adapters.models.offline_logic import RESPONDERS, reply_text


def _latency_from_env() -> float:
    return float(os.environ.get("CHIMERA_OFFLINE_LATENCY", "0") or 0)


class OfflineChatModel(BaseChatModel):
    """Answers Plan, Draft and Rating requests from the prompt's tagged sections."""

    # The answer to each schema (by name) from the prompt's human turns.
    responders: ClassVar[Mapping[str, Callable[[str], dict[str, Any]]]] = RESPONDERS

    latency_s: float | None = Field(
        default=None,
        description="Simulated seconds per call, to watch a run live; None reads "
        "CHIMERA_OFFLINE_LATENCY at each call (the loader caches models, and a forked "
        "process may set its own).",
    )

    def _latency(self) -> float:
        return _latency_from_env() if self.latency_s is None else self.latency_s

    @property
    def _llm_type(self) -> str:
        return "chimera-offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": "offline"}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _answer(
        self, messages: list[BaseMessage], tools: list[dict[str, Any]] | None
    ) -> ChatResult:
        # The data is in the human turns; system prompts may name the tags in prose.
        prompt = "\n".join(str(m.content) for m in messages if m.type == "human")
        if not tools:
            return ChatResult(generations=[ChatGeneration(message=AIMessage(reply_text(prompt)))])
        name = tools[0]["function"]["name"]
        responder = self.responders.get(name)
        if responder is None:
            raise ValueError(
                f"the offline model cannot produce {name!r}; it knows {list(self.responders)}"
            )
        call_id = "offline-" + hashlib.sha256(prompt.encode()).hexdigest()[:12]
        message = AIMessage(
            content="",
            tool_calls=[
                {"name": name, "args": responder(prompt), "id": call_id, "type": "tool_call"}
            ],
            response_metadata={"model_name": "offline"},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if latency := self._latency():
            time.sleep(latency)
        return self._answer(messages, kwargs.get("tools"))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if latency := self._latency():
            await asyncio.sleep(latency)
        return self._answer(messages, kwargs.get("tools"))
