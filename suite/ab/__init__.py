"""The A/B runner: two torch installs, alternating processes, one gate verdict (``python -m suite.ab``)."""
