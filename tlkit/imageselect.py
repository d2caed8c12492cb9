"""Choices made on validation data only (notebooks 01 and 02): a validation split carved from the *training*
photos by group, fair from-scratch baselines (recipe chosen on that split, trained until the training loss
plateaus) and the best-validation-epoch rule of fine-tuning.

No function here takes test images or test labels: every choice is a function of the training pool alone, so
permuting (or deleting) the test labels cannot change it (``tests/test_imageselect.py`` checks that).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .checks import check_int, check_positive
from .data import check_labels
from .profile import set_seed


def validation_split(y: np.ndarray, groups: Sequence, fraction: float = 0.3,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(fit_idx, val_idx)``: indices into the training pool. In every class, whole groups (a photo and its
    mirrored / recoloured variants share a group) are drawn at random into validation until it holds at least
    ``fraction`` of the class; a class with a single group stays entirely in ``fit``. No group straddles."""
    y = np.asarray(y)
    groups = np.asarray(groups)
    if len(groups) != len(y) or len(y) == 0:
        raise ValueError(f"validation_split: {len(y)} labels but {len(groups)} groups")
    if not 0.0 < float(fraction) < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    val: list[int] = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        names = list(dict.fromkeys(groups[members].tolist()))          # the class's groups, first-seen order
        if len(names) < 2:
            continue
        want = int(np.ceil(fraction * len(members)))
        taken = 0
        for g in rng.permutation(len(names)):
            picked = members[groups[members] == names[g]]
            if taken >= want:
                break
            if taken + len(picked) >= len(members):      # never empty the class's fit part
                continue
            val += picked.tolist()
            taken += len(picked)
    val_idx = np.sort(np.asarray(val, dtype=np.int64))
    fit_idx = np.setdiff1d(np.arange(len(y)), val_idx)
    return fit_idx, val_idx


def draw_per_class(y: np.ndarray, k: int, among: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """``k`` random indices per class from ``among`` (default: all), or every index of a class that has fewer."""
    y = np.asarray(y)
    k = check_int(k, "k", minimum=1)
    among = np.arange(len(y)) if among is None else np.asarray(among)
    rng = np.random.default_rng(seed)
    out = []
    for c in np.unique(y[among]):
        pool = among[y[among] == c]
        out.append(rng.choice(pool, size=min(k, len(pool)), replace=False))
    return np.sort(np.concatenate(out))


@dataclass(frozen=True)
class Recipe:
    """How a from-scratch baseline is trained: Adam's learning rate and whether random flips/shifts augment."""

    learning_rate: float
    augment: bool = False

    def __str__(self) -> str:
        return f"lr {self.learning_rate:g}, augmentation {'on' if self.augment else 'off'}"


def with_augmentation(build: Callable[[], object], augment: bool) -> Callable[[], object]:
    """``build`` with random horizontal flips and small shifts in front (active only while training)."""
    if not augment:
        return build

    def built():
        return _augmented(build())

    return built


def _augmented(model):
    """``model`` behind random horizontal flips and small shifts (active only while training)."""
    import keras

    aug = keras.Sequential([keras.layers.RandomFlip("horizontal"),
                            keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest")], name="augment")
    inputs = keras.Input(shape=model.input_shape[1:])
    return keras.Model(inputs, model(aug(inputs)))


@dataclass
class FitResult:
    """A from-scratch model trained until its training loss plateaued, and the evidence that it did."""

    model: object
    steps: int                       # optimiser steps taken
    final_loss: float                # training loss of the epoch kept, the lowest (training mode: dropout, augm.)
    train_accuracy: float            # accuracy on its own training photos (inference mode)
    losses: list[float] = field(default_factory=list)   # training loss per epoch
    stopped: str = ""                # why it stopped: "plateau", "fitted" (loss < min_delta) or "max steps"


#: compiled models kept by ``fit_until_plateau(..., reuse=True)``: (builder, augment, batch size) -> model
_REUSED: dict = {}
_REUSED_MAX = 4


def _has_batchnorm(model) -> bool:
    import keras

    return any(isinstance(layer, keras.layers.BatchNormalization) for layer in model._flatten_layers())


def _reset_into(target, fresh, learning_rate: float) -> None:
    """Make the compiled ``target`` start like the freshly built ``fresh`` (same structure): every variable
    (weights, BatchNorm statistics, random-layer seed states) copied, the optimiser's state zeroed (step 0) and
    its learning rate set (:func:`tlkit.finetune.restart`). The compiled training step of ``target`` is kept (no
    new graph tracing)."""
    from .finetune import restart, starting_point

    dst, src = target.variables, fresh.variables
    if len(dst) != len(src) or any(tuple(a.shape) != tuple(b.shape) for a, b in zip(dst, src)):
        raise ValueError("fit_until_plateau(reuse=True): the builder no longer builds the same model")
    restart(target, starting_point(fresh), learning_rate)


def _plateau_stopper(per_epoch: int, min_steps: int, patience_steps: int, min_delta: float):
    """A Keras callback: stop when the epoch training loss has not fallen below its best minus ``min_delta`` for
    ``patience_steps`` steps (not before ``min_steps``), or at once when two epochs in a row are below
    ``min_delta``: such a loss cannot fall by ``min_delta`` any more (the training photos are fitted). At the end
    the model gets back the weights of its lowest-loss epoch (``best_epoch``, from 0). ``reason`` says why it
    stopped ("" when neither rule did)."""
    import keras

    class Plateau(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best, self.best_step, self.low, self.reason = np.inf, 0, 0, ""
            self.lowest, self.best_epoch, self.weights = np.inf, 0, None

        def on_epoch_end(self, epoch, logs=None):
            loss, step = float(logs["loss"]), (epoch + 1) * per_epoch
            if loss < self.lowest:
                self.lowest, self.best_epoch, self.weights = loss, epoch, self.model.get_weights()
            if loss < self.best - min_delta:
                self.best, self.best_step = loss, step
            self.low = self.low + 1 if loss < min_delta else 0
            if self.low >= 2:
                self.reason = "fitted"
            elif step >= min_steps and step - self.best_step >= patience_steps:
                self.reason = "plateau"
            if self.reason:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            if self.weights is not None:
                self.model.set_weights(self.weights)

    return Plateau()


def _epochs_dataset(x: np.ndarray, y: np.ndarray, batch_size: int):
    """``(x, y)`` as an endless ``tf.data`` stream of epochs for ``fit(..., steps_per_epoch=ceil(n / batch_size))``:
    every epoch visits the photos in the same random order, in batches of ``batch_size`` (the last one smaller).

    This is what ``fit(x, y, shuffle=True)`` does after a global seed (``keras.utils.set_random_seed``) in Keras 3:
    each epoch's new data iterator restarts the same seeded shuffle, so every epoch repeats the order drawn first.
    The order is drawn here the same way (a seeded ``tf.random.shuffle`` inside a ``tf.data`` function), so the
    training is the one ``fit(x, y, shuffle=True)`` runs; but ``fit`` keeps one iterator for the whole run instead
    of building one per epoch, which costs tens of milliseconds: most of an epoch of a few photos and a small
    network."""
    import tensorflow as tf

    n = len(x)

    @tf.autograph.experimental.do_not_convert
    def permutation(_):
        return tf.random.shuffle(tf.range(n, dtype=tf.int64))

    order = next(iter(tf.data.Dataset.range(1).map(permutation))).numpy()
    return tf.data.Dataset.from_tensor_slices((np.asarray(x)[order], np.asarray(y)[order])).batch(batch_size).repeat()


def fit_until_plateau(build: Callable[[], object], x: np.ndarray, y: np.ndarray, recipe: Recipe,
                      max_steps: int = 600, min_steps: int = 100, patience_steps: int = 40,
                      min_delta: float = 0.02, batch_size: int = 16, seed: int = 0,
                      reestimate_bn: bool = True, reuse: bool = False) -> FitResult:
    """Train ``build()`` from random weights with ``recipe`` until the training loss stops falling: stop when the
    best epoch loss has not improved by ``min_delta`` for ``patience_steps`` optimiser steps (never before
    ``min_steps``, never after ``max_steps``), or once two epochs in a row end below ``min_delta`` (fitted: the
    loss cannot fall by ``min_delta`` any more); then keep the weights of the epoch with the lowest training loss.
    The rule reads the *training* loss only.

    ``reestimate_bn``: afterwards every BatchNorm layer's moving mean / variance is recomputed on the training
    photos (one pass in training mode, no augmentation, no gradients; ``tlkit.backbones.reestimate_batchnorm``).
    A short training leaves those statistics behind the weights (momentum 0.99 keeps a quarter of their initial
    0/1 after 140 steps), so in inference mode the network would not be the one that fitted its photos.

    ``reuse``: keep one compiled model per builder (and augmentation, batch size) for the next call and re-start
    it from a freshly built model's weights instead of compiling a new one: the same training, without tracing
    the training graph again (seconds for a deep network). The returned model is then overwritten by the next
    call with the same builder: evaluate it first."""
    from .backbones import reestimate_batchnorm
    from .train import accuracy, compile_classifier

    if len(x) == 0:
        raise ValueError("fit_until_plateau: empty training set")
    max_steps, min_steps = check_int(max_steps, "max_steps", minimum=1), check_int(min_steps, "min_steps", minimum=0)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    check_positive(recipe.learning_rate, "learning_rate")
    per_epoch = int(np.ceil(len(x) / batch_size))
    max_epochs = max(1, int(np.ceil(max_steps / per_epoch)))
    set_seed(seed)
    inner = build()
    fresh = _augmented(inner) if recipe.augment else inner
    key = (build, bool(recipe.augment), batch_size)
    if reuse and key in _REUSED:
        model = _REUSED[key]
        _reset_into(model, fresh, recipe.learning_rate)
        inner = model.layers[-1] if recipe.augment else model
    else:
        model = compile_classifier(fresh, recipe.learning_rate)
        if reuse:
            while len(_REUSED) >= _REUSED_MAX:
                _REUSED.pop(next(iter(_REUSED)))
            _REUSED[key] = model
    stop = _plateau_stopper(per_epoch, min_steps, patience_steps, min_delta)
    h = model.fit(_epochs_dataset(x, y, batch_size), steps_per_epoch=per_epoch, epochs=max_epochs, verbose=0,
                  callbacks=[stop])
    losses = [float(v) for v in h.history["loss"]]
    if reestimate_bn and _has_batchnorm(inner):
        reestimate_batchnorm(inner, np.asarray(x))
    return FitResult(model, len(losses) * per_epoch, losses[stop.best_epoch], accuracy(model, x, y), losses,
                     stop.reason or "max steps")


def select_recipe(build: Callable[[], object], candidates: Sequence[Recipe], x_pool: np.ndarray,
                  y_pool: np.ndarray, groups: Sequence, k: int, fraction: float = 0.3, seed: int = 0,
                  **fit_kwargs) -> tuple[Recipe, list[dict]]:
    """The recipe with the best validation accuracy, chosen inside the training pool only: the pool is split by
    group (:func:`validation_split`), each candidate trains on ``k`` photos per class of the fit part
    (:func:`fit_until_plateau`) and is scored on the validation part. Ties go to the earlier candidate.
    Returns ``(best, rows)`` with one row per candidate."""
    if not candidates:
        raise ValueError("select_recipe: no candidate recipes")
    check_labels(np.asarray(y_pool), int(np.max(y_pool)) + 1, n=len(x_pool), what="select_recipe y_pool")
    from .train import accuracy

    fit_idx, val_idx = validation_split(y_pool, groups, fraction, seed)
    if len(val_idx) == 0:
        raise ValueError("select_recipe: no class has two groups, so there is no validation split")
    idx = draw_per_class(y_pool, k, among=fit_idx, seed=seed)
    rows = []
    for recipe in candidates:
        fit = fit_until_plateau(build, x_pool[idx], y_pool[idx], recipe, seed=seed, **fit_kwargs)
        rows.append({"recipe": str(recipe), "validation accuracy": accuracy(fit.model, x_pool[val_idx],
                                                                            y_pool[val_idx]),
                     "steps": fit.steps, "stop": fit.stopped, "training loss": fit.final_loss,
                     "training accuracy": fit.train_accuracy, "fit photos": len(idx), "validation photos": len(val_idx)})
    best = int(np.argmax([r["validation accuracy"] for r in rows]))
    return candidates[best], rows


def select_probe_c(features: np.ndarray, y_pool: np.ndarray, groups: Sequence, k: int,
                   cs: Sequence[float] = (0.01, 0.1, 1.0), fraction: float = 0.3,
                   seeds: Sequence[int] = (0, 1, 2)) -> tuple[float, list[dict]]:
    """The L2 strength ``C`` of the logistic-regression head (:func:`tlkit.train.linear_probe`) with the best mean
    validation accuracy over ``seeds``, chosen inside the training pool (same split and draws as
    :func:`select_recipe`). Ties go to the earlier value. Returns ``(best_c, rows)``."""
    from .train import linear_probe

    features = np.asarray(features)
    rows = []
    for c in cs:
        scores = []
        for s in seeds:
            fit_idx, val_idx = validation_split(y_pool, groups, fraction, s)
            idx = draw_per_class(y_pool, k, among=fit_idx, seed=s)
            scores.append(linear_probe(features[idx], y_pool[idx], features[val_idx], y_pool[val_idx], c=c))
        rows.append({"C": float(c), "validation accuracy": float(np.mean(scores))})
    best = int(np.argmax([r["validation accuracy"] for r in rows]))
    return float(cs[best]), rows


def fit_keep_best(model, x_fit: np.ndarray, y_fit: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                  epochs: int, initial_epoch: int = 0, batch_size: int = 32):
    """``model.fit`` for ``epochs`` more epochs, scoring every epoch on the validation split, then restore the
    weights of the epoch with the best validation accuracy (the first one on ties): the stopping epoch is
    chosen on validation. Returns ``(history, best_epoch)`` where ``best_epoch`` counts from 1 after
    ``initial_epoch`` (the compiled model keeps its optimizer)."""
    import keras

    epochs = check_int(epochs, "epochs", minimum=1)

    class _Best(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best, self.epoch, self.weights = -np.inf, 0, None

        def on_epoch_end(self, epoch, logs=None):
            score = float(logs["val_accuracy"])
            if score > self.best:
                self.best, self.epoch, self.weights = score, epoch + 1 - initial_epoch, self.model.get_weights()

    best = _Best()
    history = model.fit(x_fit, y_fit, initial_epoch=initial_epoch, epochs=initial_epoch + epochs,
                        batch_size=batch_size, validation_data=(x_val, y_val), verbose=0, callbacks=[best])
    model.set_weights(best.weights)
    return history, best.epoch
