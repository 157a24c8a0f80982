"""Fault trials with real processes: concurrent first starts, SIGKILL of run and resume at
random moments (each followed by a continue), a PostgreSQL stopped and restarted mid-run,
and a provider that echoes the API key in its error bodies. Every trial checks the
thread invariants (support/invariants.py)."""

from __future__ import annotations

import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from chimera.adapters.embedded_postgres.uris import ensure_database
from support.databases import throwaway_database
from support.environment import subprocess_env
from support.invariants import check_thread
from support.openai_server import OpenAICompatibleServer, RecordedRequest, Reply, error
from support.runner_worker import answer, call, fork_call

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHIMERA = Path(sys.executable).parent / "chimera"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
KILL_TRIALS = int(os.environ.get("FAULT_KILL_TRIALS", "20"))
STARTERS = 4
LEASE = "2"  # seconds: a killed process's thread is stalled (and taken over) quickly
GOAL = "posts on: thrifting, vaccines for kids and capsule wardrobes"
CANARY = "sk-canary-" + secrets.token_hex(12)


def _cli_env(**extra: str) -> dict[str, str]:
    env = subprocess_env()
    env["CHIMERA_OFFLINE_LATENCY"] = "0"
    env.update(extra)
    return env


@pytest.fixture
def fresh_db(external_server: str) -> Iterator[str]:
    with throwaway_database(external_server, "chimera_faults") as url:
        yield url


# -- N concurrent first starts ---------------------------------------------------------------


def _start_all(env: dict[str, str], cwd: Path) -> list[subprocess.CompletedProcess[str]]:
    procs = [
        subprocess.Popen(
            [str(CHIMERA), "run", "--persona", "ava", "--goal", GOAL, "--json"],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(STARTERS)
    ]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def test_concurrent_first_starts_on_a_fresh_home_and_database(
    fresh_db: str, tmp_path: Path
) -> None:
    home = Path(tempfile.mkdtemp(prefix="chimera-faults-home-"))
    try:
        runs = {
            "embedded": _start_all(_cli_env(CHIMERA_HOME=str(home)), tmp_path),
            "external": _start_all(
                _cli_env(CHIMERA_DATABASE_URL=fresh_db, CHIMERA_MEMORY_URL="memory"), tmp_path
            ),
        }
    finally:
        subprocess.run([str(CHIMERA), "db", "stop"], env=_cli_env(CHIMERA_HOME=str(home)),
                       capture_output=True, timeout=120)  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)
    for kind, results in runs.items():
        for r in results:
            assert r.returncode == 0, f"{kind}: exit {r.returncode}\n{r.stderr[-2000:]}"
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        threads = [r[0] for r in conn.execute("SELECT thread_id FROM chimera_threads")]
        assert len(threads) == STARTERS
        for thread_id in threads:
            assert check_thread(conn, thread_id) == [], thread_id


# -- SIGKILL of run and resume at random moments -----------------------------------------


def _pending(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in view.get("interrupts", []) if i["attempt"] == 1]


def test_sigkill_of_run_and_resume_then_continue(fresh_db: str) -> None:
    env = {
        "CHIMERA_DATABASE_URL": fresh_db,
        "CHIMERA_LEASE_SECONDS": LEASE,
        "CHIMERA_OFFLINE_LATENCY": "0.15",
    }
    quick = {**env, "CHIMERA_OFFLINE_LATENCY": "0"}
    rng = random.Random(11)
    threads: list[str] = []
    kills = {"run": 0, "resume": 0}
    lifetimes: dict[str, list[float]] = {"run": [2.0], "resume": [1.0]}
    waiting: list[tuple[str, dict[str, Any]]] = []
    for trial in range(KILL_TRIALS):
        kind = "resume" if trial % 2 and waiting else "run"
        if kind == "run":
            thread_id = f"kill-{trial}-{secrets.token_hex(3)}"
            proc, conn = fork_call(env, "run", GOAL, "ava", thread_id)
        else:
            thread_id, item = waiting.pop(0)
            decision = rng.choice(["approve", "reject", "retry", "edit"])
            extra = {"text": f"edited in trial {trial} #AI"} if decision == "edit" else {}
            proc, conn = fork_call(
                env, "resume", thread_id, item["id"], decision, reviewer="killed", **extra
            )
        # A moment within this kind of call's lifetime as measured on this machine, so the
        # trials kill mid-way on a fast machine and a slow one alike.
        began = time.monotonic()
        proc.join(rng.uniform(0.05, 0.9 * statistics.median(lifetimes[kind])))
        killed = proc.is_alive()
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
            kills[kind] += 1
        else:
            lifetimes[kind].append(time.monotonic() - began)
        proc.join(30)
        conn.close()
        # A thread whose process died is stalled once its lease runs out; then a continue.
        time.sleep(float(LEASE) + 0.5)
        with psycopg.connect(fresh_db, autocommit=True) as db:
            row = db.execute(
                "SELECT status, lease_expires_at < now() FROM chimera_threads WHERE thread_id = %s",
                (thread_id,),
            ).fetchone()
        if row is None:  # killed before the thread was registered: nothing to continue
            continue
        if thread_id not in threads:
            threads.append(thread_id)
        status, view = call(quick, "show", thread_id)  # applies a recorded decision
        assert status == "ok", view
        if view["status"] in ("stalled", "running", "failed"):
            status, view = call(quick, "run", None, None, thread_id)
            assert status == "ok", f"trial {trial}: continue failed: {view}"
        assert view["status"] in ("interrupted", "completed"), f"trial {trial}: {view['status']}"
        if kind == "resume":
            # The killed reviewer's decision, if recorded, stands: a rival one is refused.
            status, result = call(quick, "resume", thread_id, item["id"], "reject",
                                  reviewer="second")  # fmt: skip
            if status == "input_error" and "already decided" in result:
                assert "by killed" in result, result
        with psycopg.connect(fresh_db, autocommit=True) as db:
            assert check_thread(db, thread_id) == [], f"trial {trial} ({kind}) on {thread_id}"
        status, view = call(quick, "show", thread_id)
        waiting.extend((thread_id, i) for i in _pending(view))
    with psycopg.connect(fresh_db, autocommit=True) as db:
        for thread_id in threads:
            assert check_thread(db, thread_id) == [], thread_id
    print(f"SIGKILL trials: {KILL_TRIALS}, killed mid-way: {kills}")
    assert kills["run"] >= 3 and kills["resume"] >= 3, kills


# -- a PostgreSQL stopped and restarted mid-run ----------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True,
                          text=True, timeout=120, check=True)  # fmt: skip


@pytest.fixture
def throwaway_postgres() -> Iterator[tuple[str, Any]]:
    """A PostgreSQL of this test's own, on its own port, that it may stop and start."""
    if not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
        pytest.fail("PostgreSQL 15 binaries (initdb, pg_ctl) and runuser are needed")
    folder = Path(tempfile.mkdtemp(prefix="chimera-throwaway-pg-"))
    os.chmod(folder, 0o777)
    data = folder / "data"
    port = _free_port()
    _as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")

    def ctl(action: str) -> None:
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-m", "fast",
                     "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1",
                     "-l", str(folder / "log"), action)  # fmt: skip

    ctl("start")
    try:
        url = ensure_database(f"postgresql://postgres@127.0.0.1:{port}/postgres", "chimera")
        yield url, ctl
    finally:
        with_stop = subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"),
                                    "-D", str(data), "-m", "immediate", "stop"],
                                   capture_output=True, timeout=60)  # fmt: skip
        del with_stop
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_running(url: str, thread_id: str, proc: Any) -> None:
    """Returns once the run has registered its thread and is inside its first model call,
    so that what the test does to the database next happens mid-run."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.is_alive(), f"the run of {thread_id} ended before the fault"
        with psycopg.connect(url, autocommit=True) as db:
            row = db.execute(
                "SELECT status FROM chimera_threads WHERE thread_id = %s", (thread_id,)
            ).fetchone()
        if row is not None and row[0] == "running":
            time.sleep(0.3)
            return
        time.sleep(0.1)
    raise AssertionError(f"the run of {thread_id} never started")


def test_postgres_restart_is_ridden_out_and_a_lost_one_fails_fast(
    throwaway_postgres: tuple[str, Any],
) -> None:
    url, ctl = throwaway_postgres
    # Each model call takes a second, so a run spans several seconds after it has begun.
    env = {"CHIMERA_DATABASE_URL": url, "CHIMERA_OFFLINE_LATENCY": "1.0",
           "CHIMERA_LEASE_SECONDS": LEASE}  # fmt: skip
    call({**env, "CHIMERA_OFFLINE_LATENCY": "0"}, "list_threads")  # set up the schema first
    # A one-second restart in the middle of a run: the run completes (or waits on reviews).
    proc, conn = fork_call(env, "run", GOAL, "ava", "restart-1")
    _wait_until_running(url, "restart-1", proc)
    ctl("stop")
    time.sleep(1.0)
    ctl("start")
    status, view = answer(proc, conn)
    assert status == "ok", view
    assert view["status"] in ("interrupted", "completed"), view["status"]
    with psycopg.connect(url, autocommit=True) as db:
        assert check_thread(db, "restart-1") == []
    # A database that stays away: the run fails within seconds with what to do.
    proc, conn = fork_call(env, "run", GOAL, "ava", "lost-1")
    _wait_until_running(url, "lost-1", proc)
    ctl("stop")
    began = time.monotonic()
    status, message = answer(proc, conn, timeout=60)
    took = time.monotonic() - began
    ctl("start")
    assert status == "error" and "DatabaseUnavailable" in message, message
    assert "chimera run --thread lost-1" in message, message
    assert took < 15, f"a lost database took {took:.1f}s to report"
    # The thread continues once the database is back.
    time.sleep(float(LEASE) + 0.5)
    status, view = call({**env, "CHIMERA_OFFLINE_LATENCY": "0"}, "run", None, None, "lost-1")
    assert status == "ok", view
    with psycopg.connect(url, autocommit=True) as db:
        assert check_thread(db, "lost-1") == []


# -- a provider that echoes the key ------------------------------------------------------------


def test_a_key_echoed_by_the_provider_is_nowhere(fresh_db: str, tmp_path: Path) -> None:
    def echo(request: RecordedRequest) -> Reply:
        return error(401, f"Incorrect API key provided: {request.bearer_token}")

    home = tmp_path / "home"
    outputs: list[str] = []
    with OpenAICompatibleServer() as server:
        server.default = echo
        env = _cli_env(
            CHIMERA_DATABASE_URL=fresh_db,
            CHIMERA_MEMORY_URL="memory",
            CHIMERA_HOME=str(home),
            CHIMERA_MODEL="openai:gpt-test",
            CHIMERA_OPENAI_API_KEY=CANARY,
            CHIMERA_OPENAI_BASE_URL=server.base_url,
        )
        for debug in ("", "1"):
            thread_id = f"canary-{debug or 'plain'}"
            run_env = {**env, "CHIMERA_DEBUG": debug} if debug else env
            for args in (
                ["run", "--persona", "ava", "--goal", GOAL, "--thread", thread_id],
                ["show", thread_id, "--json"],
                ["threads", "--json"],
                ["audit", thread_id, "--json"],
            ):
                r = subprocess.run([str(CHIMERA), *args], env=run_env, cwd=tmp_path,
                                   capture_output=True, text=True, timeout=300)  # fmt: skip
                outputs += [r.stdout, r.stderr]
        assert any(req.bearer_token == CANARY for req in server.requests), "key never sent"
    assert any("401" in o or "Incorrect API key" in o for o in outputs), outputs[:2]
    for text in outputs:
        assert CANARY not in text, text[-2000:]
    dump = subprocess.run([str(PG_BIN / "pg_dump"), fresh_db], capture_output=True,
                          timeout=120, check=True).stdout  # fmt: skip
    assert b"checkpoint_writes" in dump
    assert CANARY.encode() not in dump
    for path in home.rglob("*") if home.exists() else []:
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
