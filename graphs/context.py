"""What a user tunes for a run: models, prompts, thresholds, attempts.

A ``Context`` is passed to every invocation (``graph.ainvoke(..., context=...)``)
and reaches each node as ``runtime.context``. It is never checkpointed. As in
LangChain's templates, a field left at its default takes ``CHIMERA_<FIELD>`` from the
environment (model fields fall back to ``CHIMERA_MODEL``), so one variable retunes
every run; LangGraph's server shows the fields, defaults and descriptions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Annotated, Any

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from chimera.domain.errors import ConfigError
from chimera.domain.types import Thresholds
from chimera.graphs.prompts import load_prompt
from chimera.graphs.services import Services

OFFLINE_MODEL = "offline"
# react-agent marks model fields this way so LangGraph Studio offers them as LLM choices;
# as a pydantic Field it also reaches the JSON schema LangGraph's server serves.
_LLM = Field(json_schema_extra={"__template_metadata__": {"kind": "llm"}})
_MODEL_FIELDS = ("planner_model", "worker_model", "judge_model")


@dataclass(kw_only=True)
class Context:
    """Run-scoped configuration of the Chimera graph."""

    planner_model: Annotated[str, _LLM] = field(
        default=OFFLINE_MODEL,
        metadata={
            "description": "Planner chat model: 'offline' (Chimera's deterministic built-in "
            "model), or a 'provider:model' string for LangChain's init_chat_model such as "
            "'openai:gpt-4.1-mini' or 'ollama:qwen3'. Env: CHIMERA_PLANNER_MODEL, then "
            "CHIMERA_MODEL."
        },
    )
    worker_model: Annotated[str, _LLM] = field(
        default=OFFLINE_MODEL,
        metadata={
            "description": "Worker chat model; same forms as planner_model. Env: "
            "CHIMERA_WORKER_MODEL, then CHIMERA_MODEL."
        },
    )
    judge_model: Annotated[str, _LLM] = field(
        default=OFFLINE_MODEL,
        metadata={
            "description": "Judge chat model (rubric rating); same forms as planner_model. "
            "Env: CHIMERA_JUDGE_MODEL, then CHIMERA_MODEL."
        },
    )
    planner_prompt: str = field(
        default=load_prompt("planner"),
        metadata={"description": "System prompt of the planner (prompts/planner/, latest)."},
    )
    worker_prompt: str = field(
        default=load_prompt("worker"),
        metadata={"description": "System prompt of the worker (prompts/worker/, latest)."},
    )
    judge_prompt: str = field(
        default=load_prompt("judge"),
        metadata={"description": "System prompt of the judge (prompts/judge/, latest)."},
    )
    review_threshold: float = field(
        default=0.7,
        metadata={
            "description": "Below this confidence a result interrupts for human review. "
            "A persona's SOUL.md may override it."
        },
    )
    publish_threshold: float = field(
        default=0.9,
        metadata={
            "description": "Above this confidence a result publishes with no review; from "
            "review_threshold up to it, it publishes and is listed for asynchronous review."
        },
    )
    max_attempts: int = field(
        default=3,
        metadata={"description": "Attempts per task, counting retries a reviewer asks for."},
    )
    max_tasks: int = field(
        default=10,
        metadata={"description": "Upper bound on the tasks the planner may create for one goal."},
    )
    model_timeout_s: float = field(
        default=60.0,
        metadata={"description": "Seconds before a model call is abandoned with an error."},
    )
    disclosure_label: str = field(
        default="#AI",
        metadata={"description": "AI-disclosure label every published post must carry."},
    )
    services: SkipJsonSchema[Services | None] = field(
        default=None,
        compare=False,
        repr=False,
        metadata={
            "description": "Collaborators wired by chimera.app.wiring (models, publisher, "
            "audit trail, scorer). Not tunable and never serialised; None takes the "
            "process's services (LangGraph's server)."
        },
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name == "services" or getattr(self, f.name) != f.default:
                continue
            names = [f"CHIMERA_{f.name.upper()}"]
            if f.name in _MODEL_FIELDS:
                names.append("CHIMERA_MODEL")
            raw = next((os.environ[n] for n in names if os.environ.get(n)), None)
            if raw is not None:
                setattr(self, f.name, _parse(f.name, names[0], raw, type(f.default)))

    def thresholds_for(self, persona_thresholds: Thresholds) -> tuple[float, float]:
        """(review, publish) thresholds, with the persona's overrides applied."""
        review = float(persona_thresholds.get("review", self.review_threshold))
        publish = float(persona_thresholds.get("publish", self.publish_threshold))
        return review, publish

    def models(self) -> dict[str, str]:
        """The model each model-using node runs."""
        return {"planner": self.planner_model, "worker": self.worker_model,
                "judge": self.judge_model}  # fmt: skip


def _parse(field_name: str, env: str, raw: str, kind: type[Any]) -> Any:
    if kind is str:
        return raw
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(
            f"{env}={raw!r} is not a valid {kind.__name__} for Context.{field_name}"
        ) from None
