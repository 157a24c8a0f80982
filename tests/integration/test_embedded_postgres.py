"""The zero-config database: Chimera's embedded PostgreSQL, its handles and its crashes.

Each test gets its own home folder (and so its own server). Child processes are plain
``sys.executable`` runs, so their atexit handlers fire exactly as in a real CLI process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest

from chimera.adapters.embedded_postgres.errors import EmbeddedPostgresError
from chimera.adapters.embedded_postgres.server import EmbeddedPostgres
from chimera.adapters.embedded_postgres.uris import ensure_database
from chimera.domain.errors import ChimeraError, ConfigError

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# A handle process: starts (or attaches to) the server, optionally writes a row, reports its
# URI and the server's pid on one JSON line, then holds its handle until stdin closes.
CHILD = """
import json, sys
from pathlib import Path

import psycopg

from chimera.adapters.embedded_postgres.server import EmbeddedPostgres

home, mode = Path(sys.argv[1]), sys.argv[2]
db = EmbeddedPostgres(home)
uri = db.start()
if mode == "write":
    with psycopg.connect(uri) as conn:
        conn.execute("CREATE TABLE survivors (name text)")
        conn.execute("INSERT INTO survivors VALUES ('still here')")
print(json.dumps({"uri": uri, "pid": db.status()["pid"]}), flush=True)
if mode != "once":
    sys.stdin.read()
"""


class Children:
    """Child handle processes of one test; whatever is still alive is killed at the end."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[str]] = []

    def spawn(self, home: Path, mode: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(home), mode],
            cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        return proc

    @staticmethod
    def report(proc: subprocess.Popen[str]) -> dict[str, Any]:
        """The child's JSON line; fails with its stderr if it died first."""
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            _, err = proc.communicate(timeout=10)
            pytest.fail(f"child exited with {proc.returncode} before reporting:\n{err}")
        report: dict[str, Any] = json.loads(line)
        return report

    @staticmethod
    def finish(proc: subprocess.Popen[str]) -> None:
        """Let a holding child exit normally (its atexit runs) and check it did."""
        _, err = proc.communicate(input="", timeout=30)
        assert proc.returncode == 0, err

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    """Live postgres processes of ``data_dir``: the postmaster and its children, which all
    chdir into it (only the postmaster keeps ``-D <data_dir>`` in its command line)."""
    found = []
    for proc in psutil.process_iter(["name", "cwd", "cmdline", "status"]):
        info = proc.info
        if info["name"] != "postgres" or info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if info["cwd"] == str(data_dir) or str(data_dir) in (info["cmdline"] or []):
            found.append(proc)
    return found


def postmaster_pids(data_dir: Path) -> list[int]:
    return [p.pid for p in postgres_processes(data_dir) if str(data_dir) in p.info["cmdline"]]


def handles(db: EmbeddedPostgres) -> list[int]:
    pids: list[int] = json.loads((db.data_dir / ".handle_pids.json").read_text())
    return pids


def wait_until_stopped(db: EmbeddedPostgres, patience: float = 10.0) -> None:
    deadline = time.monotonic() + patience
    while db.status()["running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert db.status()["running"] is False


@pytest.fixture
def children() -> Iterator[Children]:
    kids = Children()
    yield kids
    kids.kill_all()


@pytest.fixture
def db(children: Children) -> Iterator[EmbeddedPostgres]:
    """An embedded server home of this test's own; no server may outlive the test.

    Not under tmp_path: the library opens every parent folder for its `embedded_postgres`
    system user, and each new pytest session (another engineer's, say) makes
    /tmp/pytest-of-<user> private again, so a concurrent `pg_ctl start` below it fails with
    "Permission denied". A private mkdtemp folder directly in /tmp is ours alone.
    """
    base = Path(tempfile.mkdtemp(prefix="chimera-embedded-test-"))
    server = EmbeddedPostgres(base / "home")
    yield server
    children.kill_all()  # before stopping: a holding child must not restart anything
    server.stop()
    deadline = time.monotonic() + 5
    while postgres_processes(server.data_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    leaked = postgres_processes(server.data_dir)
    shutil.rmtree(base, ignore_errors=True)
    assert leaked == [], "a postgres process outlived the test"


def test_start_gives_a_uri_with_pgvector(db: EmbeddedPostgres) -> None:
    assert db.status() == {
        "running": False,
        "pid": None,
        "data_dir": str(db.data_dir),
        "uri": None,
    }

    began = time.monotonic()
    uri = db.start()
    cold = time.monotonic() - began
    began = time.monotonic()
    assert db.start() == uri  # idempotent within a process
    again = time.monotonic() - began
    print(f"cold start {cold:.2f}s, second start() {again * 1000:.1f}ms")

    with psycopg.connect(uri) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        distance = conn.execute("SELECT '[1,2,3]'::vector <-> '[1,2,4]'::vector").fetchone()
        assert distance == (1.0,)

    status = db.status()
    assert status["running"] is True
    assert status["uri"] == uri
    assert postmaster_pids(db.data_dir) == [status["pid"]]
    assert handles(db) == [os.getpid()]
    assert oct(db.run_dir.stat().st_mode & 0o777) == "0o700"

    # A fresh database per session, created once even when asked twice.
    fresh = ensure_database(uri, "chimera test")
    assert ensure_database(uri, "chimera test") == fresh
    assert db.uri("chimera test") == fresh
    with psycopg.connect(fresh) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("chimera test",)


def test_second_process_attaches_to_the_same_server(
    db: EmbeddedPostgres, children: Children
) -> None:
    db.start()
    pid = db.status()["pid"]

    began = time.monotonic()
    child = children.spawn(db.home, "once")
    report = children.report(child)
    children.finish(child)
    print(f"child process start()+attach+exit {time.monotonic() - began:.2f}s")

    assert report["pid"] == pid
    assert report["uri"] == db.uri()
    # The child's normal exit dropped its handle but left ours, so the server runs on.
    assert db.status()["pid"] == pid
    assert handles(db) == [os.getpid()]


def test_concurrent_cold_starts_share_one_server(db: EmbeddedPostgres, children: Children) -> None:
    first, second = children.spawn(db.home, "hold"), children.spawn(db.home, "hold")
    reports = [children.report(first), children.report(second)]
    assert reports[0]["pid"] == reports[1]["pid"] == db.status()["pid"]
    assert sorted(handles(db)) == sorted([first.pid, second.pid])

    children.finish(first)
    assert db.status()["running"] is True
    children.finish(second)  # the last handle process out stops the server
    assert db.status()["running"] is False


def test_server_survives_a_crashed_owner(db: EmbeddedPostgres, children: Children) -> None:
    owner = children.spawn(db.home, "write")
    report = children.report(owner)
    owner.send_signal(signal.SIGKILL)
    owner.wait(timeout=10)

    # No atexit ran: the server is still up, and the dead pid is still listed.
    assert db.status()["pid"] == report["pid"]
    assert handles(db) == [owner.pid]

    began = time.monotonic()
    uri = db.start()
    print(f"re-attach after crash {time.monotonic() - began:.2f}s")
    assert uri == report["uri"]
    assert db.status()["pid"] == report["pid"]
    assert handles(db) == [os.getpid()]  # the dead owner was pruned
    with psycopg.connect(uri) as conn:
        assert conn.execute("SELECT name FROM survivors").fetchall() == [("still here",)]

    # Hand over to a child, which must then stop the server when it exits normally.
    heir = children.spawn(db.home, "hold")
    assert children.report(heir)["pid"] == report["pid"]
    db.release()
    assert db.status()["running"] is True
    assert handles(db) == [heir.pid]
    children.finish(heir)
    assert db.status()["running"] is False
    assert postgres_processes(db.data_dir) == []


def test_stop_overrides_other_handles_and_start_restarts(
    db: EmbeddedPostgres, children: Children
) -> None:
    db.start()
    holder = children.spawn(db.home, "hold")
    old_pid = children.report(holder)["pid"]

    db.stop()
    assert db.status() == {
        "running": False,
        "pid": None,
        "data_dir": str(db.data_dir),
        "uri": None,
    }
    with pytest.raises(EmbeddedPostgresError, match="not running"):
        db.uri()
    assert handles(db) == []
    children.finish(holder)  # its exit finds the server gone, and copes

    began = time.monotonic()
    uri = db.start()
    print(f"restart after stop {time.monotonic() - began:.2f}s")
    new_pid = db.status()["pid"]
    assert new_pid is not None and new_pid != old_pid
    with psycopg.connect(uri) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)

    db.stop()
    db.stop()  # stopping a stopped server is fine
    assert db.status()["running"] is False


def test_home_under_a_regular_file_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    db = EmbeddedPostgres(blocker / "home")

    assert db.status()["running"] is False  # status never creates anything
    with pytest.raises(ConfigError, match="not-a-folder") as caught:
        db.start()
    assert isinstance(caught.value, ChimeraError)
    assert "CHIMERA_DATABASE_URL" in str(caught.value)
    db.stop()  # nothing to stop, no error


def test_home_with_a_space_is_a_config_error(tmp_path: Path) -> None:
    # The library passes the socket folder to pg_ctl's shell unquoted.
    with pytest.raises(ConfigError, match="' '"):
        EmbeddedPostgres(tmp_path / "my home").start()
    assert not (tmp_path / "my home" / "pgdata").exists()


def test_failed_start_quotes_the_server_log(db: EmbeddedPostgres) -> None:
    db.start()
    db.stop()
    conf = db.data_dir / "postgresql.conf"
    original = conf.read_text()
    conf.write_text(original + "\nshared_buffers = 'lots'\n")

    with pytest.raises(EmbeddedPostgresError) as caught:
        db.start()
    message = str(caught.value)
    assert "failed to start" in message
    assert str(db.data_dir / "log") in message
    assert "shared_buffers" in message
    assert db.status()["running"] is False

    conf.write_text(original)
    with psycopg.connect(db.start()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_stale_pid_file_naming_another_process_is_ignored(db: EmbeddedPostgres) -> None:
    db.start()
    pidfile = db.data_dir / "postmaster.pid"
    lines = pidfile.read_text().splitlines()
    db.stop()

    # After a crash and a reboot the recorded pid can belong to anything.
    impostor = subprocess.Popen(["sleep", "30"])
    try:
        pidfile.write_text("\n".join([str(impostor.pid), *lines[1:]]) + "\n")
        assert db.status()["running"] is False
        db.start()
        assert db.status()["pid"] not in (None, impostor.pid)
        assert impostor.poll() is None  # left alone
    finally:
        impostor.kill()
        impostor.wait()
