"""The judge's memory-backed signals, with the real embeddings and scorer on an
in-memory store: repeats, policy violation examples, contradictions with facts."""

from __future__ import annotations

import pytest
from langgraph.store.memory import InMemoryStore

from chimera.adapters.memory.postgres import in_memory_store
from chimera.adapters.nli.choice import get_scorer
from chimera.adapters.persona_files import load_persona
from chimera.domain.memory import Memory, Recollection
from chimera.domain.signals.persona_consistency import CONTRADICTION_FLOOR, consistency_signal
from chimera.domain.signals.policy import NEAR_DUPLICATE, NEAR_VIOLATION, policy_signal
from chimera.domain.types import Persona
from chimera.graphs.memory import namespaces as ns
from chimera.graphs.memory.recall import nearest, recall
from chimera.graphs.memory.seed import seed_persona, seed_policies


@pytest.fixture(scope="module")
async def store() -> InMemoryStore:
    memory = in_memory_store()
    await seed_policies(memory)
    await seed_persona(memory, load_persona("ava"))
    return memory


async def test_a_repeat_of_a_past_post_is_flagged(store: InMemoryStore) -> None:
    ava = load_persona("ava")
    repeat = ava["examples"][0]
    posts = (await recall(store, "ava", repeat)).posts
    assert posts[0].score >= NEAR_DUPLICATE
    _, flags = policy_signal(repeat, "a post", "#AI", past_posts=posts)
    assert "policy:near_duplicate" in flags
    fresh = "Three ways to restyle one linen shirt for autumn. #Upcycling #AI"
    fresh_posts = (await recall(store, "ava", fresh)).posts
    assert fresh_posts[0].score < NEAR_DUPLICATE
    _, fresh_flags = policy_signal(fresh, "a post", "#AI", past_posts=fresh_posts)
    assert fresh_flags == []


async def test_a_draft_close_to_a_violation_example_is_flagged(store: InMemoryStore) -> None:
    draft = "Use my secret discount code for 50% off, this is totally not sponsored! #AI"
    violations = await nearest(store, ns.VIOLATIONS, draft, k=2)
    assert violations[0].score >= NEAR_VIOLATION
    signal, flags = policy_signal(draft, "a post", "#AI", violations=violations)
    assert "policy:violation" in flags
    assert any("hidden promotions" in r for r in signal["reasons"])
    benign = "Mended the elbow of my favourite jumper with a bright yellow patch. #AI"
    assert (await nearest(store, ns.VIOLATIONS, benign, k=1))[0].score < NEAR_VIOLATION


def _persona_with(beliefs: list[str]) -> Persona:
    persona = load_persona("ava")
    persona["beliefs"] = beliefs
    return persona


def test_the_scorer_catches_a_number_contradiction_with_a_fact() -> None:
    persona = _persona_with(["I have two dogs."])
    memory = Recollection(facts=[Memory("f", "I have two dogs.", 0.6)])
    against = consistency_signal(persona, "I have nine dogs.", memory, get_scorer())
    agrees = consistency_signal(persona, "I have two dogs.", memory, get_scorer())
    assert against["score"] < agrees["score"]
    assert any(r.startswith("contradiction") for r in against["reasons"])
    assert not any(r.startswith("contradiction") for r in agrees["reasons"])
    assert 0 < CONTRADICTION_FLOOR < 1


async def test_seeding_again_writes_nothing() -> None:
    memory = in_memory_store()
    ava = load_persona("ava")
    assert await seed_persona(memory, ava) > 0
    assert await seed_policies(memory) > 0
    assert await seed_persona(memory, ava) == 0
    assert await seed_policies(memory) == 0
    ava["beliefs"] = [*ava["beliefs"], "Mending is a love language."]
    assert await seed_persona(memory, ava) == 1
