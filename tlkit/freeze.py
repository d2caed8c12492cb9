"""Freezing (заморозка слоёв): freeze all, freeze up to a layer, unfreeze the top part; summaries.

In Keras 3 a frozen ``BatchNormalization`` layer (``trainable = False``) also runs in inference
mode, so its moving mean/variance stay as pretrained. The helpers here keep BN layers frozen
while unfreezing, unless told otherwise.
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
