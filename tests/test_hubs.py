"""tlkit.hubs: head comparison, raw inputs, the TF Hub-style export + HubLayer (frozen and trainable), safe_mode."""
from __future__ import annotations

import os
import time

import numpy as np
import pytest

from tlkit import hubs, net


def _tiny_model():
    import keras

    keras.utils.set_random_seed(0)       # the same tiny network whichever test builds it first
    inp = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inp)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, x)


# ------------------------------------------------------------------------------------------ inputs
def test_raw_pixels_shape_and_range():
    x = np.random.RandomState(0).randint(0, 256, (3, 20, 20, 3)).astype(np.uint8)
    r = hubs.raw_pixels(x, size=8)
    assert r.shape == (3, 8 * 8 * 3) and r.dtype == np.float32
    assert 0.0 <= r.min() and r.max() <= 1.0


@pytest.mark.parametrize("bad", [np.zeros((3, 8, 8)), np.zeros((2, 8, 8, 1))])
def test_raw_pixels_rejects_bad_images(bad):
    with pytest.raises(ValueError, match="images"):
        hubs.raw_pixels(bad)


def test_raw_pixels_rejects_bad_size():
    with pytest.raises(ValueError, match="size"):
        hubs.raw_pixels(np.zeros((1, 8, 8, 3)), size=2)


def test_bag_of_words_counts():
    a, b = hubs.bag_of_words(["good good film", "bad film"], ["good", "unknown words"])
    assert a.shape[0] == 2 and b.shape == (2, a.shape[1])
    assert a.sum() == 5 and b[0].sum() == 1 and b[1].sum() == 0
    with pytest.raises(ValueError, match="max_features"):
        hubs.bag_of_words(["a b"], ["a"], max_features=0)


def test_wrong_scaling_divides_by_255():
    assert np.allclose(hubs.wrong_scaling(np.array([255.0, 0.0])), [1.0, 0.0])


# ------------------------------------------------------------------------------------ head comparison
def test_head_comparison_separable_beats_noise():
    rng = np.random.RandomState(0)
    y_train, y_test = np.repeat(np.arange(3), 10), np.repeat(np.arange(3), 10)
    centres = rng.normal(size=(3, 5)) * 5

    def good(y):
        return centres[y] + rng.normal(size=(len(y), 5))

    feats = {"good": (good(y_train), good(y_test)), "noise": (rng.normal(size=(30, 5)), rng.normal(size=(30, 5)))}
    rows = hubs.head_comparison(feats, y_train, y_test, 3, labels_per_class=[2, 5], seeds=[0, 1, 2])
    assert len(rows) == 6 and {r["labels/class"] for r in rows} == {2, 5}
    assert all(r["good"] >= 0.9 for r in rows)
    assert np.mean([r["noise"] for r in rows]) < 0.7


def test_head_comparison_validates():
    y = np.repeat(np.arange(2), 4)
    with pytest.raises(ValueError, match="features"):
        hubs.head_comparison({}, y, y, 2, [2], [0])
    with pytest.raises(TypeError, match="features\\['a'\\]"):
        hubs.head_comparison({"a": np.zeros((8, 2))}, y, y, 2, [2], [0])
    with pytest.raises(ValueError, match="features\\['a'\\]"):
        hubs.head_comparison({"a": (np.zeros((7, 2)), np.zeros((8, 2)))}, y, y, 2, [2], [0])
    with pytest.raises(ValueError, match="seeds"):
        hubs.head_comparison({"a": (np.zeros((8, 2)), np.zeros((8, 2)))}, y, y, 2, [2], [])


# ----------------------------------------------------------------------------------- profiles/offline
@pytest.mark.parametrize("fn", [hubs.hub_handle, hubs.text_preset, hubs.applications_model])
def test_bad_profile(fn):
    with pytest.raises(ValueError, match="profile"):
        fn("medium")


def test_full_hub_handle_offline_fails_fast(monkeypatch):
    monkeypatch.setattr(net, "can_reach", lambda host, *a, **k: False)
    monkeypatch.setattr(hubs, "_hub_cached", lambda handle: False)
    t0 = time.time()
    with pytest.raises(net.OfflineError, match="TLKIT_PROFILE=quick"):
        hubs.hub_handle("full")
    assert time.time() - t0 < 5


def test_full_text_preset_offline_fails_fast(monkeypatch, tmp_path):
    monkeypatch.setattr(net, "can_reach", lambda host, *a, **k: False)
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path))
    with pytest.raises(net.OfflineError, match="TLKIT_PROFILE=quick"):
        hubs.text_preset("full")


# --------------------------------------------------------------------------- TF Hub export + HubLayer
@pytest.fixture(scope="module")
def tiny_hub(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hub") / "tiny"
    model = _tiny_model()
    hubs.write_feature_vector(model, folder)
    return folder, model


def test_export_loads_with_hub_and_matches(tiny_hub):
    import tensorflow_hub as hub

    folder, model = tiny_hub
    module = hub.load(str(folder))
    assert len(module.variables) == len(model.variables)
    assert len(module.trainable_variables) == len(model.trainable_variables)
    x = np.random.RandomState(1).rand(2, 9, 9, 3).astype(np.float32)      # [0, 1] images, any size
    assert np.abs(module(x).numpy() - np.asarray(model(x * 255.0, training=False))).max() <= 1e-5


def test_hub_export_state_detects_damage(tiny_hub, tmp_path):
    import json
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(tiny_hub[0], folder)
    assert hubs.hub_export_state(folder) == "missing"
    (folder / "manifest.json").write_text(json.dumps({"version": hubs.HUB_EXPORT_VERSION,
                                                      "files": hubs._tree_hashes(folder)}))
    assert hubs.hub_export_state(folder) == "ok"
    (folder / "saved_model.pb").write_bytes(b"\0" * 10)
    assert hubs.hub_export_state(folder) == "corrupt"
    (folder / "manifest.json").write_text(json.dumps({"version": -1, "files": {}}))
    assert hubs.hub_export_state(folder) == "stale"


def test_hub_layer_frozen_has_no_trainable_weights(tiny_hub):
    layer = hubs.HubLayer(str(tiny_hub[0]), trainable=False)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == len(tiny_hub[1].variables)


def test_hub_layer_trains(tiny_hub):
    import keras

    keras.utils.set_random_seed(0)
    layer = hubs.HubLayer(str(tiny_hub[0]), trainable=True)
    assert len(layer.trainable_weights) == len(tiny_hub[1].trainable_weights) > 0
    inp = keras.Input((8, 8, 3))
    model = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(layer(inp)))
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", run_eagerly=True)
    rng = np.random.RandomState(0)
    y = np.arange(16) % 2
    x = (rng.rand(16, 8, 8, 3) * 0.2 + y[:, None, None, None] * 0.5).astype(np.float32)
    before = [np.array(w) for w in layer.trainable_weights]
    loss0 = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0) < loss0
    assert all(not np.array_equal(np.array(w), b) for w, b in zip(layer.trainable_weights, before))
    module_vars = {v.name: np.array(v) for v in layer.module.trainable_variables}
    assert any(not np.array_equal(v, b) for v, b in zip(module_vars.values(), before))   # shared, not copied


# ------------------------------------------------------------------------------------------ safe_mode
def test_untrusted_file_refused_in_safe_mode(tmp_path):
    import keras

    path = hubs.untrusted_keras_file(tmp_path / "u.keras")
    assert os.environ.get(hubs.UNTRUSTED_MARKER) is None
    with pytest.raises(ValueError, match="(?i)lambda|unsafe|safe_mode"):
        keras.models.load_model(path)
    assert os.environ.get(hubs.UNTRUSTED_MARKER) is None
    keras.models.load_model(path, safe_mode=False)
    assert os.environ.pop(hubs.UNTRUSTED_MARKER, None) == "yes"


def test_untrusted_file_needs_keras_suffix(tmp_path):
    with pytest.raises(ValueError, match=".keras"):
        hubs.untrusted_keras_file(tmp_path / "u.h5")


def test_full_applications_offline_fails_fast(monkeypatch, tmp_path):
    monkeypatch.setattr(net, "can_reach", lambda host, *a, **k: False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    t0 = time.time()
    with pytest.raises(net.OfflineError, match="TLKIT_PROFILE=quick"):
        hubs.applications_model("full")
    assert time.time() - t0 < 5


def test_embed_texts_cache_is_keyed_by_pooling_mode(tmp_cache):
    """Two embedders with the same weights but another pooling mode must not share cached vectors."""
    from types import SimpleNamespace

    import numpy as np

    from tlkit import hubs

    class FakeEmbedder:
        def __init__(self, pooling_mode, value):
            self.pooling_mode, self.value, self.calls = pooling_mode, value, 0
            self.weights = [np.ones((2, 2), np.float32)]
            self.output = SimpleNamespace(shape=(None, 3))
            self.preprocessor = SimpleNamespace(sequence_length=8)

        def predict(self, texts, batch_size=64, verbose=0):
            self.calls += 1
            return np.full((len(texts), 3), self.value, np.float32)

    texts = ["one review", "another review"]
    mean, cls = FakeEmbedder("mean", 1.0), FakeEmbedder("cls", 2.0)
    assert hubs.embed_texts(mean, texts)[0, 0] == 1.0
    assert hubs.embed_texts(cls, texts)[0, 0] == 2.0 and cls.calls == 1       # not the mean-pooled cache entry
    assert hubs.embed_texts(mean, texts)[0, 0] == 1.0 and mean.calls == 1     # its own entry, from the cache
