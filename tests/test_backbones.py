import time

import numpy as np
import pytest

from tlkit import backbones, net


def test_unknown_backbone_lists_known_names():
    with pytest.raises(ValueError, match="expected one of .*fashion_cnn"):
        backbones.image_backbone("vgg99")


def test_default_backbone_per_profile():
    assert backbones.default_backbone("quick") == "efficientnet_lite0"
    assert backbones.default_backbone("full") == "resnet50"


def test_untrained_fashion_cnn_features():
    bb = backbones.image_backbone("fashion_cnn", pretrained=False)
    out = np.asarray(bb.model(np.zeros((2, 28, 28, 1), np.uint8)))
    assert out.shape == (2, bb.feature_dim) and not bb.pretrained and "untrained" in bb.cache_key


def test_pretrained_fashion_cnn_differs_from_untrained(tmp_cache, monkeypatch):
    """The zoo CNN loads from its cache (built on first use); its training is replaced by a tiny fit (tests/test_zoo.py
    tests the real recipe's caching), so what is checked here is loading, not Fashion-MNIST accuracy."""
    import keras

    from tlkit import zoo

    def tiny(spec, log):
        model = zoo.build_cnn(6, spec.filters, name=spec.name)
        x = np.random.default_rng(0).integers(0, 255, (32, 28, 28, 1)).astype("uint8")
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
        model.fit(x, np.arange(32) % 6, epochs=1, batch_size=16, verbose=0)
        return model, {"source_test_accuracy": 0.5, "source_task": spec.source_task}

    monkeypatch.setattr(zoo, "_train", tiny)
    pre = backbones.image_backbone("fashion_cnn")
    raw = backbones.image_backbone("fashion_cnn", pretrained=False)
    w_pre = pre.model.get_layer("block1_conv").get_weights()[0]
    w_raw = raw.model.get_layer("block1_conv").get_weights()[0]
    assert pre.pretrained and "source test accuracy" in pre.source
    assert not np.allclose(w_pre, w_raw)


def test_resnet50_architecture_without_download():
    bb = backbones._resnet50(None, 32)
    out = np.asarray(bb.model(np.zeros((1, 32, 32, 3), np.uint8)))
    assert out.shape == (1, 2048) and bb.feature_dim == 2048 and not bb.pretrained


def test_resnet50_imagenet_offline_fails_fast(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(net, "can_reach", lambda *a, **k: False)
    t0 = time.time()
    with pytest.raises(net.OfflineError, match="TLKIT_PROFILE=quick"):
        backbones._resnet50("imagenet", 32)
    assert time.time() - t0 < 30


def test_classifier_head_and_bad_classes():
    bb = backbones.image_backbone("fashion_cnn", pretrained=False)
    m = backbones.classifier(bb, 3)
    assert m.output.shape[-1] == 3
    with pytest.raises(ValueError, match="num_classes"):
        backbones.classifier(bb, 1)


def test_resnet50_finds_weights_cached_under_keras_home(monkeypatch, tmp_path):
    import keras

    (tmp_path / "models").mkdir()
    from tlkit.sources import source

    (tmp_path / "models" / source("resnet50_notop").cache_file).write_bytes(b"stand-in")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert backbones.keras_home() == tmp_path
    monkeypatch.setattr(net, "can_reach", lambda *a, **k: False)   # offline: only the cached file can work

    class Loaded(Exception):
        pass

    def fake_resnet(**kwargs):
        raise Loaded(kwargs["weights"])

    monkeypatch.setattr(keras.applications, "ResNet50", fake_resnet)
    with pytest.raises(Loaded):          # went on to load the cached weights instead of failing offline
        backbones._resnet50("imagenet", 32)


def _photos(n=24, size=64, seed=0):
    """Smooth random colour images (0..255): blurred noise, so neighbouring pixels correlate as in photos."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 255, size=(n, size // 8, size // 8, 3))
    return np.repeat(np.repeat(small, 8, axis=1), 8, axis=2).astype("float32")


def _feature_scale(features):
    return float(np.abs(features).mean()), float(features.std(axis=0).mean())


def test_untouched_untrained_efficientnet_is_dead():
    # BatchNorm in inference mode with its initial statistics (0/1) shrinks the signal block after block
    import keras

    keras.utils.set_random_seed(0)
    dead = backbones.image_backbone("efficientnet_lite0", pretrained=False, image_size=64)
    size, spread = _feature_scale(np.asarray(dead.model(_photos(), training=False)))
    assert size < 1e-6 and spread < 1e-6


def test_untrained_twin_is_alive_on_the_training_images_and_new_ones():
    import keras

    keras.utils.set_random_seed(0)
    twin = backbones.untrained_twin(_photos(seed=0), "efficientnet_lite0", image_size=64)
    assert not twin.pretrained and "BatchNorm statistics of 24 training images" in twin.source
    for seed in (0, 1):                              # the training images, and images it never saw
        f = np.asarray(twin.model(_photos(seed=seed), training=False))
        size, spread = _feature_scale(f)
        assert np.isfinite(f).all() and size > 1e-2 and spread > 1e-2
        assert (f.std(axis=0) > 1e-3).mean() > 0.5     # most features vary across images, not a few
    w = twin.model.get_layer("stem_conv").get_weights()[0]
    assert 0.01 < w.std() < 1.0                      # weights untouched: the standard random initialisation


def test_reestimate_batchnorm_gives_the_data_statistics():
    import keras

    inp = keras.Input((4, 4, 3))
    bn = keras.layers.BatchNormalization(momentum=0.99, name="bn")
    model = keras.Model(inp, keras.layers.GlobalAveragePooling2D()(bn(inp)))
    bn.trainable = False
    x = np.random.default_rng(0).uniform(0, 255, size=(10, 4, 4, 3)).astype("float32")
    assert backbones.reestimate_batchnorm(model, x, batch_size=3) == 1     # 4 batches of 3, 3, 3, 1 images
    mean, var = np.asarray(bn.moving_mean), np.asarray(bn.moving_variance)
    np.testing.assert_allclose(mean, x.mean(axis=(0, 1, 2)), rtol=1e-5)
    assert bn.momentum == 0.99 and bn.trainable is False                    # settings restored
    assert np.all(var > 100)                                               # no longer the initial 1.0
    backbones.reestimate_batchnorm(model, x, batch_size=10)                 # one batch: exactly the data's
    np.testing.assert_allclose(np.asarray(bn.moving_variance), x.var(axis=(0, 1, 2)), rtol=1e-4)
    with pytest.raises(ValueError, match="batch_size"):
        backbones.reestimate_batchnorm(model, x, batch_size=1)
    plain = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten()])
    with pytest.raises(ValueError, match="no BatchNormalization"):
        backbones.reestimate_batchnorm(plain, x)


def test_resnet_preprocessing_layer_saves_and_loads_in_safe_mode(tmp_path):
    """The full profile's ResNet50 preprocessing is tlkit's registered layer: a model holding it is saved and
    loaded back (notebook 14 does), computing exactly keras.applications' own preprocess_input."""
    import keras
    import numpy as np

    from tlkit import backbones

    inp = keras.Input((8, 8, 3))
    model = keras.Model(inp, backbones._resnet_preprocess()(inp))
    x = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    ref = keras.applications.resnet50.preprocess_input(x.copy())
    assert np.abs(model.predict(x, verbose=0) - ref).max() == 0.0
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    assert np.abs(again.predict(x, verbose=0) - ref).max() == 0.0
    assert not [l for l in again.layers if isinstance(l, keras.layers.Conv2D)]   # not a convolution: 00 plots those
