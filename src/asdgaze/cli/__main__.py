import sys

from asdgaze.cli import main

sys.exit(main())
