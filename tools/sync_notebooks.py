"""Keep every chapter notebook in its stored form.

- the first cell is :data:`dotbook.notebook.SETUP_CELL`, rendered with the
  repository URL from ``_config.yml`` (its one home), tagged ``remove-cell``
  (out of the reading path in the HTML; kept in the notebooks);
  the arguments of its ``notebook.setup(...)`` call are kept when they match
  :data:`dotbook.notebook.SETUP_ARGS` (a seed and a dtype name), else ``seed=0``;
- no outputs, no execution counts, the ``python3`` kernel;
- the setup cell's pip constraints are ``requirements.txt``'s ranges for the
  package's run-time dependencies (``pyproject.toml``), their one home;

    python tools/sync_notebooks.py          # rewrite book/*.ipynb in place
    python tools/sync_notebooks.py --check  # exit 1 and list what would change
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dotbook.notebook import SETUP_ARGS, SETUP_CELL  # noqa: E402

KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}


def repository_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return config["repository"]["url"].rstrip("/")




def runtime_ranges() -> list[str]:
    """``requirements.txt``'s lines for the package's run-time dependencies, in its order."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.match(r"[A-Za-z0-9_.-]+", d).group(0).lower() for d in deps}
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text()
             .splitlines()]
    ranges = [line for line in lines
              if line and re.match(r"[A-Za-z0-9_.-]+", line).group(0).lower() in names]
    missing = names - {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in ranges}
    if missing:
        raise SystemExit(f"requirements.txt has no range for {sorted(missing)}")
    return ranges


def setup_source(args: str = "seed=0") -> str:
    return SETUP_CELL.format(repository_url=repository_url() + ".git", setup_args=args,
                             ranges="\n".join(f'        "{r}",' for r in runtime_ranges()))


def setup_args(source: str) -> str:
    """The chapter's own ``notebook.setup(...)`` arguments, when they are allowed ones."""
    found = re.search(r"notebook\.setup\((.*)\)", source)
    if found and re.fullmatch(SETUP_ARGS, found.group(1).strip()):
        return found.group(1).strip()
    return "seed=0"


def normalized(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` in its stored form (a copy)."""
    nb = nbformat.from_dict(nb)
    first = nb.cells[0] if nb.cells else None
    if first is None or first.cell_type != "code" or "notebook.setup(" not in first.source:
        nb.cells.insert(0, nbformat.v4.new_code_cell())
        first = nb.cells[0]
    first.source = setup_source(setup_args(first.source))
    first.metadata["tags"] = ["remove-cell"]
    for cell in nb.cells:
        cell.pop("id", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    nb.metadata = {"kernelspec": KERNEL,
                   "language_info": {"name": "python"}}
    nb.nbformat, nb.nbformat_minor = 4, 4
    return nb


def notebooks() -> list[Path]:
    return sorted((ROOT / "book").glob("[0-9]*.ipynb"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report, change nothing")
    args = parser.parse_args()
    stale = []
    for path in notebooks():
        text = path.read_text()
        want = nbformat.writes(normalized(nbformat.reads(text, as_version=4)))
        if want != text:
            stale.append(path)
            if not args.check:
                path.write_text(want)
    for path in stale:
        print(("needs sync: " if args.check else "synced: ") + str(path.relative_to(ROOT)))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    raise SystemExit(main())
