"""The real ``chimera`` console script, run as a subprocess against both PostgreSQLs.

Every test runs twice, as the module-scoped ``cli`` fixture is parametrized:

* ``embedded``: zero configuration. No CHIMERA_DATABASE_URL, and CHIMERA_HOME is a folder
  of this module's own, so each command starts (or re-attaches to) its own embedded
  PostgreSQL and stops it when it is the last one out. ``chimera db stop`` runs at the end.
* ``external``: CHIMERA_DATABASE_URL names a fresh database on the external server
  (CHIMERA_TEST_DATABASE_URL), dropped at the end.

Each CLI call pays about 1.5-2 s of imports (plus the embedded server's start), so the
scenarios are few and rich. Nothing here imports the runner: only stdout, stderr, exit
codes and, for what only it can show, the database itself are looked at.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from chimera.adapters.embedded_postgres.server import EmbeddedPostgres
from chimera.adapters.embedded_postgres.uris import ensure_database
from support.environment import subprocess_env

pytestmark = pytest.mark.integration

CHIMERA = Path(sys.executable).parent / "chimera"
TIMEOUT = 120  # seconds, for every subprocess call
PROJECT_ROOT = Path(__file__).resolve().parents[2]
EMBEDDED_DB = "chimera"  # CHIMERA_EMBEDDED_DATABASE's default

# Variables from the developer's shell that would change what the CLI does.
FOREIGN_ENV_PREFIXES = ("CHIMERA_", "OPENAI_")

ON_TOPIC = ("thrifting", "capsule wardrobes", "clothing repair", "upcycling")
HAPPY_GOAL = "Write posts on: thrifting, capsule wardrobes, clothing repair and upcycling"
# A sensitive item (t1), one that contradicts ava's beliefs (t2) and an off-topic one (t3).
ROUTES_GOAL = "posts on: vaccines for kids, a fast fashion haul and gaming laptops"
THREE_REVIEWS_GOAL = "posts on: vaccines for kids, crypto investing tips and the election"
KILL_GOAL = (
    "posts on: thrifting, capsule wardrobes, clothing repair, upcycling and textile recycling"
)
SECRET = "sk-test-SECRET-123456789"
RETRY_FEEDBACK = "Focus on thrifting a secondhand haul instead."

# The SIGKILL test: seconds per offline model call. The five branches run in lockstep
# (measured: all five posts land within ~30 ms of each other, whatever the latency), so
# latency alone cannot leave the run half-published; see test_sigkill_mid_run_continues.
KILL_LATENCY = "0.4"


# -- running the CLI ----------------------------------------------------------------------


@dataclass
class Result:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def describe(self) -> str:
        return (
            f"chimera {' '.join(self.args)} -> exit {self.returncode} in {self.seconds:.1f}s\n"
            f"--- stdout ---\n{self.stdout[-3000:]}\n--- stderr ---\n{self.stderr[-3000:]}"
        )

    def json(self) -> Any:
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"stdout is not JSON:\n{self.describe()}")


@dataclass
class Cli:
    """The ``chimera`` script bound to one PostgreSQL (embedded or external)."""

    kind: str
    env: dict[str, str]
    home: Path
    workdir: Path
    url: str | None = None  # the external database; None for the embedded one

    @property
    def embedded(self) -> bool:
        return self.url is None

    def environment(self, **extra: str) -> dict[str, str]:
        return {**self.env, **extra}

    def call(self, *args: str, expect: int | None = 0, env: dict[str, str] | None = None) -> Result:
        began = time.monotonic()
        proc = subprocess.run(
            [str(CHIMERA), *args],
            env=self.environment(**(env or {})),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        result = Result(args, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - began)
        print(f"  [{self.kind}] {result.seconds:5.2f}s chimera {' '.join(args)[:70]}")
        if expect is not None:
            assert result.returncode == expect, result.describe()
        return result

    def json(self, *args: str, env: dict[str, str] | None = None) -> Any:
        return self.call(*args, "--json", env=env).json()

    def popen(self, *args: str, stdout: Any, stderr: Any, **extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(CHIMERA), *args],
            env=self.environment(**extra),
            cwd=self.workdir,
            stdout=stdout,
            stderr=stderr,
            text=True,
        )

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection to the database the CLI uses, for checks only the database shows.

        Embedded: this process attaches to the server (starting it if no command is
        running) and gives its handle back afterwards, which stops the server again when
        no command holds it. Never call it while a command of this test is running.
        """
        if self.url is not None:
            with psycopg.connect(self.url, autocommit=True) as conn:
                yield conn
            return
        server = EmbeddedPostgres(self.home)
        try:
            url = ensure_database(server.start(), EMBEDDED_DB)
            with psycopg.connect(url, autocommit=True) as conn:
                yield conn
        finally:
            server.release()


def _inherited_env() -> dict[str, str]:
    """The test's environment (CI and PATH included) minus anything that would point the
    CLI at another database, model or key."""
    env = subprocess_env(FOREIGN_ENV_PREFIXES)
    if "CI" in os.environ:
        env["CI"] = os.environ["CI"]  # under CI=true a missing server must fail, not skip
    env["CHIMERA_OFFLINE_LATENCY"] = "0"
    return env


@pytest.fixture(scope="module", params=["embedded", "external"])
def cli(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    assert CHIMERA.exists(), f"the chimera console script is not installed at {CHIMERA}"
    workdir = tmp_path_factory.mktemp(f"cli-{request.param}")
    home = workdir / "home"
    env = _inherited_env()
    if request.param == "embedded":
        env["CHIMERA_HOME"] = str(home)
        cli = Cli("embedded", env, home, workdir)
        yield cli
        stop = cli.call("db", "stop", expect=None)
        status = EmbeddedPostgres(home).status()
        assert stop.returncode == 0, stop.describe()
        assert not status["running"], f"embedded PostgreSQL left running: {status}"
        return
    # conftest's database_url is parametrized over both servers; this module needs only a
    # fresh database on the external one (the embedded side is the CLI's own, above).
    server = request.getfixturevalue("external_server")
    name = f"chimera_cli_{secrets.token_hex(4)}"
    url = ensure_database(server, name)
    env["CHIMERA_DATABASE_URL"] = url
    # The external PostgreSQL here has no pgvector: long-term memory lives in the
    # embedded one, in this module's own home.
    env["CHIMERA_MEMORY_URL"] = "embedded"
    env["CHIMERA_HOME"] = str(home)
    cli = Cli("external", env, home, workdir, url)
    yield cli
    stop = cli.call("db", "stop", expect=None)
    assert stop.returncode == 0, stop.describe()
    assert not EmbeddedPostgres(home).status()["running"]
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_thread(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def by_task(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["task_id"]: row for row in rows}


def interrupt_ids(view: dict[str, Any]) -> dict[str, str]:
    """task id -> interrupt id of the reviews a thread is waiting on."""
    return {item["task_id"]: item["id"] for item in view["interrupts"]}


def events(audit: list[dict[str, Any]], event: str, task_id: str | None = None) -> list[dict]:
    return [
        row
        for row in audit
        if row["event"] == event and (task_id is None or row["task_id"] == task_id)
    ]


# -- 1. happy path --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def happy(cli: Cli) -> dict[str, Any]:
    """One on-topic goal run to completion (also the 'completed thread' of the bad-input test)."""
    return cli.json("run", "--persona", "ava", "--goal", HAPPY_GOAL)


def test_happy_path(cli: Cli, happy: dict[str, Any]) -> None:
    view, tid = happy, happy["thread_id"]
    assert view["status"] == "completed"
    assert view["model"] == "offline"
    assert view["persona"] == "ava"
    assert view["goal"] == HAPPY_GOAL
    assert view["interrupts"] == []
    assert view["discarded"] == []
    assert "4 tasks: 4 published" in view["summary"]

    # One task per listed item, in order, each with a kind and a brief about its item.
    assert [t["topic"] for t in view["tasks"]] == list(ON_TOPIC)
    for task in view["tasks"]:
        assert task["kind"] == "post"
        assert task["topic"] in task["brief"]

    results = by_task(view["results"])
    published = by_task(view["published"])
    assert set(results) == set(published) == {t["id"] for t in view["tasks"]}
    for task_id, result in results.items():
        assert result["route"] == "publish", result
        assert result["confidence"] >= 0.9, result
        assert result["text"].endswith("#AI"), result
        assert published[task_id]["review"] == "none"
        assert published[task_id]["attempt"] == 1

    # The sandbox platform holds exactly those posts, with the drafts' text.
    posts = cli.json("posts", "--thread", tid)
    assert {p["post_id"] for p in posts} == {p["post_id"] for p in view["published"]}
    for post in posts:
        assert post["thread_id"] == tid
        assert post["persona_id"] == "ava"
        assert post["handle"] == "@ava.rewears"
        assert post["review"] == "none"
        assert post["text"] == results[post["task_id"]]["text"]

    # The audit trail: who did what, when.
    audit = cli.json("audit", tid)
    assert all(row["thread_id"] == tid for row in audit)
    planned = events(audit, "planned")
    assert len(planned) == 1
    assert planned[0]["actor"] == "planner:offline"
    assert [t["topic"] for t in planned[0]["payload"]["tasks"]] == list(ON_TOPIC)
    for task_id in results:
        for event, actor in (
            ("drafted", "worker:offline"),
            ("judged", "judge:offline"),
            ("published", "publisher"),
        ):
            rows = events(audit, event, task_id)
            assert len(rows) == 1, (event, task_id, audit)
            assert rows[0]["actor"] == actor
        post_id = events(audit, "published", task_id)[0]["payload"]["post_id"]
        assert post_id == published[task_id]["post_id"]
        assert events(audit, "judged", task_id)[0]["payload"]["verdict"]["route"] == "publish"
    assert [row["event"] for row in audit][-1] == "completed"
    stamps = [datetime.fromisoformat(row["created_at"]) for row in audit]
    assert all(stamp.tzinfo is not None for stamp in stamps)
    # Each task's events are in time order; the tasks run in parallel, so rows of two
    # tasks written at once may be listed a millisecond out of order between them.
    for task_id in results:
        own = [datetime.fromisoformat(r["created_at"]) for r in audit if r["task_id"] == task_id]
        assert own == sorted(own), task_id
    assert stamps[0] == min(stamps) and stamps[-1] == max(stamps)

    # Readable output: the thread id and the model, with live progress on stderr.
    human_thread = new_thread("human")
    human = cli.call(
        "run", "--persona", "ava", "--goal", "posts on: thrifting and upcycling",
        "--thread", human_thread,
    )  # fmt: skip
    assert human_thread in human.stdout, human.describe()
    assert "offline" in human.stdout
    assert "completed" in human.stdout
    assert "planned 2 tasks" in human.stderr
    assert not human.stdout.lstrip().startswith("{")
    if cli.embedded:
        # Zero-config: the CLI made its database inside CHIMERA_HOME.
        assert (cli.home / "pgdata" / "PG_VERSION").is_file()


# -- 2. every route, every decision -----------------------------------------------------------


def _approve_one_of_two(cli: Cli) -> None:
    """A: the sensitive item (t1) and the contradicting one (t2) interrupt; the off-topic
    one (t3) publishes with asynchronous review. Approving t1 publishes it at once."""
    a = cli.json("run", "--persona", "ava", "--goal", ROUTES_GOAL, "--thread", new_thread("a"))
    assert a["status"] == "interrupted"
    results = by_task(a["results"])
    assert results["t1"]["route"] == "review"
    assert any(flag.startswith("sensitive:") for flag in results["t1"]["flags"])
    assert results["t2"]["route"] == "review"
    assert results["t2"]["flags"] == []
    assert results["t2"]["confidence"] < 0.5
    assert results["t3"]["route"] == "async_review"
    assert 0.7 <= results["t3"]["confidence"] < 0.9
    pending = interrupt_ids(a)
    assert set(pending) == {"t1", "t2"}
    assert all(re.fullmatch(r"[0-9a-f]{16,}", i) for i in pending.values()), pending
    assert [(p["task_id"], p["review"]) for p in a["published"]] == [("t3", "async")]

    approved = cli.json(
        "resume", a["thread_id"], "--item", pending["t1"], "--decision", "approve",
        "--reviewer", "rosa",
    )  # fmt: skip
    assert approved["status"] == "interrupted"
    assert interrupt_ids(approved) == {"t2": pending["t2"]}  # still waiting, same id
    assert by_task(approved["published"])["t1"]["review"] == "human"
    assert by_task(approved["published"])["t3"]["review"] == "async"
    posts = by_task(cli.json("posts", "--thread", a["thread_id"]))
    assert set(posts) == {"t1", "t3"}
    assert (posts["t1"]["review"], posts["t1"]["review_status"]) == ("human", "approved")
    assert (posts["t3"]["review"], posts["t3"]["review_status"]) == ("async", "pending")
    assert posts["t1"]["text"] == results["t1"]["text"]


def _edit(cli: Cli) -> None:
    """B: edit publishes exactly the reviewer's text."""
    b = cli.json(
        "run", "--persona", "ava", "--goal", "posts on: thrifting and crypto investing tips"
    )
    assert b["status"] == "interrupted"
    pending = interrupt_ids(b)
    assert list(pending) == ["t2"]
    assert any(f.startswith("sensitive:") for f in b["interrupts"][0]["flags"])
    edited_text = "Mended, not spent: my $4 thrifted jacket got new buttons today. ♻️ #AI"
    edited = cli.json(
        "resume", b["thread_id"], "--item", pending["t2"], "--decision", "edit",
        "--text", edited_text, "--reviewer", "eve",
    )  # fmt: skip
    assert edited["status"] == "completed"
    assert by_task(edited["published"])["t2"]["review"] == "human"
    posts = by_task(cli.json("posts", "--thread", b["thread_id"]))
    assert posts["t2"]["text"] == edited_text
    assert posts["t2"]["review"] == "human"
    assert posts["t1"]["review"] == "none"


def _reject(cli: Cli) -> None:
    """C: reject publishes nothing for the task; the thread completes and lists it."""
    c = cli.json("run", "--persona", "ava", "--goal", "posts on: upcycling and a fast fashion haul")
    pending = interrupt_ids(c)
    assert list(pending) == ["t2"]
    rejected = cli.json(
        "resume", c["thread_id"], "--item", pending["t2"], "--decision", "reject",
        "--feedback", "We never promote hauls.", "--reviewer", "rex",
    )  # fmt: skip
    assert rejected["status"] == "completed"
    assert rejected["interrupts"] == []
    assert [p["task_id"] for p in rejected["published"]] == ["t1"]
    assert [(d["task_id"], d["reviewer"]) for d in rejected["discarded"]] == [("t2", "rex")]
    assert rejected["discarded"][0]["reason"] == "We never promote hauls."
    assert "1 discarded" in rejected["summary"]


def _retry(cli: Cli) -> None:
    """D: retry drafts and judges a second attempt from the feedback, which publishes."""
    d = cli.json(
        "run", "--persona", "ava", "--goal", "posts on: clothing repair and a fast fashion haul"
    )
    pending = interrupt_ids(d)
    assert list(pending) == ["t2"]
    retried = cli.json(
        "resume", d["thread_id"], "--item", pending["t2"], "--decision", "retry",
        "--feedback", RETRY_FEEDBACK, "--reviewer", "rita",
    )  # fmt: skip
    assert retried["status"] == "completed"
    attempts = [(r["task_id"], r["attempt"]) for r in retried["results"]]
    assert attempts == [("t1", 1), ("t2", 1), ("t2", 2)]
    second = retried["results"][-1]
    # Published without another interrupt (the DNLI scorer may still ask for an async
    # review: it reads "a secondhand haul instead" as close to the rejected hauls).
    assert second["route"] in ("publish", "async_review")
    assert second["confidence"] > 0.7 > retried["results"][1]["confidence"]
    assert "fast fashion haul" not in second["text"].lower()
    assert "thrifting" in second["text"].lower()
    assert by_task(retried["published"])["t2"]["attempt"] == 2
    audit = cli.json("audit", d["thread_id"])
    decided = events(audit, "decided", "t2")
    assert len(decided) == 1
    assert decided[0]["actor"] == "human:rita"
    assert decided[0]["payload"]["reviewer"] == "rita"
    assert decided[0]["payload"]["decision"] == "retry"
    assert decided[0]["payload"]["feedback"] == RETRY_FEEDBACK
    for event, attempts_seen in (("drafted", [1, 2]), ("judged", [1, 2]), ("published", [2])):
        assert [r["payload"]["attempt"] for r in events(audit, event, "t2")] == attempts_seen
    assert events(audit, "drafted", "t2")[1]["payload"]["feedback"] == RETRY_FEEDBACK
    assert events(audit, "judged", "t2")[1]["payload"]["verdict"]["route"] == second["route"]
    assert (
        events(audit, "published", "t2")[0]["payload"]["post_id"]
        == (by_task(retried["published"])["t2"]["post_id"])
    )


def test_routes_and_decisions(cli: Cli) -> None:
    """Every route of the gate and every decision, each decision in its own thread.

    The four threads are independent, so they run two at a time (concurrent commands on one
    embedded server are part of what this exercises)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(scenario, cli) for scenario in (_approve_one_of_two, _edit, _reject, _retry)
        ]
        for future in futures:
            future.result()


# -- 3. parallel interrupts, resumed one at a time ---------------------------------------------


def test_parallel_interrupts_resumed_one_at_a_time(cli: Cli) -> None:
    view = cli.json("run", "--persona", "ava", "--goal", THREE_REVIEWS_GOAL)
    tid = view["thread_id"]
    assert view["status"] == "interrupted"
    pending = interrupt_ids(view)
    assert set(pending) == {"t1", "t2", "t3"}
    assert len(set(pending.values())) == 3
    assert view["published"] == []

    published: list[str] = []
    # Out of order on purpose; by a unique 8-character prefix once.
    for task_id, decision in (("t2", "approve"), ("t3", "edit"), ("t1", "approve")):
        item = pending.pop(task_id)
        args = ["resume", tid, "--item", item if task_id != "t3" else item[:8]]
        args += ["--decision", decision, "--reviewer", "pat"]
        if decision == "edit":
            args += ["--text", "Edited by a human. #AI"]
        view = cli.json(*args)
        published.append(task_id)
        assert [p["task_id"] for p in view["published"]] == sorted(published), view
        assert all(p["review"] == "human" for p in view["published"])
        assert interrupt_ids(view) == pending  # the others keep their ids
        assert view["status"] == ("interrupted" if pending else "completed")
    assert "3 tasks: 3 published" in view["summary"]
    assert "3 approved by a reviewer" in view["summary"]
    posts = by_task(cli.json("posts", "--thread", tid))
    assert set(posts) == {"t1", "t2", "t3"}
    assert posts["t3"]["text"] == "Edited by a human. #AI"
    assert [t["thread_id"] for t in cli.json("threads", "--status", "completed")].count(tid) == 1


# -- 4. SIGKILL mid-run ---------------------------------------------------------------------


def _wait_for(condition: Any, what: str, timeout: float = 60.0, every: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"gave up after {timeout:.0f}s waiting for {what}")


def _thread_posts(conn: psycopg.Connection[Any], tid: str) -> dict[str, str]:
    rows = conn.execute(
        "SELECT o.task_id, p.post_id FROM chimera_posts p"
        " JOIN chimera_outbox o ON o.id = p.outbox_id WHERE o.thread_id = %s",
        (tid,),
    ).fetchall()
    return {task_id: post_id for task_id, post_id in rows}


def _embedded_url(cli: Cli) -> str | None:
    """The URL of the embedded server a running command started, without attaching to it."""
    status = EmbeddedPostgres(cli.home).status()
    return status["uri"] and re.sub(r"/postgres\?", f"/{EMBEDDED_DB}?", status["uri"])


def test_sigkill_mid_run_continues(cli: Cli, tmp_path: Path) -> None:
    """Kill ``chimera run`` after some posts went out; ``run --thread`` finishes the rest.

    The five task branches run in parallel and publish within ~30 ms of each other, so no
    latency makes "some but not all published" reliable by timing. Instead the test holds
    t3's publish: it inserts t3's outbox row (same idempotency key) in a transaction it
    leaves open, so the CLI's INSERT ... ON CONFLICT waits on it while t1, t2, t4 and t5
    publish. The kill then lands with exactly 4 of 5 posts out and t3's publish in flight;
    the test rolls its row back afterwards.
    """
    tid = new_thread("kill")
    cli.json("threads")  # the tables exist (and, embedded, the server stops again)
    key = f"{tid}:t3:1"
    hold_sql = (
        "INSERT INTO chimera_outbox (idempotency_key, thread_id, task_id, attempt, persona_id,"
        " handle, platform, text, review, confidence)"
        " VALUES (%s, %s, 't3', 1, 'ava', '@ava.rewears', 'x', 'held by the test', 'none', 1)"
    )
    holder: psycopg.Connection[Any] | None = None
    watcher: psycopg.Connection[Any] | None = None
    url = cli.url
    if url is not None:
        holder = psycopg.connect(url)  # not autocommit: the row stays uncommitted
        holder.execute(hold_sql, (key, tid))
    out, err = tmp_path / "run.out", tmp_path / "run.err"
    began = time.monotonic()
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = cli.popen(
            "run", "--persona", "ava", "--goal", KILL_GOAL, "--thread", tid, "--json",
            stdout=stdout, stderr=stderr, CHIMERA_OFFLINE_LATENCY=KILL_LATENCY,
        )  # fmt: skip

    def running(value: Any) -> Any:
        if proc.poll() is not None:
            pytest.fail(
                f"chimera run exited ({proc.returncode}) before the kill:\n"
                f"{out.read_text()}\n{err.read_text()}"
            )
        return value

    try:
        postmaster_pid = None
        if url is None:
            # The command starts the server itself; hold t3 as soon as it accepts connections
            # (the run needs three model calls, 3 x KILL_LATENCY, before anything publishes).
            url = _wait_for(lambda: running(_embedded_url(cli)), "the embedded server")
            postmaster_pid = EmbeddedPostgres(cli.home).status()["pid"]
            holder = _wait_for(lambda: running(_try_connect(url)), "a connection to it")
            holder.execute(hold_sql, (key, tid))
        held_at = time.monotonic()
        assert holder is not None
        watcher = psycopg.connect(url, autocommit=True)

        def four_posts() -> dict[str, str] | None:
            posts = _thread_posts(watcher, tid)
            return running(posts if len(posts) >= 4 else None)

        before = _wait_for(four_posts, "4 of the 5 posts")
        published_at = time.monotonic()
        assert set(before) == {"t1", "t2", "t4", "t5"}
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=TIMEOUT) == -signal.SIGKILL
        print(
            f"[{cli.kind}] t3 held {held_at - began:.2f}s after the start; "
            f"4 posts out {published_at - held_at:.2f}s later; killed"
        )
        # Nothing more was published after the kill (t3 still waits on the held row).
        assert _thread_posts(watcher, tid) == before
        if cli.embedded:
            # The server outlived its owner's SIGKILL.
            status = EmbeddedPostgres(cli.home).status()
            assert status["running"] and status["pid"] == postmaster_pid, status
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=TIMEOUT)
        if holder is not None:
            holder.rollback()  # t3's outbox row was never real
            holder.close()
        if watcher is not None:
            watcher.close()

    # Continue. Embedded: the next command re-attaches to the orphaned server (CHIMERA_DEBUG
    # makes it log that), and persona and goal are left out; external: they are repeated.
    args = ["run", "--thread", tid]
    if not cli.embedded:
        args += ["--persona", "ava", "--goal", KILL_GOAL]
    debug = {"CHIMERA_DEBUG": "1"} if cli.embedded else {}
    done = cli.call(*args, "--json", env=debug)
    view = done.json()
    assert view["status"] == "completed", view
    assert view["thread_id"] == tid
    assert len(view["tasks"]) == 5
    published = by_task(view["published"])
    assert sorted(published) == ["t1", "t2", "t3", "t4", "t5"]
    assert len(view["published"]) == 5
    assert {t: published[t]["post_id"] for t in before} == before  # same posts, not new ones
    if cli.embedded:
        assert f"Attached to embedded PostgreSQL (pid {postmaster_pid})" in done.stderr, (
            done.describe()
        )
        dropped = re.search(r"died without cleanup: \[([\d, ]*)\]", done.stderr)
        assert dropped and str(proc.pid) in dropped.group(1).split(", "), done.describe()
        # ... so the continuing command, the last live handle, stopped the server on exit.
        assert not EmbeddedPostgres(cli.home).status()["running"]

    posts = cli.json("posts", "--thread", tid)
    assert len(posts) == 5
    assert sorted((p["task_id"], p["attempt"]) for p in posts) == [
        (f"t{i}", 1) for i in range(1, 6)
    ]
    assert {p["task_id"]: p["post_id"] for p in posts if p["task_id"] in before} == before
    with cli.connect() as conn:
        keys = conn.execute(
            "SELECT idempotency_key, status FROM chimera_outbox WHERE thread_id = %s", (tid,)
        ).fetchall()
    assert sorted(k for k, _ in keys) == [f"{tid}:t{i}:1" for i in range(1, 6)]
    assert {s for _, s in keys} == {"delivered"}


def _try_connect(url: str) -> psycopg.Connection[Any] | None:
    try:
        return psycopg.connect(url, connect_timeout=2)
    except psycopg.OperationalError:
        return None


# -- 5. bad input ---------------------------------------------------------------------------


def _state(cli: Cli, waiting: str) -> dict[str, Any]:
    """Everything a bad command could have touched: threads, posts, the waiting thread."""
    calls = {"threads": ("threads",), "posts": ("posts",), waiting: ("show", waiting, "--history")}
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(cli.json, *args) for name, args in calls.items()}
        return {name: future.result() for name, future in futures.items()}


def test_bad_input_exits_2_and_changes_nothing(
    cli: Cli, happy: dict[str, Any], tmp_path: Path
) -> None:
    completed = happy["thread_id"]
    waiting = cli.json("run", "--persona", "ava", "--goal", "posts on: thrifting and the election")
    assert waiting["status"] == "interrupted"
    tid = waiting["thread_id"]
    item = waiting["interrupts"][0]["id"]

    soul = (PROJECT_ROOT / "personas" / "ava" / "SOUL.md").read_text(encoding="utf-8")
    bad_soul = tmp_path / "broken" / "SOUL.md"
    bad_soul.parent.mkdir()
    bad_soul.write_text(soul.replace('handle: "@ava.rewears"', "handle: ava.rewears"))

    before = _state(cli, tid)
    statuses = {t["thread_id"]: t["status"] for t in before["threads"]}
    assert (statuses[completed], statuses[tid]) == ("completed", "interrupted")
    assert before["threads"][0]["thread_id"] == tid  # newest first
    cases: dict[str, tuple[list[str], list[str]]] = {
        "unknown persona": (
            ["run", "--persona", "zed", "--goal", "posts on: thrifting and upcycling"],
            ["'zed'", "known personas: "],
        ),
        "empty goal": (["run", "--persona", "ava", "--goal", "   "], ["goal is empty"]),
        "completed thread": (
            ["resume", completed, "--item", "whatever", "--decision", "approve"],
            [completed, "not waiting", "completed"],
        ),
        "unknown thread": (
            ["resume", "th-nosuchthing", "--item", item, "--decision", "approve"],
            ["unknown thread 'th-nosuchthing'"],
        ),
        "unknown interrupt": (
            ["resume", tid, "--item", "0123456789abcdef", "--decision", "approve"],
            ["0123456789abcdef", f"pending: {item}"],
        ),
        "edit without text": (
            ["resume", tid, "--item", item, "--decision", "edit"],
            ["edit", "--text"],
        ),
        "invalid decision": (
            ["resume", tid, "--item", item, "--decision", "maybe"],
            ["'maybe'", "approve, edit, reject, retry"],
        ),
        "bad status": (["threads", "--status", "bogus"], ["'bogus'", "running, interrupted"]),
        "malformed SOUL.md": (
            ["run", "--persona", str(bad_soul), "--goal", "posts on: thrifting and upcycling"],
            [str(bad_soul), "'handle'", "'@'"],
        ),
    }
    # Independent, read-only commands: two at a time, to keep the module quick.
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            name: pool.submit(cli.call, *args, expect=None) for name, (args, _) in cases.items()
        }
        results = {name: future.result() for name, future in futures.items()}
    for name, (_, wanted) in cases.items():
        result = results[name]
        assert result.returncode == 2, f"{name}:\n{result.describe()}"
        assert result.stdout == "", f"{name}:\n{result.describe()}"
        message = " ".join(result.stderr.split())
        assert message.startswith("error:"), f"{name}:\n{result.describe()}"
        assert "Traceback" not in result.stderr
        for text in wanted:
            assert text in message, f"{name}: {text!r} not in {message!r}"
    known = " ".join(results["unknown persona"].stderr.split()).split("known personas:")[1]
    assert {"ava", "kai"} <= set(re.findall(r"[a-z0-9_-]+", known)), known

    # Under --json the same errors are one JSON object on stderr, with the same exit status.
    for name in ("unknown persona", "unknown interrupt", "bad status"):
        args, wanted = cases[name]
        result = cli.call(*args, "--json", expect=2)
        assert result.stdout == "", result.describe()
        error = json.loads(result.stderr)["error"]
        assert error["exit"] == 2 and error["kind"] == "input", result.describe()
        for text in wanted:
            assert text in error["message"], f"{name}: {text!r} not in {error['message']!r}"

    after = _state(cli, tid)
    assert after == before


def test_error_messages_are_printed_verbatim(cli: Cli, tmp_path: Path) -> None:
    soul = (PROJECT_ROOT / "personas" / "ava" / "SOUL.md").read_text(encoding="utf-8")
    bad_soul = tmp_path / "SOUL.md"
    bad_soul.write_text(soul.replace("platforms: [x, instagram]", "platforms: x"))
    result = cli.call("run", "--persona", str(bad_soul), "--goal", "posts on: a and b", expect=2)
    assert "e.g. [a, b] (got 'x')" in result.stderr, result.describe()


# -- 6. secrets -----------------------------------------------------------------------------


def test_secrets_stay_out_of_output_audit_and_checkpoints(cli: Cli) -> None:
    secret_env = {"OPENAI_API_KEY": SECRET}
    tid = new_thread("secret")
    run = cli.call(
        "run", "--persona", "ava", "--goal", "posts on: thrifting and the election",
        "--thread", tid, env=secret_env,
    )  # fmt: skip
    assert tid in run.stdout
    assert "offline" in run.stdout  # the key does not switch the model
    show = cli.call("show", tid, "--history", "--json", env=secret_env)
    view = show.json()
    assert view["model"] == "offline"
    assert view["status"] == "interrupted"
    assert view["checkpoints"]
    item = view["interrupts"][0]["id"]
    resume = cli.call(
        "resume", tid, "--item", item, "--decision", "approve", "--json", env=secret_env
    )
    assert resume.json()["status"] == "completed"
    audit = cli.call("audit", tid, "--json", env=secret_env)
    assert len(audit.json()) > 5
    posts = cli.call("posts", "--thread", tid, "--json", env=secret_env)
    assert len(posts.json()) == 2
    for result in (run, show, resume, audit, posts):
        assert "SECRET-123456789" not in result.stdout + result.stderr, result.describe()

    needle = "SECRET-123456789"
    with cli.connect() as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' ORDER BY 1"
            ).fetchall()
        ]
        assert {"checkpoints", "checkpoint_blobs", "checkpoint_writes"} <= set(tables)
        assert "chimera_audit" in tables
        checkpoint_rows = conn.execute(
            "SELECT count(*) FROM checkpoints WHERE thread_id = %s", (tid,)
        ).fetchone()
        assert checkpoint_rows is not None and checkpoint_rows[0] > 0
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"').fetchall():
                for value in row:
                    raw = bytes(value) if isinstance(value, bytes | memoryview) else None
                    if raw is not None:
                        assert needle.encode() not in raw, (table, raw[:200])
                    else:
                        assert needle not in str(value), (table, row)
