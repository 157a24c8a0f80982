"""Traces of Chimera's runs, for LangSmith and OpenTelemetry, redacted like the audit trail.

- LangSmith when its variables say so (LANGSMITH_TRACING=true, LANGSMITH_API_KEY,
  LANGSMITH_ENDPOINT, LANGSMITH_PROJECT).
- OpenTelemetry (OTLP over HTTP) when OTEL_EXPORTER_OTLP_ENDPOINT (or
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: the same runs as spans, through langsmith's
  own OTEL exporter, on a tracer provider of Chimera's (service ``chimera`` unless
  OTEL_SERVICE_NAME says otherwise; OTEL_EXPORTER_OTLP_HEADERS are honoured).

Both go through one langsmith ``Client`` whose anonymizer masks every secret-looking
environment value (chimera.domain.redaction) in inputs, outputs, metadata and errors,
so what leaves the process is what the audit trail would show. The root run is named
``chimera`` and tagged with the persona, the thread and the models; every run inside a
task's subgraph carries the task id. Tracing is best effort: it never fails a run, and
the audit trail stays the system of record.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import UUID

from langchain_core.runnables import RunnableConfig
from langchain_core.tracers.langchain import LangChainTracer
from langchain_core.tracers.schemas import Run

from chimera.domain.redaction import redact_value

log = logging.getLogger(__name__)

ROOT_RUN = "chimera"
FLUSH_TIMEOUT_S = 5.0
_LANGSMITH_SWITCHES = (
    "LANGSMITH_TRACING",
    "LANGSMITH_TRACING_V2",
    "LANGCHAIN_TRACING_V2",
    "LANGCHAIN_TRACING",
)
_OTEL_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
# What decides how traces leave: a change builds a new client (tests point these at
# receivers of their own).
_SETTINGS = (
    *_LANGSMITH_SWITCHES,
    "LANGSMITH_ENDPOINT",
    "LANGCHAIN_ENDPOINT",
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
    "LANGSMITH_PROJECT",
    *_OTEL_ENDPOINTS,
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_SERVICE_NAME",
)


def langsmith_enabled() -> bool:
    return any(
        os.environ.get(name, "").strip().lower() in ("true", "1", "yes")
        for name in _LANGSMITH_SWITCHES
    )


def otel_enabled() -> bool:
    return any(os.environ.get(name, "").strip() for name in _OTEL_ENDPOINTS)


def _redact_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """langsmith's anonymizer hook: inputs, outputs, metadata and errors, as JSON."""
    return redact_value(payload)


def _task_id_in(inputs: Any) -> str | None:
    """The task a run works on: the input of a task subgraph (TaskInput) names it."""
    task = inputs.get("task") if isinstance(inputs, dict) else None
    task_id = task.get("id") if isinstance(task, dict) else None
    return task_id if isinstance(task_id, str) else None


class ChimeraTracer(LangChainTracer):
    """LangChain's LangSmith tracer, plus the task id on every run under a task subgraph
    and redaction of the parts of a run langsmith's anonymizer does not see (the model's
    invocation parameters, its serialized form, tags)."""

    def _start_trace(self, run: Run) -> None:
        try:
            self._stamp(run)
        except Exception:  # tracing never fails a run
            log.debug("could not annotate run %s for tracing", run.id, exc_info=True)
        super()._start_trace(run)

    def _stamp(self, run: Run) -> None:
        task_id = _task_id_in(run.inputs) or self._task_of_parent(run.parent_run_id)
        extra = redact_value({k: v for k, v in run.extra.items() if k != "metadata"})
        metadata = dict(run.metadata)  # may be shared with the run's siblings: copy
        if task_id:
            metadata["task_id"] = task_id
            run.tags = sorted({*(run.tags or []), f"task:{task_id}"})
        run.extra = {**extra, "metadata": metadata}
        run.tags = redact_value(run.tags)
        if run.serialized:
            run.serialized = redact_value(run.serialized)

    def _task_of_parent(self, parent_run_id: UUID | None) -> str | None:
        parent = self.run_map.get(str(parent_run_id)) if parent_run_id else None
        task_id = parent.metadata.get("task_id") if parent is not None else None
        return task_id if isinstance(task_id, str) else None


@dataclass
class Tracing:
    """One process's way out for traces: a langsmith client (LangSmith, OTEL or both)."""

    client: Any  # langsmith.Client
    tracer_provider: Any | None  # opentelemetry.sdk.trace.TracerProvider

    def tracer(self) -> ChimeraTracer:
        return ChimeraTracer(client=self.client)

    def flush(self) -> None:
        self.client.flush()
        if self.tracer_provider is not None:
            self.tracer_provider.force_flush(timeout_millis=int(FLUSH_TIMEOUT_S * 1000))


def _otel_provider() -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    service = os.environ.get("OTEL_SERVICE_NAME") or ROOT_RUN
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    # The exporter reads the endpoint, headers and timeout from the OTEL_* variables.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def _log_tracing_error(exc: Exception) -> None:
    """A LangSmith that is down is logged, never raised into the run."""
    log.warning("tracing failed: %s", redact_value(str(exc)))


@lru_cache(maxsize=8)
def _tracing_for(settings: tuple[str | None, ...]) -> Tracing | None:
    del settings  # the cache key; the values are read from the environment below
    to_langsmith, to_otel = langsmith_enabled(), otel_enabled()
    if not (to_langsmith or to_otel):
        return None
    from langsmith import Client

    mode = "hybrid" if to_langsmith and to_otel else "langsmith" if to_langsmith else "otel"
    provider = _otel_provider() if to_otel else None
    client = Client(
        anonymizer=_redact_payload,
        tracing_mode=mode,  # type: ignore[arg-type]
        otel_tracer_provider=provider,
        timeout_ms=(2_000, 5_000),
        tracing_error_callback=_log_tracing_error,
    )
    return Tracing(client=client, tracer_provider=provider)


def current_tracing() -> Tracing | None:
    """The tracing the environment asks for, built once per distinct setting; None when
    no variable asks for any, or when it cannot be set up (logged)."""
    try:
        return _tracing_for(tuple(os.environ.get(name) for name in _SETTINGS))
    except Exception as exc:
        log.warning("tracing is off: it could not be set up: %s", redact_value(str(exc)))
        return None


def install_process_tracing() -> bool:
    """Makes the redacting client langsmith's process-wide one, for the tracers Chimera
    does not make itself: LangGraph's server makes a ``LangChainTracer`` per run, which
    takes langsmith's global client. True when tracing is on."""
    tracing = current_tracing()
    if tracing is None:
        return False
    from langsmith.run_trees import configure

    configure(client=tracing.client)
    return True


def run_config(
    config: RunnableConfig,
    *,
    thread_id: str,
    persona_id: str | None,
    models: dict[str, str],
) -> RunnableConfig:
    """``config`` for one drive of the graph: the root run's name, tags and metadata,
    and the redacting tracer when tracing is on."""
    tags = [ROOT_RUN, f"thread:{thread_id}"]
    if persona_id:
        tags.append(f"persona:{persona_id}")
    tags += sorted({f"model:{spec}" for spec in models.values()})
    metadata: dict[str, Any] = {"thread_id": thread_id, "persona": persona_id}
    metadata.update({f"{node}_model": spec for node, spec in models.items()})
    traced: RunnableConfig = {
        **config,
        "run_name": ROOT_RUN,
        "tags": [*config.get("tags", []), *tags],
        "metadata": {**config.get("metadata", {}), **metadata},
    }
    tracing = current_tracing()
    if tracing is not None:
        traced["callbacks"] = [tracing.tracer()]
    return traced


async def flush_traces() -> None:
    """Send what is queued, waiting at most FLUSH_TIMEOUT_S; never raises."""
    tracing = current_tracing()
    if tracing is None:
        return
    try:
        await asyncio.wait_for(asyncio.to_thread(tracing.flush), FLUSH_TIMEOUT_S)
    except Exception as exc:
        log.warning("traces were not all sent: %s", redact_value(f"{type(exc).__name__}: {exc}"))
