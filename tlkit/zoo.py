"""The quick-profile model zoo: source models tlkit pretrains itself on real offline data.

Each model is trained once (``python -m tlkit pretrain``) and cached under
``<cache>/zoo/<name>/`` with a manifest (data, config, source accuracy, sha256 of the file).
Loading verifies the hash; a corrupt or stale cache is rebuilt. A file lock plus an atomic
rename make it safe when several notebooks build the same model at once.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .profile import cache_dir, make_shared, set_seed, sha256_file

ZOO_VERSION = 2  # bump when the recipe changes: cached models of another version are rebuilt


@dataclass(frozen=True)
class ZooSpec:
    """How one zoo model is built and pretrained."""

    name: str
    source_task: str
    description: str
    filters: tuple[int, ...] = (16, 32, 64)
    epochs: int = 5
    learning_rate: float = 3e-3
    batch_size: int = 128
    seed: int = 0


ZOO: dict[str, ZooSpec] = {
    "fashion_cnn": ZooSpec(
        name="fashion_cnn",
        source_task="clothing",
        description="small BatchNorm CNN pretrained on Fashion-MNIST's 6 clothing classes (36k real images)",
    ),
}


def build_cnn(num_classes: int, filters: tuple[int, ...] = (16, 32, 64), input_shape=(28, 28, 1),
              name: str = "cnn"):
    """A small CNN: blocks of Conv-BN-ReLU-MaxPool named ``block{i}_*``, a ``features`` layer, a head.

    The ``features`` layer flattens the last block's spatial map, so the features keep *where*
    a pattern was seen. The classifier is ``Dropout -> Dense(num_classes, softmax)`` named ``head``.
    """
    import keras
    from keras import layers

    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    if not filters:
        raise ValueError("filters must name at least one block")
    inp = keras.Input(input_shape, name="image")
    x = layers.Rescaling(1.0 / 255.0, name="rescale")(inp)
    for i, f in enumerate(filters, start=1):
        x = layers.Conv2D(f, 3, padding="same", use_bias=False, name=f"block{i}_conv")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"block{i}_bn")(x)
        x = layers.ReLU(name=f"block{i}_relu")(x)
        x = layers.MaxPooling2D(name=f"block{i}_pool")(x)
    x = layers.Flatten(name="features")(x)
    x = layers.Dropout(0.3, name="head_dropout")(x)
    out = layers.Dense(num_classes, activation="softmax", name="head")(x)
    return keras.Model(inp, out, name=name)


def zoo_dir(name: str) -> Path:
    """Cache folder of zoo model ``name``."""
    _spec(name)
    return cache_dir() / "zoo" / name


def _spec(name: str) -> ZooSpec:
    if name not in ZOO:
        raise ValueError(f"unknown zoo model {name!r}; expected one of {sorted(ZOO)}")
    return ZOO[name]


def manifest(name: str) -> dict | None:
    """The cached manifest of ``name`` or None when there is none or it is unreadable (corrupt bytes,
    not UTF-8, not JSON, or JSON that is not an object): such a cache is rebuilt by :func:`pretrain`."""
    p = zoo_dir(name) / "manifest.json"
    try:
        m = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):   # ValueError covers JSONDecodeError and UnicodeDecodeError
        return None
    return m if isinstance(m, dict) else None


def cache_state(name: str) -> str:
    """``ok`` | ``missing`` | ``corrupt`` | ``stale`` (another recipe version)."""
    m = manifest(name)
    f = zoo_dir(name) / "model.keras"
    if m is None or not f.exists():
        return "corrupt" if (zoo_dir(name) / "manifest.json").exists() and f.exists() else "missing"
    if m.get("zoo_version") != ZOO_VERSION or m.get("spec") != json.loads(json.dumps(asdict(_spec(name)))):
        return "stale"
    if sha256_file(f) != m.get("sha256"):
        return "corrupt"
    return "ok"


def _train(spec: ZooSpec, log: Callable[[str], None]):
    import keras

    from .data import image_task

    task = image_task(spec.source_task, "quick")
    set_seed(spec.seed)
    model = build_cnn(task.num_classes, spec.filters, task.image_shape, name=spec.name)
    steps = spec.epochs * int(np.ceil(len(task.x_train) / spec.batch_size))
    lr = keras.optimizers.schedules.CosineDecay(spec.learning_rate, steps)
    model.compile(keras.optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.time()
    for epoch in range(spec.epochs):
        h = model.fit(task.x_train, task.y_train, batch_size=spec.batch_size, epochs=1, verbose=0, shuffle=True)
        log(f"  {spec.name}: epoch {epoch + 1}/{spec.epochs} loss={h.history['loss'][0]:.3f} "
            f"acc={h.history['accuracy'][0]:.3f} ({time.time() - t0:.0f}s)")
    _, acc = model.evaluate(task.x_test, task.y_test, verbose=0, batch_size=512)
    info = {
        "source_task": spec.source_task,
        "source_classes": list(task.class_names),
        "train_images": int(len(task.x_train)),
        "source_test_accuracy": round(float(acc), 4),
        "train_seconds": round(time.time() - t0, 1),
    }
    return model, info


def pretrain(name: str, force: bool = False, log: Callable[[str], None] = print) -> dict:
    """Build (or verify) zoo model ``name``; returns its manifest."""
    from filelock import FileLock

    spec = _spec(name)
    d = zoo_dir(name)
    d.mkdir(parents=True, exist_ok=True)
    with FileLock(str(d) + ".lock", timeout=1800):
        state = cache_state(name)
        if state == "ok" and not force:
            return manifest(name)  # type: ignore[return-value]
        log(f"tlkit zoo: pretraining {name} ({state}) - {spec.description}")
        model, info = _train(spec, log)
        fd, tmp = tempfile.mkstemp(suffix=".keras", dir=d)
        os.close(fd)
        model.save(tmp)
        make_shared(tmp)
        digest = sha256_file(Path(tmp))
        os.replace(tmp, d / "model.keras")
        man = {"name": name, "zoo_version": ZOO_VERSION, "spec": asdict(spec), "sha256": digest,
               "created": time.strftime("%Y-%m-%dT%H:%M:%S"), **info}
        fd, tmp = tempfile.mkstemp(suffix=".json", dir=d)
        with os.fdopen(fd, "w") as f:
            json.dump(man, f, indent=2)
        make_shared(tmp)
        os.replace(tmp, d / "manifest.json")
        log(f"tlkit zoo: {name} ready, source test accuracy {info['source_test_accuracy']:.3f}")
        return man


def load_pretrained(name: str = "fashion_cnn", log: Callable[[str], None] = print):
    """The pretrained source classifier ``name`` (built on first use, verified on every load)."""
    import keras

    pretrain(name, log=log)
    return keras.models.load_model(zoo_dir(name) / "model.keras")
