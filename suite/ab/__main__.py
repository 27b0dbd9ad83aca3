"""``python -m suite.ab``: see suite.ab.runner."""

import sys

from suite.ab.runner import main

sys.exit(main())
