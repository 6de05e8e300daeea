"""Chapter 7's memory/time table: naive, chunked and fused attention against T.

    .venv/bin/python tools/bench_attention.py                  # this CPU
    .venv/bin/python tools/bench_attention.py --device cuda    # a GPU (make gpu-check)
    .venv/bin/python tools/bench_attention.py --T 512 1024 --heads 4 --json out.json

Every number is measured (dotbook.measure.measure_at_scale): peak memory by
dotbook.measure.peak_bytes (torch.cuda.max_memory_allocated on CUDA, the
profiler's allocator trace on the CPU), time by dotbook.device.timed (median,
synchronised). A method that runs out of memory at some T is reported as
"out of memory" there and not tried at larger T. The closing lines give the
measured bytes per score element of the naive route and the longest T its
score buffers would allow in 80 GB and 24 GB with 32 heads.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402

from dotbook import device, measure  # noqa: E402

DEFAULT_T = {"cpu": (256, 512, 1024, 2048, 4096),
             "cuda": (1024, 2048, 4096, 8192, 16384, 32768, 65536)}


def out_of_memory(error: BaseException) -> bool:
    kind = getattr(torch, "OutOfMemoryError", None)
    return (kind is not None and isinstance(error, kind)) or "out of memory" in str(error)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--T", type=int, nargs="+", help="sequence lengths (default per device)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--heads", type=int, default=None,
                        help="heads (default 2 on the CPU, 8 on CUDA)")
    parser.add_argument("--d-k", type=int, default=64)
    parser.add_argument("--block", type=int, default=256, help="keys per block, chunked route")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()

    if args.device == "cuda" and not torch.cuda.is_available():
        print("bench_attention: --device cuda, but torch sees no CUDA device", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    where = torch.device(args.device)
    dtype = getattr(torch, args.dtype)
    heads = args.heads or (8 if where.type == "cuda" else 2)
    Ts = tuple(args.T or DEFAULT_T[where.type])
    print(f"# attention at scale on {device.describe(where)}: batch {args.batch}, "
          f"heads {heads}, d_k {args.d_k}, {args.dtype}, block {args.block}, "
          f"{torch.get_num_threads()} CPU threads")
    print(f"{'T':>7}  {'method':8}  {'peak memory (MB)':>16}  {'time (ms)':>10}  "
          f"{'± IQR/2':>8}")
    rows: list[measure.ScaleRow] = []
    failed: dict[str, int] = {}
    start = time.perf_counter()
    for T in sorted(Ts):
        for method in measure.SCALE_METHODS:
            if method in failed:
                continue
            try:
                (row,) = measure.measure_at_scale(
                    [T], batch=args.batch, heads=heads, d_k=args.d_k, block=args.block,
                    methods=[method], repeats=args.repeats, generator=device.generator(0, where),
                    device=where, dtype=dtype)
            except (RuntimeError, MemoryError) as error:
                if not out_of_memory(error):
                    raise
                failed[method] = T
                print(f"{T:7d}  {method:8}  {'out of memory':>16}")
                if where.type == "cuda":
                    torch.cuda.empty_cache()
                continue
            rows.append(row)
            print(f"{T:7d}  {method:8}  {row.peak_bytes / 1e6:16.2f}  {row.seconds * 1e3:10.2f}  "
                  f"{row.spread / 2 * 1e3:8.2f}", flush=True)
    naive = [r for r in rows if r.method == "naive"]
    if len(naive) >= 2:
        per = measure.bytes_per_score(rows, "naive", batch=args.batch, heads=heads)
        print(f"naive: {per:.2f} bytes per score element ({per / dtype.itemsize:.2f} "
              f"{args.dtype} buffers of size T×T alive at the peak)")
        for budget in (80e9, 24e9):
            print(f"naive, 32 heads, batch 1: longest T in {budget / 1e9:.0f} GB = "
                  f"{measure.max_length(per, budget, heads=32):,}")
    print(f"({time.perf_counter() - start:.1f} s)")
    if args.json:
        args.json.write_text(json.dumps({
            "device": device.describe(where), "batch": args.batch, "heads": heads,
            "d_k": args.d_k, "dtype": args.dtype, "block": args.block,
            "out_of_memory_at": failed,
            "rows": [r.__dict__ for r in rows]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
