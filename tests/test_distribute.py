"""Multi-device training, tested for real: two logical CPU devices run a MirroredStrategy fit of a course model,
and it ends where a one-device fit of the same model on the same batches ends."""
import subprocess
import sys
import textwrap

import pytest

from tlkit import distribute

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from tlkit import distribute, train
    from tlkit.profile import set_seed

    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 16)).astype("float32")
    y = np.argmax(x[:, :3], axis=1).astype("int32")          # 3 linearly separable classes

    def fit(strategy):
        set_seed(0)
        with strategy.scope():
            model = train.feature_head(16, 3, dropout=0.0)     # the course's head on features
            model.get_layer("normalize").adapt(x)
            train.compile_classifier(model, 5e-2)
        model.fit(x, y, batch_size=64, epochs=5, shuffle=False, verbose=0)   # 20 steps: accuracy 0.89
        return model

    two = distribute.distribution_strategy(["/cpu:0", "/cpu:1"])
    one = distribute.distribution_strategy(["/cpu:0"])
    m2, m1 = fit(two), fit(one)
    p2, p1 = m2.predict(x, verbose=0), m1.predict(x, verbose=0)
    w2 = np.concatenate([np.ravel(w) for w in m2.get_weights()])
    w1 = np.concatenate([np.ravel(w) for w in m1.get_weights()])
    print(json.dumps({"replicas": [distribute.replicas(two), distribute.replicas(one)],
                      "pred_diff": float(np.abs(p2 - p1).max()), "weight_diff": float(np.abs(w2 - w1).max()),
                      "moved": float(np.abs(w1).sum()), "acc": float(np.mean(p1.argmax(1) == y)),
                      "describe": distribute.describe(two)}))
""")


def test_mirrored_strategy_on_two_logical_cpus_matches_one_device():
    import json

    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["replicas"] == [2, 1]
    assert r["acc"] > 0.8                          # it really trained
    assert r["pred_diff"] <= 1e-4 and r["weight_diff"] <= 1e-4, r   # stated tolerance: 1e-4
    assert r["describe"].startswith("MirroredStrategy with 2 replica(s)")


def test_default_strategy_and_input_checks():
    s = distribute.distribution_strategy()
    assert distribute.replicas(s) == 1                      # no GPUs here: TensorFlow's default strategy
    with pytest.raises(TypeError, match="device names"):
        distribute.distribution_strategy("/cpu:0")
    with pytest.raises(ValueError, match="at least one"):
        distribute.distribution_strategy([])


def test_mixed_precision_only_on_gpus():
    import keras

    try:
        assert distribute.use_mixed_precision() == "float32"            # CPU-only machine
        assert distribute.use_mixed_precision(True) == "mixed_float16"
        assert keras.mixed_precision.global_policy().name == "mixed_float16"
        with pytest.raises(TypeError):
            distribute.use_mixed_precision("yes")
    finally:
        keras.mixed_precision.set_global_policy("float32")
