"""tf.data without its autotuning thread: no idle seconds at the end of every ``fit``.

In TensorFlow 2.21, a ``tf.data`` iterator with autotuning on (the default) can wait, when it is destroyed,
for the autotuning thread's next wake-up. That thread sleeps 10 ms, then 20, 40, ... up to a minute, so
the wait grows with the time since the iterator was made. Keras makes a new iterator for every ``fit``
call (and every epoch), so a ``fit`` on a CPU can idle for a large share of its time after the last step
- a MiniLM epoch of 14 s took 20.5 s in most of our runs, and a MobileNetV2 ``fit`` of 3.7 s took 5.2 s. The
batches, and so the results, are the same without autotuning; the course's pipelines are small in-memory
arrays that need no tuned parallelism.

:func:`without_autotune` switches it off for one dataset; :func:`keras_inputs_without_autotune` does so
for the datasets Keras builds from arrays and ``tf.data`` inputs (``tlkit.start`` calls it). Set
``TLKIT_TFDATA_AUTOTUNE=1`` to keep TensorFlow's default in both (to measure the difference).
"""
from __future__ import annotations

import functools
import os

_PATCHED_ATTR = "_tlkit_without_autotune"


def autotune_kept() -> bool:
    """True when ``TLKIT_TFDATA_AUTOTUNE=1`` asks to keep TensorFlow's default (autotuning on)."""
    return os.environ.get("TLKIT_TFDATA_AUTOTUNE", "") == "1"


def without_autotune(ds):
    """``ds`` with tf.data's autotuning switched off (see the module docstring); same elements.

    Returns ``ds`` unchanged when :func:`autotune_kept`.
    """
    import tensorflow as tf

    if not isinstance(ds, tf.data.Dataset):
        raise TypeError(f"expected a tf.data.Dataset, got {type(ds).__name__}")
    if autotune_kept():
        return ds
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)


def _adapter_classes() -> list[type]:
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter
    from keras.src.trainers.data_adapters.tf_dataset_adapter import TFDatasetAdapter

    return [ArrayDataAdapter, TFDatasetAdapter]


def keras_inputs_without_autotune() -> bool:
    """Make Keras's array and ``tf.data`` input adapters return datasets without autotuning.

    Idempotent. Returns True when the adapters are patched, False when ``TLKIT_TFDATA_AUTOTUNE=1`` asks
    for TensorFlow's default or this Keras version has no such adapters (then nothing changes).
    """
    if autotune_kept():
        return False
    try:
        classes = _adapter_classes()
    except ImportError:  # pragma: no cover - another Keras layout: leave it alone
        return False
    for cls in classes:
        original = cls.get_tf_dataset
        if getattr(original, _PATCHED_ATTR, False):
            continue

        @functools.wraps(original)
        def get_tf_dataset(self, _original=original):
            import tensorflow as tf

            ds = _original(self)
            return without_autotune(ds) if isinstance(ds, tf.data.Dataset) else ds

        setattr(get_tf_dataset, _PATCHED_ATTR, True)
        cls.get_tf_dataset = get_tf_dataset
    return True


def keras_inputs_patched() -> bool:
    """Whether :func:`keras_inputs_without_autotune` is in effect."""
    try:
        return all(getattr(c.get_tf_dataset, _PATCHED_ATTR, False) for c in _adapter_classes())
    except ImportError:  # pragma: no cover
        return False
