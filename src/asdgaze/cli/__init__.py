"""Command line: thin; each command parses its options and calls the library (everything here is doable from
Python). Option sets shared by several commands are generated in :mod:`.options` from the definitions the
Python API validates."""

from asdgaze.cli import analysis, evaluate, predict, run  # noqa: F401 (the commands register themselves)
from asdgaze.cli.common import cli, main

__all__ = ["cli", "main"]

if __name__ == "__main__":  # python -m asdgaze.cli
    import sys

    sys.exit(main())
