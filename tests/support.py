"""What the tests share: paths, a local server for the built book and a headless
Chromium (from ``dotbook._browser``, which tools/bench.py uses too), and the
tensors the unit tests draw (``F64``, ``DEVICES``, random vectors)."""

from __future__ import annotations

import math

import torch

from dotbook._browser import CHAPTERS, HTML, ROOT, chromium, serve  # noqa: F401 (re-exported)

# ------------------------------------------------------------ tensors for unit tests
F64 = torch.float64


def _devices() -> list[str]:
    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


#: Every device this machine has; tests that need float64 use :data:`DEVICES_F64`.
DEVICES = _devices()
#: The devices that hold float64 (MPS does not).
DEVICES_F64 = [d for d in DEVICES if d != "mps"]


def randn(*shape: int, device: str = "cpu", seed: int = 0,
          dtype: torch.dtype = F64) -> torch.Tensor:
    """A reproducible normal tensor, drawn on the CPU (the same numbers on every device)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)


def vectors(count: int = 2, max_n: int = 12, *, lo: float = -10.0, hi: float = 10.0,
            min_norm: float = 0.0, min_n: int = 1):
    """A hypothesis strategy: ``count`` float64 vectors of one common length n in
    ``[min_n, max_n]``, entries in ``[lo, hi]``; with ``min_norm`` each vector is
    shifted by the all-ones vector when shorter (keeps clear of the zero vector)."""
    from hypothesis import strategies as st

    finite = st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)

    def away_from_zero(v: torch.Tensor) -> torch.Tensor:
        if min_norm and float(torch.linalg.vector_norm(v)) < min_norm:
            return v + torch.ones_like(v)
        return v

    return st.integers(min_n, max_n).flatmap(
        lambda n: st.tuples(*[st.lists(finite, min_size=n, max_size=n) for _ in range(count)])
    ).map(lambda rows: tuple(away_from_zero(torch.tensor(r, dtype=F64)) for r in rows))


def tol(*vs: torch.Tensor, scale: float = 1.0) -> dict[str, float]:
    """An absolute float64 tolerance proportional to the size of the terms summed."""
    size = 1.0 + scale * math.prod(float(v.abs().sum()) + 1.0 for v in vs)
    return {"rtol": 0.0, "atol": 1e-13 * size}


# ---- the built book in a browser (browser tests) ----
TYPESET_ALL = """async () => {
  // formulas not typeset yet: none where the build typeset them (dotbook_math.py); where
  // the page loads MathJax, what printing does (ui/lazy on beforeprint): typeset them all
  const untypeset = () => [...document.querySelectorAll('span.math, div.math')]
    .filter(e => !e.querySelector('mjx-container') || e.querySelector('mjx-lazy')).length;
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) {
    await mj.startup.promise;
    const doc = mj.startup.document;
    if (doc.lazyTypesetAll) { await doc.lazyTypesetAll(); }
    await new Promise(r => setTimeout(r, 400));  // dotbook-page.js: wide formulas' boxes
  }
  return untypeset(); }"""


def scroll_to(locator) -> None:
    """Scroll ``locator``'s element to the middle of the screen, as a reader scrolls to it,
    and let the page lay out what came near (sections far below the screen are laid out
    only then: content-visibility). Playwright's own scroll (``scroll_into_view_if_needed``)
    places the element by a layout the page has not finished, and can leave it off the
    screen."""
    locator.evaluate("e => e.scrollIntoView({block: 'center'})")
    locator.page.evaluate(SETTLE)


def bring_near(locator) -> None:
    """Scroll so that ``locator``'s section (or the element) lies a fifth of a screen
    below the screen: near enough for its figures to be placed (dotbook-twin.js), not in
    view, so none is drawn live."""
    locator.evaluate("""f => { const s = f.closest('.bd-article > section > section') || f;
        scrollTo(0, s.getBoundingClientRect().top + scrollY - 1.2 * innerHeight); }""")
    locator.page.evaluate(SETTLE)


#: two animation frames: what the last change brought near the screen is laid out
SETTLE = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def typeset_all_math(page) -> int:
    """Typeset every formula still waiting (where the page loads MathJax, which typesets
    lazily); the number of formulas left untypeset (0)."""
    return page.evaluate(TYPESET_ALL)
