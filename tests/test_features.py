import numpy as np
import pytest

from tlkit import backbones, features


@pytest.fixture
def bb():
    return backbones.image_backbone("fashion_cnn", pretrained=False)


def _images(n=10, seed=0):
    return np.random.default_rng(seed).integers(0, 255, (n, 28, 28, 1), dtype=np.uint8)


def test_extract_shape_and_matches_model(bb, tmp_cache):
    x = _images()
    f = features.extract_features(bb, x, batch_size=4, progress=False)
    assert f.shape == (10, bb.feature_dim) and f.dtype == np.float32
    assert np.allclose(f, np.asarray(bb.model(x, training=False)), atol=1e-5)


def test_second_call_reads_the_cache(bb, tmp_cache, monkeypatch):
    x = _images()
    first = features.extract_features(bb, x, progress=False)
    path = features.feature_cache_path(bb, x)
    assert path.exists() and path.is_relative_to(tmp_cache)
    monkeypatch.setattr(bb, "model", _Exploding(bb.model))
    assert np.array_equal(first, features.extract_features(bb, x, progress=False))


class _Exploding:
    def __init__(self, model):
        self._m = model
        self.weights = model.weights
        self.output = model.output

    def __call__(self, *a, **k):  # pragma: no cover - must not be called
        raise AssertionError("cache miss: the backbone ran again")


def test_cache_key_changes_with_data_and_weights(bb, tmp_cache):
    x = _images()
    p1 = features.feature_cache_path(bb, x)
    assert p1 != features.feature_cache_path(bb, _images(seed=1))
    w = bb.model.get_layer("block1_conv").get_weights()
    bb.model.get_layer("block1_conv").set_weights([w[0] + 1.0])
    assert p1 != features.feature_cache_path(bb, x)


def test_corrupt_cache_file_is_recomputed(bb, tmp_cache):
    x = _images()
    features.extract_features(bb, x, progress=False)
    features.feature_cache_path(bb, x).write_bytes(b"not numpy")
    assert features.extract_features(bb, x, progress=False).shape == (10, bb.feature_dim)


def test_bad_inputs(bb):
    with pytest.raises(ValueError, match=r"expected images of shape \(28, 28, 1\)"):
        features.extract_features(bb, np.zeros((2, 32, 32, 3), np.uint8), cache=False)
    with pytest.raises(ValueError, match="empty"):
        features.extract_features(bb, np.zeros((0, 28, 28, 1), np.uint8), cache=False)
    with pytest.raises(ValueError, match="batch_size"):
        features.extract_features(bb, _images(), batch_size=0, cache=False)


def test_probe_backbones_rows_and_bad_input(bb, tmp_cache):
    from tlkit.data import ImageTask

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 10)
    x = rng.integers(0, 80, (20, 28, 28, 1), dtype=np.uint8)
    x[y == 1, 10:18, 10:18] = 250                      # class 1 has a bright square: easy to probe
    task = ImageTask("toy", x, y, x.copy(), y.copy(), ("dark", "square"))
    rows = features.probe_backbones({"a": bb}, task, labels_per_class=5, seeds=[0, 1])
    assert [(r["backbone"], r["seed"]) for r in rows] == [("a", 0), ("a", 1)]
    assert all(r["accuracy"] > 0.9 for r in rows)
    with pytest.raises(ValueError, match="at least one backbone"):
        features.probe_backbones({}, task, 5, [0])
    with pytest.raises(ValueError, match="at least one seed"):
        features.probe_backbones({"a": bb}, task, 5, [])


@pytest.mark.parametrize("damage", ["zeroed", "nan"])
def test_silently_damaged_feature_cache_is_recomputed_not_returned(bb, tmp_cache, damage):
    x = _images()
    good = features.extract_features(bb, x, progress=False)
    path = features.feature_cache_path(bb, x)
    bad = np.zeros_like(good) if damage == "zeroed" else np.full_like(good, np.nan)
    with open(path, "r+b") as f:                     # overwrite the data region, keep the .npy header
        f.seek(path.stat().st_size - bad.nbytes)
        f.write(bad.tobytes())
    assert np.array_equal(features.extract_features(bb, x, progress=False), good)


def test_unwritable_cache_fails_before_any_work(bb, tmp_path, monkeypatch):
    from tlkit.profile import CacheDirError

    (tmp_path / "f").write_text("")
    monkeypatch.setenv("TLKIT_CACHE", str(tmp_path / "f" / "cache"))
    monkeypatch.setattr(bb, "model", _Exploding(bb.model))           # must fail before the backbone runs
    with pytest.raises(CacheDirError, match="TLKIT_CACHE"):
        features.extract_features(bb, _images(), progress=False)


@pytest.mark.parametrize("images, err, match", [
    (np.random.default_rng(0).random((4, 28, 28, 1)).astype(np.float32), ValueError,
     r"look already scaled to 0\.\.1.*expects 0\.\.255.*images \* 255"),
    (np.full((4, 28, 28, 1), np.nan, np.float32), ValueError, "NaN or infinite"),
    (np.full((4, 28, 28, 1), 300.0, np.float32), ValueError, r"range 300\.\.300; expected 0\.\.255"),
    (np.full((4, 28, 28, 1), -1, np.int16), ValueError, r"expected 0\.\.255"),
    (np.ones((4, 28, 28, 1), bool), TypeError, "dtype bool"),
])
def test_image_values_are_checked(bb, images, err, match):
    with pytest.raises(err, match=match):
        features.extract_features(bb, images, cache=False)


def test_float_images_in_0_255_are_accepted(bb):
    x = _images()
    assert np.allclose(features.extract_features(bb, x.astype(np.float32), cache=False),
                       features.extract_features(bb, x, cache=False), atol=1e-5)


def test_probe_backbones_cv_choice_ignores_test_labels(bb, tmp_cache):
    from tlkit.data import ImageTask

    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, size=(40, 28, 28, 1)).astype("uint8")
    y = np.arange(40) % 2
    task = ImageTask("t", x, y, x[:20], y[:20], ("a", "b"))
    permuted = ImageTask("t", x, y, x[:20], np.random.default_rng(1).permutation(y[:20]), ("a", "b"))
    rows = features.probe_backbones({"a": bb}, task, labels_per_class=5, seeds=[0, 1], c="cv")
    rows_p = features.probe_backbones({"a": bb}, permuted, labels_per_class=5, seeds=[0, 1], c="cv")
    assert [r["C"] for r in rows] == [r["C"] for r in rows_p]
