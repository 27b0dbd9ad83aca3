"""The ``rnnsuite`` subcommands that run the suite: ``check`` and ``bench`` (pytest runs of the suite's
folder), ``report`` and ``resume`` (the main job's three phases, then the store and the report)."""
