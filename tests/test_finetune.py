import numpy as np
import pytest

from tlkit import backbones, finetune, freeze, zoo
from tlkit.data import ImageTask


def _images(n, seed=0):
    """Two visibly different classes: dark images (0) and bright images (1)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.integers(0, 80, (n, 28, 28, 1)) + 150 * y[:, None, None, None]
    return x.astype("uint8"), y.astype("int64")


@pytest.fixture
def tiny():
    """A tiny pretrained-shaped classifier: build_cnn blocks -> features -> new head."""
    import keras

    full = zoo.build_cnn(2, (4, 8), name="tiny")
    bb = keras.Model(full.input, full.get_layer("features").output, name="tiny_backbone")
    return backbones.classifier(backbones.Backbone("tiny", bb, (28, 28, 1), False, "test"), 2), bb


def test_two_stages_share_one_history(tiny):
    m, bb = tiny
    x, y = _images(64)
    freeze.freeze_all(bb)
    h = finetune.fit_stage(m, x, y, 2, 1e-2, "feature extraction", validation=(x, y), batch_size=32, seed=0)
    snap = finetune.weight_snapshot(bb)
    freeze.unfreeze_blocks(bb, 1)
    h2 = finetune.fit_stage(m, x, y, 1, 1e-3, "fine-tuning", validation=(x, y), history=h, batch_size=32)
    assert h2 is h and h.epochs == 3 and h.stage_starts() == {"feature extraction": 0, "fine-tuning": 2}
    assert h.learning_rate == [1e-2, 1e-2, 1e-3] and all(0 <= a <= 1 for a in h.val_accuracy)
    assert [r["epoch"] for r in h.rows()] == [1, 2, 3] and all(s > 0 for s in h.seconds)
    drift = finetune.weight_drift(snap, bb)
    assert drift["block1_conv"] == 0.0 and drift["block1_bn"] == 0.0  # frozen: not moved at all
    assert drift["block2_conv"] > 0.0                                 # unfrozen in stage 2: moved
    assert drift["block2_bn"] == 0.0                                  # BN stays frozen (inference mode)


def test_fit_stage_bad_inputs(tiny):
    m, _ = tiny
    x, y = _images(8)
    with pytest.raises(ValueError, match="epochs"):
        finetune.fit_stage(m, x, y, 0, 1e-3, "s")
    with pytest.raises(ValueError, match="learning_rate"):
        finetune.fit_stage(m, x, y, 1, 0.0, "s")
    with pytest.raises(ValueError, match="stage needs a name"):
        finetune.fit_stage(m, x, y, 1, 1e-3, "")
    with pytest.raises(ValueError, match="out of range"):
        finetune.fit_stage(m, x, y + 5, 1, 1e-3, "s")
    with pytest.raises(ValueError, match="shape"):
        finetune.fit_stage(m, x[..., 0], y, 1, 1e-3, "s")


def test_restart_trains_like_a_fresh_copy_without_recompiling(tiny):
    import keras

    m, bb = tiny
    x, y = _images(48)
    bb.trainable = True
    m.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = finetune.starting_point(m)
    assert len(start) == len(m.variables) >= len(m.weights)         # weights, BN statistics, seed states

    def run(lr):
        finetune.restart(m, start, lr)
        keras.utils.set_random_seed(0)
        return m.fit(x, y, epochs=2, batch_size=16, verbose=0).history["loss"]

    first = run(1e-2)
    step = m.train_function
    assert int(m.optimizer.iterations) == 6
    run(1e-4)                                                       # another run in between, another rate
    assert float(m.optimizer.learning_rate) == pytest.approx(1e-4)
    np.testing.assert_allclose(run(1e-2), first, rtol=1e-5, atol=1e-6)   # the same start trains the same way
    assert m.train_function is step                                 # ... on the same compiled step
    with pytest.raises(ValueError, match="do not match"):
        finetune.restart(m, start[:-1], 1e-2)
    with pytest.raises(ValueError, match="learning_rate"):
        finetune.restart(m, start, 0.0)
    with pytest.raises(ValueError, match="compile the model first"):
        finetune.restart(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]), [], 1e-2)


def test_weight_drift_unknown_layer(tiny):
    _, bb = tiny
    snap = finetune.weight_snapshot(bb)
    assert set(snap) == {"block1_conv", "block1_bn", "block2_conv", "block2_bn"}
    assert len(snap["block1_bn"]) == 2  # gamma, beta - the moving statistics are not weights that train
    assert finetune.weight_drift(snap, bb, layers=["block1_conv"]) == {"block1_conv": 0.0}
    with pytest.raises(ValueError, match="unknown layer name"):
        finetune.weight_drift(snap, bb, layers=["block7_conv"])


def test_source_probe_reads_what_features_know(tiny):
    _, bb = tiny
    xa, ya = _images(60, seed=1)
    xb, yb = _images(40, seed=2)
    task = ImageTask("bright_dark", xa, ya, xb, yb, ("dark", "bright"))
    acc = finetune.source_probe(bb, task, n_train=60, n_test=40)
    assert acc >= 0.9  # brightness survives even random conv features
    assert finetune.source_probe(bb, task, n_train=60, n_test=40) == acc  # same images for the same seed
    with pytest.raises(ValueError, match="n_train"):
        finetune.source_probe(bb, task, n_train=1)
    with pytest.raises(ValueError, match="shape"):
        finetune.backbone_features(bb, xa[..., 0])


def test_unfreeze_sweep_rows(tiny):
    m, bb = tiny
    assert list(finetune.sweep_settings(bb).values()) == [0, 1, 1, 2]
    start = m.get_weights()

    def make():
        import keras

        full = zoo.build_cnn(2, (4, 8), name="tiny")
        b = keras.Model(full.input, full.get_layer("features").output, name="tiny_backbone")
        model = backbones.classifier(backbones.Backbone("tiny", b, (28, 28, 1), False, "test"), 2)
        model.set_weights(start)
        return model, b

    x, y = _images(32)
    rows = finetune.unfreeze_sweep(make, {"head only": 0, "all": 2}, x, y, x, y, epochs=1, learning_rate=1e-3,
                                   batch_size=16, timing_rounds=1, progress=False)
    assert [r["setting"] for r in rows] == ["head only", "all"]
    assert rows[0]["trainable_params"] == 7 * 7 * 8 * 2 + 2  # only the new head: 392 features x 2 classes + bias
    assert rows[0]["backbone_trainable_share"] == 0.0 < rows[1]["backbone_trainable_share"] < 1.0  # BN frozen
    assert rows[1]["trainable_params"] > rows[0]["trainable_params"]
    assert all(0 <= r["accuracy"] <= 1 and r["seconds_per_epoch"] > 0 for r in rows)
    with pytest.raises(ValueError, match="at least one"):
        finetune.unfreeze_sweep(make, {}, x, y, x, y, epochs=1, learning_rate=1e-3)
    with pytest.raises(ValueError, match="timing_rounds"):
        finetune.unfreeze_sweep(make, {"all": 2}, x, y, x, y, epochs=1, learning_rate=1e-3, timing_rounds=0)


def test_source_task_quick_is_the_zoo_source(monkeypatch):
    task = finetune.source_task("quick")
    assert task.name == zoo.ZOO["fashion_cnn"].source_task and task.image_shape == (28, 28, 1)


def test_source_task_full_fails_fast_offline(monkeypatch, tmp_path):
    from tlkit import net

    def offline(host, what):
        raise net.OfflineError(f"{what} must be downloaded (mocked offline)")

    monkeypatch.setattr(net, "require_online", offline)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    with pytest.raises(net.OfflineError, match="Imagenette"):
        finetune.source_task("full")
    with pytest.raises(ValueError, match="n_train"):
        finetune.source_task("full", n_train=0)


def test_nb02_plots_draw_and_reject_empty_input():
    from tlkit import plots

    h = finetune.StageHistory(loss=[1.0, 0.5, 0.4], accuracy=[0.5, 0.8, 0.9], val_accuracy=[0.5, 0.7, 0.8],
                              stage=["feature extraction"] * 2 + ["fine-tuning"], learning_rate=[1e-2] * 2 + [1e-3],
                              seconds=[1.0, 1.0, 1.0])
    fig = plots.stage_history(h, others={"all trainable": h})
    marks = [t.get_text() for t in fig.axes[1].texts]
    assert marks == ["fine-tuning starts"]  # one marker, where stage 2 starts
    rows = [{"setting": "head", "trainable_params": 10, "accuracy": 0.9, "seconds_per_epoch": 0.1},
            {"setting": "all", "trainable_params": 99, "accuracy": 0.95, "seconds_per_epoch": 0.4}]
    assert len(plots.unfreeze_sweep(rows).axes) == 2
    assert len(plots.layer_drift({"a": {"block1_conv": 0.0}, "b": {"block1_conv": 0.6}}).axes[0].patches) == 2
    with pytest.raises(ValueError, match="no epochs"):
        plots.stage_history(finetune.StageHistory())
    with pytest.raises(ValueError, match="no rows"):
        plots.unfreeze_sweep([])
    with pytest.raises(ValueError, match="layer_drift"):
        plots.layer_drift({})
