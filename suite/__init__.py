"""The pytest harness: the case x device x dtype matrix, checks, timing and the A/B gate."""
