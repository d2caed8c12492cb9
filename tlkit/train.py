"""Training helpers shared by the notebooks: heads on features, scratch baselines, timing, curves."""
from __future__ import annotations

import time
import weakref
from typing import Any, Callable, Sequence

import numpy as np

from .checks import check_int, check_positive
from .data import check_labels, few_per_class
from .profile import set_seed


def feature_head(feature_dim: int, num_classes: int, l2: float = 1e-3, dropout: float = 0.2):
    """A small classifier for feature vectors: Normalization -> Dropout -> Dense(softmax).

    Call ``head.get_layer("normalize").adapt(features)`` (done by :func:`train_head`) before fitting.
    """
    import keras
    from keras import layers

    if feature_dim < 1 or num_classes < 2:
        raise ValueError(f"need feature_dim >= 1 and num_classes >= 2, got {feature_dim}, {num_classes}")
    inp = keras.Input((feature_dim,), name="features")
    x = layers.Normalization(name="normalize")(inp)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    out = layers.Dense(num_classes, activation="softmax", name="head",
                       kernel_regularizer=keras.regularizers.L2(l2))(x)
    return keras.Model(inp, out, name="feature_head")


def feature_extraction_model(base, input_shape, num_classes, dropout=0.2):
    """Feature extraction in Keras: the frozen ``base`` (run in inference mode) -> Dropout -> a new Dense head.

    ``base`` maps images to feature vectors (its own preprocessing and pooling inside); only the head trains.
    """
    import keras

    base.trainable = False
    inputs = keras.Input(shape=input_shape)
    x = base(inputs, training=False)
    x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def small_cnn(input_shape, num_classes, size=64, filters=(16, 32, 64)):
    """The from-scratch baseline sized for a small photo set: resize to ``size``, Conv-BN-ReLU-MaxPool blocks,
    global average pooling, Dropout, Dense softmax (a few tens of thousands of parameters)."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape)
    x = layers.Resizing(size, size)(inputs)
    x = layers.Rescaling(1.0 / 255.0)(x)
    for f in filters:
        x = layers.Conv2D(f, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def compile_classifier(model, learning_rate: float = 1e-3):
    """Adam + sparse categorical cross-entropy + accuracy (the course's default), ready to ``fit``.

    Every variable the training step needs exists before ``fit``: the accuracy metric is passed as an object
    (the string ``"accuracy"`` would only become one inside the first trace) and the optimiser's state is built
    for the trainable weights as they are now. A first trace that creates variables makes TensorFlow trace the
    step a second time, which costs seconds for a large model. Freeze first, then compile (as always).
    """
    import keras

    model.compile(keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    model.optimizer.build(model.trainable_variables)
    return model


def train_head(features: np.ndarray, labels: np.ndarray, num_classes: int, steps: int = 300,
               learning_rate: float = 1e-2, batch_size: int = 64, seed: int = 0):
    """Fit :func:`feature_head` on cached features for about ``steps`` optimiser steps; returns the head."""
    features = np.asarray(features)
    if features.ndim != 2 or len(features) == 0:
        raise ValueError(f"features: expected a non-empty (n, dim) array, got shape {features.shape}")
    check_labels(labels, num_classes, n=len(features), what="train_head labels")
    steps, batch_size = check_int(steps, "steps", minimum=1), check_int(batch_size, "batch_size", minimum=1)
    learning_rate = check_positive(learning_rate, "learning_rate")
    if not np.all(np.isfinite(features)):
        raise ValueError("features: contain NaN or infinity (recompute them; a damaged cache is rebuilt)")
    set_seed(seed)
    head = feature_head(features.shape[1], num_classes)
    head.get_layer("normalize").adapt(features)
    compile_classifier(head, learning_rate)
    epochs = max(1, int(round(steps / np.ceil(len(features) / batch_size))))
    head.fit(features, labels, epochs=epochs, batch_size=batch_size, verbose=0, shuffle=True)
    return head


def train_from_scratch(build: Callable[[], object], x: np.ndarray, y: np.ndarray, steps: int = 400,
                       batch_size: int = 16, learning_rate: float = 3e-3, seed: int = 0):
    """Train ``build()`` from random initialisation for about ``steps`` optimiser steps.

    Using a fixed number of steps (not epochs) gives tiny training sets a fair amount of training.
    """
    if len(x) == 0:
        raise ValueError("train_from_scratch: empty training set")
    steps, batch_size = check_int(steps, "steps", minimum=1), check_int(batch_size, "batch_size", minimum=1)
    learning_rate = check_positive(learning_rate, "learning_rate")
    set_seed(seed)
    model = compile_classifier(build(), learning_rate)
    steps_per_epoch = int(np.ceil(len(x) / batch_size))
    epochs = max(1, int(round(steps / steps_per_epoch)))
    model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, shuffle=True)
    return model


def accuracy(model, x: np.ndarray, y: np.ndarray, batch_size: int = 512) -> float:
    """Top-1 accuracy of a softmax classifier."""
    probs = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(probs, axis=1) == np.asarray(y)))


def clock_fn(name: str = "wall") -> Callable[[], float]:
    """The timer behind every speed measurement: ``"wall"`` (elapsed seconds, what a GPU user waits
    for) or ``"cpu"`` (CPU seconds of this process, all threads: the compute used, which barely moves
    when other programs share the machine)."""
    if name not in ("wall", "cpu"):
        raise ValueError(f"clock must be 'wall' or 'cpu', got {name!r}")
    return time.perf_counter if name == "wall" else time.process_time


def seconds_per_epoch(model, x, y, batch_size: int = 64, epochs: int = 5, clock: str = "wall") -> float:
    """Seconds of the fastest training epoch, the first (tracing) epoch excluded.

    The epochs run inside one ``fit`` call and are timed by a callback, so the fixed cost of
    starting ``fit`` (building the data pipeline, callbacks) is not counted as training time.
    The fastest epoch is reported (as ``timeit`` does): it is the one least disturbed by other
    processes. ``clock``: ``"wall"`` or ``"cpu"`` (see :func:`clock_fn`).
    """
    import keras

    if epochs < 2:
        raise ValueError("epochs must be >= 2 (the first epoch is a warm-up)")
    now = clock_fn(clock)

    class _EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = now()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(now() - self._t0)

    timer = _EpochTimer()
    model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, shuffle=False, callbacks=[timer])
    return float(np.min(timer.times[1:]))


def learning_curve(features_train: np.ndarray, features_test: np.ndarray, x_train: np.ndarray,
                   y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, num_classes: int,
                   build_scratch: Callable[[], object], labels_per_class: Sequence[int | None],
                   seeds: Sequence[int], head_steps: int = 300, scratch_steps: int = 400,
                   progress: bool = True, head: str = "logistic") -> list[dict]:
    """Transfer (head on frozen features) vs scratch (same data, random init) over labels per class.

    ``head="logistic"`` fits the linear softmax head with scikit-learn's solver and strong L2
    regularisation (:func:`linear_probe`; the most reliable fit on a few dozen examples);
    ``head="keras"`` trains :func:`feature_head` for ``head_steps`` steps instead.
    Returns one row per (labels_per_class, seed): ``{"k", "seed", "n", "transfer", "scratch"}``;
    ``k=None`` means every training label.
    """
    from tqdm.auto import tqdm

    if head not in ("logistic", "keras"):
        raise ValueError(f"head must be 'logistic' or 'keras', got {head!r}")
    if len(features_train) != len(x_train):
        raise ValueError(f"features_train has {len(features_train)} rows but x_train {len(x_train)}")
    rows = []
    jobs = [(k, s) for k in labels_per_class for s in seeds]
    for k, seed in tqdm(jobs, desc="learning curve", disable=not progress, leave=False):
        idx = few_per_class(y_train, k, seed=seed, num_classes=num_classes)
        if head == "logistic":
            acc_transfer = linear_probe(features_train[idx], y_train[idx], features_test, y_test)
        else:
            model = train_head(features_train[idx], y_train[idx], num_classes, steps=head_steps, seed=seed)
            acc_transfer = accuracy(model, features_test, y_test)
        scratch = train_from_scratch(build_scratch, x_train[idx], y_train[idx], steps=scratch_steps, seed=seed)
        rows.append({"k": k, "seed": seed, "n": int(len(idx)), "transfer": acc_transfer,
                     "scratch": accuracy(scratch, x_test, y_test)})
    return rows


#: the regularisation strengths :func:`choose_probe_c` tries (C = 1 / L2 strength, on standardised features)
PROBE_CS: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)
#: the C used when the labelled examples are too few to cross-validate (one per class): fixed in advance
PROBE_DEFAULT_C = 0.1


def _one_blas_thread():
    """A context in which NumPy/SciPy's BLAS uses one thread: the probes' matrices are tiny, and on a busy machine
    BLAS threads spin-waiting for each other cost 10-50x more CPU time than the fit itself."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _probe_model(c: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000))


def choose_probe_c(features_train: np.ndarray, y_train: np.ndarray, cs: Sequence[float] = PROBE_CS,
                   folds: int = 5, seed: int = 0) -> float:
    """The linear probe's C chosen by stratified k-fold cross-validation INSIDE the labelled training examples.

    It sees only the training features and labels (there is no test argument): the test set cannot influence the
    choice. Folds = ``min(folds, smallest class count)``; with one example per class there is nothing to
    cross-validate and :data:`PROBE_DEFAULT_C` (fixed in advance) is returned. Ties go to the smaller C (the
    stronger regularisation). The scaler is fitted inside each fold, as in the final probe.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    features_train, y_train = np.asarray(features_train), np.asarray(y_train)
    cs = sorted(float(c) for c in cs)
    if not cs or any(not np.isfinite(c) or c <= 0 for c in cs):
        raise ValueError(f"cs: expected positive finite values, got {cs}")
    if features_train.ndim != 2 or len(features_train) != len(y_train):
        raise ValueError(f"choose_probe_c: expected (n, dim) features matching {len(y_train)} labels, "
                         f"got {features_train.shape}")
    counts = np.unique(y_train, return_counts=True)[1]
    if len(counts) < 2:
        raise ValueError("choose_probe_c: the training labels must contain at least 2 classes")
    k = min(int(folds), int(counts.min()))
    if k < 2 or len(cs) == 1:
        return PROBE_DEFAULT_C if k < 2 else cs[0]
    split = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    with _one_blas_thread():
        scores = [cross_val_score(_probe_model(c), features_train, y_train, cv=split).mean() for c in cs]
    return cs[int(np.argmax(scores))]       # argmax keeps the first (smallest C) of equal scores


def linear_probe(features_train: np.ndarray, y_train: np.ndarray, features_test: np.ndarray,
                 y_test: np.ndarray, c: float | str = 0.1) -> float:
    """Accuracy of a standardised logistic regression on frozen features: how much a layer "knows".

    ``c``: the inverse L2 strength, or ``"cv"`` to choose it by cross-validation inside the training examples
    (:func:`choose_probe_c`; the test set is only scored). :func:`linear_probe_cv` also returns the chosen C.
    """
    return linear_probe_cv(features_train, y_train, features_test, y_test, c=c)[0]


def linear_probe_cv(features_train: np.ndarray, y_train: np.ndarray, features_test: np.ndarray,
                    y_test: np.ndarray, c: float | str = "cv") -> tuple[float, float]:
    """``(test accuracy, C used)`` of :func:`linear_probe`; with ``c="cv"`` C is chosen on the training examples
    by :func:`choose_probe_c` before the test features are touched."""
    features_train, features_test = np.asarray(features_train), np.asarray(features_test)
    if features_train.ndim != 2 or features_test.ndim != 2 or len(features_train) == 0 or len(features_test) == 0:
        raise ValueError("linear_probe: expected non-empty (n, dim) feature arrays for train and test")
    if features_train.shape[1] != features_test.shape[1]:
        raise ValueError(f"linear_probe: train has {features_train.shape[1]} features, test {features_test.shape[1]}")
    if len(np.unique(y_train)) < 2:
        raise ValueError("linear_probe: the training labels must contain at least 2 classes")
    if isinstance(c, str):
        if c != "cv":
            raise ValueError(f"c must be a positive number or 'cv', got {c!r}")
        c = choose_probe_c(features_train, y_train)
    clf = _probe_model(float(c))
    with _one_blas_thread():
        clf.fit(features_train, y_train)
        return float(clf.score(features_test, y_test)), float(c)


_TRACED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()    # model -> {key: (function, weight count)}


def traced_once(model, key: str, build: Callable[[Callable[[], Any]], Callable]) -> Callable:
    """The function ``build(model_ref)`` returns (a ``tf.function``), made once per ``(model, key)`` and reused
    for every later call, so that it is traced once rather than once per call.

    It is made again when the model's number of weights changed since: ``enable_lora`` adds adapter weights, and a
    function traced before would silently compute the model without them. ``build`` gets a weak reference to call
    (``model_ref()``) so the cache never keeps a model alive."""
    n_weights = len(model.weights)
    per_model = _TRACED.setdefault(model, {})
    fn, n = per_model.get(key, (None, None))
    if fn is None or n != n_weights:
        fn = build(weakref.ref(model))
        per_model[key] = (fn, n_weights)
    return fn
