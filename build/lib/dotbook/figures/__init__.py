"""The book's interactive figures: one module per chapter, each a set of pure
``fn(**slider values) -> plotly Figure`` functions for :class:`dotbook.explore.Twin`.

Computation lives in the concept modules (``geometry``, ``highdim``, ...);
these modules only turn its results into pictures.
"""
