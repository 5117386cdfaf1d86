"""Ctrl-C that always ends a command with its one "interrupted" line and exit status 130.

Python raises KeyboardInterrupt wherever the main thread is when SIGINT arrives, and three such places
lose it or its report:

- a weakref callback or ``__del__`` (e.g. the ``WeakKeyDictionary`` of a thread pool that shuts down):
  Python prints "Exception ignored in ..." and goes on, so an interrupted run ends with exit status 0;
- ``exec`` of a string (dataclasses and torch build functions so): CPython then marks the interrupt as
  unhandled even when it is caught later, and the process dies by SIGINT at exit instead of returning 130;
- the clean-up after a first Ctrl-C (finishing the files being written, the manifest, the report line),
  cut short by a second one.

Within :func:`handled` (around every command) Ctrl-C raises :class:`Interrupt`, a subclass (CPython marks
only the exact class), once: further presses are ignored while the command stops, and the
:data:`FORCE`-th press ends the process at once (every output file appears by an atomic rename, so a
rerun still resumes). One that a finaliser swallowed is kept for :func:`check`, called at safe points,
and Ctrl-C is armed again.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import Iterator

__all__ = ["Interrupt", "handled", "check", "FORCE"]

#: The press of Ctrl-C that ends the process at once, without clean-up.
FORCE = 4


class Interrupt(KeyboardInterrupt):
    """Ctrl-C, raised by the handler that :func:`handled` installs."""


_presses = 0  # since the last Ctrl-C that was raised and not swallowed
_swallowed = False  # a Ctrl-C raised inside a finaliser, not yet raised again by check()


def _on_sigint(signum, frame) -> None:
    global _presses
    _presses += 1
    if _presses == 1:
        raise Interrupt()
    if _presses >= FORCE:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    # otherwise the command is stopping already: a second press would cut its clean-up short


def _hook(previous):
    def hook(unraisable) -> None:
        global _presses, _swallowed
        if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
            _swallowed, _presses = True, 0  # not printed: check() raises it where it can be handled
        else:
            previous(unraisable)

    return hook


@contextlib.contextmanager
def handled(then_ignore: bool = False) -> Iterator[None]:
    """Ctrl-C as the module's text says, within the block (in the main thread, where SIGINT is not ignored).

    ``then_ignore``: the process exits after the block, so Ctrl-C is ignored from then on instead of
    turning the status just reported into death by SIGINT while Python shuts down (torch's teardown
    takes a moment)."""
    global _presses, _swallowed
    if threading.current_thread() is not threading.main_thread() or not callable(signal.getsignal(signal.SIGINT)):
        yield  # signals go to the main thread only; an ignored SIGINT (a background job) stays ignored
        return
    _presses, _swallowed = 0, False
    old_handler = signal.signal(signal.SIGINT, _on_sigint)
    old_hook = sys.unraisablehook
    sys.unraisablehook = _hook(old_hook)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN if then_ignore else old_handler)
        sys.unraisablehook = old_hook


def check() -> None:
    """Raise :class:`Interrupt` if a finaliser swallowed a Ctrl-C since the last check."""
    global _presses, _swallowed
    if _swallowed:
        _swallowed, _presses = False, 1
        raise Interrupt()
