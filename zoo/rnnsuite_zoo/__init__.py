"""rnnsuite's zoo: the recurrent layers of third-party PyPI packages as rnnsuite cases (docs/zoo.md).

One module per package, each loaded through the entry-point group ``rnnsuite.cases`` (pyproject.toml);
the versions they were written against are pinned there. The NumPy references are in reference.py.
"""
