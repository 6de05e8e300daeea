"""dotbook.device and notebook.setup: the device/dtype policy with the
accelerators' availability monkeypatched, generator placement, and timing."""

from __future__ import annotations

import importlib.util
import sys

import pytest
import torch
from support import DEVICES, ROOT

from dotbook import _validate, device, notebook


def fake(monkeypatch: pytest.MonkeyPatch, *, cuda: bool, mps: bool) -> None:
    """Pretend the machine has (or lacks) CUDA and Apple's MPS."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


# ------------------------------------------------------------ the policy
@pytest.mark.parametrize(("cuda", "mps", "dtype", "want"), [
    (True, True, torch.float64, "cuda"),
    (True, False, torch.float32, "cuda"),
    (False, True, torch.float64, "cpu"),   # MPS has no float64
    (False, True, torch.float32, "mps"),
    (False, True, None, "mps"),
    (False, False, torch.float64, "cpu"),
])
def test_best_picks_the_fastest_device_that_holds_the_dtype(monkeypatch, cuda, mps, dtype,
                                                             want):
    fake(monkeypatch, cuda=cuda, mps=mps)
    assert device.best(dtype).type == want


def test_supports_knows_mps_has_no_float64():
    assert device.supports("mps", torch.float32) and device.supports("cuda", torch.float64)
    assert not device.supports("mps", torch.float64)
    assert not device.supports(torch.device("mps"), torch.complex128)
    with pytest.raises(TypeError, match="torch dtype"):
        device.supports("cpu", "float64")


def test_setup_falls_back_to_the_cpu_with_a_note_on_mps_for_float64(monkeypatch, capsys):
    fake(monkeypatch, cuda=False, mps=True)
    book = notebook.setup(seed=3)
    out = capsys.readouterr().out
    assert book.device.type == "cpu" and book.dtype == torch.float64 and book.seed == 3
    assert "note: mps has no float64, so this chapter computes on cpu" in out
    assert len(out.strip().splitlines()) == 2  # the setup line and the one note


def test_setup_uses_mps_for_a_float32_chapter_without_a_note(monkeypatch, capsys):
    fake(monkeypatch, cuda=False, mps=True)
    book = notebook.setup(seed=0, dtype="float32")
    out = capsys.readouterr().out
    assert book.device.type == "mps" and book.dtype == torch.float32
    assert "note" not in out and "float32" in out


def test_setup_on_cuda_keeps_float64_without_a_note(monkeypatch, capsys):
    fake(monkeypatch, cuda=True, mps=True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Fake GPU")
    book = notebook.setup(seed=0)
    assert book.device.type == "cuda" and book.dtype == torch.float64
    assert "note" not in capsys.readouterr().out


def test_setup_refuses_a_non_float_dtype():
    # a dtype (or its name) the book does not compute in is a bad value; a non-dtype a bad type
    with pytest.raises(ValueError, match="floating-point"):
        notebook.setup(dtype=torch.int64)
    with pytest.raises(ValueError, match="floating-point"):
        notebook.setup(dtype="float128")
    with pytest.raises(TypeError, match="torch dtype or its name"):
        notebook.setup(dtype=3)


@pytest.mark.parametrize("dev", DEVICES)
def test_book_generator_lives_on_the_book_device_and_is_seeded(dev):
    book = notebook.Setup(device=torch.device(dev), dtype=torch.float32, seed=10)
    g = book.generator(2)
    assert g.device.type == dev and g.initial_seed() == 12
    a = torch.randn(4, generator=g, device=book.device, dtype=book.dtype)
    b = torch.randn(4, generator=book.generator(2), device=book.device, dtype=book.dtype)
    assert torch.equal(a, b)
    assert not torch.equal(a, torch.randn(4, generator=book.generator(3), device=book.device,
                                          dtype=book.dtype))
    with pytest.raises(ValueError, match="k must be an int >= 0"):
        book.generator(-1)


# ------------------------------------------------------------ placement
def test_placement_resolves_and_refuses(monkeypatch):
    g = device.generator(0)
    assert device.placement(None, torch.float64, None) == (torch.device("cpu"), torch.float64)
    assert device.placement(None, torch.float32, g) == (torch.device("cpu"), torch.float32)
    with pytest.raises(ValueError,
                       match=r"generator lives on cpu but device=meta.*book\.generator"):
        device.placement("meta", torch.float64, g)
    with pytest.raises(TypeError, match="floating-point"):
        device.placement(None, torch.int32, None)
    fake(monkeypatch, cuda=False, mps=True)  # an Apple GPU: it has no float64
    with pytest.raises(TypeError, match="MPS has no torch.float64"):
        device.placement("mps", torch.float64, None)
    with pytest.raises(TypeError, match="torch.Generator"):
        device.placement(None, torch.float64, 0)


# ------------------------------------------------------------ timing
def test_timed_synchronises_before_and_after_every_repeat(monkeypatch):
    events = []
    monkeypatch.setattr(device, "synchronize", lambda *a: events.append("sync"))
    t = device.timed(lambda x: events.append(x), "call", repeats=3, warmup=2, number=2)
    assert events == ["call"] * 2 + ["sync", "call", "call", "sync"] * 3
    assert len(t.times) == 3 and all(s >= 0 for s in t.times)
    assert t.median == sorted(t.times)[1] and t.spread >= 0


def test_timed_statistics_are_the_median_and_interquartile_range(monkeypatch):
    clock = iter([0.0, 1.0, 1.0, 3.0, 3.0, 6.0, 6.0, 10.0, 10.0, 15.0])
    monkeypatch.setattr(device.time, "perf_counter", lambda: next(clock))
    t = device.timed(lambda: None, repeats=5, warmup=0)
    assert t.times == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert t.median == 3.0 and t.spread == 2.0  # quartiles 2 and 4
    assert "median" in str(t)


def test_synchronize_waits_for_cuda_once_initialised(monkeypatch):
    calls = []
    fake(monkeypatch, cuda=True, mps=False)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: calls.append("cuda"))
    device.synchronize()
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)
    device.synchronize()
    assert calls == ["cuda"]


def test_synchronize_waits_for_mps(monkeypatch):
    calls = []
    fake(monkeypatch, cuda=False, mps=True)
    monkeypatch.setattr(torch.mps, "synchronize", lambda: calls.append("mps"))
    device.synchronize()
    assert calls == ["mps"]


def test_timed_synchronises_only_the_device_under_test(monkeypatch):
    events = []
    monkeypatch.setattr(device, "synchronize", lambda *a: events.append(a))
    device.timed(lambda: None, repeats=2, device="cpu")
    device.timed(torch.dot, torch.ones(3), torch.ones(3), repeats=2)  # CPU tensors
    assert events == []
    device.timed(lambda: None, repeats=1, device="meta")
    assert events == [(torch.device("meta"),)] * 2


def test_timed_autorange_grows_the_block_until_it_lasts_long_enough():
    t = device.timed(lambda: None, number=None, repeats=3, device="cpu")
    assert t.number > 10 and len(t.times) == 3
    assert t.median * t.number >= 0.5 * device.MIN_BLOCK
    assert "call(s)" in str(t)


def test_timed_refuses_bad_arguments():
    with pytest.raises(ValueError, match="repeats must be an int >= 1"):
        device.timed(lambda: None, repeats=0)
    with pytest.raises(TypeError, match="callable"):
        device.timed(3)
    with pytest.raises(ValueError, match="at most"):
        device.timed(lambda: None, repeats=10**12)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_placement_refuses_a_device_this_torch_does_not_have():
    with pytest.raises(ValueError, match="cuda was asked for, but this torch has no CUDA; "
                                         "use device.best()"):
        device.placement("cuda", torch.float32, None)
    with pytest.raises(ValueError, match="cuda was asked for"):
        device.generator(0, "cuda")


def test_mps_is_refused_clearly_where_there_is_none(monkeypatch):
    fake(monkeypatch, cuda=False, mps=False)
    with pytest.raises(ValueError, match="mps was asked for, but this torch has no MPS"):
        device.placement("mps", torch.float32, None)


def test_check_validates_device_and_dtype_at_the_boundary():
    assert device.check("cpu", torch.float64) == (torch.device("cpu"), torch.float64)
    assert device.check(None, torch.float32) == (None, torch.float32)
    with pytest.raises(TypeError, match="floating-point"):
        device.check("cpu", torch.int64)
    assert device.check("cpu", torch.int64, floating=False)[1] == torch.int64
    with pytest.raises(TypeError, match="torch dtype"):
        device.check("cpu", "float32")
    with pytest.raises(ValueError, match="not a device torch knows"):
        device.check("tpu", torch.float32)


# ------------------------------------------------------------ validation
def test_integer_validation():
    assert _validate.integer(5, "n", at_least=2) == 5
    with pytest.raises(TypeError, match="n must be an int >= 2"):
        _validate.integer(True, "n", at_least=2)
    with pytest.raises(TypeError, match="n must be an int"):
        _validate.integer(2.0, "n")
    with pytest.raises(ValueError, match="n must be an int >= 2, got 1: because"):
        _validate.integer(1, "n", at_least=2, why="because")


# ------------------------------------------------------------ the setup cell
def _sync_tool():
    spec = importlib.util.spec_from_file_location("sync_notebooks",
                                                  ROOT / "tools" / "sync_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("sync_notebooks", module)
    spec.loader.exec_module(module)
    return module


def test_setup_cell_keeps_a_chapter_dtype_and_nothing_else():
    sync = _sync_tool()
    assert sync.setup_args('book = notebook.setup(seed=0, dtype="float32")') == \
        'seed=0, dtype="float32"'
    assert sync.setup_args("book = notebook.setup(seed=4)") == "seed=4"
    assert sync.setup_args("book = notebook.setup(seed=0, device='cpu')") == "seed=0"
    assert sync.setup_source('seed=0, dtype="float32"').endswith(
        'book = notebook.setup(seed=0, dtype="float32")')


# ------------------------------------------------------------ book-build mode
@pytest.mark.parametrize(("value", "active"), [("1", True), ("yes", True), ("0", False),
                                                ("", False), (None, False)])
def test_book_build_mode_has_one_home(monkeypatch, value, active):
    from dotbook import _build, explore

    if value is None:
        monkeypatch.delenv(_build.ENV, raising=False)
    else:
        monkeypatch.setenv(_build.ENV, value)
    assert _build.active() is active
    assert explore.building_book() is active  # the same switch, not a copy


def test_the_package_uses_no_private_torch_api():
    """Colab ships its own torch: a private function (``torch._standard_gamma`` once) may
    change or vanish in any release. Attribute chains through ``torch._*`` are refused."""
    import ast

    offenders = []
    for path in sorted((ROOT / "src" / "dotbook").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                    and not node.attr.startswith("__") \
                    and ast.unparse(node.value).split(".")[0] == "torch":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not offenders, "\n".join(offenders)
