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


def test_unfreeze_top_rejects_negative_fraction_and_empty_blocks(model):
    _, bb = model
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        freeze.unfreeze_top(bb.model, fraction=-0.1)
    with pytest.raises(ValueError, match="at least one"):
        freeze.unfreeze_top(bb.model, blocks=[])


def test_block_names_and_unfreeze_blocks(model):
    m, bb = model
    assert freeze.block_names(bb.model) == ["block1", "block2", "block3"]
    assert freeze.top_blocks(bb.model, 2) == ["block2", "block3"]
    assert freeze.unfreeze_blocks(bb.model, 0) == []
    assert freeze.unfreeze_blocks(bb.model, 1) == ["block3_conv"]
    assert freeze.unfreeze_blocks(bb.model, 2) == ["block2_conv", "block3_conv"]
    every = freeze.unfreeze_blocks(bb.model, 3, keep_batchnorm_frozen=False)
    assert every == [f"block{i}_{k}" for i in (1, 2, 3) for k in ("conv", "bn")]
    # the trainable count follows: exactly block3's conv kernel (3*3*32*64, no bias) after unfreezing 1 block
    freeze.unfreeze_blocks(bb.model, 1)
    assert freeze.trainable_summary(bb.model)["trainable"] == 3 * 3 * 32 * 64


@pytest.mark.parametrize("bad", [-1, 4, 1.5, "1", True])
def test_unfreeze_blocks_bad_n(model, bad):
    _, bb = model
    with pytest.raises(ValueError, match="between 0 and 3"):
        freeze.unfreeze_blocks(bb.model, bad)


def test_keep_batchnorm_inference_after_wholesale_unfreeze(model):
    m, bb = model
    m.trainable = True  # the naive way: BN layers become trainable too (training mode)
    assert all(layer.trainable for layer in freeze.batchnorm_layers(m))
    names = freeze.keep_batchnorm_inference(m)
    assert names == ["block1_bn", "block2_bn", "block3_bn"]
    assert not any(layer.trainable for layer in freeze.batchnorm_layers(m))
    assert m.get_layer("new_head").trainable  # nothing else was touched
    table = {r["layer"]: r for r in freeze.layer_table(m)}
    assert table["block1_bn"]["bn_mode"] == "inference" and table["block1_conv"]["trainable"]
    assert table["block1_conv"]["bn_mode"] == "" and table["new_head"]["params"] == 3 * 3 * 3 * 64 + 3


def _fit_once(m, seed=0):
    x = np.random.default_rng(seed).integers(0, 255, (32, 28, 28, 1)).astype("uint8")
    m.compile("adam", "sparse_categorical_crossentropy")
    m.fit(x, np.arange(32) % 3, epochs=1, batch_size=16, verbose=0)


def test_bn_statistics_change_detects_training_mode_and_guard():
    m = zoo.build_cnn(3, (4,))
    before = freeze.bn_statistics(m)
    m.trainable = True
    _fit_once(m)  # BN in training mode: its moving statistics follow the new data
    assert freeze.bn_statistics_change(before, m)["block1_bn"] > 1e-3
    m2 = zoo.build_cnn(3, (4,))
    m2.trainable = True
    freeze.keep_batchnorm_inference(m2)
    before = freeze.bn_statistics(m2)
    _fit_once(m2)
    assert freeze.bn_statistics_change(before, m2) == {"block1_bn": 0.0}
    with pytest.raises(ValueError, match="not in the model"):
        freeze.bn_statistics_change({"block9_bn": before["block1_bn"]}, m2)
