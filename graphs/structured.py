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
from pydantic import BaseModel, ValidationError

from chimera.domain.errors import InputError, ModelOutputError
from chimera.domain.hygiene import clean

T = TypeVar("T", bound=BaseModel)


def _structured_options(model: BaseChatModel) -> dict[str, Any]:
    """OpenAI chat models default to ``method="json_schema"`` (a strict
    ``response_format``), which OpenAI itself rejects for schemas with defaults
    (e.g. Draft.notes) and which many OpenAI-compatible servers do not support.
    A forced tool call works everywhere, so ask for that. The check goes through
    ``sys.modules`` so that other models never pay for importing langchain-openai."""
    openai_models = sys.modules.get("langchain_openai.chat_models.base")
    if openai_models is not None and isinstance(model, openai_models.BaseChatOpenAI):
        return {"method": "function_calling"}
    return {}


# Building a structured-output runnable turns the schema into a tool (pydantic's JSON
# schema): about a third of a structured call's cost with a fast model. Models are cached
# by their loader, so the runnable is kept per (model, schema); the weak reference tells
# a model that was collected from a new one at the same address.
_Kept = tuple[weakref.ref[BaseChatModel], Runnable[Any, Any]]
_RUNNABLES: OrderedDict[tuple[int, type[BaseModel]], _Kept] = OrderedDict()
_RUNNABLES_MAX = 64
_RUNNABLES_LOCK = threading.Lock()


def structured_runnable(model: BaseChatModel, schema: type[BaseModel]) -> Runnable[Any, Any]:
    """``model.with_structured_output(schema, include_raw=True)``, built once per pair."""
    key = (id(model), schema)
    with _RUNNABLES_LOCK:
        kept = _RUNNABLES.get(key)
        if kept is not None and kept[0]() is model:
            _RUNNABLES.move_to_end(key)
            return kept[1]
    runnable = model.with_structured_output(schema, include_raw=True, **_structured_options(model))
    with _RUNNABLES_LOCK:
        _RUNNABLES[key] = (weakref.ref(model), runnable)
        while len(_RUNNABLES) > _RUNNABLES_MAX:
            _RUNNABLES.popitem(last=False)
    return runnable


def _missing_output_detail(raw: object) -> str:
    """Why a reply parsed to nothing: a tool call whose arguments are not JSON
    (langchain keeps those in ``invalid_tool_calls``), or no tool call at all."""
    invalid = getattr(raw, "invalid_tool_calls", None) or []
    if invalid:
        call = invalid[0]
        args = str(call.get("args") or "")
        excerpt = args if len(args) <= 80 else args[:77] + "..."
        return f"the arguments of tool call {call.get('name')!r} are not valid JSON: {excerpt!r}"
    if isinstance(raw, AIMessage) and not raw.tool_calls:
        return "the reply has no tool call (the model answered in plain text)"
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
    reply = await structured_runnable(model, schema).ainvoke(list(messages))
    parsed = reply.get("parsed") if isinstance(reply, dict) else None
    if isinstance(parsed, schema):
        return _cleaned(parsed, node, keep_hidden)
    error = reply.get("parsing_error") if isinstance(reply, dict) else None
    if isinstance(error, ValidationError):
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
    elif error:
        detail = str(error)
    else:
        detail = _missing_output_detail(reply.get("raw") if isinstance(reply, dict) else None)
    raise ModelOutputError(f"{node}: the model's reply is not a valid {schema.__name__}: {detail}")
