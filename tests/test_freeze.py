import numpy as np
import pytest

from tlkit import backbones, freeze, zoo


@pytest.fixture
def model():
    bb = backbones.image_backbone("fashion_cnn", pretrained=False)
    return backbones.classifier(bb, 3), bb


def test_leaf_layers_flatten_nested_models(model):
    m, _ = model
    names = [layer.name for layer in freeze.leaf_layers(m)]
    assert names[0] == "rescale" and names[-1] == "new_head" and "block2_conv" in names


def test_freeze_all(model):
    m, _ = model
    freeze.freeze_all(m)
    s = freeze.trainable_summary(m)
    assert s["trainable"] == 0 and s["frozen"] == s["total"] == m.count_params()


def test_freeze_up_to_keeps_later_layers_trainable(model):
    m, _ = model
    freeze.freeze_up_to(m, "block2_pool")
    trainable = {layer.name for layer in freeze.leaf_layers(m) if layer.trainable and layer.weights}
    assert trainable == {"block3_conv", "new_head"}  # block3_bn stays frozen (inference mode)
    freeze.freeze_up_to(m, "block2_pool", keep_batchnorm_frozen=False)
    assert "block3_bn" in {layer.name for layer in freeze.leaf_layers(m) if layer.trainable}


def test_unfreeze_top_fraction_and_blocks(model):
    _, bb = model
    assert freeze.unfreeze_top(bb.model, fraction=0.0) == []
    assert freeze.trainable_summary(bb.model)["trainable"] == 0
    top = freeze.unfreeze_top(bb.model, fraction=0.5)
    assert top == ["block3_conv"]  # 6 weighted layers, top 3 = conv, bn (kept frozen), conv... BN excluded
    assert freeze.unfreeze_top(bb.model, blocks=["block3"]) == ["block3_conv"]
    every = freeze.unfreeze_top(bb.model, fraction=1.0, keep_batchnorm_frozen=False)
    assert len(every) == 6


def test_unfreeze_bad_inputs(model):
    _, bb = model
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        freeze.unfreeze_top(bb.model, fraction=1.5)
    with pytest.raises(ValueError, match="exactly one"):
        freeze.unfreeze_top(bb.model)
    with pytest.raises(ValueError, match="no layer name starts with"):
        freeze.unfreeze_top(bb.model, blocks=["block9"])
    with pytest.raises(ValueError, match="unknown layer name 'conv99'"):
        freeze.freeze_up_to(bb.model, "conv99")


def test_frozen_batchnorm_statistics_do_not_move():
    m = zoo.build_cnn(3, (4,))
    freeze.unfreeze_top(m, fraction=1.0)  # everything but BN trainable
    bn = m.get_layer("block1_bn")
    before = [w.copy() for w in bn.get_weights()]
    m.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).integers(0, 255, (16, 28, 28, 1)).astype("uint8")
    m.fit(x, np.arange(16) % 3, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, bn.get_weights()))
