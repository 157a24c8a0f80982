"""A chat model that answers at once: the "instant model" both graphs of the overhead
benchmark call, so that what is measured is the orchestration around the calls.

It is the offline model with other answers, so structured output goes through LangChain's
tool-calling protocol in both graphs (Chimera's ``structured_call``, the bare graph's
``with_structured_output``). A plan is the
offline model's (it only splits the goal's list); a draft is one sentence on the task's
topic with the persona's disclosure label; a rating is 5 of 5.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from langchain_core.language_models import BaseChatModel

from chimera.adapters.models.offline import OfflineChatModel
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


class InstantChatModel(OfflineChatModel):
    """Answers Plan, Draft and Rating requests with no latency: the offline model's
    protocol with answers that cost nothing to make."""

    responders: ClassVar[Mapping[str, Callable[[str], dict[str, Any]]]] = ANSWERS
    latency_s: float | None = 0.0

    @property
    def _llm_type(self) -> str:
        return "instant"


INSTANT = InstantChatModel()


def load_instant(name: str, timeout_s: float) -> BaseChatModel:
    """A ``Services.chat_model`` loader: the instant model whatever is asked for."""
    return INSTANT
