"""One structured call to a chat model, with errors people can act on."""

from __future__ import annotations

import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_json_schema
from pydantic import BaseModel, ValidationError

from chimera.domain.errors import InputError, ModelOutputError
from chimera.domain.hygiene import clean

T = TypeVar("T", bound=BaseModel)


def _is_openai(model: BaseChatModel) -> bool:
    # Through ``sys.modules``, so that other models never pay for importing langchain-openai.
    openai_models = sys.modules.get("langchain_openai.chat_models.base")
    return openai_models is not None and isinstance(model, openai_models.BaseChatOpenAI)


def _tool_options(model: BaseChatModel, schema: type[BaseModel]) -> dict[str, Any]:
    """How ``with_structured_output(method="function_calling")`` binds the schema's tool,
    with the tracing metadata's JSON schema made once instead of at every call (pydantic's
    JSON schema generation was most of a call's cost with a fast model).

    OpenAI chat models would default to ``method="json_schema"`` (a strict
    ``response_format``), which OpenAI itself rejects for schemas with defaults (e.g.
    Draft.notes) and which many OpenAI-compatible servers do not support; a forced tool
    call works everywhere."""
    json_schema = convert_to_json_schema(schema)
    if _is_openai(model):
        options = {
            "tool_choice": schema.__name__,
            "parallel_tool_calls": False,
            "ls_structured_output_format": {
                "kwargs": {"method": "function_calling", "strict": None},
                "schema": json_schema,
            },
        }
        filtered: dict[str, Any] = model._filter_disabled_params(**options)  # type: ignore[attr-defined]
        return filtered
    traced = {"kwargs": {"method": "function_calling"}, "schema": json_schema}
    return {"tool_choice": "any", "ls_structured_output_format": traced}


# The bound model is kept per (model, schema): models are cached by their loader, and
# binding converts the schema to a tool. The weak reference tells a model that was
# collected from a new one at the same address.
_Kept = tuple[weakref.ref[BaseChatModel], Runnable[Any, AIMessage]]
_BOUND: OrderedDict[tuple[int, type[BaseModel]], _Kept] = OrderedDict()
_BOUND_MAX = 64
_BOUND_LOCK = threading.Lock()


def tool_bound(model: BaseChatModel, schema: type[BaseModel]) -> Runnable[Any, AIMessage]:
    """``model`` with ``schema`` bound as the one tool it must call, built once per pair."""
    key = (id(model), schema)
    with _BOUND_LOCK:
        kept = _BOUND.get(key)
        if kept is not None and kept[0]() is model:
            _BOUND.move_to_end(key)
            return kept[1]
    bound = model.bind_tools([schema], **_tool_options(model, schema))
    with _BOUND_LOCK:
        _BOUND[key] = (weakref.ref(model), bound)
        while len(_BOUND) > _BOUND_MAX:
            _BOUND.popitem(last=False)
    return bound


def _missing_output_detail(raw: object) -> str:
    """Why a reply parsed to nothing: a tool call whose arguments are not JSON
    (langchain keeps those in ``invalid_tool_calls``), no tool call at all, or a call
    of another tool."""
    invalid = getattr(raw, "invalid_tool_calls", None) or []
    if invalid:
        call = invalid[0]
        args = str(call.get("args") or "")
        excerpt = args if len(args) <= 80 else args[:77] + "..."
        return f"the arguments of tool call {call.get('name')!r} are not valid JSON: {excerpt!r}"
    if isinstance(raw, AIMessage) and not raw.tool_calls:
        return "the reply has no tool call (the model answered in plain text)"
    if isinstance(raw, AIMessage):
        return f"the model called {raw.tool_calls[0]['name']!r}, a tool it was not offered"
    return "no structured output in the reply"


def _cleaned(parsed: T, node: str, keep_hidden: bool) -> T:
    """The reply's text fields through the one normaliser: escapes and hidden characters
    removed (hidden ones kept with ``keep_hidden``); a NUL is a reply that cannot be
    stored (ModelOutputError, not a crash)."""

    def clean_value(value: Any) -> Any:
        if isinstance(value, str):
            return clean(value, what="the reply", keep_hidden=keep_hidden).text
        if isinstance(value, list):
            return [clean_value(v) for v in value]
        return value

    try:
        updates = {name: clean_value(getattr(parsed, name)) for name in type(parsed).model_fields}
    except InputError as exc:
        raise ModelOutputError(f"{node}: {exc}") from None
    return parsed.model_copy(update=updates)


async def structured_call(
    model: BaseChatModel,
    schema: type[T],
    messages: Sequence[BaseMessage],
    *,
    node: str,
    keep_hidden: bool = False,
) -> T:
    """Ask ``model`` for an instance of ``schema``; a reply that does not parse raises
    ModelOutputError naming the node and the schema. Transport errors and timeouts
    propagate as the provider raised them. ``keep_hidden`` leaves invisible characters
    in the reply's text for the caller to remove and flag (the worker's draft)."""
    reply = await tool_bound(model, schema).ainvoke(list(messages))
    # Parsed here rather than by with_structured_output's parser chain (four more
    # runnables a call), with its rule: the reply's first tool call, which must be the
    # schema's tool.
    calls = getattr(reply, "tool_calls", None) or []
    if not calls or calls[0]["name"] != schema.__name__:
        detail = _missing_output_detail(reply)
    else:
        try:
            return _cleaned(schema.model_validate(calls[0]["args"]), node, keep_hidden)
        except ValidationError as error:
            detail = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()
            )
    raise ModelOutputError(f"{node}: the model's reply is not a valid {schema.__name__}: {detail}")
