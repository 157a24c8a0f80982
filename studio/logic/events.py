"""Live progress of a run: one readable line per node event, and how far the tasks are."""

from __future__ import annotations

from typing import Any

FINAL = ("published", "review_requested", "discarded")


def event_line(event: dict[str, Any]) -> str:
    kind = event.get("event", "?")
    task = f"{event['task_id']} " if event.get("task_id") else ""
    if kind == "planned":
        line = f"planner: planned {len(event.get('tasks', []))} tasks"
        if event.get("left_out"):
            line += f"; left out (over max_tasks): {', '.join(event['left_out'])}"
        return line
    if kind == "drafted":
        return f"{task}worker: drafted (attempt {event.get('attempt', 1)})"
    if kind == "judged":
        v = event.get("verdict", {})
        flags = f", flagged {', '.join(v.get('flags', []))}" if v.get("flags") else ""
        return f"{task}judge: confidence {v.get('confidence', 0):.3f}{flags}"
    if kind == "review_requested":
        return f"{task}gate: interrupts for review"
    if kind == "published":
        return f"{task}gate -> publish: {event.get('post_id')} ({event.get('review')} review)"
    if kind == "decided":
        return f"{task}review: {event.get('decision')} by {event.get('reviewer', '?')}"
    if kind == "discarded":
        return f"{task}discard"
    if kind == "completed":
        return f"summary: {event.get('summary', '')}"
    return f"{task}{kind}"


class Progress:
    """Fraction of planned tasks that reached a publish, an interrupt or a discard."""

    def __init__(self) -> None:
        self.tasks = 0
        self.done: set[str] = set()

    def add(self, event: dict[str, Any]) -> float:
        if event.get("event") == "planned":
            self.tasks = len(event.get("tasks", []))
        elif event.get("event") in FINAL and event.get("task_id"):
            self.done.add(event["task_id"])
        return min(1.0, len(self.done) / self.tasks) if self.tasks else 0.0
