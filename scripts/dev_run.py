"""Development runs: execute a notebook on development seeds (not the ones its claims are measured on) and print
the value of every claim, so that thresholds can be fixed *before* the final run.

    python scripts/dev_run.py 08 --setup "import tlkit.hubs as h; h.SEEDS = (10, 11, 12)"

``--setup`` is Python run right after the notebook's first code cell (e.g. other seeds); claims are not asserted
(TLKIT_STRICT_CLAIMS=0) and results go to a temporary folder. Not part of the course or of the test command.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook", help="number or name prefix, e.g. 08")
    ap.add_argument("--setup", default="", help="Python run after the first code cell")
    args = ap.parse_args()
    [path] = sorted((ROOT / "notebooks").glob(f"{args.notebook}_*.ipynb"))
    nb = nbformat.read(path, as_version=4)
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    if args.setup:
        nb.cells.insert(first + 1, nbformat.v4.new_code_cell(args.setup))
    out = Path(tempfile.mkdtemp(prefix="tlkit-dev-"))
    os.environ.update(TLKIT_STRICT_CLAIMS="0", TLKIT_RESULTS_DIR=str(out), PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    print(f"{path.stem}: {time.perf_counter() - t0:.0f} s; setup: {args.setup!r}")
    for f in out.glob("*.json"):
        data = json.loads(f.read_text())
        for name, c in data.get("claims", {}).items():
            print(f"  {c.get('value')!s:>22}  {c.get('op', '')} {c.get('threshold', '')}  {name}")


if __name__ == "__main__":
    sys.exit(main())
