"""One writer at a time: an exclusive lock on an index, across processes.

Two ``rag index`` runs, or an upload to ``rag serve`` during a ``rag index``, would otherwise both
build from the corpus and race to publish. The lock is ``fcntl.flock`` on a file beside the index:
the kernel drops it when its holder exits, however it exits, so a lock left by a killed process
(``kill -9``) is never stale. The file also says who holds it (process, host, command, since when),
which the second writer reports while it waits, and in its error when it gives up.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "write.lock"
>>> with IndexLock(path, wait=0):
...     holder(path)["pid"] == os.getpid()
True
>>> holder(path) is None
True
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rag.errors import StoreError

log = logging.getLogger(__name__)

#: Seconds between two tries while another process writes.
POLL_S = 0.2


class IndexBusyError(StoreError):
    """Another process holds the index's write lock (and did not release it in time)."""


def holder(path: Path) -> dict[str, Any] | None:
    """Who holds the lock at ``path`` now (None: nobody; a dead holder's record is ignored)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:         # held: the record is the holder's
            raw = os.read(fd, 4096)
            try:
                return json.loads(raw.decode("utf-8") or "{}") or {"pid": "?"}
            except ValueError:
                return {"pid": "?"}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def describe(record: dict[str, Any] | None) -> str:
    """One line about a holder: ``pid 123 on host (rag index), since 2026-12-01 11:02:03 UTC``."""
    if not record:
        return "another process"
    command = f" ({record['command']})" if record.get("command") else ""
    since = f", since {record['since']}" if record.get("since") else ""
    return f"pid {record.get('pid', '?')} on {record.get('host', '?')}{command}{since}"


class IndexLock:
    """The exclusive write lock of one index (a context manager).

    Args:
        path: the lock file (created if missing).
        wait: seconds to wait for another writer (0: do not wait).
        on_wait: told once, with a line naming the holder, when this writer has to wait.
    """

    def __init__(self, path: Path | str, wait: float = 600.0, on_wait: Callable[[str], None] | None = None):
        self.path = Path(path)
        self.wait = wait
        self.on_wait = on_wait
        self._fd: int | None = None

    def __enter__(self) -> "IndexLock":
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot write the index in {self.path.parent}: {exc.strerror or exc}") from None
        deadline = time.monotonic() + self.wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                who = describe(_read(fd))
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise IndexBusyError(f"the index {self.path.parent} is being written by {who}; "
                                         "try again when it has finished") from None
                if not told:
                    message = f"waiting for the index {self.path.parent}: {who} is writing it"
                    log.info(message)
                    if self.on_wait is not None:
                        self.on_wait(message)
                    told = True
                time.sleep(POLL_S)
        record = {"pid": os.getpid(), "host": socket.gethostname(), "command": _command(),
                  "since": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode("utf-8"), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)         # nobody holds it: no record
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _read(fd: int) -> dict[str, Any] | None:
    try:
        raw = os.pread(fd, 4096, 0)
        return json.loads(raw.decode("utf-8")) if raw else None
    except (OSError, ValueError):
        return None


def _command() -> str:
    """``rag index`` or ``rag serve`` (the program and its first words; no paths, no tokens)."""
    if not sys.argv or not sys.argv[0]:
        return "python"
    name = os.path.basename(sys.argv[0])
    name = "rag" if name in ("rag", "__main__.py") else name
    words = [w for w in sys.argv[1:2] if not w.startswith("-")]
    return " ".join([name, *words])[:80]
