"""tlkit.imageselect: choices made inside the training pool only (validation split by group, recipes, probe C,
the best validation epoch)."""
import inspect

import numpy as np
import pytest

from tlkit import imageselect
from tlkit.imageselect import Recipe


def _data(n_per_class=12, num_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(num_classes), n_per_class)
    x = rng.integers(0, 60, size=(len(y), 8, 8, 3)).astype("float32")
    x[:, :, :, 0] += 60.0 * y[:, None, None]                 # a learnable colour cue
    groups = np.array([f"g{i // 2}" for i in range(len(y))])  # pairs (a photo and its mirror) share a group
    return x, y, groups


def _build():
    import keras

    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255.0), keras.layers.Flatten(),
                             keras.layers.Dense(3, activation="softmax")])


def test_validation_split_keeps_groups_together():
    _, y, groups = _data()
    fit, val = imageselect.validation_split(y, groups, 0.3, seed=1)
    assert len(val) > 0 and len(np.intersect1d(fit, val)) == 0 and len(fit) + len(val) == len(y)
    assert not set(groups[fit]) & set(groups[val])
    for c in np.unique(y):                                       # every class keeps fitting photos
        assert np.sum(y[fit] == c) > 0 and np.sum(y[val] == c) >= np.ceil(0.3 * np.sum(y == c))


def test_validation_split_single_group_class_stays_in_fit():
    y = np.array([0, 0, 1, 1, 1, 1])
    groups = np.array(["a", "a", "b", "c", "d", "e"])
    fit, val = imageselect.validation_split(y, groups, 0.5, seed=0)
    assert set(fit) >= {0, 1} and len(val) >= 2


def test_draw_per_class_caps_at_available():
    y = np.array([0, 0, 0, 1])
    idx = imageselect.draw_per_class(y, 2, seed=0)
    assert np.sum(y[idx] == 0) == 2 and np.sum(y[idx] == 1) == 1


def test_selectors_never_receive_test_data():
    for fn in (imageselect.select_recipe, imageselect.select_probe_c, imageselect.validation_split,
               imageselect.fit_until_plateau, imageselect.fit_keep_best):
        assert not [p for p in inspect.signature(fn).parameters if "test" in p], fn.__name__


def test_select_recipe_ignores_test_labels_and_picks_best_validation():
    x, y, groups = _data()
    x_test, y_test = x[::2], y[::2]
    candidates = [Recipe(1e-5), Recipe(3e-2)]                    # a rate too small to learn, and a working one
    kw = dict(max_steps=30, min_steps=10, patience_steps=10)
    best, rows = imageselect.select_recipe(_build, candidates, x, y, groups, k=4, seed=0, **kw)
    assert best == candidates[int(np.argmax([r["validation accuracy"] for r in rows]))]
    assert best == Recipe(3e-2)
    rng = np.random.default_rng(0)
    y_test_permuted = rng.permutation(y_test)                    # the caller's test labels change ...
    assert not np.array_equal(y_test_permuted, y_test)
    best2, rows2 = imageselect.select_recipe(_build, candidates, x, y, groups, k=4, seed=0, **kw)
    assert best2 == best                                         # ... the choice does not
    assert [r["validation accuracy"] for r in rows2] == [r["validation accuracy"] for r in rows]


def test_select_probe_c_ignores_test_labels():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 10)
    feats = rng.normal(size=(30, 5)) + 2.0 * np.eye(5)[y]
    groups = np.arange(30)
    c1, rows = imageselect.select_probe_c(feats, y, groups, k=4, cs=(0.01, 1.0), seeds=(0, 1))
    c2, _ = imageselect.select_probe_c(feats, y, groups, k=4, cs=(0.01, 1.0), seeds=(0, 1))
    assert c1 == c2 and c1 in (0.01, 1.0) and len(rows) == 2


def test_fit_until_plateau_reports_fit():
    x, y, _ = _data()
    fit = imageselect.fit_until_plateau(_build, x, y, Recipe(3e-2), max_steps=40, min_steps=5, patience_steps=5,
                                        batch_size=8)
    assert 0 < fit.steps <= 40 + 5 and len(fit.losses) >= 1 and np.isfinite(fit.final_loss)
    assert fit.final_loss == min(fit.losses)                     # the lowest-loss epoch's weights are kept
    assert fit.train_accuracy > 0.5


def test_fit_until_plateau_augmented_runs():
    x, y, _ = _data()
    fit = imageselect.fit_until_plateau(_build, x, y, Recipe(1e-2, augment=True), max_steps=8, min_steps=0)
    assert fit.steps >= 1 and any(layer.name == "augment" for layer in fit.model.layers)


def test_fit_keep_best_restores_best_validation_epoch():
    from tlkit.train import accuracy, compile_classifier

    x, y, groups = _data()
    fit, val = imageselect.validation_split(y, groups, 0.3, seed=0)
    model = compile_classifier(_build(), 3e-2)
    history, best = imageselect.fit_keep_best(model, x[fit], y[fit], x[val], y[val], epochs=4, batch_size=8)
    scores = history.history["val_accuracy"]
    assert best == int(np.argmax(scores)) + 1
    assert accuracy(model, x[val], y[val]) == pytest.approx(max(scores), abs=1e-6)


def test_fit_keep_best_rejects_bad_epochs():
    with pytest.raises(ValueError):
        imageselect.fit_keep_best(None, None, None, None, None, epochs=0)


def _build_bn():
    import keras

    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255.0),
                             keras.layers.BatchNormalization(momentum=0.99, name="bn"), keras.layers.Flatten(),
                             keras.layers.Dropout(0.2), keras.layers.Dense(3, activation="softmax")])


def test_fit_until_plateau_reuse_trains_like_a_fresh_model():
    x, y, _ = _data()
    kw = dict(max_steps=30, min_steps=10, patience_steps=10, batch_size=8)
    fresh = imageselect.fit_until_plateau(_build_bn, x, y, Recipe(1e-2), seed=3, **kw)
    imageselect.fit_until_plateau(_build_bn, x, y, Recipe(1e-2), seed=3, reuse=True, **kw)
    imageselect.fit_until_plateau(_build_bn, x[:20], y[:20], Recipe(3e-2), seed=5, reuse=True, **kw)   # other run
    again = imageselect.fit_until_plateau(_build_bn, x, y, Recipe(1e-2), seed=3, reuse=True, **kw)
    assert again.model is imageselect._REUSED[(_build_bn, False, 8)]
    np.testing.assert_allclose(again.losses, fresh.losses, rtol=1e-4, atol=1e-5)
    assert again.train_accuracy == pytest.approx(fresh.train_accuracy)


def test_fit_until_plateau_stops_once_fitted():
    x, y, _ = _data()
    fit = imageselect.fit_until_plateau(_build, x, y, Recipe(5e-2), max_steps=2000, min_steps=1000,
                                        patience_steps=1000, min_delta=0.05, batch_size=8)
    assert fit.stopped == "fitted" and fit.steps < 2000
    assert fit.losses[-1] < 0.05 and fit.losses[-2] < 0.05 and fit.train_accuracy == 1.0
    capped = imageselect.fit_until_plateau(_build, x, y, Recipe(1e-6), max_steps=20, min_steps=20, batch_size=8)
    assert capped.stopped == "max steps"


def test_fit_until_plateau_reestimates_batchnorm_on_the_training_photos():
    x, y, _ = _data()
    fit = imageselect.fit_until_plateau(_build_bn, x, y, Recipe(1e-2), max_steps=16, min_steps=16, batch_size=8)
    bn = fit.model.get_layer("bn")
    np.testing.assert_allclose(np.asarray(bn.moving_mean), (x / 255.0).mean(axis=(0, 1, 2)), atol=1e-5)
    np.testing.assert_allclose(np.asarray(bn.moving_variance), (x / 255.0).var(axis=(0, 1, 2)), rtol=1e-3)
    stale = imageselect.fit_until_plateau(_build_bn, x, y, Recipe(1e-2), max_steps=16, min_steps=16, batch_size=8,
                                          reestimate_bn=False)
    assert not np.allclose(np.asarray(stale.model.get_layer("bn").moving_mean), (x / 255.0).mean(axis=(0, 1, 2)),
                           atol=1e-3)


def test_epochs_dataset_repeats_the_order_fit_shuffle_uses():
    """fit_until_plateau's data stream: every epoch in the order ``fit(x, y, shuffle=True)`` uses after a global seed
    (Keras 3 repeats its first seeded order every epoch), batches as fit makes them, the last one smaller."""
    import keras

    x = np.arange(10, dtype="float32")[:, None]
    y = np.arange(10)
    firsts = []

    class Probe(keras.Model):
        def train_step(self, data):
            return {"first": data[0][0, 0], "size": keras.ops.shape(data[0])[0]}

    class Log(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            firsts.append((int(logs["first"]), int(logs["size"])))

    probe = Probe()
    probe.compile()
    keras.utils.set_random_seed(3)
    probe.fit(x, y, batch_size=4, epochs=2, shuffle=True, verbose=0, callbacks=[Log()])
    keras.utils.set_random_seed(3)
    it = iter(imageselect._epochs_dataset(x, y, 4))
    batches = [next(it) for _ in range(6)]
    assert [(int(b[0][0, 0]), len(b[0])) for b in batches] == firsts
    assert [len(b[0]) for b in batches] == [4, 4, 2, 4, 4, 2]
    order = np.concatenate([np.asarray(b[1]) for b in batches[:3]])
    assert sorted(order.tolist()) == list(range(10)) and order.tolist() != list(range(10))
    assert all(np.array_equal(np.asarray(a[0])[:, 0], np.asarray(a[1])) for a in batches)   # pairs kept
