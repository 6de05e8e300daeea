"""The Colab path: a kernel where ``dotbook`` is not importable runs a chapter's
reader notebook (what the Colab and Binder buttons open, written by the book
build to ``_build/html/_notebooks/``) from an empty directory, and its own setup
cell installs dotbook.

The kernel's environment is a fresh venv that sees this venv's packages
(torch, ...) through a ``.pth`` path entry but not dotbook itself, as on Colab,
where torch and plotly are preinstalled; like Colab's, it has old plotly
(5.24.1) and ipywidgets (7.7.1) of its own, installed from PyPI (this test needs
the network, as Colab does). ``DOTBOOK_SOURCE`` points the setup cell at a copy
of this clone instead of the repository URL.

Each chapter starts twice from that state:

- as a fresh runtime: the setup cell upgrades plotly and ipywidgets silently
  and every cell of the notebook runs, with no restart line;
- after the runtime imported plotly and ipywidgets first, as Colab does: the
  setup cell stops Run All with the one restart line. Only the notebook's own
  setup cell and its first code cell run here (the restart check is all in the
  setup cell, and the full run above already covers the rest); dotbook comes
  from a wheel built once, so each chapter costs one pip install, not a build.
  After a restart (a fresh kernel, dotbook now installed) the same two cells
  run without the line.
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
from nbclient.exceptions import CellExecutionError
from support import ROOT
from test_reader_notebooks import toc_chapters

pytestmark = pytest.mark.slow

# the reader notebooks of the built book; DOTBOOK_BUILD_DIR points at another build
READERS = Path(os.environ.get("DOTBOOK_BUILD_DIR", ROOT / "_build")) / "html" / "_notebooks"


def _python(env_dir: Path) -> Path:
    return env_dir / "bin" / "python"


def _run(*args: object, **options: object) -> subprocess.CompletedProcess:
    """Run a command as the Colab-like runtime would: with no PYTHONPATH (a developer's
    PYTHONPATH=src would make dotbook importable there)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(list(args), env=env, **options)


@pytest.fixture(scope="session")  # one per worker when tests run in parallel
def colab_like(tmp_path_factory) -> Path:
    """A directory holding a kernel spec whose Python lacks dotbook."""
    home = tmp_path_factory.mktemp("colab")
    env_dir = home / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    purelib = _run(_python(env_dir), "-c",
                   "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                   capture_output=True, text=True, check=True).stdout.strip()
    # this venv's site-packages as a plain path entry: its .pth files (the editable
    # dotbook finder among them) are not processed, so dotbook stays unimportable
    Path(purelib, "preinstalled.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    probe = _run(_python(env_dir), "-c", "import torch, plotly; import dotbook",
                 capture_output=True, text=True)
    assert "No module named 'dotbook'" in probe.stderr, probe.stderr
    _preinstall_old(env_dir)
    spec = home / "kernels" / "colab-like"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(_python(env_dir)), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like (no dotbook)", "language": "python"}))
    return home


#: What Colab-like runtimes had preinstalled when issue 26 was filed.
OLD = ("plotly==5.24.1", "ipywidgets==7.7.1")
RESTART = "Restart needed: pip upgraded"


def _pip(env_dir: Path, *args: str) -> None:
    _run(_python(env_dir), "-m", "pip", "-q", "--disable-pip-version-check", *args, check=True)


def _preinstall_old(env_dir: Path) -> None:
    """The runtime as it starts: no dotbook, old plotly and ipywidgets of its own.

    The first call gets there with pip and copies the venv aside; every later call
    puts that copy back, file by file as hard links (a second, where pip takes ten).
    pip only ever removes or adds files, never rewrites one, so the copy stays as it was.
    """
    pristine = env_dir.with_name(env_dir.name + "-pristine")
    if pristine.exists():
        shutil.rmtree(env_dir)
        shutil.copytree(pristine, env_dir, symlinks=True, copy_function=os.link)
    else:
        _pip(env_dir, "uninstall", "-y", "dotbook")
        _pip(env_dir, "install", *OLD)
        shutil.copytree(env_dir, pristine, symlinks=True)
    found = _run(_python(env_dir), "-c", "import importlib.util, plotly, ipywidgets; "
                 "print(plotly.__version__, ipywidgets.__version__, "
                 "importlib.util.find_spec('dotbook') is None)",
                 capture_output=True, text=True, check=True).stdout.split()
    assert found == ["5.24.1", "7.7.1", "True"], found


def _texts(nb: nbformat.NotebookNode) -> str:
    """Every output's text (streams, errors, plain-text data) of every cell, joined."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(out.get("evalue", ""))
            parts.extend(out.get("traceback", []))
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


@pytest.fixture(scope="session")
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
    monkeypatch.delenv("PYTHONPATH", raising=False)  # the kernel, as on Colab
    _preinstall_old(colab_like / "venv")
    nb = nbformat.read(path, as_version=4)
    # solutions are folded Markdown (<details>), which Run All cannot run (issue 25)
    solutions = [c for c in nb.cells if c.cell_type == "markdown"
                 and c.source.startswith("<details>\n<summary>Solution")]
    assert solutions, "the reader notebook has no folded solutions"
    client = NotebookClient(nb, kernel_name="colab-like", timeout=600,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    assert RESTART not in _texts(nb), "nothing was imported before: no restart line"
    where = _run(_python(colab_like / "venv"), "-c", "import dotbook; print(dotbook.__file__)",
                 capture_output=True, text=True, check=True).stdout
    assert str(colab_like / "venv") in where, f"dotbook came from {where}, not the kernel's env"
    assert list(tmp_path.iterdir()) == [] or all(p.name.startswith(".") for p in tmp_path.iterdir())
    assert os.environ.get("DOTBOOK_BUILD") is None


@pytest.fixture(scope="session")
def wheel(colab_like, source, tmp_path_factory) -> Path:
    """dotbook built once, as the restart checks' ``DOTBOOK_SOURCE`` (pip installs it as is)."""
    out = tmp_path_factory.mktemp("wheel")
    _pip(colab_like / "venv", "wheel", "--no-deps", "-w", str(out), str(source))
    (built,) = out.glob("dotbook-*.whl")
    return built


def _setup_and_first(path: Path) -> list[nbformat.NotebookNode]:
    """The reader notebook's setup cell and the code cell after it (the chapter's imports)."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source.startswith("# Setup: Colab has no dotbook yet"), code[0].source[:80]
    assert "notebook.setup(" in code[0].source
    return code[:2]


@pytest.mark.parametrize("chapter", toc_chapters(), ids=lambda p: p.name)
def test_restart_line_appears_when_an_upgraded_module_was_already_imported(
        colab_like, wheel, chapter, tmp_path, monkeypatch):
    path = READERS / chapter.name
    if not path.exists():
        pytest.fail(f"{path} is missing: run 'make book' (make test does it first)")
    monkeypatch.setenv("JUPYTER_PATH", str(colab_like))
    monkeypatch.setenv("DOTBOOK_SOURCE", str(wheel))
    monkeypatch.delenv("DOTBOOK_BUILD", raising=False)
    monkeypatch.delenv("PYTHONPATH", raising=False)  # the kernel, as on Colab
    _preinstall_old(colab_like / "venv")
    resources = {"metadata": {"path": str(tmp_path)}}
    # the runtime imported plotly and ipywidgets before the reader's first cell
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import plotly, ipywidgets"), *_setup_and_first(path)]
    with pytest.raises(CellExecutionError) as stopped:
        NotebookClient(nb, kernel_name="colab-like", timeout=600, resources=resources).execute()
    assert stopped.value.ename == "RestartNeeded", str(stopped.value)
    # what the reader sees under the setup cell: the error's traceback, one line
    shown = [line for out in nb.cells[1].outputs
             for line in (out.get("traceback") or out.get("text", "").splitlines())]
    lines = [line for line in shown if RESTART in line]
    assert len(shown) == 1 and len(lines) == 1, shown
    assert "Runtime → Restart session" in lines[0], lines
    assert "plotly " in lines[0] and "ipywidgets 7.7.1 →" in lines[0], lines[0]
    assert not nb.cells[2].get("outputs") and nb.cells[2].get("execution_count") is None, \
        "Run All stops at the setup cell"
    # after the restart (a fresh kernel, dotbook now installed) the same cells run silently
    nb = nbformat.v4.new_notebook()
    nb.cells = _setup_and_first(path)
    NotebookClient(nb, kernel_name="colab-like", timeout=600, resources=resources).execute()
    assert RESTART not in _texts(nb)
    assert nb.cells[1].get("execution_count") is not None
