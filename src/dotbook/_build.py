"""Book-build mode, in one place.

``jupyter-book`` executes the chapters with ``DOTBOOK_BUILD=1`` (the Makefile
sets it). In that mode :class:`dotbook.explore.Twin` shows its static face, and
:func:`dotbook.notebook.setup` switches plotly to the book's HTML renderer
(:func:`dotbook.plots.use_book_renderer`). Everything that asks "are we
building the book?" asks :func:`active`.
"""

from __future__ import annotations

import os

#: The environment variable that turns book-build mode on (any value but "" or "0").
ENV = "DOTBOOK_BUILD"


def active() -> bool:
    """True while ``jupyter-book`` executes the chapters (``DOTBOOK_BUILD=1``).

    Examples::

        >>> isinstance(active(), bool)
        True
    """
    return os.environ.get(ENV, "") not in ("", "0")


def prepare() -> bool:
    """Switch plotly to the book renderer when building the book; returns :func:`active`."""
    if not active():
        return False
    from dotbook import plots

    plots.use_book_renderer()
    return True
