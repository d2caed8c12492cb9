import numpy as np
import pytest

from tlkit import train, zoo


def _blobs(n=60, dim=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = rng.normal(size=(n, dim)).astype("float32") + 6.0 * np.eye(classes, dim)[y]
    return x, y


def test_train_head_learns_separable_features():
    x, y = _blobs()
    head = train.train_head(x, y, 3, steps=200)
    assert train.accuracy(head, x, y) > 0.9


def test_train_head_bad_inputs():
    x, y = _blobs()
    with pytest.raises(ValueError, match=r"\(n, dim\)"):
        train.train_head(x[:0], y[:0], 3)
    with pytest.raises(ValueError, match="labels out of range"):
        train.train_head(x, y + 5, 3)
    with pytest.raises(ValueError, match="num_classes"):
        train.feature_head(4, 1)


def test_clock_fn():
    import time

    assert train.clock_fn("wall") is time.perf_counter and train.clock_fn("cpu") is time.process_time
    with pytest.raises(ValueError, match="'wall' or 'cpu'"):
        train.clock_fn("gpu")


def test_scratch_and_timing():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (32, 28, 28, 1)).astype("uint8")
    y = np.arange(32) % 2
    m = train.train_from_scratch(lambda: zoo.build_cnn(2, (4,)), x, y, steps=4)
    assert 0.0 <= train.accuracy(m, x, y) <= 1.0
    assert train.seconds_per_epoch(m, x, y, epochs=2) > 0
    assert train.seconds_per_epoch(m, x, y, epochs=2, clock="cpu") > 0
    with pytest.raises(ValueError, match="clock"):
        train.seconds_per_epoch(m, x, y, epochs=2, clock="gpu")
    with pytest.raises(ValueError, match="warm-up"):
        train.seconds_per_epoch(m, x, y, epochs=1)
    with pytest.raises(ValueError, match="empty"):
        train.train_from_scratch(lambda: zoo.build_cnn(2, (4,)), x[:0], y[:0])


def test_learning_curve_rows():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (40, 28, 28, 1)).astype("uint8")
    y = np.arange(40) % 2
    f = x.reshape(40, -1)[:, :10].astype("float32")
    rows = train.learning_curve(f, f[:10], x, y, x[:10], y[:10], 2, lambda: zoo.build_cnn(2, (4,)),
                                [2, None], [0], head_steps=2, scratch_steps=2, progress=False)
    assert [(r["k"], r["n"]) for r in rows] == [(2, 4), (None, 40)]
    assert all(0 <= r["transfer"] <= 1 and 0 <= r["scratch"] <= 1 for r in rows)
    keras_rows = train.learning_curve(f, f[:10], x, y, x[:10], y[:10], 2, lambda: zoo.build_cnn(2, (4,)),
                                      [2], [0], head_steps=2, scratch_steps=2, progress=False, head="keras")
    assert 0 <= keras_rows[0]["transfer"] <= 1
    with pytest.raises(ValueError, match="rows"):
        train.learning_curve(f[:5], f, x, y, x, y, 2, lambda: None, [2], [0])
    with pytest.raises(ValueError, match="head must be"):
        train.learning_curve(f, f, x, y, x, y, 2, lambda: None, [2], [0], head="svm")


def test_linear_probe():
    x, y = _blobs()
    assert train.linear_probe(x, y, x, y) > 0.9
    with pytest.raises(ValueError, match="2 classes"):
        train.linear_probe(x, y * 0, x, y)
    with pytest.raises(ValueError, match="features"):
        train.linear_probe(x, y, x[:, :2], y)


def test_compile_classifier_traces_the_training_step_once():
    """Metric and optimiser state exist before fit, so TensorFlow traces the step once, not twice."""
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    train.compile_classifier(model, 1e-2)
    assert model.optimizer.built and len(model.optimizer.variables) > 1
    traces = []
    step = model.train_step
    model.train_step = lambda data: (traces.append(1), step(data))[1]
    x = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
    hist = model.fit(x, np.arange(40) % 3, epochs=2, batch_size=16, verbose=0)
    assert len(traces) == 1
    assert set(hist.history) == {"loss", "accuracy"}


def test_choose_probe_c_sees_only_training_data():
    import inspect

    # the selector has no way to receive test data: its parameters are the training features and labels only
    params = set(inspect.signature(train.choose_probe_c).parameters)
    assert params == {"features_train", "y_train", "cs", "folds", "seed"}
    x, y = _blobs(n=30, dim=40, classes=3, seed=1)
    c1 = train.choose_probe_c(x, y)
    assert c1 in train.PROBE_CS
    # with one example per class there is nothing to cross-validate: the fixed default
    assert train.choose_probe_c(x[:3], y[:3]) == train.PROBE_DEFAULT_C
    with pytest.raises(ValueError, match="2 classes"):
        train.choose_probe_c(x, y * 0)
    with pytest.raises(ValueError, match="cs"):
        train.choose_probe_c(x, y, cs=[0.0])


def test_linear_probe_cv_choice_ignores_permuted_test_labels():
    x, y = _blobs(n=90, dim=30, classes=3, seed=2)
    x_tr, y_tr, x_te, y_te = x[:30], y[:30], x[30:], y[30:]
    acc, c = train.linear_probe_cv(x_tr, y_tr, x_te, y_te)
    perm = np.random.default_rng(0).permutation(y_te)
    acc_p, c_p = train.linear_probe_cv(x_tr, y_tr, x_te, perm)
    assert c_p == c and c == train.choose_probe_c(x_tr, y_tr)   # the choice is the same ...
    assert acc > 0.9 and acc_p < acc                             # ... only the reported score moved
    assert train.linear_probe(x_tr, y_tr, x_te, y_te, c="cv") == acc
    with pytest.raises(ValueError, match="'cv'"):
        train.linear_probe(x_tr, y_tr, x_te, y_te, c="auto")



def test_traced_once_reuses_its_function_until_weights_are_added_and_holds_the_model_weakly():
    import gc
    import weakref

    import keras

    from tlkit.train import traced_once

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    builds = []

    def build(ref):
        builds.append(ref)
        return lambda x: ref()(x)

    f1 = traced_once(model, "k", build)
    assert traced_once(model, "k", build) is f1 and len(builds) == 1            # reused
    assert traced_once(model, "other", build) is not f1 and len(builds) == 2     # one per key
    model.layers[0].enable_lora(2)                                              # new weights: made again
    f2 = traced_once(model, "k", build)
    assert f2 is not f1 and len(builds) == 3
    np.testing.assert_allclose(np.asarray(f2(np.ones((1, 3), "float32"))), np.asarray(model(np.ones((1, 3)))))
    alive = weakref.ref(model)
    del model, f1, f2
    gc.collect()
    assert alive() is None                                                      # the cache kept no model alive
