"""The A/B runner: two torch installs, alternating processes, one gate verdict (``rnnsuite ab``)."""
