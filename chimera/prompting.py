"""Builds the messages each node sends to its model.

The system prompt is the node's prompt file with the persona's fields filled in;
the human message carries the data in tagged sections (<persona>, <task>,
<draft>...), which real models read well and the offline model parses.
"""

from __future__ import annotations

from collections.abc import Iterable

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from chimera.memory.recall import Recollection
from graphs.state import Persona, Task


def _bullets(items: Iterable[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def _section(tag: str, body: str) -> str:
    return f"<{tag}>\n{body}\n</{tag}>"


def render_system(template: str, persona: Persona, **extra: str) -> str:
    """Fills ``{persona_name}``-style fields; unknown braces are left as written."""
    fields = {
        "persona_name": persona["name"],
        "persona_handle": persona["handle"],
        "persona_platforms": ", ".join(persona["platforms"]),
        "persona_topics": ", ".join(persona["topics"]),
        "persona_voice": persona["voice"],
        "persona_directives": _bullets(persona["directives"]),
        "persona_beliefs": _bullets(persona["beliefs"]),
        **extra,
    }
    text = template
    for key, value in fields.items():
        text = text.replace("{" + key + "}", value)
    return text


def persona_block(persona: Persona) -> str:
    return _section(
        "persona",
        "\n".join(
            [
                f"<name>{persona['name']}</name>",
                f"<handle>{persona['handle']}</handle>",
                f"<platforms>{', '.join(persona['platforms'])}</platforms>",
                _section("backstory", persona["backstory"]),
                _section("topics", _bullets(persona["topics"])),
                _section("voice", persona["voice"]),
                _section("beliefs", _bullets(persona["beliefs"])),
                _section("directives", _bullets(persona["directives"])),
                _section("examples", _bullets(persona["examples"])),
            ]
        ),
    )


def planner_messages(
    template: str, persona: Persona, goal: str, max_tasks: int
) -> list[BaseMessage]:
    human = "\n".join(
        [persona_block(persona), _section("goal", goal), f"<max_tasks>{max_tasks}</max_tasks>"]
    )
    return [SystemMessage(render_system(template, persona)), HumanMessage(human)]


def memory_block(recollection: Recollection) -> str:
    return _section(
        "memory",
        "\n".join(
            [
                _section("facts", _bullets(m.text for m in recollection.facts)),
                _section("past_posts", _bullets(m.text for m in recollection.posts)),
            ]
        ),
    )


def worker_messages(
    template: str,
    persona: Persona,
    task: Task,
    feedback: str,
    disclosure_label: str,
    recollection: Recollection | None = None,
    posts_on_topic: int = 0,
) -> list[BaseMessage]:
    parts = [
        persona_block(persona),
        memory_block(recollection or Recollection()),
        f'<task kind="{task["kind"]}">\n<topic>{task["topic"]}</topic>\n'
        f"<brief>{task['brief']}</brief>\n"
        f"<posts_on_topic>{posts_on_topic}</posts_on_topic>\n</task>",
        f"<disclosure>{disclosure_label}</disclosure>",
    ]
    if feedback:
        parts.append(_section("feedback", feedback))
    system = render_system(template, persona, disclosure_label=disclosure_label)
    return [SystemMessage(system), HumanMessage("\n".join(parts))]


def judge_messages(
    template: str,
    persona: Persona,
    task: Task,
    draft: str,
    recollection: Recollection | None = None,
) -> list[BaseMessage]:
    human = "\n".join(
        [
            persona_block(persona),
            memory_block(recollection or Recollection()),
            f"<brief>{task['brief']}</brief>",
            # The draft may quote fetched content: it is judged, never obeyed.
            _section("draft", draft),
        ]
    )
    return [SystemMessage(render_system(template, persona)), HumanMessage(human)]
