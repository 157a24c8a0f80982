"""Persona consistency of generated answers for PersonaGym's personas.

For a seeded sample of the 200 benchmark personas, the configured worker model answers
PersonaGym's "Persona Consistency" questions in character (with the current worker
prompt), and each answer is scored twice: by the configured judge model with the
rubric prompt (1-5), and by the persona-consistency scorer against the persona's
description (contradiction probability). Drafting and judging are the worker's and the
judge's own functions, so the eval measures what a run does. Works with any model.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from langgraph.store.base import BaseStore

from chimera.domain.signals.persona_consistency import CONTRADICTION_FLOOR, draft_sentences
from chimera.domain.text import content_words
from chimera.domain.types import Persona, Task
from chimera.evals.runs import EvalRun, new_run_id
from chimera.graphs.context import Context
from chimera.graphs.memory.seed import seed_persona
from chimera.graphs.services import Services
from chimera.nodes.judge import judge_draft
from chimera.nodes.worker import write_draft

SUITE = "personagym"
PERSONAS_FILE = Path(str(files("chimera") / "evals" / "personagym" / "personas-benchmark-v1.jsonl"))
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
    services: Services,
    store: BaseStore | None,
    *,
    personas: int = 10,
    questions: int = 2,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> EvalRun:
    """Each item goes through the graph's own steps: the persona's memory is seeded as a
    run seeds it, the worker drafts with recall (``write_draft``), and the judge scores
    with every signal, policy included (``judge_draft``)."""
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
    for done, item in enumerate(items, start=1):
        persona = persona_from_description(item.persona_index, item.description)
        if store is not None:
            await seed_persona(store, persona)
        task = Task(
            id=item.item_id,
            kind="reply",
            topic=item.question[:80],
            brief=f"Answer this question in character: {item.question}",
        )
        draft, _memory = await write_draft(context, services, store, persona, task)
        verdict = (await judge_draft(context, services, store, persona, task, draft.text)).verdict
        rubric = next(s for s in verdict["signals"] if s["name"] == "rubric")
        rating = round(rubric["score"] * 4 + 1)
        contradiction, entailment = 0.0, 0.0
        if services.nli_scorer is not None:
            sentences = draft_sentences(draft.text) or [draft.text]
            probs = services.nli_scorer.predict_proba(
                [(s, first_person(item.description)) for s in sentences]
            )
            contradiction = float(np.max(probs[:, 2]))
            entailment = float(np.max(probs[:, 0]))
        run.results.append(
            {
                "item_id": item.item_id,
                "persona": item.description,
                "question": item.question,
                "answer": draft.text,
                "rubric": rating,
                "rubric_reasons": rubric["reasons"],
                "contradiction": round(contradiction, 4),
                "entailment": round(entailment, 4),
                "confidence": verdict["confidence"],
                "route": verdict["route"],
                "flags": verdict["flags"],
                # One number per item for comparisons: rubric and consistency, equally.
                "score": round(0.5 * (rating - 1) / 4 + 0.5 * (1 - contradiction), 4),
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
