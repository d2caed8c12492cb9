"""Run by tests/test_colab_env.py with the Colab-like environment's Python (quick profile): what notebook 08 needs
from Colab's versions, through the same tlkit calls and the same library calls as 08's cells, on a few examples.

Reaches: keras-hub's MiniLM preset (TextEmbedderPreprocessor / TextEmbedder.from_preset, its tokenizer on
tensorflow-text, save_to_preset and back), tlkit's TF Hub SavedModel export loaded by Colab's TensorFlow through
tensorflow-hub (``hub.load``; it needs setuptools' pkg_resources), ``hub.KerasLayer`` inside tf_keras, the
course's ``HubLayer`` inside Keras 3 (frozen, then trainable with a few steps of ``fit``), and a pandas Styler
(Jinja2), and notebook 00's EfficientNet-Lite0 ImageNet classifier with keras-hub's class names. Prints ``colab smoke: ok`` at the end; any failure raises.
"""
from __future__ import annotations

import os
import tempfile

import numpy as np


def main() -> None:
    import keras
    import keras_hub
    import pandas as pd
    import tensorflow as tf
    import tensorflow_hub as hub
    import tf_keras

    import tlkit
    from tlkit import hubs

    tlkit.start("colab_smoke")
    work = tempfile.mkdtemp(prefix="colab-smoke-")
    preset = hubs.text_preset()
    preprocessor = keras_hub.models.TextEmbedderPreprocessor.from_preset(preset, sequence_length=32)
    embedder = keras_hub.models.TextEmbedder.from_preset(preset, preprocessor=preprocessor)
    tokens = embedder.preprocessor.tokenizer("Transfer learning saves labels!")
    assert [embedder.preprocessor.tokenizer.id_to_token(int(i)) for i in tokens][:2] == ["transfer", "learning"]
    texts = ["Please refund my order.", "Where is my parcel?", "The screen arrived broken."]
    vectors = embedder.predict(texts, verbose=0)
    assert vectors.shape == (3, 384) and np.isfinite(vectors).all()
    embedder.save_to_preset(os.path.join(work, "preset"))
    again = keras_hub.models.TextEmbedder.from_preset(os.path.join(work, "preset"))
    assert float(np.abs(again.predict(texts, verbose=0) - vectors).max()) < 1e-4

    handle = hubs.hub_handle()
    size = hubs.hub_image_size()
    images = np.random.default_rng(0).uniform(0, 1, (4, size, size, 3)).astype("float32")
    module = hub.load(handle)
    features = module(images).numpy()
    legacy = tf_keras.Sequential([hub.KerasLayer(handle, trainable=False), tf_keras.layers.Dense(3)])
    assert legacy(images).shape == (4, 3)
    frozen = keras.Sequential([keras.Input((size, size, 3)), hubs.HubLayer(handle, trainable=False)])
    assert float(np.abs(frozen.predict(images, verbose=0) - features).max()) < 1e-4
    small = tf.image.resize(images, (64, 64)).numpy()
    tuned_layer = hubs.HubLayer(handle, trainable=True)
    tuned = keras.Sequential([keras.Input((64, 64, 3)), tuned_layer, keras.layers.Dense(3, activation="softmax")])
    tuned.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy", run_eagerly=True)
    before = [np.array(w) for w in tuned_layer.trainable_weights]
    tuned.fit(small, np.array([0, 1, 2, 0]), epochs=1, batch_size=4, verbose=0)
    assert any(not np.array_equal(np.array(w), b) for w, b in zip(tuned_layer.trainable_weights, before))

    from tlkit import effnet                     # notebook 00: the converted ImageNet classifier and its class names

    classifier = effnet.load_efficientnet_lite0(log=lambda m: None)
    top = effnet.decode_top(classifier.predict(np.random.default_rng(1).uniform(0, 255, (2, 224, 224, 3)), verbose=0))
    assert len(top) == 2 and all(isinstance(name, str) and name for name, _ in top[0])
    assert "<table" in pd.DataFrame({"accuracy": [0.5]}).style.format("{:.3f}").to_html()
    print("colab smoke: ok")


if __name__ == "__main__":
    main()
