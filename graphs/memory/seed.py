"""What long-term memory starts from: a persona's facts from its SOUL.md, and the
policies with their violation examples. Keys are content hashes, so seeding again
changes nothing and a persona's facts stay as its posts accumulate."""

from __future__ import annotations

import hashlib
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from langgraph.store.base import BaseStore, GetOp, Item, PutOp

from chimera.domain.types import Persona
from chimera.graphs.memory import namespaces as ns

POLICIES_FILE = Path(str(files("chimera.graphs.memory") / "policies.yaml"))
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


async def _put_changed(store: BaseStore, ops: list[PutOp]) -> int:
    """Write only what is missing or different: every put re-embeds its text, and seeding
    runs with every command that opens memory."""
    current = await store.abatch([GetOp(op.namespace, op.key) for op in ops])
    changed = [
        op
        for op, item in zip(ops, current, strict=True)
        if not isinstance(item, Item) or item.value != op.value
    ]
    if changed:
        await store.abatch(changed)
    return len(changed)


def persona_facts(persona: Persona) -> list[dict[str, Any]]:
    """One memory per backstory sentence, belief and directive."""
    facts: list[dict[str, Any]] = []
    for sentence in _SENTENCE.split(persona["backstory"].strip()):
        if sentence.strip():
            facts.append({"text": sentence.strip(), "kind": "backstory"})
    facts += [{"text": b, "kind": "belief"} for b in persona["beliefs"]]
    facts += [{"text": d, "kind": "directive"} for d in persona["directives"]]
    return facts


def load_policies(path: Path = POLICIES_FILE) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return list(data.get("policies", []))


async def seed_persona(store: BaseStore, persona: Persona) -> int:
    """Write the persona's facts (and its example posts as past posts); returns how many
    were new or changed."""
    ops: list[PutOp] = [
        PutOp(ns.facts(persona["id"]), _key(f["text"]), {**f, "persona": persona["id"]})
        for f in persona_facts(persona)
    ]
    ops += [
        PutOp(
            ns.posts(persona["id"]),
            "example-" + _key(text),
            {"text": text, "source": "SOUL.md example", "persona": persona["id"]},
        )
        for text in persona["examples"]
    ]
    return await _put_changed(store, ops)


async def seed_policies(store: BaseStore, path: Path = POLICIES_FILE) -> int:
    ops: list[PutOp] = []
    for policy in load_policies(path):
        ops.append(PutOp(ns.POLICIES, policy["id"], {"text": policy["text"], "id": policy["id"]}))
        for example in policy.get("violations", []):
            value = {"text": example, "policy": policy["id"], "policy_text": policy["text"]}
            ops.append(PutOp(ns.VIOLATIONS, f"{policy['id']}-{_key(example)}", value))
    return await _put_changed(store, ops)
