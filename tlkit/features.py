"""Feature extraction (выделение признаков): run a frozen backbone once, cache the vectors on disk."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from .backbones import Backbone
from .data import check_images
from .profile import cache_dir, get_profile, load_cached_array, save_array_atomic


def weights_fingerprint(model) -> str:
    """A short hash of a Keras model's weights (changes whenever any weight changes)."""
    h = hashlib.sha1()
    for w in model.weights:
        h.update(np.ascontiguousarray(np.asarray(w)).tobytes())
    return h.hexdigest()[:16]


def data_fingerprint(images: np.ndarray) -> str:
    """A short hash of an image array's shape, dtype and bytes."""
    h = hashlib.sha1(f"{images.shape}{images.dtype}".encode())
    h.update(np.ascontiguousarray(images).tobytes())
    return h.hexdigest()[:16]


def feature_cache_path(backbone: Backbone, images: np.ndarray) -> Path:
    """Where the features of ``images`` through ``backbone`` are cached (keyed by weights, data, profile)."""
    key = f"{backbone.cache_key}-{weights_fingerprint(backbone.model)}-{data_fingerprint(images)}-{get_profile()}"
    return cache_dir() / "features" / f"{key}.npy"


def extract_features(backbone: Backbone, images: np.ndarray, batch_size: int = 256, cache: bool = True,
                     progress: bool = True, desc: str = "extracting features") -> np.ndarray:
    """Run ``images`` through the frozen ``backbone`` and return ``(n, feature_dim)`` float32 features.

    With ``cache=True`` the result is stored under the tlkit cache and the next call with the
    same weights and the same images loads it from disk instead of recomputing.
    """
    check_images(images, what="extract_features images", shape=backbone.input_shape)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    path = feature_cache_path(backbone, images) if cache else None
    if path is not None:
        feats = load_cached_array(path, (len(images), backbone.feature_dim))
        if feats is not None:
            return feats          # a missing, corrupt or stale file is recomputed below
    from tqdm.auto import tqdm

    out = np.empty((len(images), backbone.feature_dim), dtype=np.float32)
    starts = range(0, len(images), batch_size)
    for s in tqdm(starts, desc=desc, unit="batch", disable=not progress, leave=False):
        batch = images[s:s + batch_size]
        out[s:s + len(batch)] = np.asarray(backbone.model(batch, training=False))
    if path is not None:
        save_array_atomic(path, out)
    return out


def probe_backbones(backbones: dict[str, Backbone], task, labels_per_class: int, seeds, n_test: int | None = 2000,
                    cache: bool = True, c: float | str = 0.1) -> list[dict]:
    """Linear-probe accuracy of several frozen backbones on ``task``: how useful is each one's features?

    For every seed, ``labels_per_class`` training images per class are drawn (the same images for every
    backbone), a standardised logistic regression (:func:`tlkit.train.linear_probe`) is fitted on their
    features and tested on the first ``n_test`` test images. ``c``: its inverse L2 strength, or ``"cv"``: chosen
    by cross-validation inside the drawn training images (:func:`tlkit.train.choose_probe_c`), never on the test
    images. Returns one row per (backbone, seed), with the ``C`` used.
    """
    from .train import linear_probe_cv

    if not backbones:
        raise ValueError("probe_backbones: expected at least one backbone")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("probe_backbones: expected at least one seed")
    x_test, y_test = task.x_test[:n_test], task.y_test[:n_test]
    rows = []
    for name, bb in backbones.items():
        f_train = extract_features(bb, task.x_train, cache=cache, progress=False)
        f_test = extract_features(bb, x_test, cache=cache, progress=False)
        for seed in seeds:
            idx = task.few_per_class(labels_per_class, seed=seed)
            acc, c_used = linear_probe_cv(f_train[idx], task.y_train[idx], f_test, y_test, c=c)
            rows.append({"backbone": name, "seed": seed, "labels/class": labels_per_class, "accuracy": acc,
                         "C": c_used})
    return rows
