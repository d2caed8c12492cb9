"""Development runs of notebook 11 (tlkit.profile.LLM_DEV): the notebook with another e-mail draw
(``llm_split_seed``) whose "test" e-mails come from the rest of notebook 06's VALIDATION part, so that no
development run reads 06's test part; one TensorFlow/BLAS thread, as in the test command. Prints every cell's
times and outputs; claims are not asserted. Not part of the course or of the test command.

    python scripts/dev_llm.py 100 [", llm_lora_layers=2"]      # extra budget overrides, dataclasses.replace syntax
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "11_language_model_lora.ipynb"
DEV_TEST = ("test_idx = draw(part_test, B.llm_test_per_class)",
            "test_idx = draw(np.setdiff1d(part_val, np.concatenate([train_idx, val_idx])), B.llm_test_per_class)")


def main() -> None:
    seed = int(sys.argv[1])
    extra = sys.argv[2] if len(sys.argv) > 2 else ""
    for var in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ[var] = "1"
    os.environ.update(PYTHONPATH=str(ROOT), TLKIT_STRICT_CLAIMS="0", TLKIT_PROFILE=os.environ.get("TLKIT_PROFILE", "quick"),
                      TLKIT_RESULTS_DIR=tempfile.mkdtemp(prefix="tlkit-dev11-"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    replaced = 0
    for c in nb.cells:
        if c.cell_type == "code" and "B = tlkit.budget()" in c.source:
            c.source = c.source.replace("B = tlkit.budget()", "import dataclasses; B = dataclasses.replace("
                                        f"tlkit.budget(), llm_split_seed={seed}{extra})")
            replaced += 1
        if c.cell_type == "code" and DEV_TEST[0] in c.source:
            c.source = c.source.replace(*DEV_TEST)
            replaced += 1
    if replaced != 2:
        raise SystemExit("the notebook changed: the budget line or the test draw was not found")
    t0 = time.time()
    try:
        NotebookClient(nb, timeout=1800, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        for i, c in enumerate(nb.cells):
            if c.cell_type != "code":
                continue
            e = c.metadata.get("execution", {})
            outs = []
            for o in c.get("outputs", []):
                if o.output_type == "stream":
                    outs.append(o.text[-1500:])
                elif o.output_type in ("execute_result", "display_data"):
                    outs.append(o.data.get("text/plain", "")[-1500:])
                elif o.output_type == "error":
                    outs.append(f"ERROR {o.ename}: {o.evalue[:1500]}")
            print(f"--- cell {i}", e.get("iopub.execute_input", "")[11:19], e.get("shell.execute_reply", "")[11:19])
            print("\n".join(outs)[-2500:])
        print("total", round(time.time() - t0))


if __name__ == "__main__":
    main()
