"""Shared fixtures: the built book served on 127.0.0.1, and a headless Chromium."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import settings
from support import HTML, chromium, serve

# A stand-in for Colab's own modules, put on a kernel's path by test_colab_face.py;
# not tests, and not importable without that path.
collect_ignore = ["fake_colab"]

# No per-example deadline (the first call into torch can be slow on a loaded 2-core
# machine), and a fixed example sequence, so that CI is reproducible.
settings.register_profile("dotbook", deadline=None, print_blob=True, derandomize=True)
settings.load_profile("dotbook")


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
