"""Node prompts: the versioned prompt files, the tag protocol, and the messages each node
sends to its model.

A prompt file is ``prompts/<node>/v<N>.md`` (package data, found through
``importlib.resources``); the highest N is current. The system message is the file
with the persona's fields filled in; the human message carries the data in tagged
sections (``<persona>``, ``<task>``, ``<draft>``...), which real models read well and
the offline model parses with ``read_tag``. ``TAGS`` is the whole protocol: a tag the
code does not write cannot be named by a prompt file (a test checks every file).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib.resources import files
from importlib.resources.abc import Traversable

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from chimera.domain.memory import Recollection
from chimera.domain.types import Persona, Task

PROMPTS: Traversable = files("chimera") / "prompts"
_VERSION = re.compile(r"^v(\d+)\.md$")

TAGS = frozenset(
    {
        # the persona
        "persona",
        "name",
        "handle",
        "platforms",
        "backstory",
        "topics",
        "voice",
        "beliefs",
        "directives",
        "examples",
        # memory
        "memory",
        "facts",
        "past_posts",
        # the work
        "goal",
        "max_tasks",
        "task",
        "topic",
        "brief",
        "posts_on_topic",
        "disclosure",
        "feedback",
        "draft",
        # material that is never an instruction (goal, brief, drafts, past posts, tool output)
        "untrusted",
    }
)

# One-line fields; every other section puts its body on lines of its own.
_INLINE = frozenset(
    {"name", "handle", "platforms", "topic", "brief", "posts_on_topic", "disclosure", "max_tasks"}
)

# --- prompt files ----------------------------------------------------------------------


def prompt_versions(node: str, root: Traversable = PROMPTS) -> list[int]:
    """The versions of a node's prompt, oldest first."""
    folder = root / node
    if not folder.is_dir():
        return []
    found = (_VERSION.match(p.name) for p in folder.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def load_prompt(node: str, version: int | None = None, root: Traversable = PROMPTS) -> str:
    """The text of a node's prompt; the latest version unless one is named."""
    versions = prompt_versions(node, root)
    if not versions:
        raise FileNotFoundError(f"no prompt for node {node!r}: expected {node}/v1.md in {root}")
    chosen = versions[-1] if version is None else version
    if chosen not in versions:
        raise FileNotFoundError(f"prompt {node!r} has no version {chosen}: have {versions}")
    return (root / node / f"v{chosen}.md").read_text(encoding="utf-8")


# --- the tag protocol ------------------------------------------------------------------


def section(tag: str, body: str, **attributes: str) -> str:
    """``<tag attr="v">body</tag>``; only tags of the protocol may be written."""
    if tag not in TAGS:
        raise ValueError(f"<{tag}> is not a tag of the prompt protocol")
    attrs = "".join(f' {k}="{v}"' for k, v in attributes.items())
    if tag in _INLINE:
        return f"<{tag}{attrs}>{body}</{tag}>"
    return f"<{tag}{attrs}>\n{body}\n</{tag}>"


def read_tag(text: str, tag: str) -> str:
    """The content of ``<tag>...</tag>`` in a prompt, or ''."""
    match = re.search(rf"<{tag}(?:\s[^>]*)?>(.*?)</{tag}>", text, re.DOTALL)
    return match.group(1).strip() if match else ""


def read_items(text: str, tag: str) -> list[str]:
    """Bullet lines inside ``<tag>``."""
    return [line.lstrip("-* ").strip() for line in read_tag(text, tag).splitlines() if line.strip()]


def tags_named(prompt: str) -> set[str]:
    """The tags a prompt file names (``<tag>`` or ``</tag>``), for the protocol test."""
    return set(re.findall(r"</?([a-z_]+)(?:\s[^>]*)?>", prompt))


# --- messages --------------------------------------------------------------------------


def _bullets(items: Iterable[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


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
    return section(
        "persona",
        "\n".join(
            [
                section("name", persona["name"]),
                section("handle", persona["handle"]),
                section("platforms", ", ".join(persona["platforms"])),
                section("backstory", persona["backstory"]),
                section("topics", _bullets(persona["topics"])),
                section("voice", persona["voice"]),
                section("beliefs", _bullets(persona["beliefs"])),
                section("directives", _bullets(persona["directives"])),
                section("examples", _bullets(persona["examples"])),
            ]
        ),
    )


def planner_messages(
    template: str, persona: Persona, goal: str, max_tasks: int
) -> list[BaseMessage]:
    human = "\n".join(
        [
            persona_block(persona),
            section("untrusted", section("goal", goal)),
            section("max_tasks", str(max_tasks)),
        ]
    )
    return [SystemMessage(render_system(template, persona)), HumanMessage(human)]


def memory_block(recollection: Recollection) -> str:
    return section(
        "memory",
        "\n".join(
            [
                section("facts", _bullets(m.text for m in recollection.facts)),
                # Past posts are the persona's own words, but may quote fetched content.
                section(
                    "untrusted", section("past_posts", _bullets(m.text for m in recollection.posts))
                ),
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
        section(
            "task",
            "\n".join(
                [
                    section("topic", task["topic"]),
                    # The brief is derived from the goal: material, never instructions.
                    section("untrusted", section("brief", task["brief"])),
                    section("posts_on_topic", str(posts_on_topic)),
                ]
            ),
            kind=task["kind"],
        ),
        section("disclosure", disclosure_label),
    ]
    if feedback:
        parts.append(section("feedback", feedback))
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
            section("untrusted", section("brief", task["brief"])),
            # The draft may quote fetched content: it is judged, never obeyed.
            section("untrusted", section("draft", draft)),
        ]
    )
    return [SystemMessage(render_system(template, persona)), HumanMessage(human)]
