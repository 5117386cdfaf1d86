"""Command line: thin; each command parses its options and calls the library (everything here is doable from
Python). Option sets shared by several commands are generated in :mod:`.options` from the definitions the
Python API validates.

The command modules are imported by :func:`main` (about 2 s: the evaluate and metrics packages), once its
Ctrl-C handling is in place, so that a Ctrl-C at start-up also ends with one line and exit status 130.
"""

from __future__ import annotations

import errno
import importlib
import os
import sys

import click

from asdgaze.cli.common import cli as _group

__all__ = ["cli", "commands", "main", "entry"]

#: Modules whose import registers the commands on the ``asdgaze`` group.
COMMAND_MODULES = ("analysis", "evaluate", "predict", "run")


def commands() -> click.Group:
    """The ``asdgaze`` group with every command registered."""
    for name in COMMAND_MODULES:
        importlib.import_module(f"asdgaze.cli.{name}")
    return _group


def __getattr__(name: str):
    if name == "cli":  # `from asdgaze.cli import cli`: the group with its commands
        return commands()
    raise AttributeError(f"module 'asdgaze.cli' has no attribute {name!r}")


#: OSErrors that are the machine's state, not a bug: shown as one line wherever they come from
_ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM})


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit status. After Ctrl-C: 130 and one line that says what was finished
    (the commands that resume say it themselves; see :mod:`asdgaze.interrupts`)."""
    return _main(argv, exiting=False)


def entry() -> None:
    """The ``asdgaze`` program (console script and ``python -m asdgaze.cli``): :func:`main`, then exit."""
    sys.exit(_main(None, exiting=True))


def _main(argv: list[str] | None, exiting: bool) -> int:
    from asdgaze import interrupts

    with interrupts.handled(then_ignore=exiting):
        try:
            group = commands()
        except KeyboardInterrupt:
            click.echo("\ninterrupted before the command started", err=True)
            return 130
        try:
            rc = group.main(args=argv, prog_name="asdgaze", standalone_mode=False)
        except click.exceptions.Abort as e:  # click's form of a Ctrl-C that the command did not report itself
            click.echo(str(e.__cause__ or "") or "interrupted", err=True)
            return 130
        except click.ClickException as e:
            e.show()
            return e.exit_code
        except OSError as e:  # a full disk or a read-only folder met where no stage names it: still one line
            if e.errno not in _ENVIRONMENT_ERRNOS:
                raise
            where = f"{os.fsdecode(e.filename)}: " if isinstance(e.filename, (str, bytes)) else ""
            click.echo(f"Error: {where}{os.strerror(e.errno)}", err=True)
            return 1
        except SystemExit as e:  # --help, --version
            return int(e.code or 0)
        try:
            interrupts.check()  # one that a finaliser swallowed: the command went on to its end
        except KeyboardInterrupt:
            click.echo("\ninterrupted: Ctrl-C came as the command finished; what it printed above is complete",
                       err=True)
            return 130
    return rc if isinstance(rc, int) else 0

