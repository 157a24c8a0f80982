"""The studio's storage on a real PostgreSQL: users (argon2, expiring sessions, a limit on
failed sign-ins), prompt versions, retraction through the publisher, forks and replays
through the page logic; and ``chimera user add`` as a real subprocess."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from chimera.adapters.inmemory import InMemoryPublisher, RefusingPublisher
from chimera.adapters.postgres.database import Database
from chimera.adapters.postgres.outbox import SandboxPublisher
from chimera.adapters.postgres.prompts import PromptStore
from chimera.adapters.postgres.users import SignInError, User, UserStore
from chimera.app.runner import Runner
from chimera.app.wiring import App, postgres_services, replay_services
from chimera.domain.effects import PublishRequest
from chimera.domain.errors import InputError
from chimera.graphs.context import Context
from chimera.graphs.prompts import load_prompt, prompt_versions
from chimera.studio.logic import inbox as inbox_logic
from chimera.studio.logic import prompts as prompt_logic
from chimera.studio.logic import threads as thread_logic
from chimera.studio.logic.runs import RunOptions, runner_for_thread, start_run
from chimera.studio.logic.threads import ThreadFilter, list_threads
from support.environment import subprocess_env

CHIMERA = Path(sys.executable).parent / "chimera"


def name() -> str:
    return f"u{secrets.token_hex(4)}"


async def test_passwords_are_argon2_hashes_and_sessions_tokens_hashed(database: Database) -> None:
    users = UserStore(database.pool)
    who = name()
    await users.add(who, "a long password", ["reviewer"])
    _user, token = await users.sign_in(who, "a long password")
    async with database.pool.connection() as conn:
        cur = await conn.execute("SELECT password_hash FROM chimera_users WHERE name = %s", (who,))
        row = await cur.fetchone()
        assert row and row["password_hash"].startswith("$argon2id$")
        cur = await conn.execute(
            "SELECT token_hash FROM chimera_sessions WHERE user_name = %s", (who,)
        )
        stored = [r["token_hash"] for r in await cur.fetchall()]
    assert stored and token not in stored, "only a hash of the token is kept"
    assert await users.session_user(token) == User(who, ("reviewer",))
    await users.sign_out(token)
    assert await users.session_user(token) is None


async def test_a_session_expires(database: Database) -> None:
    users = UserStore(database.pool, session_ttl=timedelta(seconds=1))
    who = name()
    await users.add(who, "a long password", ["admin"])
    _user, token = await users.sign_in(who, "a long password")
    assert await users.session_user(token) is not None
    await asyncio.sleep(1.2)
    assert await users.session_user(token) is None


async def test_failed_sign_ins_are_rate_limited(database: Database) -> None:
    users = UserStore(database.pool, max_failures=3)
    who = name()
    await users.add(who, "a long password", ["reviewer"])
    for _ in range(3):
        with pytest.raises(SignInError, match="wrong user name or password"):
            await users.sign_in(who, "guess")
    with pytest.raises(SignInError, match="too many failed sign-ins"):
        await users.sign_in(who, "a long password")
    # An unknown name fails the same way as a wrong password (no user enumeration).
    with pytest.raises(SignInError, match="wrong user name or password"):
        await users.sign_in(name(), "a long password")


@pytest.mark.parametrize(
    ("user", "password", "roles", "message"),
    [
        ("Bad Name", "a long password", ["reviewer"], "user name"),
        ("okname", "short", ["reviewer"], "at least 8"),
        ("okname", "a long password", ["boss"], "unknown role"),
        ("okname", "a long password", [], "at least one role"),
    ],
)
async def test_bad_user_input_is_refused_and_stores_nothing(
    database: Database, user: str, password: str, roles: list[str], message: str
) -> None:
    users = UserStore(database.pool)
    before = len(await users.list())
    with pytest.raises(InputError, match=message):
        await users.add(user, password, roles)
    assert len(await users.list()) == before


async def test_prompt_versions_are_seeded_saved_and_promoted(database: Database) -> None:
    prompts = PromptStore(database.pool)
    await prompts.seed()
    await prompts.seed()  # idempotent
    seeded = await prompts.versions("judge")
    assert [v.version for v in seeded][: len(prompt_versions("judge"))] == prompt_versions("judge")
    assert seeded[0].text == load_prompt("judge", 1)
    new = await prompts.save("judge", "Rate the draft.", "pat")
    assert new.version == max(v.version for v in seeded) + 1
    with pytest.raises(InputError, match="empty"):
        await prompts.save("judge", "   ", "pat")
    with pytest.raises(InputError, match="unknown node"):
        await prompts.save("nobody", "x", "pat")
    await prompts.promote("judge", new.version, "pat")
    assert (await prompts.defaults())["judge"] == new.version
    with pytest.raises(InputError, match="no version 999"):
        await prompts.promote("judge", 999, "pat")
    async with database.pool.connection() as conn:
        await conn.execute("DELETE FROM chimera_prompt_defaults WHERE node = 'judge'")
    assert (await prompts.defaults())["judge"] == max(prompt_versions("judge"))


async def test_two_saves_at_once_get_two_versions(database: Database) -> None:
    prompts = PromptStore(database.pool)
    await prompts.seed()
    a, b = await asyncio.gather(
        prompts.save("planner", "plan A", "x"), prompts.save("planner", "plan B", "y")
    )
    assert a.version != b.version


def request(thread: str, review: str = "async") -> PublishRequest:
    return PublishRequest(thread, "t1", 1, "ava", "@ava", "x", "hello #AI", review, 0.8)


async def test_retract_unpublishes_once(database: Database) -> None:
    publisher = SandboxPublisher(database.pool)
    receipt = await publisher.publish(request(f"retract-{secrets.token_hex(3)}"))
    assert await publisher.retract(receipt.post_id, "off-brand") is True
    assert await publisher.retract(receipt.post_id, "again") is False
    async with database.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT review_status, retracted_at FROM chimera_posts WHERE post_id = %s",
            (receipt.post_id,),
        )
        row = await cur.fetchone()
    assert row and row["review_status"] == "retracted" and row["retracted_at"] is not None
    with pytest.raises(InputError, match="unknown post"):
        await publisher.retract("sbx-nope", "x")


async def test_in_memory_publisher_retracts_and_replays_refuse() -> None:
    publisher = InMemoryPublisher()
    receipt = await publisher.publish(request("mem"))
    assert await publisher.retract(receipt.post_id, "why") is True
    assert receipt.post_id not in publisher.posts and publisher.retracted == {
        receipt.post_id: "why"
    }
    assert await publisher.retract(receipt.post_id, "why") is False
    with pytest.raises(PermissionError, match="replays never publish"):
        await RefusingPublisher().publish(request("mem"))


async def test_threads_list_filters_and_pages(database: Database) -> None:
    runner = Runner(database, postgres_services(database))
    tag = secrets.token_hex(3)
    for i in range(5):
        await runner.threads.start(
            f"pg-{tag}-{i}", "kai" if i % 2 else "ava", f"goal {tag} {i}", {}
        )
    rows, total = await list_threads(database.pool, ThreadFilter(search=tag), page=0, size=2)
    assert total == 5 and len(rows) == 2
    rows2, _ = await list_threads(database.pool, ThreadFilter(search=tag), page=2, size=2)
    assert len(rows2) == 1
    kai, n = await list_threads(database.pool, ThreadFilter(search=tag, persona="kai"))
    assert n == 2 and {r["persona_id"] for r in kai} == {"kai"}
    _, none = await list_threads(database.pool, ThreadFilter(search=f"{tag}%_"))
    assert none == 0, "% and _ in a search are literal"
    with pytest.raises(InputError, match="status must be one of"):
        await list_threads(database.pool, ThreadFilter(status="lost"))


async def test_fork_from_a_checkpoint_runs_on_as_a_branch(database: Database) -> None:
    services = postgres_services(database)
    app = App(settings=None, db=database, memory=None, services=services)  # type: ignore[arg-type]
    runner = Runner(database, services)
    view = await runner.run("Posts on: thrifting, capsule wardrobes", "ava")
    thread = view["thread_id"]
    timeline = await thread_logic.checkpoints(runner, thread)
    handout = next(c for c in reversed(timeline) if c["next"] == "task, task")
    state = await thread_logic.state_at(runner, thread, handout["checkpoint_id"])
    tasks = [{**state["tasks"][0], "id": "t9", "topic": "clothing repair"}]
    admin = User("ada", ("admin",))
    with pytest.raises(InputError, match="only goal, tasks"):
        await thread_logic.fork(app, runner, admin, thread, handout["checkpoint_id"], {"x": 1})
    forked = await thread_logic.fork(
        app, runner, admin, thread, handout["checkpoint_id"], {"tasks": tasks}
    )
    assert forked["status"] == "completed"
    assert [p["task_id"] for p in forked["published"]] == ["t9"]
    after = await thread_logic.checkpoints(runner, thread)
    fork_row = next(c for c in after if c["checkpoint_id"] == forked["checkpoint_id"])
    assert fork_row["fork"] and fork_row["parent_id"] == handout["checkpoint_id"]


async def test_replay_uses_each_version_and_cannot_publish(database: Database) -> None:
    services = postgres_services(database)
    app = App(settings=None, db=database, memory=None, services=services)  # type: ignore[arg-type]
    runner = Runner(database, services)
    view = await runner.run("Posts on: thrifting, capsule wardrobes", "ava")
    prompts = PromptStore(database.pool)
    await prompts.seed()
    points = await prompt_logic.replay_points(runner, [view["thread_id"]])
    assert [p["task"]["id"] for p in points] == ["t1", "t2"]

    engineer = User("pat", ("prompt_engineer",))
    result = await prompt_logic.replay(app, prompts, engineer, "judge", points, 1, 2)
    assert {result["summary"]["a"]["version"], result["summary"]["b"]["version"]} == {1, 2}
    assert all(r["a"]["text"] == p["draft"] for r, p in zip(result["rows"], points, strict=True))
    # The judge replay ran with each version's text in its Context.
    ctx1 = await prompt_logic.context_with(prompts, Context(), {"judge": 1})
    assert ctx1.judge_prompt == load_prompt("judge", 1)
    assert replay_services(services).publisher.__class__ is RefusingPublisher
    with pytest.raises(InputError, match="may not replay"):
        await prompt_logic.replay(app, prompts, User("rae", ("reviewer",)), "judge", points, 1, 2)
    # The planner replays once a thread: its plan's topics, and its tasks drafted and judged.
    planned = await prompt_logic.replay(app, prompts, engineer, "planner", points, 1, 1)
    [row] = planned["rows"]
    assert row["task_id"] == "plan" and row["topic"] == "Posts on: thrifting, capsule wardrobes"
    assert row["a"]["text"] == row["b"]["text"] == "thrifting; capsule wardrobes"
    assert [r.split(":")[0] for r in row["a"]["reasons"]] == [
        "t1 thrifting",
        "t2 capsule wardrobes",
    ]
    assert 0 <= planned["summary"]["a"]["mean_confidence"] <= 1


def run_cli(
    args: list[str], env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHIMERA), *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


async def test_chimera_user_add_makes_the_first_admin(database_url: str) -> None:
    env = subprocess_env(("CHIMERA_",))
    env["CHIMERA_DATABASE_URL"] = database_url
    who = name()
    done = await asyncio.to_thread(
        run_cli,
        ["user", "add", who, "--admin", "--password-stdin", "--json"],
        env,
        "pw-long-enough\n",
    )
    assert done.returncode == 0, done.stderr
    assert '"admin"' in done.stdout
    again = await asyncio.to_thread(
        run_cli, ["user", "add", who, "--admin", "--password-stdin"], env, "pw-long-enough\n"
    )
    assert again.returncode == 2 and f"user {who!r} exists already" in again.stderr
    short = await asyncio.to_thread(
        run_cli, ["user", "add", name(), "--role", "reviewer", "--password-stdin"], env, "short\n"
    )
    assert short.returncode == 2 and "at least 8" in short.stderr


async def test_a_studio_run_records_its_prompts_and_resumes_with_them(database: Database) -> None:
    services = postgres_services(database)
    app = App(settings=None, db=database, memory=None, services=services)  # type: ignore[arg-type]
    prompts = PromptStore(database.pool)
    await prompts.seed()
    rae = User("rae", ("reviewer",))
    options = RunOptions(
        persona="ava",
        goal="Posts on: vaccines for kids",
        prompt_versions={"worker": 1},
        review_threshold=0.2,
        publish_threshold=0.95,
    )
    view = await start_run(app, prompts, rae, options)
    assert view["status"] == "interrupted"
    with pytest.raises(InputError, match=r"review \(0.9\) <= publish \(0.5\)"):
        await start_run(app, prompts, rae, replace(options, review_threshold=0.9,
                                                   publish_threshold=0.5))  # fmt: skip
    runner = await runner_for_thread(app, prompts, view["thread_id"])
    assert runner.context.worker_prompt == load_prompt("worker", 1)
    assert (runner.context.review_threshold, runner.context.publish_threshold) == (0.2, 0.95)
    decided = await inbox_logic.decide(runner, rae, inbox_logic.ItemRef(view["thread_id"], "t1", 1),
                                       "retry", feedback="Focus on thrifting instead.")  # fmt: skip
    async with database.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT actor, payload FROM chimera_audit WHERE thread_id = %s"
            " AND event IN ('run_started', 'decided') ORDER BY id",
            (view["thread_id"],),
        )
        events = await cur.fetchall()
    assert [e["actor"] for e in events] == ["human:rae", "human:rae"]
    assert events[0]["payload"]["prompt_versions"]["worker"] == 1
    assert decided["thread_id"] == view["thread_id"]
    # Another thread (started by the CLI, no record) gets the defaults.
    assert (await runner_for_thread(app, prompts, "no-such-thread")).context == Context()
