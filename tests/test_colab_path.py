"""The Colab path: a kernel where ``dotbook`` is not importable runs a chapter's
reader notebook (what the Colab and Binder buttons open, written by the book
build to ``_build/html/_notebooks/``) from an empty directory, and its own setup
cell installs dotbook.

The kernel's environment is a fresh venv that sees this venv's packages
(torch, plotly, ...) through a ``.pth`` path entry but not dotbook itself, as
on Colab, where torch and plotly are preinstalled. ``DOTBOOK_SOURCE`` points
the setup cell at a copy of this clone instead of the repository URL.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
import venv
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from support import ROOT
from test_reader_notebooks import toc_chapters

pytestmark = pytest.mark.slow

# the reader notebooks of the built book; DOTBOOK_BUILD_DIR points at another build
READERS = Path(os.environ.get("DOTBOOK_BUILD_DIR", ROOT / "_build")) / "html" / "_notebooks"


def _python(env_dir: Path) -> Path:
    return env_dir / "bin" / "python"


@pytest.fixture(scope="module")
def colab_like(tmp_path_factory) -> Path:
    """A directory holding a kernel spec whose Python lacks dotbook."""
    home = tmp_path_factory.mktemp("colab")
    env_dir = home / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    purelib = subprocess.run([_python(env_dir), "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # this venv's site-packages as a plain path entry: its .pth files (the editable
    # dotbook finder among them) are not processed, so dotbook stays unimportable
    Path(purelib, "preinstalled.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    probe = subprocess.run([_python(env_dir), "-c", "import torch, plotly; import dotbook"],
                           capture_output=True, text=True)
    assert "No module named 'dotbook'" in probe.stderr, probe.stderr
    spec = home / "kernels" / "colab-like"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(_python(env_dir)), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like (no dotbook)", "language": "python"}))
    return home


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A copy of this clone's package files, as a source for pip (which builds in place)."""
    copy = tmp_path_factory.mktemp("source") / "dotbook"
    copy.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    shutil.copytree(ROOT / "src", copy / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return copy


@pytest.mark.parametrize("chapter", toc_chapters(), ids=lambda p: p.name)
def test_reader_notebook_installs_dotbook_and_runs_from_an_empty_directory(
        colab_like, source, chapter, tmp_path, monkeypatch):
    path = READERS / chapter.name
    if not path.exists():
        pytest.fail(f"{path} is missing: run 'make book' (make test does it first)")
    monkeypatch.setenv("JUPYTER_PATH", str(colab_like))
    monkeypatch.setenv("DOTBOOK_SOURCE", str(source))
    monkeypatch.delenv("DOTBOOK_BUILD", raising=False)
    nb = nbformat.read(path, as_version=4)
    # solutions are folded Markdown (<details>), which Run All cannot run (issue 25)
    solutions = [c for c in nb.cells if c.cell_type == "markdown"
                 and c.source.startswith("<details>\n<summary>Solution")]
    assert solutions, "the reader notebook has no folded solutions"
    client = NotebookClient(nb, kernel_name="colab-like", timeout=600,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    where = subprocess.run([_python(colab_like / "venv"), "-c",
                            "import dotbook; print(dotbook.__file__)"],
                           capture_output=True, text=True, check=True).stdout
    assert str(colab_like / "venv") in where, f"dotbook came from {where}, not the kernel's env"
    assert list(tmp_path.iterdir()) == [] or all(p.name.startswith(".") for p in tmp_path.iterdir())
    assert os.environ.get("DOTBOOK_BUILD") is None
