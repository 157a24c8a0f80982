"""Judge: scores a draft from several signals and chooses its route through the gate.

Signals, each with its reasons: the model's rubric rating; persona consistency
(topics, recalled facts and past posts, contradiction detection); policy checks
(sensitive topics, injection, disclosure label, repeats, violation examples); the
detectors (content, hidden text, toxicity, personal data, spam, links, language).
A combiner, calibrated on reviewers' decisions once fitted, makes them one confidence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from chimera.domain.gate import route_for, with_flags
from chimera.domain.memory import Recollection
from chimera.domain.signals.disclosure import label_place
from chimera.domain.signals.language import language_of
from chimera.domain.signals.model_policy import model_policy_signal
from chimera.domain.signals.persona_consistency import (
    WarmingPairScorer,
    consistency_signal,
    draft_sentences,
)
from chimera.domain.signals.policy import policy_signal
from chimera.domain.signals.sensitive import TextEmbedder, sensitive_signal
from chimera.domain.types import Persona, Signal, Task, TaskResult, Verdict
from chimera.graphs.context import Context
from chimera.graphs.memory import namespaces as ns
from chimera.graphs.memory.combiner import load_combiner, shipped_sensitive_head
from chimera.graphs.memory.recall import nearest, recall
from chimera.graphs.prompts import judge_messages
from chimera.graphs.runtime import audit, services_of, thread_id_of
from chimera.graphs.schemas import Rating
from chimera.graphs.services import Services
from chimera.graphs.state import TaskState
from chimera.graphs.structured import structured_call


def persona_language(persona: Persona) -> str:
    """The persona's language (ISO 639-1): ``language:`` in SOUL.md, else the language its
    example posts are written in."""
    value = cast(Mapping[str, Any], persona).get("language")
    if value:
        return str(value)
    return language_of("\n".join(persona["examples"])) if persona["examples"] else "en"


@dataclass(frozen=True)
class Judgement:
    """What the judge decided about one draft, and what it recalled to decide it."""

    verdict: Verdict
    memory: Recollection


@dataclass(frozen=True)
class _Ahead:
    """Model calls started before the memory search: the draft's vector, for the search
    itself, and the rest, for the signals after it."""

    draft: asyncio.Future[Any] | None
    rest: asyncio.Future[Any] | None


def _embed_ahead(services: Services, draft: str, brief: str, *, searched: bool) -> _Ahead:
    """Start, each in a thread, what the judge will embed whatever its memory holds:
    the draft alone (the store's searches then find its vector remembered), the draft's
    sentences and words for the consistency scorer, the brief for the sensitive-topic
    head: model calls on every core, embedded as their users would, so cached for them.
    (The draft alone only if a memory is ``searched`` or the head reads it.)"""
    loop = asyncio.get_running_loop()
    scorer = services.nli_scorer
    embedder = cast(TextEmbedder | None, getattr(scorer, "embedder", None))
    alone = embedder.embed_alone if embedder is not None else None
    head = shipped_sensitive_head() is not None
    rest = []
    if isinstance(scorer, WarmingPairScorer):
        sentences = draft_sentences(draft)
        rest.append(loop.run_in_executor(None, scorer.warm_sentences, sentences))
        rest.append(loop.run_in_executor(None, scorer.warm_words, sentences))
    first = None
    if alone is not None and (searched or head):
        first = loop.run_in_executor(None, alone, draft)
    if alone is not None and head:
        rest.append(loop.run_in_executor(None, alone, brief))
    return _Ahead(draft=first, rest=asyncio.gather(*rest) if rest else None)


async def judge_draft(
    ctx: Context,
    services: Services,
    store: BaseStore | None,
    persona: Persona,
    task: Task,
    draft: str,
    *,
    own_post: tuple[str, str] | None = None,
) -> Judgement:
    """Score ``draft`` from every signal and choose its route: the judge node's whole work,
    callable outside the graph (``chimera judge``, ``chimera eval``). ``own_post`` is the
    (thread, task) whose earlier post is no repeat of this draft."""
    ahead = _embed_ahead(services, draft, task["brief"], searched=store is not None)
    # The detectors read the draft alone: they run while the threads above embed.
    detections = services.detectors(draft, language=persona_language(persona))
    if ahead.draft is not None:
        await ahead.draft
    recalled = await recall(store, persona["id"], draft)
    memory = Recollection(
        facts=recalled.facts,
        posts=[
            m
            for m in recalled.posts
            if own_post is None or (m.value.get("thread_id"), m.value.get("task_id")) != own_post
        ],
    )
    violations = await nearest(store, ns.VIOLATIONS, draft, k=2)
    combiner = await load_combiner(store)

    model = services.chat_model(ctx.judge_model, ctx.model_timeout_s)
    messages = judge_messages(ctx.judge_prompt, persona, task, draft, memory)
    rating = await structured_call(model, Rating, messages, node="judge")
    rubric = Signal(
        name="rubric",
        score=round((rating.score - 1) / 4, 4),
        weight=combiner.weight("rubric"),
        reasons=[f"model rated {rating.score}/5", *rating.reasons],
    )
    if ahead.rest is not None:
        await ahead.rest
    consistency = consistency_signal(
        persona,
        draft,
        memory,
        services.nli_scorer,
        weight=combiner.weight("persona_consistency"),
    )
    head = shipped_sensitive_head()
    embedder = cast(TextEmbedder | None, getattr(services.nli_scorer, "embedder", None))
    policy, flags = policy_signal(
        draft,
        task["brief"],
        ctx.disclosure_label,
        past_posts=memory.posts,
        violations=violations,
        weight=combiner.weight("policy"),
        label_place=label_place(persona["examples"], ctx.disclosure_label),
        topics_by_words=head is None or embedder is None,
        topic=task["topic"],
    )
    if rating.policy:  # a provider model's classification; the offline one leaves it empty
        findings = [(f.category, f.reason) for f in rating.policy]
        detections.append(model_policy_signal(findings))
    if head is not None and embedder is not None:
        # Each alone: the draft's vector is then the one its memory searches just made.
        vectors = [embedder.embed_alone(draft), embedder.embed_alone(task["brief"])]
        detections.append(sensitive_signal(vectors, head))
    signals = [
        rubric,
        consistency,
        policy,
        *(Signal(**{**d.signal, "weight": combiner.weight(d.signal["name"])}) for d in detections),
    ]
    flags = list(dict.fromkeys([*flags, *(f for d in detections for f in d.flags)]))
    # Whether anything interrupts is itself evidence: a fitted combiner reads it, so a
    # flagged draft's confidence says it will not publish.
    signals.append(
        Signal(
            name="flags",
            score=0.0 if flags else 1.0,
            weight=combiner.weight("flags"),
            reasons=[f"raised: {', '.join(flags)}" if flags else "no flag raised"],
        )
    )
    confidence = combiner.combine(signals)
    review_t, publish_t = ctx.thresholds_for(persona.get("thresholds") or {})
    route = route_for(confidence, flags, review_t, publish_t)
    reasons = [f"{s['name']}: {r}" for s in signals for r in s["reasons"]]
    if combiner.calibrated:
        what = (
            "reviewer decisions" if combiner.source == "reviewers" else f"{combiner.source} labels"
        )
        reasons.append(f"confidence calibrated on {combiner.fitted_on} {what}")
    verdict = Verdict(
        confidence=confidence, signals=signals, flags=flags, route=route, reasons=reasons
    )
    return Judgement(verdict=verdict, memory=memory)


async def judge(state: TaskState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    persona, task, draft = state["persona"], state["task"], state["draft"]
    attempt = state.get("attempt") or 1
    # A replayed task finds its own earlier post in memory: that is no repeat.
    judged = await judge_draft(
        ctx,
        await services_of(runtime),
        runtime.store,
        persona,
        task,
        draft,
        own_post=(thread_id_of(runtime), task["id"]),
    )
    verdict = with_flags(
        judged.verdict, state.get("draft_flags") or [],
        *ctx.thresholds_for(persona.get("thresholds") or {}),
    )  # fmt: skip
    result = TaskResult(
        task_id=task["id"],
        attempt=attempt,
        text=draft,
        confidence=verdict["confidence"],
        route=verdict["route"],
        flags=verdict["flags"],
        reasons=verdict["reasons"],
    )
    await audit(
        runtime,
        "judged",
        actor=f"judge:{ctx.judge_model}",
        task_id=task["id"],
        payload={"attempt": attempt, "verdict": dict(verdict), "recalled": judged.memory.keys},
        dedupe=f"{task['id']}:{attempt}:judged",
    )
    review = {"publish": "none", "async_review": "async"}.get(verdict["route"], "none")
    return {"verdict": verdict, "results": [result], "review": review}
