"""Each studio page through Streamlit's AppTest, on a real PostgreSQL (both kinds).

Routing is driven by fixed inputs, not by the offline model's scores: a goal on a
sensitive topic (vaccines) is flagged and interrupts whatever the confidence, and the
async-review band is forced with thresholds review=0, publish=1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from chimera.adapters.postgres.audit import PostgresAuditLog
from chimera.adapters.postgres.database import Database
from chimera.domain.effects import AuditEvent
from chimera.evals.fit_combiner import reviewer_labels

FLAGGED_GOAL = "Posts on: thrifting, vaccines for kids"


async def rows(database: Database, sql: str, *params: Any) -> list[dict[str, Any]]:
    async with database.pool.connection() as conn:
        cur = await conn.execute(sql, params)
        return list(await cur.fetchall())


def start_goal(at: AppTest, goal: str, *, review: float = 0.7, publish: float = 0.9) -> None:
    at.selectbox(key="run_persona").select("ava")
    at.text_area(key="run_goal").input(goal)
    at.number_input(key="run_review").set_value(review)
    at.number_input(key="run_publish").set_value(publish)
    next(b for b in at.button if b.label == "Start").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def open_item(inbox: AppTest, key: str) -> None:
    inbox.selectbox(key="ib_open").select(key)
    inbox.run()


def run_thread_id(at: AppTest) -> str:
    return at.session_state["last_run"]["thread_id"]


async def test_no_page_opens_without_signing_in(open_page: Callable[..., AppTest]) -> None:
    for page in ("run", "threads", "inbox", "prompts", "posts", "personas", "audit", "evals",
                 "users"):  # fmt: skip
        at = open_page(page, None)
        assert [t.value for t in at.title] == ["Chimera studio"]
        assert not at.header, f"{page} showed its content to someone not signed in"
        assert any(b.label == "Sign in" for b in at.button)


async def test_sign_in_form_wrong_then_right_password(
    open_page: Callable[..., AppTest], sign_in: Callable[..., Any], database: Database
) -> None:
    who = await sign_in("reviewer")
    at = open_page("posts", None)
    at.text_input(key="signin_name").input(who.name)
    at.text_input(key="signin_password").input("wrong password")
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    assert [e.value for e in at.error] == ["wrong user name or password"]
    assert "studio_token" not in at.session_state
    at.text_input(key="signin_name").input(who.name)
    at.text_input(key="signin_password").input("correct horse battery")
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    assert [h.value for h in at.header] == ["Posts"]
    audit = await rows(
        database, "SELECT actor FROM chimera_audit WHERE event = 'signed_in' AND actor = %s",
        f"human:{who.name}",
    )  # fmt: skip
    assert audit, "the sign-in is in the audit trail with the user"


async def test_every_page_says_what_is_not_there_yet(
    open_page: Callable[..., AppTest], sign_in: Callable[..., Any]
) -> None:
    admin = await sign_in("admin")
    for page in ("run", "threads", "inbox", "prompts", "posts", "personas", "audit", "evals",
                 "users"):  # fmt: skip
        at = open_page(page, admin)
        assert any(i.value.startswith("Not there yet:") for i in at.info), page


async def test_run_interrupts_then_inbox_approve_publishes(
    open_page: Callable[..., AppTest], sign_in: Callable[..., Any], database: Database
) -> None:
    reviewer = await sign_in("reviewer")
    at = open_page("run", reviewer)
    start_goal(at, FLAGGED_GOAL)
    thread = run_thread_id(at)
    events = [m.value for m in at.markdown]
    # Node events arrived one by one: planner, both workers, the judge, the gate.
    assert events[0] == "planner: planned 2 tasks"
    assert "t2 gate: interrupts for review" in events
    assert [s.value for s in at.subheader] == [f"Thread {thread}: interrupted"]
    (started,) = await rows(
        database,
        "SELECT actor, payload FROM chimera_audit WHERE thread_id = %s AND event = 'run_started'",
        thread,
    )
    assert started["actor"] == f"human:{reviewer.name}"
    assert set(started["payload"]["prompt_versions"]) == {"planner", "worker", "judge"}

    inbox = open_page("inbox", reviewer)
    mine = [c for c in inbox.checkbox if thread in c.label]
    assert len(mine) == 1 and "sensitive:health" in mine[0].label
    key = f"{thread}:t2:1"
    open_item(inbox, key)
    assert any("signal" in df.value.columns for df in inbox.dataframe), "the judge's signals"
    inbox.button(key=f"approve_{key}").click()
    inbox.run()
    assert [s.value for s in inbox.success] == [f"{key}: approve, thread completed"]
    (status,) = await rows(
        database, "SELECT status FROM chimera_threads WHERE thread_id = %s", thread
    )
    assert status["status"] == "completed"
    posts = await rows(
        database,
        "SELECT task_id, review FROM chimera_outbox WHERE thread_id = %s ORDER BY 1",
        thread,
    )
    assert [(p["task_id"], p["review"]) for p in posts][-1] == ("t2", "human")
    (decided,) = await rows(
        database,
        "SELECT actor FROM chimera_audit WHERE thread_id = %s AND event = 'decided'",
        thread,
    )
    assert decided["actor"] == f"human:{reviewer.name}"

    listed = open_page("posts", reviewer)
    assert thread in listed.table[0].value["thread_id"].tolist()


async def test_a_prompt_engineer_may_not_resume(
    open_page: Callable[..., AppTest], sign_in: Callable[..., Any], database: Database
) -> None:
    engineer = await sign_in("prompt_engineer")
    at = open_page("run", engineer)
    start_goal(at, FLAGGED_GOAL)
    thread = run_thread_id(at)
    inbox = open_page("inbox", engineer)
    open_item(inbox, f"{thread}:t2:1")
    inbox.button(key=f"approve_{thread}:t2:1").click()
    inbox.run()
    assert [e.value for e in inbox.error] == [
        f"{engineer.name} may not resume (roles: prompt_engineer)"
    ]
    (status,) = await rows(
        database, "SELECT status FROM chimera_threads WHERE thread_id = %s", thread
    )
    assert status["status"] == "interrupted", "a refused decision changes nothing"


async def test_bulk_reject_resumes_each_selected_item(
    open_page: Callable[..., AppTest], sign_in: Callable[..., Any], database: Database
) -> None:
    reviewer = await sign_in("reviewer")
    threads = []
    for _ in range(2):
        at = open_page("run", reviewer)
        start_goal(at, "Posts on: vaccines for kids, election polls")
        threads.append(run_thread_id(at))
    inbox = open_page("inbox", reviewer)
    keys = [c.label.split(" / ")[1].split(":")[0:3] for c in inbox.checkbox]
    chosen = [":".join(k) for k in keys if k[0] == threads[0]]
    assert len(chosen) == 2, "both tasks of the first thread are flagged and wait"
    for key in chosen:
        inbox.checkbox(key=f"sel_{key}").check()
    inbox.run()
    inbox.button(key="bulk_reject").click()
    inbox.run()
    assert [s.value for s in inbox.success] == ["bulk reject: 2 done"]
    statuses = {
        r["thread_id"]: r["status"]
        for r in await rows(
            database,
            "SELECT thread_id, status FROM chimera_threads WHERE thread_id = ANY(%s)",
            threads,
        )
    }
    assert statuses == {threads[0]: "completed", threads[1]: "interrupted"}


async def test_threads_page_filters_pages_and_draws_the_graph(
    open_page: Callable[..., AppTest], sign_in: Callable[..., Any]
) -> None:
    reviewer = await sign_in("reviewer")
    at = open_page("run", reviewer)
    start_goal(at, FLAGGED_GOAL)
    thread = run_thread_id(at)
    page = open_page("threads", reviewer)
    page.text_input(key="th_search").input(thread)
    page.run()
    assert page.dataframe[0].value["thread_id"].tolist() == [thread]
    page.selectbox(key="th_status").select("completed")
    page.run()
    assert page.dataframe[0].value.empty, "the thread is interrupted, not completed"
    page.selectbox(key="th_status").select("interrupted")
    page.run()
    page.selectbox(key="th_open").select(thread)
    page.run()
    assert not page.exception
    dot = page.get("graphviz_chart")[0].proto.spec
    # t2 waits at review: that node is filled and names the task.
    assert '"task:review" [label="review\\nt2", fillcolor="#ffd966"]' in dot
    assert page.json, "the state at the chosen checkpoint shows as JSON"


async def test_async_review_confirm_and_retract_store_labels(
    open_page: Callable[..., AppTest], sign_in: Callable[..., Any], database: Database
) -> None:
    reviewer = await sign_in("reviewer")
    at = open_page("run", reviewer)
    before = len(await reviewer_labels(database.pool))
    # review=0, publish=1: every unflagged draft publishes under asynchronous review.
    start_goal(at, "Posts on: thrifting, capsule wardrobes", review=0.0, publish=1.0)
    thread = run_thread_id(at)
    posts = await rows(
        database,
        "SELECT p.post_id FROM chimera_posts p JOIN chimera_outbox o ON o.id = p.outbox_id"
        " WHERE o.thread_id = %s AND p.review_status = 'pending' ORDER BY o.task_id",
        thread,
    )
    assert len(posts) == 2
    keep, pull = posts[0]["post_id"], posts[1]["post_id"]
    inbox = open_page("inbox", reviewer)
    inbox.button(key=f"confirm_{keep}").click()
    inbox.run()
    inbox.text_input(key=f"why_{pull}").input("off-brand")
    inbox.button(key=f"retract_{pull}").click()
    inbox.run()
    assert not inbox.error
    states = await rows(
        database, "SELECT post_id, review_status FROM chimera_posts WHERE post_id IN (%s, %s)",
        keep, pull,
    )  # fmt: skip
    assert {s["post_id"]: s["review_status"] for s in states} == {
        keep: "confirmed",
        pull: "retracted",
    }
    labels = await rows(
        database, "SELECT post_id, outcome, actor FROM chimera_review_labels WHERE thread_id = %s"
        " ORDER BY post_id", thread,
    )  # fmt: skip
    assert {(r["post_id"], r["outcome"]) for r in labels} == {(keep, "confirm"), (pull, "retract")}
    assert {r["actor"] for r in labels} == {f"human:{reviewer.name}"}
    after = await reviewer_labels(database.pool)
    assert len(after) == before + 2 and [a.positive for a in after[-2:]] == [True, False]


async def test_prompts_save_promote_and_replay_never_publishes(
    open_page: Callable[..., AppTest], sign_in: Callable[..., Any], database: Database
) -> None:
    reviewer = await sign_in("reviewer")
    run = open_page("run", reviewer)
    start_goal(run, "Posts on: thrifting, capsule wardrobes")
    thread = run_thread_id(run)

    # A reviewer may not edit prompts.
    refused = open_page("prompts", reviewer)
    refused.selectbox(key="pr_node").select("worker")
    refused.run()
    refused.text_area(key="pr_edit").input("You write as {persona_name}. Be brief.")
    refused.button(key="pr_save").click()
    refused.run()
    assert refused.error[0].value.endswith("may not edit prompts (roles: reviewer)")

    engineer = await sign_in("prompt_engineer")
    at = open_page("prompts", engineer)
    at.selectbox(key="pr_node").select("worker")
    at.run()
    at.text_area(key="pr_edit").input("You write as {persona_name}. Be brief.")
    at.button(key="pr_save").click()
    at.run()
    saved = int(at.success[0].value.rsplit("v", 1)[1])
    (row,) = await rows(
        database, "SELECT text, created_by FROM chimera_prompts WHERE node = 'worker'"
        " AND version = %s", saved,
    )  # fmt: skip
    assert row == {"text": "You write as {persona_name}. Be brief.\n", "created_by": engineer.name}

    posts_before = await rows(database, "SELECT count(*) AS n FROM chimera_posts")
    at.selectbox(key="rp_node").select("worker")
    at.selectbox(key="rp_a").select(1)
    at.selectbox(key="rp_b").select(saved)
    at.multiselect(key="rp_threads").select(thread)
    at.run()
    at.button(key="rp_run").click()
    at.run()
    assert not at.error, [e.value for e in at.error]
    result = at.session_state["rp_result"]
    assert [r["task_id"] for r in result["rows"]] == ["t1", "t2"]
    assert result["summary"]["a"]["version"] == 1 and result["summary"]["b"]["version"] == saved
    assert all(r["a"]["text"] and r["b"]["text"] for r in result["rows"])
    assert [m.label for m in at.metric] == ["v1 mean confidence", f"v{saved} mean confidence"]
    assert await rows(database, "SELECT count(*) AS n FROM chimera_posts") == posts_before

    at.selectbox(key="pr_version").select(saved)
    at.run()
    at.button(key="pr_promote").click()
    at.run()
    (default,) = await rows(
        database, "SELECT version, promoted_by FROM chimera_prompt_defaults WHERE node = 'worker'"
    )
    assert default == {"version": saved, "promoted_by": engineer.name}
    # The next run records the promoted version.
    run = open_page("run", reviewer)
    assert run.selectbox(key="run_v_worker").value == saved
    async with database.pool.connection() as conn:
        await conn.execute("DELETE FROM chimera_prompt_defaults WHERE node = 'worker'")


async def test_audit_page_filters_by_actor_and_event(
    open_page: Callable[..., AppTest], sign_in: Callable[..., Any], database: Database
) -> None:
    reviewer = await sign_in("reviewer")
    log = PostgresAuditLog(database.pool)
    for event in ("forked", "replayed"):
        await log.record(AuditEvent("studio", event, f"human:{reviewer.name}"))
    await log.record(AuditEvent("studio", "forked", "human:someone-else"))
    at = open_page("audit", reviewer)
    at.text_input(key="au_actor").input(reviewer.name)
    at.run()
    table = at.dataframe[0].value
    assert sorted(table["event"]) == ["forked", "replayed"]
    assert set(table["actor"]) == {f"human:{reviewer.name}"}
    at.text_input(key="au_event").input("forked")
    at.run()
    assert at.dataframe[0].value["event"].tolist() == ["forked"]
    at.text_input(key="au_event").input("no-such-event")
    at.run()
    assert at.dataframe[0].value.empty


async def test_users_page_is_for_admins(
    open_page: Callable[..., AppTest], sign_in: Callable[..., Any], database: Database
) -> None:
    reviewer = await sign_in("reviewer")
    at = open_page("users", reviewer)
    assert at.error[0].value.endswith("may not manage users (roles: reviewer)")
    admin = await sign_in("admin")
    at = open_page("users", admin)
    at.text_input(key="us_name").input(f"{admin.name}-new")
    at.text_input(key="us_password").input("long enough pw")
    at.multiselect(key="us_roles").select("reviewer")
    next(b for b in at.button if b.label == "Add").click()
    at.run()
    assert [s.value for s in at.success] == [f"added {admin.name}-new"]
    (row,) = await rows(
        database, "SELECT roles FROM chimera_users WHERE name = %s", f"{admin.name}-new"
    )
    assert row["roles"] == ["reviewer"]


async def test_personas_page_validates_soul_md(
    open_page: Callable[..., AppTest], sign_in: Callable[..., Any]
) -> None:
    engineer = await sign_in("prompt_engineer")
    at = open_page("personas", engineer)
    at.selectbox(key="pe_id").select("ava")
    at.run()
    assert "valid" in [c.value for c in at.caption]
    at.text_area(key="pe_text").input("---\nid: ava\n---\n")
    at.run()
    assert at.error and "ava/SOUL.md" in at.error[0].value


async def test_personas_page_saves_an_edit_that_the_next_run_reads(
    open_page: Callable[..., AppTest], sign_in: Callable[..., Any], studio_home: Path
) -> None:
    from chimera.adapters.persona_files import PERSONAS_DIR, load_persona

    engineer = await sign_in("prompt_engineer")
    at = open_page("personas", engineer)
    at.selectbox(key="pe_id").select("ava")
    at.run()
    shipped = (PERSONAS_DIR / "ava" / "SOUL.md").read_text(encoding="utf-8")
    at.text_area(key="pe_text").input(shipped.replace("@ava.rewears", "@ava.studio"))
    at.run()
    saved = studio_home / "personas" / "ava" / "SOUL.md"
    try:
        next(b for b in at.button if b.key == "pe_save").click()
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert [s.value for s in at.success] == [f"saved to {saved}"]
        assert load_persona("ava")["handle"] == "@ava.studio"
    finally:
        saved.unlink(missing_ok=True)  # the session's other tests run the shipped ava


async def test_evals_page_plots_a_suite_over_time_and_a_gate_runs_reliability(
    open_page: Callable[..., AppTest], sign_in: Callable[..., Any], database: Database
) -> None:
    from chimera.evals.gate import gate_metrics
    from chimera.evals.runs import EvalRun, new_run_id, save_run

    results = [
        {"expected": e, "route": r, "confidence": c, "seconds": 0.01}
        for e, r, c in [("publish", "publish", 0.95), ("review", "review", 0.2),
                        ("review", "async_review", 0.8), ("publish", "review", 0.6)]
    ]  # fmt: skip
    run_id = new_run_id("gate-page")
    await save_run(database.pool, EvalRun(run_id, "gate-page", {}, {}, gate_metrics(results)))
    at = open_page("evals", await sign_in("reviewer"))
    at.selectbox(key="ev_suite").select("gate-page")
    at.selectbox(key="ev_reliability").select(run_id)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(c.value.startswith("ECE ") for c in at.caption), [c.value for c in at.caption]
