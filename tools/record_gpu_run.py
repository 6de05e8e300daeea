"""Append one passed GPU check to ``book/gpu-runs.json`` (``make gpu-check`` runs this last).

    python tools/record_gpu_run.py [--result "..."]

Records the UTC date, the CUDA device's name and the torch version. The
Verification status appendix (``book/_ext/dotbook_appendix.py``) shows the
latest entry, or "never" when there is none. Exit status 1 without a CUDA device.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "book" / "gpu-runs.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--result", default="unit tests and chapters passed")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("no CUDA device here; nothing recorded", file=sys.stderr)
        return 1
    stored = json.loads(RUNS.read_text()) if RUNS.exists() else {"runs": []}
    stored.setdefault("runs", []).append({
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "result": args.result,
    })
    RUNS.write_text(json.dumps(stored, indent=2) + "\n")
    print(f"recorded a GPU run in {RUNS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
