"""A chat model that answers at once: the "instant model" both graphs of the overhead
benchmark call, so that what is measured is the orchestration around the calls.

It speaks LangChain's tool-calling protocol, like the offline model, so structured output
goes through ``with_structured_output`` and its parser in both graphs. A plan is the
offline model's (it only splits the goal's list); a draft is one sentence on the task's
topic with the persona's disclosure label; a rating is 5 of 5.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from chimera.adapters.models.offline_logic import plan
from chimera.graphs.prompts import read_tag


def _draft(prompt: str) -> dict[str, Any]:
    return {"text": f"A post on {read_tag(prompt, 'topic') or 'the topic'}. #AI", "notes": ""}


def _rating(prompt: str) -> dict[str, Any]:
    return {"score": 5, "reasons": ["instant model"], "policy": []}


ANSWERS: dict[str, Callable[[str], dict[str, Any]]] = {
    "Plan": plan,
    "Draft": _draft,
    "Rating": _rating,
}


class InstantChatModel(BaseChatModel):
    """Answers Plan, Draft and Rating requests with no latency."""

    @property
    def _llm_type(self) -> str:
        return "instant"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _answer(self, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> ChatResult:
        prompt = "\n".join(str(m.content) for m in messages if m.type == "human")
        name = tools[0]["function"]["name"]
        call = {
            "name": name,
            "args": ANSWERS[name](prompt),
            "id": "instant-" + hashlib.sha256(prompt.encode()).hexdigest()[:12],
            "type": "tool_call",
        }
        message = AIMessage(content="", tool_calls=[call])
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._answer(messages, kwargs["tools"])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._answer(messages, kwargs["tools"])


INSTANT = InstantChatModel()


def load_instant(name: str, timeout_s: float) -> BaseChatModel:
    """A ``Services.chat_model`` loader: the instant model whatever is asked for."""
    return INSTANT
