"""Profiles, budgets, seeds and the cache directory: the one place for them.

Two profiles run every notebook unchanged:

* ``full``  - real ImageNet / keras-hub models and tensorflow-datasets data (Colab, GPU, online).
* ``quick`` - offline, CPU, minutes: real offline data and models tlkit pretrains itself.

The profile comes from ``TLKIT_PROFILE``; without it the default is ``full`` on Colab
and ``quick`` everywhere else. Budgets (epochs, sample counts, image sizes) live here,
never scattered in notebooks.
"""
from __future__ import annotations

import os
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROFILES = ("full", "quick")
DEFAULT_SEED = 42


def on_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def get_profile() -> str:
    """The active profile name: ``TLKIT_PROFILE`` or the environment's default."""
    name = os.environ.get("TLKIT_PROFILE", "").strip().lower()
    if not name:
        return "full" if on_colab() else "quick"
    if name not in PROFILES:
        raise ValueError(f"TLKIT_PROFILE={name!r} is not a profile; expected one of {PROFILES}")
    return name


@dataclass(frozen=True)
class Budget:
    """Everything that differs between profiles, except data and model choices."""

    profile: str
    # notebook 01 - feature extraction
    image_size: int
    fe_train_pool: int          # labelled target images available ("all")
    fe_test_size: int
    fe_labels_per_class: tuple[int, ...]
    fe_seeds: tuple[int, ...]
    fe_head_steps: int
    fe_scratch_steps: int       # optimisation steps for the from-scratch baseline
    fe_timing_images: int       # images used to time head epochs
    batch_size: int
    # the quick zoo
    zoo_epochs: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


_BUDGETS = {
    "quick": Budget(
        profile="quick",
        image_size=28,
        fe_train_pool=3000,
        fe_test_size=2000,
        fe_labels_per_class=(5, 10, 20, 50, 100),
        fe_seeds=(0, 1, 2),
        fe_head_steps=300,
        fe_scratch_steps=400,
        fe_timing_images=3000,
        batch_size=64,
        zoo_epochs=5,
    ),
    "full": Budget(
        profile="full",
        image_size=160,
        fe_train_pool=6000,
        fe_test_size=2000,
        fe_labels_per_class=(5, 10, 20, 50, 100),
        fe_seeds=(0, 1, 2),
        fe_head_steps=300,
        fe_scratch_steps=600,
        fe_timing_images=1024,
        batch_size=32,
    ),
}


def budget(profile: str | None = None) -> Budget:
    """The budget of ``profile`` (default: the active profile)."""
    name = profile or get_profile()
    if name not in _BUDGETS:
        raise ValueError(f"unknown profile {name!r}; expected one of {PROFILES}")
    return _BUDGETS[name]


def cache_dir() -> Path:
    """tlkit's cache (zoo models, features): ``TLKIT_CACHE`` or ``~/.cache/tlkit``."""
    root = Path(os.environ.get("TLKIT_CACHE", Path.home() / ".cache" / "tlkit")).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def set_seed(seed: int = DEFAULT_SEED) -> int:
    """Seed Python, NumPy and Keras/TensorFlow at once; returns the seed."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    try:
        import keras

        keras.utils.set_random_seed(seed)
    except ImportError:  # pragma: no cover - keras is a hard dependency
        pass
    return seed


def banner(notebook: str = "") -> str:
    """One line: which profile runs, versions, device, and how to switch."""
    import keras
    import tensorflow as tf

    prof = get_profile()
    gpus = tf.config.list_physical_devices("GPU")
    device = f"GPU x{len(gpus)}" if gpus else "CPU"
    other = "quick" if prof == "full" else "full"
    head = f"[{notebook}] " if notebook else ""
    return (
        f"{head}tlkit profile={prof} | TensorFlow {tf.__version__}, Keras {keras.__version__} | "
        f"device={device} | switch: TLKIT_PROFILE={other}"
    )
