"""Judge: scores a draft from several signals and chooses its route through the gate."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from chimera.judging.consistency import consistency_signal
from chimera.judging.gate import combine, route_for
from chimera.judging.policy import policy_signal
from chimera.models.structured import structured_call
from chimera.node_support import audit
from chimera.prompting import judge_messages
from graphs.context import Context
from graphs.schemas import Rating
from graphs.state import Signal, TaskResult, TaskState, Verdict

RUBRIC_WEIGHT = 0.5


async def judge(state: TaskState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    persona, task, draft = state["persona"], state["task"], state["draft"]
    attempt = state.get("attempt") or 1
    model = ctx.services.chat_model(ctx.judge_model, ctx.model_timeout_s)
    rating = await structured_call(
        model, Rating, judge_messages(ctx.judge_prompt, persona, task, draft), node="judge"
    )
    rubric = Signal(
        name="rubric",
        score=round((rating.score - 1) / 4, 4),
        weight=RUBRIC_WEIGHT,
        reasons=[f"model rated {rating.score}/5", *rating.reasons],
    )
    policy, flags = policy_signal(draft, task["brief"], ctx.disclosure_label)
    signals = [rubric, consistency_signal(persona, draft), policy]
    confidence = combine(signals)
    review_t, publish_t = ctx.thresholds_for(persona.get("thresholds") or {})
    route = route_for(confidence, flags, review_t, publish_t)
    reasons = [f"{s['name']}: {r}" for s in signals for r in s["reasons"]]
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
        payload={"attempt": attempt, "verdict": dict(verdict)},
        dedupe=f"{task['id']}:{attempt}:judged",
    )
    review = {"publish": "none", "async_review": "async"}.get(route, "none")
    return {"verdict": verdict, "results": [result], "review": review}
