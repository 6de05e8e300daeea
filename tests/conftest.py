"""Shared fixtures: the built book served on 127.0.0.1, and a headless Chromium."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

# Before torch loads: OpenMP threads that wait for work sleep instead of spinning.
# Two test workers (and Chromium, and kernels) share two cores; a spinning thread takes
# a core from the others: on a loaded machine one training test took 130-180 s with
# spinning threads and 4-5 s without. Kernels started by the tests inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402
from support import HTML, chromium, serve  # noqa: E402

# A stand-in for Colab's own modules, put on a kernel's path by test_colab_face.py;
# not tests, and not importable without that path.
collect_ignore = ["fake_colab"]

# No per-example deadline (the first call into torch can be slow on a loaded 2-core
# machine), and a fixed example sequence, so that CI is reproducible.
settings.register_profile("dotbook", deadline=None, print_blob=True, derandomize=True)
settings.load_profile("dotbook")


# ------------------------------------------------------------ parallel runs (pytest-xdist)
# `make test` runs `pytest -n 2 --dist loadfile`: two workers, each with its own
# session fixtures (a server of the book, a Chromium, a Colab-like venv). xdist sends
# a unit of work to one worker whole. With loadfile a unit is a file (its module
# fixtures, e.g. a trained model or a JupyterLab server, are set up once, as in a
# serial run), and a notebook of book/ is one too (nbval runs its cells in order, in
# one kernel). The scheduler below keeps that, except that the tests of the files in
# SPLIT are units of their own, shared out between the workers: they share nothing
# costlier than a session fixture. (Not --dist loadgroup: on pytest >= 9.2 it no
# longer groups, pytest-dev/pytest-xdist#1386.)
SPLIT = ("tests/test_colab_path.py", "tests/test_book_browser.py",
         "tests/test_figure_layout_browser.py", "tests/test_answers_browser.py",
         "tests/test_controls_browser.py")
# Units start in this order (then in collection order), the long ones first, so that
# no long one is left to run alone at the end.
FIRST = ("tests/test_colab_face.py", "tests/test_lab.py", "tests/test_colab_path.py",
         "tests/test_figure_layout_browser.py", "tests/test_book_browser.py",
         "tests/test_controls_browser.py", "tests/test_answers_browser.py")


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _rank(item: pytest.Item) -> int:
    where = _file(item.nodeid)
    return FIRST.index(where) if where in FIRST else len(FIRST)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return nodeid if _file(nodeid) in SPLIT else _file(nodeid)

    config.option.loadscopereorder = False  # keep the order the workers collected
    return Scheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: the order above (a stable sort)
        items.sort(key=_rank)


@pytest.fixture(scope="session")
def book_url() -> Iterator[str]:
    """The built HTML book, served from a thread on 127.0.0.1."""
    if not (HTML / "index.html").exists():
        pytest.fail("_build/html is missing: run 'make book' (make test does it first)")
    with serve(HTML) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
        context = chromium(p, profile)
        yield context
        context.close()
