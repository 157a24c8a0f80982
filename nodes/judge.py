"""Judge: scores a draft from several signals and chooses its route through the gate.

Signals, each with its reasons: the model's rubric rating; persona consistency
(topics, recalled facts and past posts, contradiction detection); policy checks
(sensitive topics, injection, disclosure label, repeats, violation examples).
A combiner, calibrated on reviewers' decisions once fitted, makes them one confidence.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from chimera.judging.calibration import load_combiner
from chimera.judging.consistency import consistency_signal
from chimera.judging.gate import route_for
from chimera.judging.policy import policy_signal
from chimera.memory import namespaces as ns
from chimera.memory.recall import Recollection, nearest, recall
from chimera.models.structured import structured_call
from chimera.node_support import audit, thread_id_of
from chimera.prompting import judge_messages
from graphs.context import Context
from graphs.schemas import Rating
from graphs.state import Signal, TaskResult, TaskState, Verdict


async def judge(state: TaskState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    persona, task, draft = state["persona"], state["task"], state["draft"]
    attempt = state.get("attempt") or 1
    store = runtime.store
    recalled = await recall(store, persona["id"], draft)
    # A replayed task finds its own earlier post in memory: that is no repeat.
    thread_id = thread_id_of(runtime)
    memory = Recollection(
        facts=recalled.facts,
        posts=[
            m
            for m in recalled.posts
            if (m.value.get("thread_id"), m.value.get("task_id")) != (thread_id, task["id"])
        ],
    )
    violations = await nearest(store, ns.VIOLATIONS, draft, k=2)
    combiner = await load_combiner(store)

    model = ctx.services.chat_model(ctx.judge_model, ctx.model_timeout_s)
    messages = judge_messages(ctx.judge_prompt, persona, task, draft, memory)
    rating = await structured_call(model, Rating, messages, node="judge")
    rubric = Signal(
        name="rubric",
        score=round((rating.score - 1) / 4, 4),
        weight=combiner.weight("rubric"),
        reasons=[f"model rated {rating.score}/5", *rating.reasons],
    )
    consistency = consistency_signal(
        persona,
        draft,
        memory,
        ctx.services.consistency,
        weight=combiner.weight("persona_consistency"),
    )
    policy, flags = policy_signal(
        draft,
        task["brief"],
        ctx.disclosure_label,
        past_posts=memory.posts,
        violations=violations,
        weight=combiner.weight("policy"),
    )
    signals = [rubric, consistency, policy]
    confidence = combiner.combine(signals)
    review_t, publish_t = ctx.thresholds_for(persona.get("thresholds") or {})
    route = route_for(confidence, flags, review_t, publish_t)
    reasons = [f"{s['name']}: {r}" for s in signals for r in s["reasons"]]
    if combiner.calibrated:
        reasons.append(f"confidence calibrated on {combiner.fitted_on} reviewer decisions")
    verdict = Verdict(
        confidence=confidence, signals=signals, flags=flags, route=route, reasons=reasons
    )
    result = TaskResult(
        task_id=task["id"],
        attempt=attempt,
        text=draft,
        confidence=confidence,
        route=route,
        flags=flags,
        reasons=reasons,
    )
    await audit(
        runtime,
        "judged",
        actor=f"judge:{ctx.judge_model}",
        task_id=task["id"],
        payload={"attempt": attempt, "verdict": dict(verdict), "recalled": memory.keys},
        dedupe=f"{task['id']}:{attempt}:judged",
    )
    review = {"publish": "none", "async_review": "async"}.get(route, "none")
    return {"verdict": verdict, "results": [result], "review": review}
