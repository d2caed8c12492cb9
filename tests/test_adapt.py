"""tlkit.adapt: degradation, mixed-domain batches, gradient reversal, DANN, CORAL, AdaBN, the domain pair."""
from dataclasses import replace

import numpy as np
import pytest

from tlkit import adapt, net, profile


def _images(n=6, h=16, w=16, c=1, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, h, w, c), dtype=np.uint8)


def _smooth(n=6, h=16, w=16, c=3):
    yy, xx = np.mgrid[0:h, 0:w]
    base = (127 + 100 * np.sin(xx / 3.0) * np.cos(yy / 4.0)).astype(np.uint8)
    x = np.stack([base] * c, axis=-1)
    x[..., 0] = np.clip(base.astype(int) + 40, 0, 255) if c == 3 else x[..., 0]
    return np.stack([x] * n)


# ---------------------------------------------------------------------------------- degradation
def test_degrade_keeps_shape_dtype_and_is_deterministic():
    x = _smooth()
    a = adapt.degrade(x, 0.7, seed=3)
    assert a.shape == x.shape and a.dtype == np.uint8
    np.testing.assert_array_equal(a, adapt.degrade(x, 0.7, seed=3))
    assert not np.array_equal(a, adapt.degrade(x, 0.7, seed=4))  # the sensor noise depends on the seed


def test_degrade_strength_zero_is_identity_and_damage_grows_with_strength():
    x = _smooth()
    np.testing.assert_array_equal(adapt.degrade(x, 0.0), x)
    err = [np.abs(adapt.degrade(x, s).astype(float) - x).mean() for s in (0.2, 0.5, 1.0)]
    assert err[0] < err[1] < err[2]


def test_each_knob_does_what_it_says():
    x = _smooth()
    gray = adapt.degrade(x, params=adapt.Degradation(grayscale=True))
    assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 1], gray[..., 2])
    dark = adapt.degrade(x, params=adapt.Degradation(brightness=0.5))
    assert dark.mean() == pytest.approx(x.mean() * 0.5, abs=1.0)
    flat = adapt.degrade(x, params=adapt.Degradation(contrast=0.3))
    assert flat.std() < 0.4 * x.std()
    blur = adapt.degrade(x, params=adapt.Degradation(blur_sigma=2.0))
    assert np.abs(np.diff(blur.astype(float), axis=2)).mean() < np.abs(np.diff(x.astype(float), axis=2)).mean()
    low = adapt.degrade(x, params=adapt.Degradation(downscale=4.0))
    assert low.shape == x.shape and not np.array_equal(low, x)
    noisy = adapt.degrade(x, params=adapt.Degradation(noise_std=0.1), seed=1)
    assert 15 < (noisy.astype(float) - x).std() < 35
    jpeg = adapt.degrade(x, params=adapt.Degradation(jpeg_quality=5))
    assert jpeg.shape == x.shape and not np.array_equal(jpeg, x)


@pytest.mark.parametrize("kwargs", [dict(downscale=0.5), dict(blur_sigma=-1), dict(noise_std=-0.1),
                                    dict(jpeg_quality=0), dict(brightness=0.0), dict(contrast=3.0)])
def test_bad_degradation_parameters(kwargs):
    with pytest.raises(ValueError):
        adapt.Degradation(**kwargs)


def test_degrade_bad_calls():
    x = _images()
    with pytest.raises(ValueError, match="strength"):
        adapt.degrade(x, 1.5)
    with pytest.raises(ValueError, match="exactly one"):
        adapt.degrade(x)
    with pytest.raises(ValueError, match="exactly one"):
        adapt.degrade(x, 0.5, params=adapt.Degradation())
    with pytest.raises(ValueError, match="height, width, channels"):
        adapt.degrade(x[..., 0], 0.5)


# ---------------------------------------------------------------------------------- mixed batches
def test_mixed_batches_hold_the_ratio_in_every_batch():
    xs, xt = _images(10), _images(7, seed=1)
    ys, yt = np.arange(10) % 3, np.arange(7) % 3
    mb = adapt.mixed_batches(xs, ys, xt, yt, batch_size=8, target_fraction=0.25, steps=5, seed=0)
    assert mb.steps == 5 and mb.n_target == 2 and mb.x.shape == (40, 16, 16, 1)
    for xb, yb, db in mb.batches():
        assert len(xb) == 8 and db.sum() == 2 and (db[-2:] == 1).all()
    unl = adapt.mixed_batches(xs, ys, xt, None, batch_size=8, target_fraction=0.5, steps=3)
    assert (unl.y[unl.domain == 1] == -1).all() and (unl.y[unl.domain == 0] >= 0).all()
    again = adapt.mixed_batches(xs, ys, xt, yt, batch_size=8, target_fraction=0.25, steps=5, seed=0)
    np.testing.assert_array_equal(again.x, mb.x)


def test_mixed_batches_walk_through_every_target_example():
    xs, xt = _images(20), _images(6, seed=1)
    mb = adapt.mixed_batches(xs, np.zeros(20, int), xt, np.arange(6), batch_size=4, target_fraction=0.5, steps=3)
    assert sorted(mb.y[mb.domain == 1]) == list(range(6))  # one full pass before any repeat


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.2, 1.5])
def test_ratio_outside_open_interval(fraction):
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        adapt.mixed_batches(_images(4), np.zeros(4, int), _images(4), None, batch_size=8, target_fraction=fraction)


def test_mismatched_shapes_and_empty_target_are_clear_errors():
    with pytest.raises(ValueError, match="same shape"):
        adapt.mixed_batches(_images(4, 28, 28), np.zeros(4, int), _images(4, 8, 8), None)
    with pytest.raises(ValueError, match="target set is empty"):
        adapt.mixed_batches(_images(4), np.zeros(4, int), _images(4)[:0], None)
    with pytest.raises(ValueError, match="leaves one domain"):
        adapt.mixed_batches(_images(4), np.zeros(4, int), _images(4), None, batch_size=8, target_fraction=0.01)
    with pytest.raises(ValueError, match="labels"):
        adapt.mixed_batches(_images(4), np.zeros(3, int), _images(4), None)


# ---------------------------------------------------------------------------------- gradient reversal, DANN
def test_gradient_reversal_is_identity_forward_and_flips_the_gradient():
    import tensorflow as tf

    grl = adapt.GradientReversal(0.7)
    x = tf.constant([[1.0, -2.0, 3.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = grl(x)
        loss = tf.reduce_sum(y * tf.constant([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(y.numpy(), x.numpy())
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), -0.7 * np.array([[1.0, 2.0, 3.0]]), rtol=1e-6)
    grl.lambda_.assign(0.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(grl(x))
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), 0.0, atol=1e-7)


def test_dann_lambda_schedule():
    assert adapt.dann_lambda(0.0, 0.5) == 0.0
    vals = [adapt.dann_lambda(p, 0.5) for p in np.linspace(0, 1, 11)]
    assert all(a < b for a, b in zip(vals, vals[1:])) and vals[-1] == pytest.approx(0.5, abs=1e-3)


def _tiny_extractor():
    return adapt.cnn_extractor((12, 12, 1), (4,))


def test_domain_adversarial_model_outputs_and_training_ramps_lambda():
    xs, xt = _images(16, 12, 12), _images(12, 12, 12, seed=2)
    ys = np.arange(16) % 3
    m = adapt.domain_adversarial_model(_tiny_extractor(), 3)
    out = m(xs[:5].astype("float32"))
    assert out["label"].shape == (5, 3) and out["domain"].shape == (5, 1)
    with pytest.raises(ValueError, match="num_classes"):
        adapt.domain_adversarial_model(_tiny_extractor(), 1)
    with pytest.raises(ValueError, match="named 'extractor'"):
        adapt.domain_adversarial_model(adapt.cnn_extractor((12, 12, 1), (4,), name="other"), 3)
    model, hist = adapt.train_dann(_tiny_extractor, xs, ys, xt, 3, steps=6, batch_size=8, lambda_max=0.4,
                                   return_history=True)
    lam = hist["lambda"]
    assert len(lam) == 6 and lam[0] == 0.0 and lam[-1] == pytest.approx(0.4 * (2 / (1 + np.exp(-10)) - 1))
    assert len(hist["label_loss"]) == len(hist["domain_loss"]) == 6 and np.isfinite(hist["domain_loss"]).all()
    assert adapt.predict_labels(model, xt).shape == (12, 3)
    assert adapt.features(model, xt[:3]).shape[0] == 3


# ---------------------------------------------------------------------------------- CORAL
def test_coral_loss_zero_for_same_statistics_positive_otherwise():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 4)).astype("float32")
    assert float(adapt.coral_loss(a, a)) == pytest.approx(0.0, abs=1e-7)
    b = a * np.array([3.0, 1.0, 1.0, 0.2], "float32")
    assert float(adapt.coral_loss(a, b)) > 0.1


def test_coral_align_matches_target_covariance():
    rng = np.random.default_rng(1)
    fs = rng.normal(size=(500, 3))
    ft = rng.normal(size=(400, 3)) @ np.array([[2.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.3]]) + 5.0
    out = adapt.coral_align(fs, ft, eps=1e-6)
    np.testing.assert_allclose(np.cov(out, rowvar=False), np.cov(ft, rowvar=False), atol=0.05)
    np.testing.assert_allclose(out.mean(0), ft.mean(0), atol=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        adapt.coral_align(fs, ft[:, :2])


def test_train_coral_lowers_the_coral_loss_and_ends_with_target_statistics():
    xs = _images(64, 12, 12)
    xt = np.clip(_images(64, 12, 12, seed=2) // 3 + 150, 0, 255).astype(np.uint8)  # a shifted domain
    m, hist = adapt.train_coral(_tiny_extractor, xs, np.arange(64) % 3, xt, 3, steps=30, batch_size=16,
                                coral_weight=10.0, return_history=True)
    assert adapt.predict_labels(m, xt).shape == (64, 3)
    assert np.mean(hist["align_loss"][-5:]) < np.mean(hist["align_loss"][:5])
    # target_bn=True: the BatchNorm moving mean is the target's, as after adabn
    again = adapt.adabn(m, xt)
    np.testing.assert_allclose(np.array(adapt.batchnorm_layers(again)[0].moving_mean),
                               np.array(adapt.batchnorm_layers(m)[0].moving_mean), rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------------- AdaBN
def test_adabn_moves_batchnorm_statistics_to_the_target_and_keeps_the_original():
    xs = _images(40, 12, 12)
    m = adapt.train_classifier(_tiny_extractor, xs, np.arange(40) % 3, 3, steps=2, batch_size=8)
    bn = adapt.batchnorm_layers(m)
    assert len(bn) == 1
    before = np.array(bn[0].moving_mean)
    xt = np.full((30, 12, 12, 1), 200, np.uint8)  # a very different domain
    adapted = adapt.adabn(m, xt, batch_size=8)
    np.testing.assert_array_equal(np.array(bn[0].moving_mean), before)  # original untouched
    bn_t = adapt.batchnorm_layers(adapted)[0]
    conv = adapt.feature_extractor(adapted).get_layer("block1_conv")
    pre = np.asarray(conv(adapt.feature_extractor(adapted).get_layer("rescale")(xt.astype("float32"))))
    np.testing.assert_allclose(np.array(bn_t.moving_mean), pre.mean(axis=(0, 1, 2)), rtol=1e-3, atol=1e-4)
    assert bn_t.momentum == bn[0].momentum  # the training momentum is restored


def test_adabn_bad_inputs():
    m = adapt.classifier_on(_tiny_extractor(), 3)
    with pytest.raises(ValueError, match="empty"):
        adapt.adabn(m, _images(4, 12, 12)[:0])
    with pytest.raises(ValueError, match="shape"):
        adapt.adabn(m, _images(4, 8, 8))


# ---------------------------------------------------------------------------------- comparison
def test_gap_closed():
    assert adapt.gap_closed(0.6, 0.2, 1.0) == pytest.approx(0.5)
    with pytest.warns(RuntimeWarning, match="no domain gap"):     # a reported result, not a crash
        assert np.isnan(adapt.gap_closed(0.5, 0.9, 0.8))


def _tiny_pair():
    from tlkit.data import ImageTask

    classes = ("a", "b", "c")
    rng = np.random.default_rng(0)
    src = ImageTask("src", _images(30, 12, 12), rng.integers(0, 3, 30), _images(9, 12, 12, seed=5),
                    rng.integers(0, 3, 9), classes)
    tgt = ImageTask("tgt", adapt.degrade(_images(30, 12, 12, seed=1), 0.5), np.arange(30) % 3,
                    _images(9, 12, 12, seed=6), np.arange(9) % 3, classes)
    return adapt.DomainData(src, tgt, src.x_train, src.x_test, tgt.x_train, tgt.x_test, _tiny_extractor,
                            lambda x: x, "tiny")


def test_compare_methods_runs_every_method_on_the_same_target_test_set():
    dd = _tiny_pair()
    b = replace(profile.budget("quick"), da_steps=2, da_batch_size=8, da_target_labels=2, da_lambda_grid=(0.3,),
                da_coral_grid=(1.0,))
    run = adapt.compare_methods(dd, seed=0, budget=b)
    assert list(run.accuracy) == list(adapt.METHODS)
    assert all(0.0 <= v <= 1.0 for v in run.accuracy.values()) and run.n_target_labels == 6
    assert all(0.0 <= v <= 1.0 for v in run.train_accuracy.values())
    assert np.isnan(run.val_accuracy["mixed batches"]) and np.isnan(run.val_accuracy["oracle"])
    assert run.chosen()["DANN"] == {"lambda_max": 0.3, "step": 2}
    with pytest.raises(ValueError, match="include .source-only."):
        adapt.compare_methods(dd, budget=b, methods=("AdaBN",))
    with pytest.raises(ValueError, match="unknown methods"):
        adapt.compare_methods(dd, budget=b, methods=("magic",))
    assert run.models["DANN"] is not run.models["DANN, no AdaBN"]          # the AdaBN pass works on a copy
    pts, dom, idx = adapt.domain_embedding(run.models["DANN"], dd.xs_test, dd.xt_test, n=9, method="pca")
    assert pts.shape == (18, 2) and dom.sum() == 9
    rows = adapt.strength_sweep(run.models["source-only"], dd.xt_test, dd.yt_test, (0.0, 1.0),
                                adapt_images=dd.xt_train)
    assert [r["strength"] for r in rows] == [0.0, 1.0] and "AdaBN" in rows[0]


def test_check_pair_rejects_different_classes():
    dd = _tiny_pair()
    other = replace(dd.target, class_names=("x", "y", "z"))
    with pytest.raises(ValueError, match="same classes"):
        adapt.check_pair(dd.source, other)


# ---------------------------------------------------------------------------------- the domain pair
def test_quick_pair_is_real_mnist_to_real_8x8_digits_in_the_same_frame():
    dd = adapt.domain_data("quick")
    assert dd.xs_train.shape[1:] == dd.xt_train.shape[1:] == (28, 28, 1)
    assert dd.num_classes == 10 and dd.target.class_names == dd.source.class_names
    assert len(dd.xt_test) == 600 and len(dd.xs_test) == profile.budget("quick").da_source_test
    # 8x8 digits upscaled to 20x20 and centred: a 4-pixel empty frame, like MNIST's
    assert dd.xt_train[:, :4].max() == 0 and dd.xt_train[:, -4:].max() == 0 and dd.xt_train.max() > 200


def test_full_pair_pipeline_with_mocked_data_and_untrained_resnet(monkeypatch, tmp_cache):
    import tensorflow_datasets as tfds

    from tlkit import backbones

    monkeypatch.setenv("TLKIT_PROFILE", "full")
    small = replace(profile._BUDGETS["full"], image_size=32, fe_train_pool=8, fe_test_size=4, da_mlp_units=8)
    monkeypatch.setitem(profile._BUDGETS, "full", small)
    # the ResNet50 architecture with random weights: this tests the pipeline, never a result
    monkeypatch.setattr(backbones, "image_backbone", lambda name=None, **k: backbones._resnet50(None, 32))
    monkeypatch.setattr(net, "can_reach", lambda *a, **k: True)
    with tfds.testing.mock_data(num_examples=12):
        dd = adapt.domain_data("full", strength=0.5)
    assert dd.xs_train.shape == (4, 2048) and dd.xt_train.shape == (4, 2048) and dd.xt_test.shape == (4, 2048)
    assert dd.target.x_train.dtype == np.uint8 and dd.num_classes == 2
    ext = dd.make_extractor()
    assert ext.output.shape[-1] == 8 and len(adapt.batchnorm_layers(ext)) == 1


def test_full_pair_offline_fails_fast(monkeypatch, tmp_path):
    monkeypatch.setenv("TLKIT_PROFILE", "full")
    monkeypatch.setattr(net, "can_reach", lambda *a, **k: False)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    with pytest.raises(net.OfflineError, match="TLKIT_PROFILE=quick"):
        adapt.domain_data("full")


def test_degrade_keeps_a_float_dtype_and_rejects_0_1_images():
    x = np.random.default_rng(0).integers(0, 256, (3, 28, 28, 1)).astype(np.float32)
    out = adapt.degrade(x, 0.5, seed=0)
    assert out.dtype == np.float32 and out.max() > 15           # 0..255 values, not uint8 0..15
    assert np.array_equal(out, adapt.degrade(x.astype(np.uint8), 0.5, seed=0).astype(np.float32))
    with pytest.raises(ValueError, match=r"expects 0\.\.255"):
        adapt.degrade(x / 255.0, 0.5)
    with pytest.raises(ValueError, match="NaN"):
        adapt.degrade(np.full((2, 28, 28, 1), np.nan, np.float32), 0.5)


# ---------------------------------------------------------------------------------- choosing on validation
def test_pick_best_takes_the_highest_and_the_earliest_of_ties():
    rows = [{"w": 0.1, "step": 1, "val_accuracy": 0.5}, {"w": 0.1, "step": 2, "val_accuracy": 0.7},
            {"w": 1.0, "step": 1, "val_accuracy": 0.7}]
    assert adapt.pick_best(rows) == rows[1]
    with pytest.raises(ValueError, match="no candidate"):
        adapt.pick_best([])
    with pytest.raises(ValueError, match="non-finite"):
        adapt.pick_best([{"val_accuracy": float("nan")}])


def test_is_checkpoint_every_k_steps_and_the_last():
    assert [s for s in range(1, 8) if adapt.is_checkpoint(s, 7, 3)] == [3, 6, 7]
    assert [s for s in range(1, 8) if adapt.is_checkpoint(s, 7, 0)] == [7]


def test_training_loops_call_on_checkpoint_at_the_checkpoints():
    xs, xt = _images(16, 12, 12), _images(12, 12, 12, seed=2)
    ys = np.arange(16) % 3
    seen = {"dann": [], "coral": [], "plain": []}
    adapt.train_dann(_tiny_extractor, xs, ys, xt, 3, steps=5, batch_size=8, checkpoint_every=2,
                     on_checkpoint=lambda s, m: seen["dann"].append(s))
    adapt.train_coral(_tiny_extractor, xs, ys, xt, 3, steps=5, batch_size=8, checkpoint_every=2,
                      on_checkpoint=lambda s, m: seen["coral"].append(s))
    adapt.train_classifier(_tiny_extractor, xs, ys, 3, steps=6, batch_size=8, checkpoint_every=4,
                           on_checkpoint=lambda s, m: seen["plain"].append(s))   # 2 steps/epoch x 3 epochs
    assert seen == {"dann": [2, 4, 5], "coral": [2, 4, 5], "plain": [4, 6]}


def test_validation_watch_keeps_the_best_weights_and_leaves_the_model_as_trained():
    xs = _images(40, 12, 12)
    m = adapt.train_classifier(_tiny_extractor, xs, np.arange(40) % 3, 3, steps=2, batch_size=8)
    xt = np.full((30, 12, 12, 1), 200, np.uint8)
    watch = adapt.ValidationWatch(xt[:6], np.arange(6) % 3, xt, {"plain": False, "adabn": True})
    before = [w.copy() for w in m.get_weights()]
    watch.observe(m, 1, {"w": 1.0})
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)          # the AdaBN variant is measured, then undone
    sel = watch.selection("adabn")
    assert (sel.step, sel.params) == (1, {"w": 1.0}) and sel.model is not m and len(sel.table) == 1
    np.testing.assert_allclose(np.array(adapt.batchnorm_layers(sel.model)[0].moving_mean),
                               np.array(adapt.batchnorm_layers(adapt.adabn(m, xt))[0].moving_mean), rtol=1e-5)


def test_best_on_validation_reads_validation_accuracy_only():
    sel = {m: adapt.Selection(m, {}, 1, v) for m, v in zip(adapt.LABEL_FREE, (0.6, 0.8, 0.8, 0.7))}
    assert adapt.best_on_validation(sel) == "DANN, no AdaBN"                       # first of the tie
    other = {m: adapt.Selection(m, {}, 1, v) for m, v in zip(adapt.LABEL_FREE, (0.9, 0.1, 0.1, 0.1))}
    assert adapt.best_on_validation([sel, other]) == "AdaBN"                          # mean over seeds: 0.75


def test_choices_never_see_the_target_test_labels(monkeypatch, eager_functions):
    """Permuting the target test labels changes nothing that was chosen; the test split never reaches the
    selecting function (only compare_methods reads it, after the choice). Eagerly (conftest.eager_functions):
    many tiny models, a few steps each; compare_methods runs traced in the test above."""
    import inspect

    assert not [p for p in inspect.signature(adapt.select_methods).parameters if "test" in p]
    dd = _tiny_pair()
    b = replace(profile.budget("quick"), da_steps=4, da_batch_size=8, da_target_labels=2, da_checkpoint_every=2,
                da_lambda_grid=(0.1, 1.0), da_coral_grid=(0.1, 10.0))
    real = adapt.select_methods
    calls = []

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(adapt, "select_methods", spy)
    methods = ("source-only", "AdaBN", "DANN, no AdaBN", "DANN", "CORAL")
    first = adapt.compare_methods(dd, seed=0, budget=b, methods=methods)
    perm = np.random.default_rng(0).permutation(len(dd.yt_test))
    shuffled = replace(dd, target=replace(dd.target, y_test=dd.yt_test[perm][::-1].copy()))
    assert not np.array_equal(shuffled.yt_test, dd.yt_test)
    second = adapt.compare_methods(shuffled, seed=0, budget=b, methods=methods)
    assert first.chosen() == second.chosen()
    assert {m: s.table for m, s in first.selection.items()} == {m: s.table for m, s in second.selection.items()}
    assert adapt.best_on_validation(first.selection) == adapt.best_on_validation(second.selection)
    for args, kwargs in calls:                       # neither the test images nor the test labels went in
        for value in list(args) + list(kwargs.values()):
            if isinstance(value, np.ndarray):
                for test_part in (dd.xt_test, dd.yt_test, shuffled.yt_test, dd.xs_test, dd.ys_test):
                    assert value is not test_part and not (value.shape == test_part.shape
                                                           and np.array_equal(value, test_part))
