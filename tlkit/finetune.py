"""Fine-tuning (дообучение): two stages on one history, how far weights moved, what the backbone still knows.

Builds on :mod:`tlkit.freeze` (which layers train, the BatchNorm guard) and :mod:`tlkit.train`:

* :func:`fit_stage` - recompile with a stage's learning rate and train, appending to one
  :class:`StageHistory` across stages (so one plot shows where fine-tuning starts);
* :func:`starting_point` / :func:`restart` - several runs from one start on one compiled model (traced once);
* :func:`weight_snapshot` / :func:`weight_drift` - how far each layer's weights moved;
* :func:`source_probe` - a linear probe of the backbone's features on its *source* task
  ("what it still knows"), before and after fine-tuning;
* :func:`sweep_settings` / :func:`unfreeze_sweep` - accuracy, trainable parameters and seconds per
  epoch for several unfreeze depths.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from .data import check_images, check_labels
from .freeze import block_names, leaf_layers, trainable_summary, unfreeze_blocks


# --------------------------------------------------------------------------- training across stages
@dataclass
class StageHistory:
    """Per-epoch training history across stages: ``stage[i]`` names the stage of epoch ``i + 1``."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    stage: list[str] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def stage_starts(self) -> dict[str, int]:
        """``{stage: number of epochs completed before it started}`` in order of appearance."""
        out: dict[str, int] = {}
        for i, s in enumerate(self.stage):
            out.setdefault(s, i)
        return out

    def rows(self) -> list[dict]:
        """One dict per epoch (epoch numbers start at 1), e.g. for a pandas DataFrame."""
        return [{"epoch": i + 1, "stage": self.stage[i], "learning_rate": self.learning_rate[i],
                 "loss": self.loss[i], "accuracy": self.accuracy[i], "val_accuracy": self.val_accuracy[i],
                 "seconds": self.seconds[i]} for i in range(self.epochs)]


def fit_stage(model, x: np.ndarray, y: np.ndarray, epochs: int, learning_rate: float, stage: str,
              validation: tuple[np.ndarray, np.ndarray] | None = None, history: StageHistory | None = None,
              batch_size: int = 64, seed: int | None = None) -> StageHistory:
    """Recompile ``model`` with Adam(``learning_rate``) and train it ``epochs`` epochs as stage ``stage``.

    Keras reads ``layer.trainable`` when a model is compiled, so freezing or unfreezing between stages
    only takes effect through this recompile (which also restarts the optimizer). Epochs are appended
    to ``history`` (a new one by default); ``val_accuracy`` is measured after every epoch on
    ``validation`` (NaN without it); ``seconds`` time the training steps of each epoch only.
    """
    from .profile import set_seed
    from .train import compile_classifier

    if int(epochs) < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    if not stage:
        raise ValueError("every stage needs a name")
    check_images(x, what="fit_stage x")
    check_labels(y, int(model.output.shape[-1]), n=len(x), what="fit_stage y")
    history = history if history is not None else StageHistory()
    if seed is not None:
        set_seed(seed)
    compile_classifier(model, learning_rate)
    recorder = _epoch_recorder(history, stage, float(learning_rate), validation)
    model.fit(x, y, epochs=int(epochs), batch_size=batch_size, verbose=0, shuffle=True, callbacks=[recorder])
    return history


def _epoch_recorder(history: StageHistory, stage: str, learning_rate: float,
                   validation: tuple[np.ndarray, np.ndarray] | None):
    """A Keras callback appending each epoch to ``history``; seconds cover training steps only."""
    import keras

    from .train import accuracy

    class EpochRecorder(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            history.seconds.append(time.perf_counter() - self._t0)  # before validation: training time only
            history.loss.append(float(logs["loss"]))
            history.accuracy.append(float(logs["accuracy"]))
            history.val_accuracy.append(accuracy(self.model, *validation) if validation is not None
                                        else float("nan"))
            history.stage.append(stage)
            history.learning_rate.append(learning_rate)

    return EpochRecorder()


# --------------------------------------------------------------------------- several runs, one compiled model
def starting_point(model) -> list[np.ndarray]:
    """Copies of every variable of ``model`` - weights, BatchNorm statistics, random layers' seed states - for
    :func:`restart`."""
    return [np.array(v) for v in model.variables]


def restart(model, start: Sequence[np.ndarray], learning_rate: float) -> None:
    """Put the compiled ``model`` back at ``start`` (:func:`starting_point` of the same model, or of a freshly
    built one of the same structure) with a fresh optimizer at ``learning_rate``: every variable copied, the
    optimizer's state zeroed (step 0). The next ``fit`` trains as a freshly built and compiled copy would, but
    reuses the compiled training step - tracing a deep network's step costs more CPU than a few small epochs.
    Keep the ``trainable`` flags it was compiled with: the compiled step updates those variables."""
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    if getattr(model, "optimizer", None) is None:
        raise ValueError("restart: compile the model first (the optimizer is restarted, not created)")
    dst = model.variables
    if len(dst) != len(start) or any(tuple(a.shape) != tuple(np.shape(b)) for a, b in zip(dst, start)):
        raise ValueError(f"restart: start holds {len(start)} values that do not match the model's {len(dst)} "
                         f"variables (take it with starting_point from a model of the same structure)")
    for a, b in zip(dst, start):
        a.assign(b)
    opt = model.optimizer
    for v in opt.variables:
        v.assign(np.zeros(tuple(v.shape), dtype=v.dtype))
    opt.learning_rate = learning_rate


# --------------------------------------------------------------------------- how far weights moved
def weight_snapshot(model) -> dict[str, list[np.ndarray]]:
    """Copies of every weighted layer's *trainable-kind* weights (kernels, biases, BN gamma/beta)."""
    snap = {}
    for layer in leaf_layers(model):
        ws = [np.array(w) for w in layer.weights if not _is_bn_statistic(layer, w)]
        if ws:
            snap[layer.name] = ws
    return snap


def _is_bn_statistic(layer, w) -> bool:
    import keras

    return isinstance(layer, keras.layers.BatchNormalization) and any(
        w is s for s in (layer.moving_mean, layer.moving_variance))


def weight_drift(before: Mapping[str, list[np.ndarray]], model, layers: Sequence[str] | None = None) -> dict[str, float]:
    """Relative change ``||W - W0|| / ||W0||`` of each layer since ``before`` (0 = untouched)."""
    now = weight_snapshot(model)
    names = list(layers) if layers is not None else list(before)
    unknown = [n for n in names if n not in before or n not in now]
    if unknown:
        raise ValueError(f"unknown layer name(s) {unknown}; weighted layers are {list(before)}")
    out = {}
    for n in names:
        w0 = np.concatenate([a.ravel() for a in before[n]])
        w1 = np.concatenate([a.ravel() for a in now[n]])
        if w0.shape != w1.shape:
            raise ValueError(f"layer {n!r} changed shape: {w0.shape} -> {w1.shape}")
        out[n] = float(np.linalg.norm(w1 - w0) / max(np.linalg.norm(w0), 1e-12))
    return out


# --------------------------------------------------------------------------- what the backbone still knows
def backbone_features(backbone_model, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Features of ``images`` through ``backbone_model`` in inference mode (no cache: weights change)."""
    check_images(images, what="backbone_features images")
    out = [np.asarray(backbone_model(images[s:s + batch_size], training=False))
           for s in range(0, len(images), batch_size)]
    return np.concatenate(out).reshape(len(images), -1)


def source_probe(backbone_model, task, n_train: int = 2000, n_test: int = 1000, seed: int = 0) -> float:
    """Linear-probe accuracy of ``backbone_model``'s features on ``task`` (an :class:`ImageTask`).

    Run on the backbone's *source* task before and after fine-tuning, it measures how much of the source
    knowledge the features still carry (catastrophic forgetting, катастрофическое забывание).
    The same images are drawn for the same ``seed``, so before/after compare like with like.
    """
    from .train import linear_probe

    if n_train < task.num_classes or n_test < 1:
        raise ValueError(f"need n_train >= {task.num_classes} (one per class) and n_test >= 1, got {n_train}, {n_test}")
    rng = np.random.default_rng(seed)
    tr = np.sort(rng.permutation(len(task.x_train))[:n_train])
    te = np.sort(rng.permutation(len(task.x_test))[:n_test])
    f_tr = backbone_features(backbone_model, task.x_train[tr])
    f_te = backbone_features(backbone_model, task.x_test[te])
    return linear_probe(f_tr, task.y_train[tr], f_te, task.y_test[te])


IMAGENETTE_CLASSES = ("tench", "English springer", "cassette player", "chain saw", "church", "French horn",
                      "garbage truck", "gas pump", "golf ball", "parachute")


def source_task(profile: str | None = None, n_train: int = 2000, n_test: int = 1000):
    """Images of the image backbone's *source* task, for :func:`source_probe`.

    * quick: the zoo CNN's source task (Fashion-MNIST clothing, :data:`tlkit.zoo.ZOO`; the quick EfficientNet
      keeps its ImageNet head, see :attr:`tlkit.backbones.Backbone.source_model`);
    * full: Imagenette (10 real ImageNet classes, tensorflow-datasets ``imagenette/160px-v2``), a stand-in
      for ImageNet, which cannot be downloaded freely; offline it raises :class:`tlkit.net.OfflineError`
      within seconds.
    """
    from .data import ImageTask, image_task
    from .profile import budget, get_profile
    from .zoo import ZOO

    prof = profile or get_profile()
    if prof == "quick":
        return image_task(ZOO["fashion_cnn"].source_task, prof)
    if n_train < 1 or n_test < 1:
        raise ValueError(f"n_train and n_test must be >= 1, got {n_train}, {n_test}")
    import tensorflow as tf
    import tensorflow_datasets as tfds

    from . import net

    from .sources import source

    size = budget(prof).image_size
    src = source("imagenette")          # name, splits and download host: the sources table (tlkit.sources)
    builder = tfds.builder(src.tfds_name)
    if src.host and not (Path(builder.data_dir).exists() and any(Path(builder.data_dir).glob("*.tfrecord*"))):
        net.require_online(src.host, src.what)
    with net.download_guard(src.what):
        ds_train, ds_test = tfds.load(src.tfds_name, split=list(src.splits), as_supervised=True,
                                      shuffle_files=False)

    def to_numpy(ds, n: int) -> tuple[np.ndarray, np.ndarray]:
        ds = ds.shuffle(10_000, seed=0).take(n).map(
            lambda im, lb: (tf.cast(tf.image.resize(im, (size, size)), tf.uint8), lb))
        xs, ys = zip(*ds.batch(256).as_numpy_iterator())
        return np.concatenate(xs), np.concatenate(ys).astype(np.int64)

    return ImageTask("imagenette", *to_numpy(ds_train, n_train), *to_numpy(ds_test, n_test), IMAGENETTE_CLASSES)


# --------------------------------------------------------------------------- how much to unfreeze
def sweep_settings(backbone_model) -> dict[str, int]:
    """``{label: number of top blocks to unfreeze}`` for the sweep: 0 %, top block, top half, all."""
    n = len(block_names(backbone_model))
    if n == 0:
        raise ValueError("the backbone has no weighted layers to unfreeze")
    half = math.ceil(n / 2)
    return {"0% (head only)": 0, "top block": 1, f"top half ({half}/{n} blocks)": half, f"all ({n} blocks)": n}


def unfreeze_sweep(make_model: Callable[[], tuple[object, object]], settings: Mapping[str, int],
                   x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, epochs: int,
                   learning_rate: float, batch_size: int = 64, seed: int = 0, timing_rounds: int = 3,
                   progress: bool = True) -> list[dict]:
    """For each ``{label: n_blocks}``: unfreeze that many top blocks, fine-tune, measure.

    ``make_model()`` returns a fresh ``(model, backbone_model)`` pair in the same starting state
    (e.g. the stage-1 model re-loaded). The head always trains; BatchNorm stays in inference mode.
    Each setting trains ``epochs`` epochs and is tested. Then the speed is measured: one more epoch
    of every setting in turn, ``timing_rounds`` times, keeping each setting's fastest epoch -
    interleaving spreads any other load on the machine over all settings alike, and such load only
    ever adds time. Rows hold the label, the number of blocks, trainable parameters, their share of
    the backbone, test accuracy and ``seconds_per_epoch``.
    """
    from tqdm.auto import tqdm

    from .train import accuracy

    if not settings:
        raise ValueError("settings: give at least one {label: number of top blocks}")
    if int(timing_rounds) < 1:
        raise ValueError(f"timing_rounds must be >= 1, got {timing_rounds}")
    rows, models = [], []
    tf_log = logging.getLogger("tensorflow")
    level = tf_log.level
    tf_log.setLevel(logging.ERROR)  # a new model per setting retraces predict: expected, not worth a warning
    try:
        for label, n in tqdm(list(settings.items()), desc="unfreeze sweep", disable=not progress, leave=False):
            model, bb = make_model()
            model.trainable = True        # the head trains in every setting ...
            unfreeze_blocks(bb, n)        # ... and the backbone's top n blocks (BatchNorm in inference mode)
            bb_summary = trainable_summary(bb)
            fit_stage(model, x, y, epochs, learning_rate, stage=label, batch_size=batch_size, seed=seed)
            rows.append({"setting": label, "blocks": int(n),
                         "trainable_params": trainable_summary(model)["trainable"],
                         "backbone_trainable_share": bb_summary["trainable"] / max(bb_summary["total"], 1),
                         "accuracy": accuracy(model, x_test, y_test)})
            models.append(model)
        fastest = [math.inf] * len(models)
        for _ in range(int(timing_rounds)):
            for i, model in enumerate(models):
                timing = StageHistory()
                model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0, shuffle=True,
                          callbacks=[_epoch_recorder(timing, "timing", 0.0, None)])
                fastest[i] = min(fastest[i], timing.seconds[0])
    finally:
        tf_log.setLevel(level)
    for row, sec in zip(rows, fastest):
        row["seconds_per_epoch"] = float(sec)
    return rows
