"""Book-build mode, in one place.

``jupyter-book`` executes the chapters with ``DOTBOOK_BUILD=1`` (the Makefile
sets it). In that mode :class:`dotbook.explore.Twin` shows its static face, and
:func:`dotbook.notebook.setup` switches plotly to the book's HTML renderer
(:func:`dotbook.plots.use_book_renderer`). Everything that asks "are we
building the book?" asks :func:`active`.

It also finds the plotly.js the built book serves (:func:`plotly_bundle`): the
partial bundle that holds the trace types the book draws, at the version the
Python ``plotly`` package pins.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

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


# ------------------------------------------------------------------ plotly.js for the book
#: The partial plotly.js bundle the book serves (npm ``plotly.js-cartesian-dist-min``).
PARTIAL = "cartesian"
_TRACE = re.compile(r'moduleType:"trace",name:"(\w+)"')


def plotlyjs_version() -> str:
    """The plotly.js version inside the installed Python ``plotly`` package, which the
    partial bundle must match so that figures draw as they do in a notebook."""
    from plotly.offline import get_plotlyjs_version

    return get_plotlyjs_version()


def full_bundle() -> Path:
    """The full ``plotly.min.js`` shipped with the Python ``plotly`` package."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.exists():  # pragma: no cover - a broken plotly install
        raise FileNotFoundError(f"plotly.min.js not found at {path}; reinstall plotly")
    return path


def cache_dir() -> Path:
    """Where downloads for the build are kept across clean builds:
    ``$DOTBOOK_CACHE``, else ``$XDG_CACHE_HOME/dotbook``, else ``~/.cache/dotbook``."""
    explicit = os.environ.get("DOTBOOK_CACHE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dotbook"


def trace_types(js: Path) -> frozenset[str]:
    """The trace types a plotly.js bundle registers, read from its source."""
    return frozenset(_TRACE.findall(js.read_text(encoding="utf-8", errors="replace")))


def _npm_partial(version: str, target: Path) -> str | None:
    """Fetch ``plotly.js-<PARTIAL>-dist-min@version`` with npm into ``target``;
    None when done, else why not."""
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed"
    package = f"plotly.js-{PARTIAL}-dist-min@{version}"
    member = f"package/plotly-{PARTIAL}.min.js"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run([npm, "pack", package, "--pack-destination", tmp, "--silent",
                            "--cache", str(target.parent / "npm")],
                           check=True, capture_output=True, text=True, timeout=300)
        except (subprocess.SubprocessError, OSError) as err:
            detail = getattr(err, "stderr", "") or str(err)
            return f"`npm pack {package}` failed: {detail.strip()[-300:]}"
        tarballs = list(Path(tmp).glob("*.tgz"))
        if len(tarballs) != 1:
            return f"`npm pack {package}` left {len(tarballs)} tarballs"
        with tarfile.open(tarballs[0]) as tar:
            try:
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
            except (KeyError, AttributeError):
                return f"{package} has no {member}"
    if f"v{version}".encode() not in data[:300]:
        return f"{member} of {package} does not say v{version} in its header"
    partial = target.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(target)
    return None


def plotly_bundle(cache: Path | None = None, log=print) -> tuple[Path, str, frozenset[str] | None]:
    """The plotly.js the book serves: ``(file, served name, trace types or None for all)``.

    The partial bundle :data:`PARTIAL` at :func:`plotlyjs_version`, fetched once
    with ``npm pack`` into ``cache`` (default :func:`cache_dir`) and reused from
    there; where npm is missing or fails, the full bundle of the Python package,
    said so through ``log``. The served name carries the version, so a browser
    caches it across pages and across builds until plotly changes.
    """
    version = plotlyjs_version()
    cache = cache_dir() if cache is None else cache
    target = cache / f"plotly-{PARTIAL}-{version}.min.js"
    why = None
    if not target.exists():
        cache.mkdir(parents=True, exist_ok=True)
        why = _npm_partial(version, target)
    if why is None and target.exists():
        log(f"plotly: serving the {PARTIAL} bundle {version} ({target})")
        return target, target.name, trace_types(target)
    log(f"plotly: {why}; serving the full plotly.js {version} from the Python plotly package")
    return full_bundle(), f"plotly-{version}.min.js", None


_NEW_PLOT = re.compile(r'Plotly\.newPlot\(\s*"[^"]*",\s*')


def page_trace_types(page: str) -> set[str]:
    """Trace types of every ``Plotly.newPlot`` call in a page's HTML (its data argument).

    Examples::

        >>> sorted(page_trace_types('Plotly.newPlot("a", [{"type":"bar"}, {"x":[1]}], {})'))
        ['bar', 'scatter']
    """
    decoder = json.JSONDecoder()
    found: set[str] = set()
    for m in _NEW_PLOT.finditer(page):
        try:
            data, _ = decoder.raw_decode(page, m.end())
        except ValueError:
            continue
        found |= {t.get("type") or "scatter" for t in data if isinstance(t, dict)}
    return found
