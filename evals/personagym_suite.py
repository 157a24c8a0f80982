"""Persona consistency of generated answers for PersonaGym's personas.

For a seeded sample of the 200 benchmark personas, the configured worker model answers
PersonaGym's "Persona Consistency" questions in character (with the current worker
prompt), and each answer is scored twice: by the configured judge model with the
rubric prompt (1-5), and by the persona-consistency scorer against the persona's
description (contradiction probability). Works with any model, the offline one too.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chimera.judging.consistency import CONTRADICTION_FLOOR, draft_sentences
from chimera.models.structured import structured_call
from chimera.prompting import judge_messages, worker_messages
from chimera.services import PairScorer
from chimera.text import content_words
from evals.runs import EvalRun, new_run_id
from graphs.context import Context
from graphs.schemas import Draft, Rating
from graphs.state import Persona, Task

SUITE = "personagym"
PERSONAS_FILE = Path(__file__).resolve().parent / "personagym" / "personas-benchmark-v1.jsonl"
QUESTION_TASK = "Persona Consistency"


@dataclass(frozen=True)
class SuiteItem:
    item_id: str
    persona_index: int
    description: str
    question: str


def load_items(
    personas: int = 10, questions: int = 2, seed: int = 0, path: Path = PERSONAS_FILE
) -> list[SuiteItem]:
    """A seeded sample: the same arguments always give the same items."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    chosen = sorted(random.Random(seed).sample(range(len(rows)), min(personas, len(rows))))
    items = []
    for index in chosen:
        asked = rows[index]["questions"][QUESTION_TASK][:questions]
        items += [
            SuiteItem(f"p{index:03d}-q{q}", index, rows[index]["persona"], text)
            for q, text in enumerate(asked)
        ]
    return items


def persona_from_description(index: int, description: str) -> Persona:
    words = list(dict.fromkeys(content_words(description)))
    return Persona(
        id=f"personagym-{index:03d}",
        name=f"PersonaGym persona {index}",
        handle=f"@personagym{index:03d}",
        platforms=["x"],
        topics=words[:6] or ["everyday life"],
        thresholds={},
        backstory=description,
        voice="First person, natural, as this person would speak.",
        beliefs=[description],
        directives=["Stay in character.", "Always end posts with the AI-disclosure label #AI."],
        examples=[],
        source="PersonaGym benchmark-v1",
    )


def first_person(description: str) -> str:
    """'A 17-year-old student...' -> 'I am a 17-year-old student...': the scorer was fitted
    on first-person persona sentences."""
    return "I am " + re.sub(r"^(A|An|The)\b", lambda m: m.group(1).lower(), description.strip())


def prompt_fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


async def run_suite(
    context: Context,
    scorer: PairScorer,
    *,
    personas: int = 10,
    questions: int = 2,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> EvalRun:
    items = load_items(personas, questions, seed)
    run = EvalRun(
        run_id=new_run_id(SUITE),
        suite=SUITE,
        models={"worker": context.worker_model, "judge": context.judge_model},
        params={
            "personas": personas,
            "questions": questions,
            "seed": seed,
            "worker_prompt": prompt_fingerprint(context.worker_prompt),
            "judge_prompt": prompt_fingerprint(context.judge_prompt),
        },
    )
    worker = context.services.chat_model(context.worker_model, context.model_timeout_s)
    judge = context.services.chat_model(context.judge_model, context.model_timeout_s)
    for done, item in enumerate(items, start=1):
        persona = persona_from_description(item.persona_index, item.description)
        task = Task(
            id=item.item_id,
            kind="reply",
            topic=item.question[:80],
            brief=f"Answer this question in character: {item.question}",
        )
        draft = await structured_call(
            worker,
            Draft,
            worker_messages(context.worker_prompt, persona, task, "", context.disclosure_label),
            node="worker",
        )
        rating = await structured_call(
            judge,
            Rating,
            judge_messages(context.judge_prompt, persona, task, draft.text),
            node="judge",
        )
        sentences = draft_sentences(draft.text) or [draft.text]
        probs = scorer.predict_proba([(s, first_person(item.description)) for s in sentences])
        contradiction = float(np.max(probs[:, 2]))
        run.results.append(
            {
                "item_id": item.item_id,
                "persona": item.description,
                "question": item.question,
                "answer": draft.text,
                "rubric": rating.score,
                "rubric_reasons": rating.reasons,
                "contradiction": round(contradiction, 4),
                "entailment": round(float(np.max(probs[:, 0])), 4),
                # One number per item for comparisons: rubric and consistency, equally.
                "score": round(0.5 * (rating.score - 1) / 4 + 0.5 * (1 - contradiction), 4),
            }
        )
        if progress:
            progress(done, len(items))
    run.metrics = summarize(run.results)
    return run


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    if not results:
        return {"n": 0}
    rubric = np.array([r["rubric"] for r in results], dtype=float)
    contradiction = np.array([r["contradiction"] for r in results])
    return {
        "n": len(results),
        "score_mean": round(float(np.mean([r["score"] for r in results])), 4),
        "rubric_mean": round(float(rubric.mean()), 4),
        "consistency_mean": round(float((1 - contradiction).mean()), 4),
        "contradiction_rate": round(float((contradiction > CONTRADICTION_FLOOR).mean()), 4),
    }
