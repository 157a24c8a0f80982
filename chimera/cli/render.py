"""Readable terminal output for the CLI (rich). JSON output does not come through here."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape as _markup_escape
from rich.table import Table

from chimera.domain.hygiene import for_display


def escape(text: Any) -> str:
    """Text from goals, drafts and models, safe for the terminal: escapes and control
    characters removed, invisible characters shown, rich markup escaped."""
    return _markup_escape(for_display(str(text)))


ROUTE_STYLE = {"publish": "green", "async_review": "yellow", "review": "red"}


def progress_line(event: dict[str, Any]) -> str:
    """One line of live progress from a node's event."""
    kind = event.get("event", "?")
    task = f"[cyan]{event['task_id']}[/] " if event.get("task_id") else ""
    attempt = f" (attempt {event['attempt']})" if event.get("attempt", 1) > 1 else ""
    if kind == "planned":
        line = f"  planner  planned {len(event.get('tasks', []))} tasks"
        if event.get("left_out"):
            line += f"; left out (over max_tasks): {escape(', '.join(event['left_out']))}"
        return line
    if kind == "drafted":
        return f"  {task}worker  drafted{attempt}"
    if kind == "judged":
        v = event.get("verdict", {})
        route = v.get("route", "?")
        flags = f" [red]{', '.join(v.get('flags', []))}[/]" if v.get("flags") else ""
        style = ROUTE_STYLE.get(route, "white")
        return f"  {task}judge   {v.get('confidence', 0):.3f} -> [{style}]{route}[/]{flags}"
    if kind == "review_requested":
        return f"  {task}review  waiting for a reviewer"
    if kind == "decided":
        return f"  {task}review  {event.get('decision')} by {escape(event.get('reviewer', '?'))}"
    if kind == "published":
        return f"  {task}publish {event.get('post_id')} ({event.get('review')} review)"
    if kind == "discarded":
        return f"  {task}discard {escape(event.get('reason', ''))}"
    if kind == "completed":
        return f"  done     {escape(event.get('summary', ''))}"
    return f"  {task}{kind}"


def thread(console: Console, view: dict[str, Any]) -> None:
    status = view["status"]
    colour = {"completed": "green", "interrupted": "yellow", "running": "blue"}.get(status, "red")
    console.print(
        f"[bold]{view['thread_id']}[/]  [{colour}]{status}[/]  persona [bold]{view['persona']}[/]"
        f"  model [magenta]{escape(view['model'])}[/]"
    )
    console.print(f"goal: {escape(view['goal'])}", highlight=False)
    latest = {r["task_id"]: r for r in view["results"]}
    published = {p["task_id"]: p for p in view["published"]}
    discarded = {d["task_id"] for d in view["discarded"]}
    waiting = {i["task_id"] for i in view["interrupts"]}
    for task in view["tasks"]:
        result = latest.get(task["id"])
        post = published.get(task["id"])
        if post:
            outcome = f"[green]published[/] {post['post_id']} ({post['review']} review)"
        elif task["id"] in discarded:
            outcome = "[red]discarded[/]"
        elif task["id"] in waiting:
            outcome = "[yellow]waiting for review[/]"
        else:
            outcome = "in progress"
        score = ""
        if result:
            style = ROUTE_STYLE.get(result["route"], "white")
            score = f" {result['confidence']:.3f} [{style}]{result['route']}[/]"
        console.print(f"[cyan]{escape(task['id'])}[/] {escape(task['topic'])}{score}  {outcome}")
        if result:
            console.print(f"    {escape(result['text'])}", highlight=False)
    for item in view["interrupts"]:
        flags = ", ".join(item["flags"]) or "low confidence"
        console.print(
            f"[yellow]review[/] {item['task_id']} (confidence {item['confidence']:.3f}; {flags})"
            f" id [bold]{item['id']}[/]"
        )
        for reason in item["reasons"]:
            console.print(f"  - {escape(reason)}", highlight=False)
    if view["interrupts"]:
        first = view["interrupts"][0]["id"]
        console.print(
            f"resume with: chimera resume {view['thread_id']} --item {first} "
            "--decision approve|edit|reject|retry"
        )
    if view.get("summary"):
        console.print(escape(view["summary"]), highlight=False)
    elif view.get("left_out"):
        left_out = ", ".join(view["left_out"])
        console.print(f"left out (over max_tasks): {escape(left_out)}", highlight=False)
    if view.get("error"):
        console.print(f"[red]last error:[/] {escape(view['error'])}")
    if view.get("notice"):
        console.print(escape(view["notice"]), highlight=False)
    for cp in view.get("checkpoints") or []:
        console.print(
            f"  checkpoint {cp['checkpoint_id']} step {cp['step']} {cp['source']}"
            f" next={','.join(cp['next']) or '-'} {cp['created_at']}"
        )


def threads(console: Console, rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("no threads yet: start one with chimera run --persona ava --goal '...'")
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("thread", "status", "persona", "updated", "goal"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            escape(r["thread_id"]),
            r["status"],
            r["persona_id"],
            r["updated_at"][:19].replace("T", " "),
            escape(r["goal"]),
        )
    console.print(table)


def posts(console: Console, rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("no posts published yet")
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("post", "thread/task", "platform", "review", "status", "text"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            r["post_id"],
            f"{r['thread_id']}/{r['task_id']}",
            f"{r['platform']} {escape(r['handle'])}",
            r["review"],
            r["review_status"],
            escape(r["text"]),
        )
    console.print(table)


def audit(console: Console, rows: list[dict[str, Any]]) -> None:
    table = Table(show_edge=False, pad_edge=False)
    for column in ("time", "task", "event", "actor", "detail"):
        table.add_column(column, overflow="fold")
    for r in rows:
        payload = r["payload"]
        detail = (
            payload.get("verdict", {}).get("route")
            or payload.get("decision")
            or payload.get("post_id")
            or payload.get("summary")
            or ""
        )
        table.add_row(
            r["created_at"][:19].replace("T", " "),
            r["task_id"] or "",
            r["event"],
            escape(r["actor"]),
            escape(str(detail)),
        )
    console.print(table)
