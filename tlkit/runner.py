"""``python -m tlkit run``: execute the notebooks headless, collect claims, write a report."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from .kernel import KERNEL_NAME, install_kernel

REHEARSAL_NOTE = ("**Rehearsal: stand-in models (random weights, not pretrained) and fixture data - the full "
                  "profile's code paths ran; the numbers below mean nothing. rehearsal: claims not asserted.**")
RESULT_COLUMNS = ("notebook", "approach", "metric", "transfer", "baseline", "baseline is", "gain", "seconds")
_RESULT_KEYS = {"baseline is": "baseline_name"}     # column -> key of a recorded result, where they differ


def find_notebooks_dir(explicit: str | None = None) -> Path:
    """``explicit``, ``./notebooks`` or the repository's ``notebooks/`` beside the package."""
    for cand in ([Path(explicit)] if explicit else []) + [Path.cwd() / "notebooks",
                                                          Path(__file__).resolve().parents[1] / "notebooks"]:
        if cand.is_dir() and any(cand.glob("*.ipynb")):
            return cand
    raise FileNotFoundError("no notebooks/ folder with .ipynb files found; run from the course repository")


def notebook_number(path: Path) -> str:
    """A course notebook's number: ``01`` for ``01_feature_extraction``, ``03b`` for ``03b_freezing_and_lora``."""
    return path.stem.split("_", 1)[0]


_NUMBER = re.compile(r"(\d{1,2})([a-z]?)")


def select_notebooks(folder: Path, which: Sequence[str] = ()) -> list[Path]:
    """Notebooks in ``folder`` named by ``which`` (all when empty), in course order (``03`` before ``03b``).

    Each selector matches exactly: the number (``01`` or ``1``; ``03b`` for a lettered notebook) or the full
    stem (``01_feature_extraction``); anything else is a ValueError listing what is available.
    """
    every = sorted((p for p in folder.glob("[0-9][0-9]*_*.ipynb") if re.fullmatch(r"\d\d[a-z]?", notebook_number(p))),
                   key=lambda p: (notebook_number(p), p.name))
    if not which:
        return every
    by_number = {notebook_number(p): p for p in every}
    chosen, unknown = [], []
    for w in which:
        key = str(w).strip().removesuffix(".ipynb")
        m = _NUMBER.fullmatch(key)
        hit = by_number.get(m.group(1).zfill(2) + m.group(2)) if m else next(
            (p for p in every if p.stem == key), None)
        if hit is None:
            unknown.append(w)
        elif hit not in chosen:
            chosen.append(hit)
    if unknown:
        raise ValueError(f"no notebook matches {unknown} (give the two-digit number, e.g. 01, or the full name); "
                         f"available: {[p.stem for p in every]}")
    return [p for p in every if p in chosen]


def execute_notebook(path: Path, out_path: Path, timeout: int = 900) -> tuple[bool, float, str]:
    """Run one notebook with the quiet kernel; write the executed copy. Returns (ok, seconds, error)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    # shutdown_kernel="immediate": the kernel is killed once the last cell has run, as nbval does; the default
    # graceful shutdown waited for TensorFlow's exit, ~2-3 s per notebook (measured 2026-12-07), and every result
    # is written by the cells themselves
    client = NotebookClient(nb, timeout=timeout, kernel_name=KERNEL_NAME, shutdown_kernel="immediate",
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.time()
    err = ""
    log = open(out_path.with_suffix(".kernel.log"), "w")  # the kernel's own stderr (TensorFlow start-up lines)
    box: dict = {}

    def work() -> None:  # in a thread: nbclient then leaves SIGINT/SIGTERM to the runner (see _signals)
        try:
            client.execute(stderr=log, stdout=log)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            box["exc"] = exc

    worker = threading.Thread(target=work, name=f"tlkit-run-{path.stem}", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.2)
        if _STOP["signum"]:
            _kill_kernel(client, worker)
            box["exc"] = Interrupted(_STOP["signum"])
            break
    exc = box.get("exc")
    ok = exc is None
    if isinstance(exc, Interrupted):
        err = str(exc)
    elif isinstance(exc, CellExecutionError):
        lines = [ln for ln in str(exc).splitlines() if ln.strip()]
        err = next((ln for ln in reversed(lines) if "Error" in ln or "FAILED" in ln), lines[-1] if lines else "")
    elif exc is not None:  # kernel died, timeout
        err = f"{type(exc).__name__}: {exc}"
    log.close()
    nbformat.write(nb, out_path)
    return ok, time.time() - t0, re.sub(r"\x1b\[[0-9;]*m", "", err)


class Interrupted(Exception):
    """``tlkit run`` was asked to stop (Ctrl-C = SIGINT, or SIGTERM, e.g. a CI timeout)."""

    def __init__(self, signum: int):
        self.signum = int(signum)
        self.exit_code = 128 + self.signum          # the shell's convention: 130 (SIGINT), 143 (SIGTERM)
        super().__init__(f"INTERRUPTED by {signal.Signals(self.signum).name}")


_STOP: dict = {"signum": 0, "raise": False}   # set by the handler; "raise": outside notebooks, stop at once


def _on_signal(signum, frame) -> None:
    _STOP["signum"] = signum
    if _STOP["raise"]:
        raise Interrupted(signum)


@contextmanager
def _signals() -> Iterator[None]:
    """SIGINT and SIGTERM stop ``tlkit run``: the running notebook's kernel is shut down, the partial
    report is written, and the exit code is 130 / 143. (nbclient's own handlers only shut the kernel down:
    the run then logged a cryptic failure and went on with the next notebook.)"""
    _STOP.update({"signum": 0, "raise": False})
    try:
        old = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:        # not the main thread: leave signals alone
        old = {}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _kill_kernel(client, worker: threading.Thread, grace: float = 3.0) -> None:
    """Stop the kernel of ``client`` (its whole process group: SIGTERM, then SIGKILL) and wait for ``worker``."""
    deadline = time.time() + 10.0
    sent = None
    while worker.is_alive() and time.time() < deadline:
        proc = getattr(getattr(getattr(client, "km", None), "provisioner", None), "process", None)
        if proc is not None and proc.poll() is None:
            sig = signal.SIGTERM if sent is None or time.time() - sent < grace else signal.SIGKILL
            try:
                os.killpg(proc.pid, sig)      # the kernel runs in its own session (jupyter_client)
            except OSError:
                proc.send_signal(sig)
            sent = sent or time.time()
        worker.join(0.2)


# ------------------------------------------------------------------ the Colab-like environment (--colab-env)
COLAB_ENV_DEFAULT = ".venv-colab"     # scripts/colab_env.sh builds it here unless TLKIT_COLAB_ENV names a folder
COLAB_ENV_STAMP = ".tlkit-colab-env"  # written by colab_env.sh once the environment is complete


class ColabEnvMissing(FileNotFoundError):
    """The Colab-like environment of ``scripts/colab_env.sh`` is not built."""


def repo_root() -> Path:
    """The course repository: the current folder when it holds scripts/colab_env.sh, else the one beside tlkit."""
    for cand in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if (cand / "scripts" / "colab_env.sh").is_file():
            return cand
    raise ColabEnvMissing("no scripts/colab_env.sh here or beside tlkit: run from the course repository")


def colab_env_dir(root: Path | None = None) -> Path:
    """Folder of the Colab-like environment: ``TLKIT_COLAB_ENV`` (relative to the repository) or ``.venv-colab``."""
    raw = os.environ.get("TLKIT_COLAB_ENV", "").strip()
    d = Path(raw or COLAB_ENV_DEFAULT).expanduser()
    return d if d.is_absolute() else (root or repo_root()) / d


def colab_env_python(root: Path | None = None) -> Path:
    """The Colab-like environment's python; :class:`ColabEnvMissing`, naming the command that builds it, if absent."""
    env = colab_env_dir(root)
    py = env / "bin" / "python"
    if not py.is_file() or not (env / COLAB_ENV_STAMP).is_file():
        raise ColabEnvMissing(f"no Colab-like environment at {env} (Colab's Python, TensorFlow, NumPy, ... "
                              f"from constraints-colab.txt): build it with `bash scripts/colab_env.sh` "
                              f"(a minute or two, needs the package index), then run again")
    return py


def seed_colab_cache(dest: Path, source: Path | None = None) -> list[str]:
    """Copy the quick zoo's trained models (``<cache>/zoo/fashion_cnn``) from ``source`` (default: this process's
    tlkit cache) into the Colab-like environment's own cache ``dest``, where missing; returns the names copied.

    Only these: training one again costs about 70 s on two cores and gives the same model (Keras is the same
    version in both environments; the file is hash-checked on load and rebuilt if it does not match). Everything
    else - the converted EfficientNet-Lite0, the TF Hub-style SavedModel, features and embeddings - is made in the
    Colab-like environment by its own TensorFlow, as on Colab."""
    from .profile import cache_dir
    from .zoo import ZOO

    src = Path(source) if source is not None else cache_dir()
    copied = []
    for name in ZOO:
        s, d = src / "zoo" / name, Path(dest) / "zoo" / name
        if d.exists() or not ((s / "manifest.json").is_file() and (s / "model.keras").is_file()):
            continue
        d.parent.mkdir(parents=True, exist_ok=True)
        tmp = d.with_name(f".{name}.copy-{os.getpid()}")
        shutil.copytree(s, tmp)
        try:
            os.replace(tmp, d)
            copied.append(name)
        except OSError:                  # another process put it there first
            shutil.rmtree(tmp, ignore_errors=True)
    return copied


def colab_env_command(which: Sequence[str] = (), profile: str | None = None, out_root: str = "runs",
                      timeout: int = 900) -> tuple[list[str], dict]:
    """``python -m tlkit run`` with the Colab-like environment's python, and its environment variables: the same
    as this process's, but ``TLKIT_CACHE`` is the environment's own ``<env>/cache`` (seeded by
    :func:`seed_colab_cache`), so what the notebooks compute there is computed by Colab's versions."""
    py = colab_env_python()
    cache = colab_env_dir() / "cache"
    seed_colab_cache(cache)
    env = {**os.environ, "TLKIT_CACHE": str(cache)}
    cmd = [str(py), "-m", "tlkit", "run", *which, "--out", str(out_root), "--timeout", str(timeout),
           *(["--profile", profile] if profile else [])]
    return cmd, env


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
    """Execute notebooks, write ``runs/<stamp>/`` (executed copies, report.md, figures); 0 when all pass.

    Ctrl-C (SIGINT) or SIGTERM stops the run at once: the running notebook's kernel is shut down, no
    further notebook starts, the partial report is written and the exit code is 130 / 143.
    """
    with _signals():
        return _run(which, profile, notebooks, out_root, timeout)


def _run(which: Sequence[str], profile: str | None, notebooks: str | None, out_root: str, timeout: int) -> int:
    from .claims import check_notebook_claims
    from .profile import get_profile

    if profile:
        os.environ["TLKIT_PROFILE"] = profile
    prof = get_profile()
    rehearsal = bool(os.environ.get("TLKIT_REHEARSAL", "").strip())
    folder = find_notebooks_dir(notebooks)
    chosen = select_notebooks(folder, which)
    out = Path(out_root) / time.strftime("%Y%m%d-%H%M%S")
    (out / "results").mkdir(parents=True, exist_ok=True)
    install_kernel()
    os.environ["TLKIT_RESULTS_DIR"] = str((out / "results").resolve())
    from .claims import force_strict

    force_strict()                     # a missed claim fails the notebook and the run, whatever the environment says
    if which:
        print(f"tlkit run: selected {', '.join(p.stem for p in chosen)}", flush=True)
    print(f"tlkit run: profile={prof}{' (REHEARSAL: stand-in models, fixture data)' if rehearsal else ''}, "
          f"{len(chosen)} notebook(s) -> {out}", flush=True)
    rows, claims, status = [], [], []
    t_all = time.time()
    for i, nb in enumerate(chosen, 1):
        if _STOP["signum"]:
            break
        os.environ["TLKIT_NOTEBOOK"] = nb.stem
        if rehearsal:   # the rehearsal names the notebooks whose kernels run TensorFlow functions eagerly
            eager = os.environ.get("TLKIT_REHEARSAL_EAGER_NOTEBOOKS", "").split(",")
            os.environ["TLKIT_REHEARSAL_EAGER"] = "1" if notebook_number(nb) in eager else "0"
        print(f"[{i}/{len(chosen)}] {nb.stem} ...", end=" ", flush=True)
        ok, secs, err = execute_notebook(nb, out / nb.name, timeout)
        print(f"{'ok' if ok else 'FAILED'} ({secs:.1f} s){'  ' + err if err else ''}", flush=True)
        status.append((nb.stem, ok, secs, err))
        res_file = out / "results" / f"{nb.stem}.json"
        data = json.loads(res_file.read_text()) if res_file.exists() else {"claims": {}, "results": [], "figures": []}
        problems = [] if not ok else check_notebook_claims(nb.stem, data, prof, require_ok=not rehearsal)
        if problems:                     # claims missing, unregistered, non-finite or missed: the notebook fails
            ok, err = False, "; ".join(problems)
            print(f"    claims: {err}", flush=True)
            status[-1] = (nb.stem, ok, secs, err)
        for r in data["results"]:
            rows.append({"notebook": nb.stem, **r, "seconds": round(secs, 1)})
        for name, c in data["claims"].items():
            claims.append((nb.stem, name, c))
        data["figures"] = [str(Path(f).relative_to(out.resolve())) if Path(f).is_absolute() and
                           str(f).startswith(str(out.resolve())) else f for f in data["figures"]]
        status[-1] = status[-1] + (data["figures"],)
    total = time.time() - t_all
    stop = Interrupted(_STOP["signum"]) if _STOP["signum"] else None
    report = [f"# tlkit run - profile `{prof}`{' (rehearsal)' if rehearsal else ''}\n",
              f"{time.strftime('%Y-%m-%d %H:%M')}, total {total:.0f} s\n",
              *([f"\n{REHEARSAL_NOTE}\n\n"] if rehearsal else []),
              *([f"\n**{stop} after {len(status)} of {len(chosen)} notebook(s): partial report.**\n\n"] if stop else []),
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
    failed = [s for s, ok, *_ in status if not ok]
    if not rehearsal:
        failed += [f"{nb}: {n}" for nb, n, c in claims if not c["ok"]]
    verdict = ("rehearsal: claims not asserted" if rehearsal else "all claims hold") if not failed else \
        f"FAILED: {', '.join(failed)}" + ("; rehearsal: claims not asserted" if rehearsal else "")
    if rehearsal:
        print(f"rehearsal: {len(status) - len(failed)}/{len(status)} notebook(s) ran end to end; "
              + ", ".join(f"{s} {'ok' if ok else 'FAILED'} {secs:.0f} s" for s, ok, secs, *_ in status))
    print(f"report: {out / 'report.md'} | total {total:.0f} s | {verdict}")
    if stop:
        print(f"tlkit run: {stop}; kernel shut down, partial report written, exit code {stop.exit_code}")
        return stop.exit_code
    return 1 if failed else 0
