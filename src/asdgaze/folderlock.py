"""A claim on an output folder, so that two runs with different settings never write into it at once.

Every run that writes into a folder (evaluate, predict, run) holds a shared ``flock`` on
``<folder>/.asdgaze-lock`` for as long as it works there; the kernel drops it when the process
ends, however it ends, so a lock of a dead process is never in the way. The file holds the
settings of the runs holding it. A run starting there checks, under an exclusive lock on
``<folder>/.asdgaze-lock-gate`` (held only for that check and the settings record):

- nobody holds the folder: the run records its settings in the lock file and goes on (the folder's
  own settings check, e.g. :func:`asdgaze.runfolder.prepare`, still compares with finished runs);
- runs with the same settings hold it (shards ``--shard K/N`` of one job): the run joins them;
- runs with other settings hold it, or the run would ``--overwrite`` their work: refused, naming
  the settings that differ.

Where the file system has no locks (flock fails), a warning says that concurrent runs go
undetected and the run goes on.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import socket
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from asdgaze.errors import OptionsError
from asdgaze.runfolder import differences, fingerprint

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None  # type: ignore[assignment]

F = TypeVar("F", bound=Callable[..., Any])
LOCK = ".asdgaze-lock"
GATE = ".asdgaze-lock-gate"
# errors that mean "this file system does not lock", not "someone holds the lock"
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}


class FolderLockWarning(UserWarning):
    """File locks do not work in an output folder: concurrent runs there are not detected."""


class FolderInUse(OptionsError):
    """Another run with other settings (or an --overwrite of a live run's work) is refused."""


class FolderClaim:
    """Held for one run: ``with FolderClaim() as claim: ... with claim.hold(folder, settings, ...): prepare()``.

    The shared lock taken by :meth:`hold` lasts until :meth:`release` (the ``with`` block's end).
    ``alone``: after :meth:`hold`, whether no other run held the folder (so that files a killed run
    left half-written are not another live run's).
    """

    def __init__(self) -> None:
        self._fds: list[int] = []
        self.alone = False

    def __enter__(self) -> "FolderClaim":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    @contextmanager
    def hold(self, folder: str | os.PathLike, settings: Any, command: str, overwrite: bool = False) -> Iterator[None]:
        """Claim ``folder`` for a run with ``settings``; the block runs while no other run can check
        or record settings there (put the folder's settings check and record in it).

        ``command`` names the run in messages ("evaluate run"). Raises FolderInUse when runs with other
        settings hold the folder, or when ``overwrite`` would delete the work of a run holding it.
        """
        folder = Path(folder)
        if fcntl is None:
            _no_locks(folder, "the platform has no flock")
            yield
            return
        gate = _open(folder, GATE)
        try:
            try:
                fcntl.flock(gate, fcntl.LOCK_EX)  # waits: held only for a settings check
            except OSError as e:
                if e.errno not in _NO_LOCKS:
                    raise
                _no_locks(folder, e.strerror or str(e))
                yield
                return
            fd = _open(folder, LOCK)
            try:
                self._join(fd, folder, settings, command, overwrite)
            except BaseException:
                os.close(fd)
                raise
            self._fds.append(fd)
            yield
        finally:
            os.close(gate)  # releases the gate

    def _join(self, fd: int, folder: Path, settings: Any, command: str, overwrite: bool) -> None:
        settings = json.loads(json.dumps(settings, default=str))  # as the record reads back (lists, text)
        fp = fingerprint(settings)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            live = _read(fd)
            if not isinstance(live, dict) or live.get("fingerprint") != fp:
                old = live.get("settings") if isinstance(live, dict) else None
                diff = ("; ".join(differences(old, settings)) or "settings differ") if old is not None \
                    else "its settings record is unreadable"
                raise FolderInUse(f"{folder}: another {_who(live)} is writing into this folder now with other settings "
                                  f"({diff}); wait for it to finish, or use another --out folder") from None
            if overwrite:
                raise FolderInUse(f"{folder}: --overwrite would delete the work of another {_who(live)} writing into "
                                  "this folder now; wait for it to finish, or use another --out folder") from None
            fcntl.flock(fd, fcntl.LOCK_SH)  # only shared holders exist, and none can change under the gate
            self.alone = False
            return
        self.alone = True
        # Nobody holds the folder: record these settings, then share it with runs of the same settings.
        record = {"command": command, "fingerprint": fp, "pid": os.getpid(), "host": socket.gethostname(),
                  "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "settings": settings}
        data = (json.dumps(record, indent=1, default=str) + "\n").encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        fcntl.flock(fd, fcntl.LOCK_SH)  # not atomic, but nobody can take it in between: we hold the gate

    def release(self) -> None:
        """Drop every claim of this run (unlocked explicitly: forked workers share the descriptor)."""
        while self._fds:
            fd = self._fds.pop()
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)


def claims_folder(fn: F) -> F:
    """Call ``fn(..., claim=FolderClaim())`` and release the claim however ``fn`` ends (for a long
    function that takes its folder midway)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with FolderClaim() as claim:
            return fn(*args, claim=claim, **kwargs)
    return wrapper  # type: ignore[return-value]


def _open(folder: Path, name: str) -> int:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return os.open(folder / name, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        raise OptionsError(f"{folder}: output folder not usable ({e.strerror or e})") from None


def _read(fd: int) -> Any:
    try:
        size = os.fstat(fd).st_size
        return json.loads(os.pread(fd, size, 0).decode())
    except (OSError, ValueError):
        return None


def _who(live: Any) -> str:
    if not isinstance(live, dict):
        return "run"
    return (f"{live.get('command', 'run')} (pid {live.get('pid')} on {live.get('host')}, "
            f"started {live.get('started')})")


def _no_locks(folder: Path, why: str) -> None:
    warnings.warn(f"{folder}: file locks do not work here ({why}); two runs into this folder at the same time "
                  "are not detected, so start one at a time (shards of one job with the same settings are fine)",
                  FolderLockWarning, stacklevel=4)
