"""Chapter 4's benchmark: the device's ceilings, the harness against torch.utils.benchmark
and timeit, and the dot-product and matrix ladders, printed as tables.

    python tools/bench_compute.py                      # the CPU
    python tools/bench_compute.py --device cuda        # a GPU (well under 5 minutes)
    python tools/bench_compute.py --device cuda --record --note "..."
                                                       # also store it as the reference

The harness (:func:`dotbook.measure.measure`, built on :func:`dotbook.device.timed`)
must measure the hardware, not itself. For small calls (``numpy.dot`` and
``torch.dot`` at n = 10 and 100, the Python loop at n = 100) it is compared with
``timeit`` (best of 7 autoranged blocks, min statistic on both sides), and the
old harness (one call per repeat, every accelerator synchronised around it) is
timed beside it for the record. For a large matmul and a large copy its
rate must reach at least 80 % of what ``torch.utils.benchmark`` measures for
the same operation in the same run, with the same number of threads. The two
are interleaved (harness, then Timer, five rounds of the same time budget
each) so that a machine whose load drifts treats both alike. The bar compares
the medians over the rounds (Timer's statistic); the best repeats (the
ceilings' statistic) are printed beside them.

``--record`` writes this device's entry into
``src/dotbook/references/compute.json`` (the chapter's reference numbers).
Exit status 1 when a harness fraction is below the bar.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import torch  # noqa: E402
from torch.utils import benchmark  # noqa: E402

from dotbook import compute, device, measure, roofline  # noqa: E402

BAR = 0.80
REFERENCE_FILE = ROOT / "src" / "dotbook" / "references" / "compute.json"
#: Sizes per device type: (ladder sizes, loop_max, matvec sides, matmul sides).
PLAN = {
    "cpu": (measure.LADDER_SIZES, 10_000, measure.MATRIX_SIZES[0], measure.MATRIX_SIZES[1]),
    "cuda": ((10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000), 10_000,
             (64, 256, 1024, 4096, 16384), (16, 32, 64)),
    "mps": (measure.LADDER_SIZES, 10_000, measure.MATRIX_SIZES[0], measure.MATRIX_SIZES[1]),
}


def timer_seconds(op: str, shape: tuple[int, ...], dev: torch.device, dtype: torch.dtype,
                  min_run_time: float) -> tuple[float, float]:
    """The same operation timed by ``torch.utils.benchmark``: (median, best) per call."""
    g = torch.Generator(device=dev).manual_seed(0)
    if op == "matmul":
        m, k, n = shape
        a = torch.randn(m, k, generator=g, device=dev).to(dtype)
        b = torch.randn(k, n, generator=g, device=dev).to(dtype)
        stmt, env = "a @ b", {"a": a, "b": b}
    else:
        x = torch.ones(shape, device=dev, dtype=dtype)
        y = torch.empty_like(x)
        stmt, env = "y.copy_(x)", {"x": x, "y": y}
    # Timer defaults to one thread; the harness (and a reader) uses torch's setting
    t = benchmark.Timer(stmt, globals=env, num_threads=torch.get_num_threads()
                        ).blocked_autorange(min_run_time=min_run_time)
    return t.median, min(t.times)


def old_timed(fn, *args, repeats: int = 7) -> float:
    """The harness before the fix, kept only for the before/after report: one call per
    repeat, with every accelerator's availability checked and synchronised around it."""
    times = []
    fn(*args)
    for _ in range(repeats):
        device.synchronize()
        start = time.perf_counter()
        fn(*args)
        device.synchronize()
        times.append(time.perf_counter() - start)
    return min(times)


def small_calls(repeats: int = 15) -> list[tuple[str, float, float, float]]:
    """(what, timeit, new harness, old harness) best seconds per call, for small calls."""
    import timeit

    import numpy as np

    g = torch.Generator().manual_seed(0)
    out = []
    for what, method, n in (("numpy.dot", "numpy", 10), ("numpy.dot", "numpy", 100),
                            ("torch.dot", "torch", 10), ("torch.dot", "torch", 100),
                            ("Python loop", "loop", 100)):
        a, b = torch.randn(n, generator=g), torch.randn(n, generator=g)
        fn, args = compute._native(method, a, b)
        timer = timeit.Timer("fn(x, y)", globals={"fn": fn, "x": args[0], "y": args[1]})
        number, _ = timer.autorange()
        ref = min(timer.repeat(repeat=repeats, number=number)) / number
        new = measure.measure("dot", n, method=method, repeats=repeats, number=None,
                              threads=1).best
        with device.cpu_threads(1):
            old = old_timed(fn, *args, repeats=repeats)
        out.append((f"{what} n={n}", ref, new, old))
    del np
    return out


def harness_vs_timer(ceil: roofline.Ceilings, dev: torch.device, rounds: int,
                     min_run_time: float) -> list[tuple[str, str, float, float, float]]:
    """(what, statistic, harness rate, Timer rate, fraction) for each matmul and the
    copy, for the best repeat (what the ceilings use) and for the median."""
    out = []
    for m in (*ceil.matmul, ceil.copy):
        dtype = getattr(torch, m.dtype)
        ours, theirs = [], []
        # the same time budget per round for both, so that both medians rest on as many calls
        repeats = max(m.repeats, math.ceil(min_run_time / m.seconds))
        for _ in range(rounds):
            again = measure.measure(m.op, m.shape, device=dev, dtype=dtype, repeats=repeats,
                                    threads=m.threads)
            ours.append((again.seconds, again.best))
            theirs.append(timer_seconds(m.op, m.shape, dev, dtype, min_run_time))
        work = (m.flops if m.op == "matmul" else m.nbytes) / 1e9
        what = f"{m.op} {'×'.join(map(str, m.shape))} {m.dtype}"
        best_h, best_t = work / min(b for _, b in ours), work / min(b for _, b in theirs)
        med_h = work / statistics.median([s for s, _ in ours])
        med_t = work / statistics.median([s for s, _ in theirs])
        out.append((what, "best", best_h, best_t, best_h / best_t))
        out.append((what, "median", med_h, med_t, med_h / med_t))
    return out


def dumps(stored: dict) -> str:
    """The reference file's text: indented, with one measurement per line."""
    text = json.dumps(stored, indent=1, ensure_ascii=False)
    one_line = re.compile(r'\{\n\s+"op": [^{}]*?\}')
    return one_line.sub(lambda m: json.dumps(json.loads(m.group(0)), ensure_ascii=False),
                        text) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or mps")
    parser.add_argument("--small-only", action="store_true",
                        help="only the small-call comparison with timeit")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of each ladder row")
    parser.add_argument("--ceiling-repeats", type=int, default=15,
                        help="repeats of each ceiling measurement (the best one counts)")
    parser.add_argument("--rounds", type=int, default=5, help="harness/Timer rounds")
    parser.add_argument("--round-time", type=float, default=0.4,
                        help="seconds each of harness and Timer spend per round")
    parser.add_argument("--matmul-size", type=int, default=None)
    parser.add_argument("--copy-numel", type=int, default=None)
    parser.add_argument("--record", action="store_true",
                        help="store this run as the device's reference in " +
                             str(REFERENCE_FILE.relative_to(ROOT)))
    parser.add_argument("--note", default="", help="the reference's note (with --record)")
    args = parser.parse_args()

    try:
        dev = device.resolve_device(args.device)
    except ValueError as error:
        print(f"bench_compute: {error}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    name = device.device_name(dev)
    print(f"# Chapter 4 benchmark on {dev.type}: {name}; torch {torch.__version__}")

    print("\n## Small calls: harness against timeit (best per call; error = harness/timeit - 1)")
    print(f"{'call':18} {'timeit':>10} {'harness':>10} {'error':>8} {'old harness':>12} "
          f"{'old error':>9}")
    for what, ref, new, old in small_calls():
        print(f"{what:18} {ref * 1e6:8.3f}µs {new * 1e6:8.3f}µs {new / ref - 1:8.1%} "
              f"{old * 1e6:10.3f}µs {old / ref - 1:9.1%}")
    if args.small_only:
        return 0

    ceil = roofline.ceilings(dev, matmul_size=args.matmul_size, copy_numel=args.copy_numel,
                            repeats=args.ceiling_repeats)
    print("\n## Ceilings (dotbook.roofline.ceilings): this software on this hardware")
    print(ceil)
    if dev.type == "cpu":
        print(roofline.cpu_peak())
        print("libraries:", roofline.libraries())

    print(f"\n## Harness vs torch.utils.benchmark, {args.rounds} interleaved rounds "
          f"(bar: harness >= {BAR:.0%} of Timer)")
    print(f"{'operation':32} {'statistic':9} {'harness':>15} {'Timer':>15} {'fraction':>9}  "
          f"verdict")
    failed = False
    for what, stat, ours, theirs, frac in harness_vs_timer(ceil, dev, args.rounds, args.round_time):
        unit = "GB/s" if what.startswith("copy") else "GFLOP/s"
        if stat == "median":  # the bar: like for like, Timer's own statistic
            ok = frac >= BAR
            failed |= not ok
            verdict = "ok" if ok else "UNDER"
        else:  # the ceilings' statistic; a best-of-N depends on N, so information only
            verdict = "(info)"
        print(f"{what:32} {stat:9} {ours:7.4g} {unit:7} {theirs:7.4g} {unit:7} {frac:9.1%}  "
              f"{verdict}")

    sizes, loop_max, mv, mm = PLAN[dev.type]
    print("\n## Dot-product ladder (time, rates; speed-up over the Python loop)")
    rows = measure.ladder(sizes, device=dev, loop_max=loop_max, repeats=args.repeats)
    rows += measure.matrix_ladder(mv, mm, device=dev, repeats=args.repeats)
    print(measure.table(rows))
    print(f"\n(total {time.perf_counter() - start:.1f} s)")

    if args.record:
        stored = json.loads(REFERENCE_FILE.read_text())
        stored["devices"][dev.type] = roofline.reference_entry(
            name, ceil, rows, date=datetime.date.today().isoformat(), note=args.note)
        REFERENCE_FILE.write_text(dumps(stored), encoding="utf-8")
        print(f"recorded the {dev.type} reference in {REFERENCE_FILE.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
