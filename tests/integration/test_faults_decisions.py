"""Fault trials: two reviewers decide one interrupt at the same moment, from two processes.

For every pair of decisions (approve, edit, reject, retry; a pair of the same kind comes
from two reviewers), TRIALS trials. Two runner processes wait on a shared barrier and
call ``resume`` at once. Each trial checks: exactly one wins (the other gets an input
error naming the winner's decision), the durable record holds the winner's decision,
applied; both attempts are in the audit trail; and the thread's invariants hold (no post
without an approving or gate decision, no decision lost, no task lost, nothing twice).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator
from itertools import combinations_with_replacement
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from support.databases import throwaway_database
from support.invariants import check_thread
from support.runner_worker import FORK, answer, call, fork_call

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DECISIONS = ("approve", "edit", "reject", "retry")
PAIRS = list(combinations_with_replacement(DECISIONS, 2))
TRIALS = int(__import__("os").environ.get("FAULT_TRIALS", "10"))
# Three sensitive topics: the policy flags each one, so each interrupts whatever its score.
THREE_REVIEWS_GOAL = "posts on: vaccines for kids, crypto investing tips and the election"


@pytest.fixture(scope="module")
def fault_db(external_server: str) -> Iterator[str]:
    with throwaway_database(external_server, "chimera_faults") as url:
        yield url


def _arguments(kind: str, reviewer: str, trial: str) -> dict[str, Any]:
    args: dict[str, Any] = {"reviewer": reviewer}
    if kind == "edit":
        args["text"] = f"Edited by {reviewer} in trial {trial}. #AI"
    if kind in ("retry", "reject"):
        args["feedback"] = f"{kind} from {reviewer}"
    return args


class Interrupts:
    """Fresh first-attempt interrupts: a new three-review thread whenever they run out."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.queue: list[tuple[str, str]] = []
        self.threads: list[str] = []

    def take(self) -> tuple[str, str]:
        if not self.queue:
            thread_id = f"race-{secrets.token_hex(4)}"
            status, view = call(self.env, "run", THREE_REVIEWS_GOAL, "ava", thread_id)
            assert status == "ok", view
            items = [(thread_id, i["id"]) for i in view["interrupts"] if i["attempt"] == 1]
            assert items, f"the goal raised no review: {view['results']}"
            self.queue.extend(items)
            self.threads.append(thread_id)
        return self.queue.pop(0)


@pytest.mark.timeout(900)  # 100 trials of two forked resumes each: minutes on 2 cores
def test_concurrent_decisions_on_one_interrupt(fault_db: str) -> None:
    env = {"CHIMERA_DATABASE_URL": fault_db, "CHIMERA_OFFLINE_LATENCY": "0"}
    interrupts = Interrupts(env)
    rng = random.Random(7)
    outcomes: dict[tuple[str, str], dict[str, int]] = {}
    with psycopg.connect(fault_db, autocommit=True) as conn:
        for pair in PAIRS:
            for n in range(TRIALS):
                thread_id, item = interrupts.take()
                sides = list(pair)
                rng.shuffle(sides)  # which process gets which decision
                reviewers = ("rev-a", "rev-b")
                barrier = FORK.Barrier(2)
                calls = [
                    fork_call(
                        env,
                        "resume",
                        thread_id,
                        item,
                        kind,
                        barrier=barrier,
                        **_arguments(kind, reviewers[i], f"{pair}-{n}"),
                    )
                    for i, kind in enumerate(sides)
                ]
                answers = [answer(*c) for c in calls]
                where = f"pair {pair} trial {n} on {thread_id}/{item}: {answers}"
                winners = [i for i, (status, _) in enumerate(answers) if status == "ok"]
                assert len(winners) == 1, where
                winner, loser = winners[0], 1 - winners[0]
                assert answers[loser][0] == "input_error", where
                assert (
                    f"already decided: {sides[winner]} by {reviewers[winner]}" in answers[loser][1]
                ), where
                with conn.cursor(row_factory=dict_row) as cur:
                    cur.execute(
                        "SELECT * FROM chimera_review_decisions"
                        " WHERE thread_id = %s AND interrupt_id = %s",
                        (thread_id, item),
                    )
                    rows = cur.fetchall()
                    cur.execute(
                        "SELECT payload FROM chimera_audit WHERE thread_id = %s"
                        " AND event = 'decision_attempted' AND payload->>'interrupt_id' = %s",
                        (thread_id, item),
                    )
                    attempts = [r["payload"] for r in cur.fetchall()]
                assert len(rows) == 1 and rows[0]["state"] == "applied", where
                assert rows[0]["kind"] == sides[winner], where
                assert rows[0]["reviewer"] == reviewers[winner], where
                assert sorted(a["outcome"] for a in attempts) == ["recorded", "refused"], where
                assert check_thread(conn, thread_id) == [], where
                tally = outcomes.setdefault(pair, {})
                tally[sides[winner]] = tally.get(sides[winner], 0) + 1
        for thread_id in interrupts.threads:
            assert check_thread(conn, thread_id) == [], thread_id
    assert sum(sum(t.values()) for t in outcomes.values()) == len(PAIRS) * TRIALS
    print(f"decision races: {len(PAIRS) * TRIALS} trials, winners per pair {outcomes}")
