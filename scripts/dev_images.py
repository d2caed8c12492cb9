"""Development runs of notebooks 01 and 02 on seeds the notebooks' own run does not use.

The thresholds of 01's and 02's claims (``fe_*`` / ``ft_*`` in ``tlkit/profile.py``) are fixed from these runs
BEFORE the notebooks run on their own seeds (01: ``fe_seeds`` 0-2; 02: ``ft_seed`` 0). This script runs a notebook
headless in the quick profile with a ``TLKIT_SOURCES`` budget override of its seeds, with claims reported but not
asserted (their thresholds are what is being calibrated), and prints the value behind every claim per seed, as JSON.

    python scripts/dev_images.py 01 --seeds 3 4 5      # one run: fe_seeds = fe_twin_seeds = (3, 4, 5)
    python scripts/dev_images.py 02 --seeds 1 2 3      # three runs: ft_seed = 1, 2, 3

Everything else (the validation split that chooses the recipes, the candidates, the budgets) is the notebook's.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))         # this checkout's tlkit, not an installed one
NOTEBOOKS = {"01": ROOT / "notebooks" / "01_feature_extraction.ipynb",
             "02": ROOT / "notebooks" / "02_fine_tuning_images.ipynb"}

# appended to the notebook: the per-seed values behind each claim (the claims themselves record the worst seed)
DEV_CELL = {
    "01": '''
import json as _json
_k = curve[curve["labels/class"] == k_few].set_index("seed")
_dev = {"seeds": list(B.fe_seeds), "twin seeds": list(B.fe_twin_seeds), "probe C": probe_c,
        "small CNN recipe": str(small_recipe), "twin recipe": str(twin_recipe),
        "feature extraction at k": {int(s): float(v) for s, v in _k["transfer"].items()},
        "small CNN gain": {f"k={int(k)} seed={int(s)}": float(t - c) for k, s, t, c in
                           curve[curve["labels/class"].isin(claim_ks)][["labels/class", "seed", "transfer", "scratch"]]
                           .itertuples(index=False)},
        "twin gain": {int(s): float(_k.loc[s, "transfer"] - twin.loc[s, "same architecture, scratch"]) for s in twin.index},
        "small CNN accuracy": {f"k={int(k)} seed={int(s)}": float(c) for k, s, c in
                               curve[["labels/class", "seed", "scratch"]].itertuples(index=False)},
        "twin accuracy": {int(s): float(v) for s, v in twin["same architecture, scratch"].items()},
        "scratch training accuracy (claim ks)": {f"k={int(k)} seed={int(s)}": float(a) for k, s, a in
            curve[curve["labels/class"].isin(claim_ks)][["labels/class", "seed", "scratch training accuracy"]]
            .itertuples(index=False)},
        "twin training accuracy": {int(s): float(v) for s, v in twin["training accuracy"].items()},
        "cache speed-up": float(t_compute / t_cached), "epoch speed-up": float(speedup)}
print("DEVJSON " + _json.dumps(_dev))
''',
    "02": '''
import json as _json
print("DEVJSON " + _json.dumps({"seed": SEED, "feature extraction": float(acc_fe), "two-stage": float(acc_two),
    "two-stage minus feature extraction": float(acc_two - acc_fe), "knowledge two-stage": float(know_two),
    "knowledge all trainable stage-1 rate": float(know_naive), "knowledge pretrained": float(know_pretrained),
    "knowledge kept two-stage minus stage-1 rate": float(know_two - know_naive),
    "all trainable stage-1 rate accuracy": float(acc_naive), "all trainable stage-2 rate accuracy": float(acc_gentle),
    "knowledge all trainable stage-2 rate": float(know_gentle), "epochs kept": [epoch1, epoch2, naive["epoch"],
    gentle["epoch"]], "largest BN change two-stage": float(max(bn_change_two.values()))}))
'''}


def run(number: str, budget: dict, out: Path | None = None) -> tuple[dict, float, list[str]]:
    """Execute notebook ``number`` with ``budget`` overriding the quick profile; (values, seconds, claim lines)."""
    import nbformat
    from nbclient import NotebookClient

    from tlkit.kernel import KERNEL_NAME, install_kernel

    install_kernel()
    with tempfile.TemporaryDirectory(prefix="tlkit-dev-") as tmp:
        table = Path(tmp) / "sources.json"
        table.write_text(json.dumps({"note": "development seeds (scripts/dev_images.py)",
                                     "budget": {"quick": budget}}))
        os.environ.update({"TLKIT_SOURCES": str(table), "TLKIT_PROFILE": "quick", "TLKIT_STRICT_CLAIMS": "0",
                           "TLKIT_RESULTS_DIR": str(Path(tmp) / "results"), "TLKIT_NOTEBOOK": NOTEBOOKS[number].stem,
                           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)})
        nb = nbformat.read(NOTEBOOKS[number], as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(DEV_CELL[number]))
        client = NotebookClient(nb, timeout=1800, kernel_name=KERNEL_NAME,
                                resources={"metadata": {"path": str(NOTEBOOKS[number].parent)}})
        t0 = time.time()
        client.execute()
        secs = time.time() - t0
    if out is not None:                      # the executed copy, for reading the tables
        out.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out / f"{NOTEBOOKS[number].stem}-{'-'.join(f'{k}{v}' for k, v in budget.items())}.ipynb")
    lines = [t for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "stream"
             for t in o.get("text", "").splitlines()]
    values = json.loads(next(t for t in lines if t.startswith("DEVJSON "))[len("DEVJSON "):])
    return values, secs, [t for t in lines if t.startswith("CLAIM")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebook", choices=sorted(NOTEBOOKS))
    ap.add_argument("--seeds", type=int, nargs="+", required=True)
    ap.add_argument("--out", type=Path, default=None, help="folder for the executed notebooks")
    args = ap.parse_args(argv)
    if args.notebook == "01":
        runs = [{"fe_seeds": args.seeds, "fe_twin_seeds": args.seeds}]
    else:
        runs = [{"ft_seed": s} for s in args.seeds]
    for budget in runs:
        values, secs, claims = run(args.notebook, budget, args.out)
        print(json.dumps({"notebook": args.notebook, "budget": budget, "seconds": round(secs, 1), "values": values,
                          "claims (thresholds not yet fixed)": claims}, indent=1), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
