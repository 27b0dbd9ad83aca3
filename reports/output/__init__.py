"""The report itself: the tidy table, the page and its cells, the plots, and `rnnsuite build`."""
