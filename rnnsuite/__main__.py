"""``python -m rnnsuite``: the ``rnnsuite`` command (rnnsuite/cli.py)."""

import sys

from rnnsuite.cli import main

sys.exit(main())
