"""Every tensor and generator a chapter creates follows the chapter's device.

A chapter computes on ``book.device`` (CUDA in Colab with a GPU, MPS on a Mac
for a float32 chapter, else the CPU). A tensor made on the CPU next to one on
the GPU, or a CPU generator handed to a GPU sampler, works on this CPU-only
machine and crashes on the reader's GPU. So this test reads each chapter's code
(its syntax tree, not its text) and fails on:

- a generator not made by ``book.generator(k)`` (``torch.Generator``,
  ``device.generator``, ``.manual_seed``);
- a tensor factory (``torch.randn``, ``torch.tensor``, ``torch.zeros``, ...)
  without ``device=book.device``; ``torch.from_numpy``/``as_tensor`` not moved
  with ``.to(book.device)`` (or given ``device=book.device``); ``.numpy()``
  without ``.cpu()`` first;
- a dotbook sampler (a function with ``generator`` and ``device`` parameters)
  called without ``generator=book.generator(k)`` or ``device=book.device``;
- float64 (``torch.float64``, ``.double()``) in a chapter whose setup asks for
  another dtype (on MPS there is no float64), unless the statement works on the
  host (mentions ``.cpu()`` or ``"cpu"``).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re

import nbformat
import pytest
from support import CHAPTERS

#: torch functions that create a tensor on a device of their own choosing.
FACTORIES = {"randn", "rand", "randint", "randperm", "normal", "zeros", "ones", "empty", "full",
             "tensor", "arange", "linspace", "logspace", "eye"}
#: torch functions that wrap host memory: they must be moved to the device.
FROM_HOST = {"from_numpy", "as_tensor"}
BOOK_DEVICE = "book.device"


def _is_book_device(node: ast.AST | None) -> bool:
    return node is not None and ast.unparse(node) == BOOK_DEVICE


def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _moved_to_book_device(call: ast.Call, parents: dict[ast.AST, ast.AST]) -> bool:
    """``call`` is the receiver of ``.to(book.device, ...)``, perhaps after ``.to(dtype)``."""
    node = call
    while True:
        attribute = parents.get(node)
        outer = parents.get(attribute) if attribute is not None else None
        if not (isinstance(attribute, ast.Attribute) and attribute.attr == "to"
                and isinstance(outer, ast.Call)):
            return False
        if (outer.args and _is_book_device(outer.args[0])) or \
                _is_book_device(_keyword(outer, "device")):
            return True
        node = outer


def _on_host(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """The statement holding ``node`` works on the CPU (``.cpu()``, ``"cpu"``): a float64
    reference computed on the host is fine in a float32 chapter."""
    while node in parents and not isinstance(node, ast.stmt):
        node = parents[node]
    text = ast.unparse(node)
    return ".cpu()" in text or "'cpu'" in text or '"cpu"' in text


def _samplers(tree: ast.AST) -> dict[str, set[str]]:
    """``{alias: {samplers}}`` for the dotbook modules imported: a sampler is a function with
    ``generator`` and ``device`` parameters (it decides where to draw when given neither)."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dotbook"):
            for alias in node.names:
                try:
                    module = importlib.import_module(f"{node.module}.{alias.name}")
                except ImportError:
                    continue
                found[alias.asname or alias.name] = {
                    name for name, fn in inspect.getmembers(module, inspect.isfunction)
                    if {"generator", "device"} <= set(inspect.signature(fn).parameters)
                }
    return found


def _python(source: str) -> str:
    """A cell's source with IPython magics and shell lines blanked out."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def chapter_dtype(nb: nbformat.NotebookNode) -> str:
    found = re.search(r'dtype="(\w+)"', nb.cells[0].source)
    return found.group(1) if found else "float64"


def device_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Every place where a chapter's code leaves the chapter's device or dtype."""
    cells = [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"][1:]
    trees = [(i, ast.parse(_python(source))) for i, source in cells]
    samplers: dict[str, set[str]] = {}
    for _, tree in trees:
        samplers.update(_samplers(tree))
    float64_ok = chapter_dtype(nb) == "float64"
    problems = []
    for i, tree in trees:
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            where = f"cell {i}, line {getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Attribute) and node.attr in {"float64", "double"} \
                    and not float64_ok and not _on_host(node, parents):
                problems.append(f"{where}: float64 in a {chapter_dtype(nb)} chapter "
                                f"({ast.unparse(node)}); use book.dtype")
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            text = ast.unparse(func)
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if text == "torch.Generator" or name == "manual_seed" or (
                    name == "generator" and text != "book.generator"):
                problems.append(f"{where}: {text}(...) makes a generator; use book.generator(k)")
            generator = _keyword(node, "generator")
            if generator is not None and not (isinstance(generator, ast.Call)
                                              and ast.unparse(generator.func) == "book.generator"):
                if not isinstance(generator, ast.Name):  # a name bound to book.generator(k)
                    problems.append(f"{where}: generator={ast.unparse(generator)}; "
                                    f"pass generator=book.generator(k)")
            if name == "numpy" and isinstance(func, ast.Attribute) and not (
                    isinstance(func.value, ast.Call)
                    and ast.unparse(func.value.func).endswith(".cpu")):
                problems.append(f"{where}: {text}() of a tensor that may live on a GPU; "
                                f"call .cpu().numpy()")
            if text.startswith("torch.") and name in FACTORIES and text.count(".") == 1:
                if not _is_book_device(_keyword(node, "device")):
                    problems.append(f"{where}: {text}(...) without device=book.device")
            if text.startswith("torch.") and name in FROM_HOST:
                if not (_is_book_device(_keyword(node, "device"))
                        or _moved_to_book_device(node, parents)):
                    problems.append(f"{where}: {text}(...) not moved with .to(book.device)")
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                    and func.attr in samplers.get(func.value.id, set()):
                if generator is None and not _is_book_device(_keyword(node, "device")):
                    problems.append(f"{where}: {text}(...) samples without "
                                    f"generator=book.generator(k) or device=book.device")
    # a name used as generator=... must be bound to book.generator(k)
    for i, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                if ast.unparse(node.value.func) in {"generator", "device.generator",
                                                    "torch.Generator"}:
                    problems.append(f"cell {i}: {ast.unparse(node)} binds a generator that is "
                                    f"not book.generator(k)")
    return problems


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_tensor_and_generator_follows_the_chapter_device(path):
    problems = device_problems(nbformat.read(path, as_version=4))
    assert not problems, "\n".join(problems)


BAD = '''
import torch
from dotbook import highdim
from dotbook.device import generator
g = torch.Generator().manual_seed(0)
a = torch.randn(3, dtype=torch.float64)
b = torch.zeros(3, device="cpu")
c = torch.from_numpy(x)
d = highdim.cosine_samples(10, 3, generator=generator(1), device=book.device)
e = highdim.random_directions(4, 3)
f = torch.ones(2, device=book.device).double()
h = torch.ones(2, device=book.device).cpu().double()
k = a.numpy()
'''
GOOD = '''
import torch
from dotbook import highdim
a = torch.randn(3, generator=book.generator(1), device=book.device, dtype=book.dtype)
c = torch.from_numpy(x).to(book.device)
c2 = torch.as_tensor(x).to(book.dtype).to(book.device)
d = highdim.cosine_samples(10, 3, generator=book.generator(1))
e = highdim.random_directions(4, 3, device=book.device)
f = torch.zeros_like(a)
k = a.cpu().numpy()
'''


def _notebook(source: str, dtype: str = "") -> nbformat.NotebookNode:
    setup = f'book = notebook.setup(seed=0{", dtype=" + repr(dtype) if dtype else ""})'
    setup = setup.replace("'", '"')
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(setup),
                                           nbformat.v4.new_code_cell(source)])


def test_the_checker_catches_each_kind_of_mistake():
    problems = "\n".join(device_problems(_notebook(BAD, "float32")))
    for expected in ["torch.Generator(...) makes a generator",
                     "torch.Generator().manual_seed(...) makes a generator",
                     "torch.randn(...) without device=book.device",
                     "torch.zeros(...) without device=book.device",
                     "torch.from_numpy(...) not moved",
                     "generator=generator(1)",
                     "highdim.random_directions(...) samples without",
                     "a.numpy() of a tensor that may live on a GPU",
                     "float64 in a float32 chapter (torch.float64)",
                     "float64 in a float32 chapter (torch.ones(2, device=book.device).double)"]:
        assert expected in problems, expected
    assert ".cpu().double" not in problems  # float64 on the host is fine
    assert device_problems(_notebook(GOOD)) == []
