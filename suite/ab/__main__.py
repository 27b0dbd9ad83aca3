"""``python -m suite.ab``: see suite.ab.cli."""

import sys

from suite.ab.cli import main

sys.exit(main())
