"""``python -m tlkit run``: execute the notebooks headless, collect claims, write a report."""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Sequence

from .kernel import KERNEL_NAME, install_kernel

RESULT_COLUMNS = ("notebook", "approach", "metric", "transfer", "baseline", "baseline is", "gain", "seconds")
_RESULT_KEYS = {"baseline is": "baseline_name"}     # column -> key of a recorded result, where they differ


def find_notebooks_dir(explicit: str | None = None) -> Path:
    """``explicit``, ``./notebooks`` or the repository's ``notebooks/`` beside the package."""
    for cand in ([Path(explicit)] if explicit else []) + [Path.cwd() / "notebooks",
                                                          Path(__file__).resolve().parents[1] / "notebooks"]:
        if cand.is_dir() and any(cand.glob("*.ipynb")):
            return cand
    raise FileNotFoundError("no notebooks/ folder with .ipynb files found; run from the course repository")


def select_notebooks(folder: Path, which: Sequence[str] = ()) -> list[Path]:
    """Notebooks in ``folder`` whose name starts with one of ``which`` (all when empty)."""
    every = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not which:
        return every
    chosen = [p for p in every if any(p.name.startswith(w) for w in which)]
    unknown = [w for w in which if not any(p.name.startswith(w) for p in every)]
    if unknown:
        raise ValueError(f"no notebook matches {unknown}; available: {[p.stem for p in every]}")
    return chosen


def execute_notebook(path: Path, out_path: Path, timeout: int = 900) -> tuple[bool, float, str]:
    """Run one notebook with the quiet kernel; write the executed copy. Returns (ok, seconds, error)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name=KERNEL_NAME,
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.time()
    err = ""
    log = open(out_path.with_suffix(".kernel.log"), "w")  # the kernel's own stderr (TensorFlow start-up lines)
    try:
        client.execute(stderr=log, stdout=log)
        ok = True
    except CellExecutionError as exc:
        ok = False
        lines = [ln for ln in str(exc).splitlines() if ln.strip()]
        err = next((ln for ln in reversed(lines) if "Error" in ln or "FAILED" in ln), lines[-1] if lines else "")
    except Exception as exc:  # kernel died, timeout
        ok = False
        err = f"{type(exc).__name__}: {exc}"
    finally:
        log.close()
    nbformat.write(nb, out_path)
    return ok, time.time() - t0, re.sub(r"\x1b\[[0-9;]*m", "", err)


def results_table(rows: Sequence[dict]) -> str:
    """A Markdown table of headline results."""
    def fmt(col, v):
        if isinstance(v, float):
            return f"{v:.0f}" if col == "seconds" else f"{v:.3f}"
        return "" if v is None else str(v)

    head = "| " + " | ".join(RESULT_COLUMNS) + " |\n|" + "---|" * len(RESULT_COLUMNS) + "\n"
    return head + "".join("| " + " | ".join(fmt(c, r.get(_RESULT_KEYS.get(c, c))) for c in RESULT_COLUMNS) + " |\n"
                          for r in rows)


def run(which: Sequence[str] = (), profile: str | None = None, notebooks: str | None = None,
        out_root: str = "runs", timeout: int = 900) -> int:
    """Execute notebooks, write ``runs/<stamp>/`` (executed copies, report.md, figures); 0 when all pass."""
    from .profile import get_profile

    if profile:
        os.environ["TLKIT_PROFILE"] = profile
    prof = get_profile()
    folder = find_notebooks_dir(notebooks)
    chosen = select_notebooks(folder, which)
    out = Path(out_root) / time.strftime("%Y%m%d-%H%M%S")
    (out / "results").mkdir(parents=True, exist_ok=True)
    install_kernel()
    os.environ["TLKIT_RESULTS_DIR"] = str((out / "results").resolve())
    os.environ.setdefault("TLKIT_STRICT_CLAIMS", "1")     # a missed claim fails the notebook and the run
    if prof == "quick":
        from .zoo import ZOO, pretrain

        for name in ZOO:
            pretrain(name)
    print(f"tlkit run: profile={prof}, {len(chosen)} notebook(s) -> {out}", flush=True)
    rows, claims, status = [], [], []
    t_all = time.time()
    for i, nb in enumerate(chosen, 1):
        os.environ["TLKIT_NOTEBOOK"] = nb.stem
        print(f"[{i}/{len(chosen)}] {nb.stem} ...", end=" ", flush=True)
        ok, secs, err = execute_notebook(nb, out / nb.name, timeout)
        print(f"{'ok' if ok else 'FAILED'} ({secs:.1f} s){'  ' + err if err else ''}", flush=True)
        status.append((nb.stem, ok, secs, err))
        res_file = out / "results" / f"{nb.stem}.json"
        data = json.loads(res_file.read_text()) if res_file.exists() else {"claims": {}, "results": [], "figures": []}
        for r in data["results"]:
            rows.append({"notebook": nb.stem, **r, "seconds": round(secs, 1)})
        for name, c in data["claims"].items():
            claims.append((nb.stem, name, c))
        data["figures"] = [str(Path(f).relative_to(out.resolve())) if Path(f).is_absolute() and
                           str(f).startswith(str(out.resolve())) else f for f in data["figures"]]
        status[-1] = status[-1] + (data["figures"],)
    total = time.time() - t_all
    report = [f"# tlkit run - profile `{prof}`\n", f"{time.strftime('%Y-%m-%d %H:%M')}, total {total:.0f} s\n",
              "## Notebooks\n", "| notebook | status | seconds | error |\n|---|---|---|---|\n"]
    report += [f"| {s} | {'ok' if ok else 'FAILED'} | {secs:.1f} | {err} |\n" for s, ok, secs, err, _ in status]
    report += ["\n## Results\n", results_table(rows), "\n## Claims\n", "| notebook | claim | measured | expected | ok |\n",
               "|---|---|---|---|---|\n"]
    report += [f"| {nb} | {n} | {c['value']:.4g} | {c['op']} {c['threshold']} | {'yes' if c['ok'] else 'NO'} |\n"
               for nb, n, c in claims]
    report.append("\n## Figures\n")
    for s, *_, figs in status:
        report += [f"![{s}]({f})\n" for f in figs]
    (out / "report.md").write_text("".join(report))
    latest = Path(out_root) / "latest"
    try:
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(out.name)
    except OSError:
        pass
    print("\n" + results_table(rows))
    failed = [s for s, ok, *_ in status if not ok] + [f"{nb}: {n}" for nb, n, c in claims if not c["ok"]]
    print(f"report: {out / 'report.md'} | total {total:.0f} s | "
          + ("all claims hold" if not failed else f"FAILED: {', '.join(failed)}"))
    return 1 if failed else 0
