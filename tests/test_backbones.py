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


def test_pretrained_fashion_cnn_differs_from_untrained():
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
