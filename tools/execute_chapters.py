"""Execute the book's chapters two at a time into the build's execution cache.

Jupyter Book 1.x executes notebooks one after another while Sphinx reads them.
This script runs first (``make book`` calls it): it stages every chapter of
``_toc.yml`` in jupyter-cache's project and runs jupyter-cache's parallel
executor, one notebook per core. Sphinx then finds every notebook in the cache
(``execute_notebooks: cache``) and only renders. Hashes are jupyter-cache's own,
so a notebook whose code did not change is not executed again, and one that
fails here is executed again by Sphinx, which then reports its error.

    python tools/execute_chapters.py [--cache _build/.jupyter_cache] [--workers N]

Prints one line per chapter with its execution time (from the cache record).
With two or more workers each kernel runs torch on one thread (``OMP_NUM_THREADS=1``).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_chapters(toc: Path = ROOT / "_toc.yml") -> list[Path]:
    """Every ``.ipynb`` the table of contents lists, in order."""
    files: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(toc.read_text()))
    return [ROOT / f"{f}.ipynb" for f in files if (ROOT / f"{f}.ipynb").exists()]


def execution_seconds(cache_path: Path) -> dict[str, float]:
    """Execution time of every cached notebook, by file name (what the build recorded)."""
    from jupyter_cache import get_cache

    cache = get_cache(str(cache_path))
    seconds = {}
    for record in cache.list_project_records():
        try:
            cached = cache.get_cached_project_nb(record.uri)
        except Exception:  # not executed (yet)
            cached = None
        if cached is not None and "execution_seconds" in cached.data:
            seconds[Path(record.uri).name] = float(cached.data["execution_seconds"])
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=ROOT / "_build" / ".jupyter_cache")
    parser.add_argument("--timeout", type=int, default=300)
    args = parser.parse_args()

    from jupyter_cache import get_cache
    from jupyter_cache.executors import load_executor

    os.environ.setdefault("DOTBOOK_BUILD", "1")
    workers = os.cpu_count() or 1
    if workers > 1:
        # one kernel per core: each kernel's torch gets one thread, or the two
        # kernels' thread pools fight over the cores and small ops stall
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    chapters = toc_chapters()
    cache = get_cache(str(args.cache))
    for path in chapters:
        cache.add_nb_to_project(str(path))
    logger = logging.getLogger("execute_chapters")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    uris = [str(p) for p in chapters]
    start = time.perf_counter()
    # one worker per core; jupyter-cache's pool uses os.cpu_count() processes
    executor = load_executor("local-parallel" if workers > 1 else "local-serial", cache,
                             logger=logger)
    if multiprocessing.get_start_method(allow_none=True) is None:
        multiprocessing.set_start_method("fork" if sys.platform == "linux" else "spawn")
    result = executor.run_and_cache(filter_uris=uris, timeout=args.timeout)
    wall = time.perf_counter() - start
    seconds = execution_seconds(args.cache)
    for path in chapters:
        shown = f"{seconds[path.name]:6.1f} s" if path.name in seconds else "   (not cached)"
        print(f"  executed {path.name:32s} {shown}")
    failed = sorted(Path(u).name for u in [*result.excepted, *result.errored])
    print(f"executed {len(result.succeeded)} chapter(s) on {workers} worker(s) in {wall:.1f} s"
          + (f"; failed: {', '.join(failed)} (Sphinx re-runs them and reports)" if failed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
