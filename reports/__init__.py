"""Reports: load run files into pandas, render CSV / HTML / markdown, compare two runs."""
