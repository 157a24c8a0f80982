"""The thread view the CLI prints and the studio shows: one JSON-ready dict."""

from __future__ import annotations

from typing import Any

from langgraph.types import StateSnapshot

from chimera.adapters.models.factory import describe_model

NODES_WITH_MODELS = ("planner", "worker", "judge")


def model_label(models: dict[str, str]) -> str:
    """'offline' when every node runs offline; otherwise each node's model."""
    specs = {models.get(n, "") for n in NODES_WITH_MODELS}
    if len(specs) == 1:
        return specs.pop()
    return ", ".join(f"{n}={models.get(n, '?')}" for n in NODES_WITH_MODELS)


def status_of(snapshot: StateSnapshot) -> str:
    """interrupted (waiting on reviews), completed, or running (not finished)."""
    if snapshot.interrupts:
        return "interrupted"
    return "completed" if not snapshot.next else "running"


def thread_view(
    thread: dict[str, Any], snapshot: StateSnapshot, history: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    values = snapshot.values or {}
    pending = [i for i in snapshot.interrupts if isinstance(i.value, dict)]
    status = status_of(snapshot)
    if status == "running" and thread.get("status") == "failed":
        status = "failed"
    results = list(values.get("results", []))
    # A task waiting on review has not returned to the parent yet: its result is the
    # payload it interrupted with.
    for item in pending:
        v = item.value
        results.append(
            {
                "task_id": v["task_id"],
                "attempt": v["attempt"],
                "text": v["text"],
                "confidence": v["confidence"],
                "route": "review",
                "flags": v["flags"],
                "reasons": v["reasons"],
            }
        )
    models = dict(thread.get("models") or {})
    view: dict[str, Any] = {
        "thread_id": thread["thread_id"],
        "status": status,
        "persona": thread["persona_id"],
        "goal": thread["goal"],
        "model": model_label(models),
        "models": {n: describe_model(models.get(n, "")) for n in NODES_WITH_MODELS},
        "tasks": [
            {"id": t["id"], "kind": t["kind"], "topic": t["topic"], "brief": t["brief"]}
            for t in values.get("tasks", [])
        ],
        "results": sorted(results, key=lambda r: (r["task_id"], r["attempt"])),
        "interrupts": [
            {
                "id": item.id,
                "task_id": item.value["task_id"],
                "attempt": item.value["attempt"],
                "confidence": item.value["confidence"],
                "flags": item.value["flags"],
                "reasons": item.value["reasons"],
                "text": item.value["text"],
            }
            for item in pending
        ],
        "published": [
            {
                "task_id": p["task_id"],
                "attempt": p["attempt"],
                "post_id": p["post_id"],
                "platform": p["platform"],
                "review": p["review"],
            }
            for p in values.get("published", [])
        ],
        "discarded": list(values.get("discarded", [])),
        "left_out": list(values.get("left_out", [])),
        "summary": values.get("summary", ""),
        "error": thread.get("error"),
        "created_at": thread.get("created_at"),
        "updated_at": thread.get("updated_at"),
    }
    if history is not None:
        view["checkpoints"] = history
    return view


def checkpoint_entry(snapshot: StateSnapshot) -> dict[str, Any]:
    meta = snapshot.metadata or {}
    return {
        "checkpoint_id": snapshot.config["configurable"]["checkpoint_id"],
        "step": meta.get("step"),
        "source": meta.get("source"),
        "next": list(snapshot.next),
        "created_at": snapshot.created_at,
        "interrupts": len(snapshot.interrupts),
    }
