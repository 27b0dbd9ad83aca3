"""Runs over time: the results store, the history of each benchmark, merged shards, a journal's run file."""
