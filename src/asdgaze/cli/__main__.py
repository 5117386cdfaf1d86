from asdgaze.cli import entry

entry()
