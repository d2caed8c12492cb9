"""Training on the devices the machine has: one device as usual, several GPUs with ``MirroredStrategy``.

Build *and compile* the model inside ``with strategy.scope():``; ``fit`` then splits every batch across the
replicas and sums their gradients (data parallelism, параллелизм по данным). The global batch size stays the
one you pass to ``fit``: each of ``n`` replicas sees ``batch_size / n`` examples.

Mixed precision (float16 compute, float32 weights) speeds up GPUs with tensor cores (T4, A100); on a CPU it
only slows things down, so :func:`use_mixed_precision` turns it on for GPUs only.
"""
from __future__ import annotations

from typing import Any, Sequence


def distribution_strategy(devices: Sequence[str] | None = None) -> Any:
    """The strategy for this machine: ``MirroredStrategy`` over ``devices`` (default: every GPU) when there
    are two or more, else TensorFlow's default one-device strategy.

    ``devices`` names logical devices explicitly (e.g. ``["/cpu:0", "/cpu:1"]`` in a test).
    """
    import tensorflow as tf

    if devices is not None:
        if isinstance(devices, str) or not all(isinstance(d, str) for d in devices):
            raise TypeError(f"devices: expected a list of device names like '/gpu:0', got {devices!r}")
        devices = list(devices)
        if len(devices) == 0:
            raise ValueError("devices: expected at least one device name, got an empty list")
        return tf.distribute.MirroredStrategy(devices) if len(devices) > 1 else tf.distribute.OneDeviceStrategy(devices[0])
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy([g.name for g in gpus])
    return tf.distribute.get_strategy()


def replicas(strategy: Any = None) -> int:
    """How many copies of the model train in parallel under ``strategy`` (default: :func:`distribution_strategy`)."""
    return int((strategy or distribution_strategy()).num_replicas_in_sync)


def use_mixed_precision(enable: bool | None = None) -> str:
    """Set Keras's global dtype policy: ``mixed_float16`` on a GPU (or when ``enable`` is True), else
    ``float32``. Call before building models; returns the policy name. Keep the last layer in float32
    (``Dense(..., dtype="float32")``) so the softmax is computed in full precision."""
    import keras
    import tensorflow as tf

    if enable is None:
        enable = bool(tf.config.list_physical_devices("GPU"))
    if not isinstance(enable, bool):
        raise TypeError(f"enable: expected True, False or None, got {enable!r}")
    name = "mixed_float16" if enable else "float32"
    keras.mixed_precision.set_global_policy(name)
    return name


def describe(strategy: Any = None) -> str:
    """One line: the strategy, its replicas and the dtype policy (printed by notebooks that train)."""
    import keras

    strategy = strategy or distribution_strategy()
    return (f"{type(strategy).__name__} with {replicas(strategy)} replica(s); "
            f"dtype policy {keras.mixed_precision.global_policy().name}")
