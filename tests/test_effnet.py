"""EfficientNet-Lite0 with ImageNet weights read without PyTorch: safety of the reader, the build, freezing."""
from __future__ import annotations

import os
import pickle
import shutil
import struct

import numpy as np
import pytest

from tlkit import effnet
from tlkit.profile import sha256_file


def _installed() -> bool:
    try:
        effnet.weights_path()
        return True
    except FileNotFoundError:
        return False


needs_weights = pytest.mark.skipif(not _installed(), reason=f"weights not installed ({effnet.INSTALL})")


def _legacy_file(path, payload: bytes) -> str:
    """A file laid out like a legacy torch.save: three header pickles, then ``payload``."""
    with open(path, "wb") as f:
        pickle.dump(0x1950A86A20F9469CFC6C, f, protocol=2)
        pickle.dump(1001, f, protocol=2)
        pickle.dump({"protocol_version": 1001, "little_endian": True, "type_sizes": {}}, f, protocol=2)
        f.write(payload)
    return sha256_file(path)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_before_it_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    digest = _legacy_file(path, pickle.dumps({"w": _Evil(marker)}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="refused"):
        effnet.read_torch_state_dict(path, sha256=digest)
    assert not marker.exists()


def test_malicious_header_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil_header.pth"
    path.write_bytes(pickle.dumps(_Evil(marker), protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="refused"):
        effnet.read_torch_state_dict(path, sha256=sha256_file(path))
    assert not marker.exists()


def test_the_unpickler_allows_only_tensor_names():
    import io

    up = effnet.RestrictedTorchUnpickler(io.BytesIO(b""))
    assert up.find_class("collections", "OrderedDict") is not None
    assert up.find_class("torch._utils", "_rebuild_tensor_v2") is not None
    assert up.find_class("torch", "FloatStorage") == "FloatStorage"
    for module, name in [("os", "system"), ("builtins", "eval"), ("torch", "load"), ("collections", "namedtuple")]:
        with pytest.raises(pickle.UnpicklingError, match="refused"):
            up.find_class(module, name)


def test_hand_made_legacy_state_dict_is_read(tmp_path):
    """A tiny legacy file written by hand (the torch.save layout) round-trips, strides included."""
    import collections

    class P:  # pickles as a GLOBAL reference with the given module/name
        def __init__(self, module, name):
            self.module, self.name = module, name

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return obj.pid if isinstance(obj, _St) else None

        def reducer_override(self, obj):
            if isinstance(obj, _T):
                return (_rebuild, (obj.storage, 0, obj.size, obj.stride, False, collections.OrderedDict()))
            return NotImplemented

    class _St:
        def __init__(self, key, n):
            self.pid = ("storage", _FloatStorage, key, "cpu", n)

    class _T:
        def __init__(self, storage, size, stride):
            self.storage, self.size, self.stride = storage, size, stride

    import io
    import sys
    import types

    fake_torch = types.ModuleType("torch")
    fake_utils = types.ModuleType("torch._utils")

    def _rebuild(*a):  # pragma: no cover - only referenced by name
        return a

    _rebuild.__module__, _rebuild.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    fake_utils._rebuild_tensor_v2 = _rebuild

    class _FloatStorage:  # pragma: no cover - only referenced by name
        pass

    _FloatStorage.__module__, _FloatStorage.__qualname__ = "torch", "FloatStorage"
    fake_torch.FloatStorage = _FloatStorage
    old = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
    sys.modules["torch"], sys.modules["torch._utils"] = fake_torch, fake_utils
    try:
        st = _St("0", 6)
        buf = io.BytesIO()
        Pickler(buf, protocol=2).dump(collections.OrderedDict(a=_T(st, (2, 3), (3, 1)), b=_T(st, (3, 2), (1, 3))))
        keys = pickle.dumps(["0"], protocol=2)
    finally:
        for k, v in old.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    data = np.arange(6, dtype="<f4")
    path = tmp_path / "tiny.pth"
    digest = _legacy_file(path, buf.getvalue() + keys + struct.pack("<q", 6) + data.tobytes())
    out = effnet.read_torch_state_dict(path, sha256=digest)
    np.testing.assert_array_equal(out["a"], data.reshape(2, 3))
    np.testing.assert_array_equal(out["b"], data.reshape(2, 3).T)
    # a truncated copy is refused with the fix
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(ValueError, match="truncated"):
        effnet.read_torch_state_dict(path, sha256=None, fix="reinstall me")


@needs_weights
def test_corrupted_weights_are_refused_with_the_reinstall_command(tmp_path):
    bad = tmp_path / effnet.WEIGHTS_FILE
    shutil.copy(effnet.weights_path(), bad)
    raw = bytearray(bad.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    bad.write_bytes(bytes(raw))
    with pytest.raises(ValueError) as err:
        effnet.read_torch_state_dict(bad)
    assert effnet.REINSTALL in str(err.value)


def test_missing_package_names_the_install_command(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(FileNotFoundError) as err:
        effnet.weights_path()
    assert effnet.INSTALL in str(err.value)


@needs_weights
def test_real_weights_have_the_lite0_layout():
    w = effnet.read_torch_state_dict(effnet.weights_path())
    assert w["_conv_stem.weight"].shape == (32, 3, 3, 3) and w["_fc.weight"].shape == (1000, 1280)
    layout = effnet._block_layout(w)
    assert len(layout) == 16 and [b["kernel"] for b in layout][:4] == [3, 3, 3, 5]
    assert layout[-1]["cout"] == 320 and not layout[0]["expand"] and layout[1]["expand"]


def test_untrained_twin_has_the_real_layout():
    m = effnet.build_efficientnet_lite0(None)
    assert m.count_params() == 4_694_024     # EfficientNet-Lite0 with its 1000-class layer
    assert m.get_layer("avg_pool").output.shape[-1] == 1280


@pytest.fixture(scope="module")
def imagenet_model(tmp_path_factory):
    if not _installed():
        pytest.skip(f"weights not installed ({effnet.INSTALL})")
    old = os.environ.get("TLKIT_CACHE")
    os.environ["TLKIT_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield effnet.load_efficientnet_lite0(log=lambda s: None)
    if old is None:
        os.environ.pop("TLKIT_CACHE", None)
    else:
        os.environ["TLKIT_CACHE"] = old


def test_imagenet_head_recognises_known_photos(imagenet_model):
    """Real ImageNet weights: the right class is in the top 5 for photos whose class is known."""
    from tlkit import photos

    try:
        root = photos.stamps_dir()
    except FileNotFoundError:
        pytest.skip(photos.INSTALL)
    known = {"zebra.png": "zebra", "penguin.png": "king_penguin", "banana.png": "banana",
             "firetruck.png": "fire_engine", "broccoli.png": "broccoli"}
    paths = [next(root.rglob(name)) for name in known]
    x = np.stack([photos.load_photo(p, 128, background=255) for p in paths])   # on white, like product photos
    tops = effnet.decode_top(imagenet_model.predict(x, verbose=0), top=5)
    for (name, label), top in zip(known.items(), tops):
        assert label in [n for n, _ in top], f"{name}: {top}"


def test_sklearn_flower_is_a_daisy(imagenet_model):
    import tensorflow as tf
    from sklearn.datasets import load_sample_image

    x = tf.image.resize(load_sample_image("flower.jpg")[None], (224, 224)).numpy()
    assert "daisy" in [n for n, _ in effnet.decode_top(imagenet_model.predict(x, verbose=0), top=5)[0]]


def test_cache_is_hash_checked(imagenet_model):
    assert effnet.cache_state() == "ok"
    f = effnet.effnet_dir() / "model.keras"
    with open(f, "ab") as fh:
        fh.write(b"x")
    assert effnet.cache_state() == "corrupt"
    effnet.convert(log=lambda s: None)
    assert effnet.cache_state() == "ok"


def test_trainable_parameters_after_each_freezing_step(imagenet_model):
    """Feature extraction trains only the head; unfreezing the top 2 blocks adds their conv weights, BN stays frozen."""
    import keras

    from tlkit import freeze, train

    base = keras.Model(imagenet_model.input, imagenet_model.get_layer("avg_pool").output)
    model = train.feature_extraction_model(base, (64, 64, 3), num_classes=10)
    head = 1280 * 10 + 10
    assert freeze.trainable_summary(model)["trainable"] == head
    base.trainable = True
    assert freeze.top_blocks(base, 2) == ["block7a", "top"]
    freeze.unfreeze_blocks(base, 2)
    convs = 192 * 1152 + 3 * 3 * 1152 + 1152 * 320 + 320 * 1280      # block7a expand/depthwise/project + top conv
    assert freeze.trainable_summary(model)["trainable"] == head + convs
    assert all(not layer.trainable for layer in freeze.batchnorm_layers(base))
    base.trainable = False
    assert freeze.trainable_summary(model)["trainable"] == head


def test_decode_top_checks_its_input():
    with pytest.raises(ValueError, match="probs"):
        effnet.decode_top(np.zeros((2, 10)))


def test_small_cnn_resizes_and_classifies():
    from tlkit import train

    m = train.small_cnn((96, 96, 3), 10, size=32)
    out = m(np.zeros((2, 96, 96, 3), "float32"))
    assert out.shape == (2, 10) and np.allclose(np.asarray(out).sum(axis=1), 1, atol=1e-5)
    assert m.count_params() < 50_000     # "small": sized for ~120 training photos


def test_feature_extraction_model_on_untrained_base_trains_only_the_head():
    import keras

    from tlkit import freeze, train

    full = effnet.build_efficientnet_lite0(None)
    base = keras.Model(full.input, full.get_layer("avg_pool").output)
    model = train.feature_extraction_model(base, (32, 32, 3), num_classes=4)
    assert freeze.trainable_summary(model)["trainable"] == 1280 * 4 + 4
    assert model(np.zeros((1, 32, 32, 3), "float32")).shape == (1, 4)
