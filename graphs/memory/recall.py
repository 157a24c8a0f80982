"""What a worker or the judge remembers about a persona for one piece of work."""

from __future__ import annotations

from langgraph.store.base import BaseStore, SearchItem

from chimera.domain.memory import Memory, Recollection
from chimera.graphs.memory import namespaces as ns


def _memories(items: list[SearchItem]) -> list[Memory]:
    return [
        Memory(
            key=i.key, text=str(i.value.get("text", "")), score=float(i.score or 0.0), value=i.value
        )
        for i in items
        if i.value.get("text")
    ]


async def recall(
    store: BaseStore | None, persona_id: str, query: str, *, facts: int = 5, posts: int = 3
) -> Recollection:
    """The persona's facts and past posts closest to ``query``; empty with no store."""
    if store is None:
        return Recollection()
    found_facts = await store.asearch(ns.facts(persona_id), query=query, limit=facts)
    found_posts = await store.asearch(ns.posts(persona_id), query=query, limit=posts)
    return Recollection(facts=_memories(found_facts), posts=_memories(found_posts))


async def nearest(
    store: BaseStore | None, namespace: tuple[str, ...], text: str, k: int = 3
) -> list[Memory]:
    if store is None:
        return []
    return _memories(await store.asearch(namespace, query=text, limit=k))


async def count_posts_on(store: BaseStore | None, persona_id: str, topic: str) -> int:
    """How many posts the persona has published on exactly this topic."""
    if store is None:
        return 0
    found = await store.asearch(ns.posts(persona_id), filter={"topic": topic}, limit=1000)
    return len(found)
