"""Freezing (заморозка слоёв): freeze all, by layer name, by fraction or by block; BatchNorm; summaries.

* :func:`freeze_all`, :func:`freeze_up_to` (by layer name), :func:`unfreeze_top` (by fraction or by
  layer-name prefix), :func:`unfreeze_blocks` (the top *n* blocks, see :func:`block_names`);
* :func:`keep_batchnorm_inference` and :func:`bn_statistics` / :func:`bn_statistics_change`: the
  BatchNorm guard and its check;
* :func:`trainable_summary` and :func:`layer_table`: what is trainable, in parameters and layer by layer.

In Keras 3 a frozen ``BatchNormalization`` layer (``trainable = False``) also runs in inference
mode, so its moving mean/variance stay as pretrained. The helpers here keep BN layers frozen
while unfreezing, unless told otherwise. Keras reads ``trainable`` when a model is compiled:
recompile after changing it.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np


def leaf_layers(model) -> list:
    """Layers of ``model`` in order, nested models flattened; input layers skipped."""
    import keras

    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            out.extend(leaf_layers(layer))
        else:
            out.append(layer)
    return out


def _is_bn(layer) -> bool:
    import keras

    return isinstance(layer, keras.layers.BatchNormalization)


def _weighted(model) -> list:
    return [layer for layer in leaf_layers(model) if layer.weights]


def _enable_containers(model) -> None:
    import keras

    model.trainable = True
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            _enable_containers(layer)


def freeze_all(model) -> None:
    """Freeze every layer of ``model`` (its weights and BN statistics stay as they are)."""
    model.trainable = False


def freeze_up_to(model, layer_name: str, keep_batchnorm_frozen: bool = True) -> None:
    """Freeze every layer up to and including ``layer_name``; the layers after it are trainable."""
    layers = leaf_layers(model)
    names = [layer.name for layer in layers]
    if layer_name not in names:
        raise ValueError(f"unknown layer name {layer_name!r}; expected one of {names}")
    _enable_containers(model)
    cut = names.index(layer_name)
    for i, layer in enumerate(layers):
        layer.trainable = i > cut and not (keep_batchnorm_frozen and _is_bn(layer))


def unfreeze_top(model, fraction: float | None = None, blocks: Iterable[str] | None = None,
                 keep_batchnorm_frozen: bool = True) -> list[str]:
    """Unfreeze the top ``fraction`` of weighted layers, or the layers whose names start with ``blocks``.

    Everything else is frozen. BatchNorm layers stay frozen (inference mode) unless
    ``keep_batchnorm_frozen=False``. Returns the names of the layers left trainable.
    """
    if (fraction is None) == (blocks is None):
        raise ValueError("give exactly one of fraction (0..1) or blocks (layer-name prefixes)")
    layers = _weighted(model)
    if fraction is not None:
        if not 0.0 <= float(fraction) <= 1.0:
            raise ValueError(f"fraction must be in [0, 1], got {fraction}")
        n = math.ceil(float(fraction) * len(layers))
        chosen = set(id(layer) for layer in layers[len(layers) - n:]) if n else set()
    else:
        prefixes = tuple(blocks)  # type: ignore[arg-type]
        if not prefixes:
            raise ValueError("blocks must name at least one layer-name prefix")
        names = [layer.name for layer in layers]
        missing = [p for p in prefixes if not any(n.startswith(p) for n in names)]
        if missing:
            raise ValueError(f"no layer name starts with {missing}; layers are {names}")
        chosen = {id(layer) for layer in layers if layer.name.startswith(prefixes)}
    _enable_containers(model)
    for layer in leaf_layers(model):
        layer.trainable = id(layer) in chosen and not (keep_batchnorm_frozen and _is_bn(layer))
    return [layer.name for layer in leaf_layers(model) if layer.trainable and layer.weights]


def trainable_summary(model) -> dict[str, int]:
    """Counts of trainable and frozen parameters (BN moving statistics count as frozen)."""
    def count(ws) -> int:
        return int(sum(np.prod(w.shape) for w in ws))

    trainable = count(model.trainable_weights)
    frozen = count(model.non_trainable_weights)
    return {"trainable": trainable, "frozen": frozen, "total": trainable + frozen}


# --------------------------------------------------------------------------- unfreezing by block
def block_names(model) -> list[str]:
    """Blocks of ``model`` in order: the distinct name prefixes (before the first ``_``) of its weighted layers.

    ``fashion_cnn`` -> ``block1, block2, block3``; Keras ResNet50 -> ``conv1 ... conv5`` (its stages).
    """
    out: list[str] = []
    for layer in _weighted(model):
        prefix = layer.name.split("_", 1)[0]
        if prefix not in out:
            out.append(prefix)
    return out


def top_blocks(model, n: int) -> list[str]:
    """The names of the top ``n`` blocks of ``model`` (``0 <= n <= number of blocks``)."""
    names = block_names(model)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= int(n) <= len(names):
        raise ValueError(f"n must be an integer between 0 and {len(names)} (the blocks are {names}), got {n!r}")
    return names[len(names) - int(n):] if n else []


def unfreeze_blocks(model, n: int, keep_batchnorm_frozen: bool = True) -> list[str]:
    """Unfreeze the top ``n`` blocks of ``model``, freeze the rest; returns the trainable layer names."""
    blocks = top_blocks(model, n)
    if not blocks:
        return unfreeze_top(model, fraction=0.0)
    return unfreeze_top(model, blocks=[b + "_" for b in blocks], keep_batchnorm_frozen=keep_batchnorm_frozen)


# --------------------------------------------------------------------------- the BatchNorm guard
def batchnorm_layers(model) -> list:
    """The BatchNormalization layers of ``model`` (nested models included)."""
    return [layer for layer in leaf_layers(model) if _is_bn(layer)]


def keep_batchnorm_inference(model) -> list[str]:
    """Put every BatchNormalization layer of ``model`` in inference mode (``trainable = False``).

    A frozen BN layer normalises with its pretrained moving mean/variance and never updates them,
    even inside ``fit``. Call it after anything that sets ``trainable = True`` wholesale (e.g.
    ``model.trainable = True``), then recompile. Returns the names of the BN layers.
    """
    bns = batchnorm_layers(model)
    for layer in bns:
        layer.trainable = False
    return [layer.name for layer in bns]


def bn_statistics(model) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{BN layer name: (moving_mean, moving_variance)}`` copies, to compare before and after training."""
    return {layer.name: (np.array(layer.moving_mean), np.array(layer.moving_variance))
            for layer in batchnorm_layers(model)}


def bn_statistics_change(before: dict[str, tuple[np.ndarray, np.ndarray]], model) -> dict[str, float]:
    """Largest absolute change of each BN layer's moving mean or variance since ``before`` (0.0 = untouched)."""
    after = bn_statistics(model)
    missing = sorted(set(before) - set(after))
    if missing:
        raise ValueError(f"BN layers {missing} are not in the model; its BN layers are {sorted(after)}")
    return {name: float(max(np.max(np.abs(after[name][0] - m)), np.max(np.abs(after[name][1] - v))))
            for name, (m, v) in before.items()}


# --------------------------------------------------------------------------- layer by layer
def layer_table(model) -> list[dict]:
    """One row per weighted layer: name, kind, parameters, trainable, BN mode (``inference``/``training``)."""
    rows = []
    for layer in _weighted(model):
        rows.append({"layer": layer.name, "kind": type(layer).__name__,
                     "params": int(sum(math.prod(w.shape) for w in layer.weights)),
                     "trainable": bool(layer.trainable),
                     "bn_mode": ("training" if layer.trainable else "inference") if _is_bn(layer) else ""})
    return rows
