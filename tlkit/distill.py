"""Teacher -> student (учитель -> ученик): a large model labels texts, a small fast network learns from them.

* :func:`teacher_targets` turns the teacher's class probabilities into hard labels (argmax) or soft
  labels (the probabilities, optionally softened with a temperature).
* :func:`build_student` makes the small fast network: raw strings in, class probabilities out
  (``TextVectorization`` inside the model, so timing includes preprocessing). ``kind="bag"`` is an
  embedding bag (word vectors averaged), ``kind="cnn"`` a small 1D-CNN over word vectors.
* :func:`train_student` fits it on hard (integer) or soft (probability rows) targets.
* :func:`small_student` is the same kind of student written out in plain Keras (logits out, for
  ``keras.distillation``); :func:`recorded_teacher` turns the teacher's answers, computed once, into a
  Keras model (text -> logits) that ``keras.distillation.Distiller`` can query every epoch for free;
  :func:`distill_student` trains a student with ``Distiller`` + ``LogitsDistillation`` (hard and soft
  teacher labels together); :func:`fit_on_labels` trains one on plain labels.
* :func:`measure_speed` gives throughput (texts/s) and latency (ms per single text) of any
  ``texts -> probabilities`` callable, so teacher and student are timed the same way in one process;
  :func:`model_size` gives parameters and megabytes.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from .profile import set_seed
from .text import check_texts, select_on_validation

STUDENT_KINDS = ("bag", "cnn")


# ---------------------------------------------------------------------------------------------- targets
def check_probabilities(probs: Any, what: str = "probabilities", n: int | None = None) -> np.ndarray:
    """``(n, num_classes)`` rows of non-negative numbers summing to 1, or ValueError."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] < 2:
        raise ValueError(f"{what}: expected a (n, num_classes >= 2) array of class probabilities, got shape {p.shape}")
    if n is not None and p.shape[0] != n:
        raise ValueError(f"{what}: expected {n} rows (one per text), got {p.shape[0]}")
    if not np.all(np.isfinite(p)) or p.min() < 0 or not np.allclose(p.sum(1), 1.0, atol=1e-3):
        raise ValueError(f"{what}: every row must hold non-negative probabilities summing to 1 "
                         f"(apply a softmax first)")
    return p


def soften(probs: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Re-scale probabilities with a temperature: ``p ** (1/T)`` renormalised (T > 1 = softer)."""
    p = check_probabilities(probs)
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    logp = np.log(np.clip(p, 1e-12, 1.0)) / float(temperature)
    logp -= logp.max(axis=1, keepdims=True)
    q = np.exp(logp)
    return (q / q.sum(axis=1, keepdims=True)).astype(np.float32)


def teacher_targets(probs: np.ndarray, kind: str = "hard", temperature: float = 1.0) -> np.ndarray:
    """The teacher's labels for a student: ``"hard"`` -> argmax class ids; ``"soft"`` -> probabilities."""
    p = check_probabilities(probs, "teacher probabilities")
    if kind == "hard":
        return np.argmax(p, axis=1).astype(np.int64)
    if kind == "soft":
        return soften(p, temperature)
    raise ValueError(f"kind must be 'hard' or 'soft', got {kind!r}")


# ---------------------------------------------------------------------------------------------- student
def build_student(vocabulary_texts: Sequence[str], num_classes: int, kind: str = "bag", max_tokens: int = 20000,
                  sequence_length: int = 96, embedding_dim: int = 64, ngrams: int | None = None,
                  filters: int = 64, dropout: float = 0.2, seed: int = 0, name: str | None = None):
    """A small fast text classifier: strings -> ``TextVectorization`` -> word vectors -> pooled -> softmax.

    The vocabulary (at most ``max_tokens`` words; ``ngrams=2`` adds word pairs) is learnt from
    ``vocabulary_texts`` (unlabelled texts are fine). ``kind="bag"``: average of the word vectors
    (an embedding bag); ``kind="cnn"``: Conv1D (width 3) + global max pooling. Input: a batch of
    Python strings (``tf.constant(list_of_str)``); output: ``(batch, num_classes)`` probabilities.
    """
    import keras
    from keras import layers

    texts = check_texts(vocabulary_texts, "vocabulary_texts")
    if kind not in STUDENT_KINDS:
        raise ValueError(f"kind must be one of {STUDENT_KINDS}, got {kind!r}")
    for what, v, lo in (("num_classes", num_classes, 2), ("max_tokens", max_tokens, 10),
                        ("sequence_length", sequence_length, 4), ("embedding_dim", embedding_dim, 2),
                        ("filters", filters, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{what} must be an integer >= {lo}, got {v!r}")
    if ngrams is not None and (isinstance(ngrams, bool) or not isinstance(ngrams, (int, np.integer)) or ngrams < 1):
        raise ValueError(f"ngrams must be None or an integer >= 1, got {ngrams!r}")
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    set_seed(seed)
    vec = layers.TextVectorization(max_tokens=int(max_tokens), output_mode="int", ngrams=ngrams,
                                   output_sequence_length=int(sequence_length), name="vectorize")
    vec.adapt(np.array(texts, dtype=object))
    inp = keras.Input(shape=(), dtype="string", name="text")
    ids = vec(inp)
    x = layers.Embedding(vec.vocabulary_size(), int(embedding_dim), mask_zero=(kind == "bag"),
                         name="word_vectors")(ids)
    if kind == "bag":
        x = layers.GlobalAveragePooling1D(name="average")(x)
    else:
        x = layers.Conv1D(int(filters), 3, padding="same", activation="relu", name="conv")(x)
        x = layers.GlobalMaxPooling1D(name="max_pool")(x)
    x = layers.Dropout(float(dropout), name="dropout")(x)
    out = layers.Dense(int(num_classes), activation="softmax", name="classes")(x)
    return keras.Model(inp, out, name=name or f"student_{kind}")


def train_student(model, texts: Sequence[str], targets: np.ndarray, epochs: int = 30, batch_size: int = 32,
                  learning_rate: float = 3e-3, seed: int = 0, validation: tuple[Sequence[str], np.ndarray] | None = None,
                  verbose: int = 0) -> dict:
    """Fit a student on hard targets (integer class ids) or soft targets (probability rows).

    Hard targets use sparse categorical cross-entropy, soft ones categorical cross-entropy against the
    teacher's probabilities (the distillation loss). Returns ``{"model", "history", "seconds", "soft"}``.
    """
    import keras
    import tensorflow as tf

    texts = check_texts(texts)
    t = np.asarray(targets)
    num_classes = int(model.output_shape[-1])
    if t.ndim == 1:
        from .data import check_labels

        check_labels(t, num_classes, n=len(texts), what="student targets")
        soft, loss = False, "sparse_categorical_crossentropy"
    elif t.ndim == 2:
        t = check_probabilities(t, "student soft targets", n=len(texts)).astype(np.float32)
        if t.shape[1] != num_classes:
            raise ValueError(f"student soft targets have {t.shape[1]} classes, the student {num_classes}")
        soft, loss = True, "categorical_crossentropy"
    else:
        raise ValueError(f"targets: expected class ids (n,) or probabilities (n, classes), got shape {t.shape}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    set_seed(seed)
    model.compile(keras.optimizers.Adam(learning_rate), loss=loss)
    model.optimizer.build(model.trainable_variables)   # state before fit: the training step is traced once
    val = None
    if validation is not None:
        vt, vy = validation
        vy = np.asarray(vy)
        if soft and vy.ndim == 1:
            vy = np.eye(num_classes, dtype=np.float32)[vy]
        val = (tf.constant(check_texts(vt, "validation texts")), vy)
    t0 = time.perf_counter()
    hist = model.fit(tf.constant(texts), t, epochs=int(epochs), batch_size=int(batch_size), shuffle=True,
                     validation_data=val, verbose=verbose)
    return {"model": model, "history": hist.history, "seconds": time.perf_counter() - t0, "soft": soft}


def student_predictor(model, batch_size: int = 1024) -> Callable[[Sequence[str]], np.ndarray]:
    """``texts -> probabilities`` of a student, through one traced ``tf.function`` (no per-call overhead)."""
    import tensorflow as tf

    fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def predict(texts: Sequence[str]) -> np.ndarray:
        texts = check_texts(texts)
        parts = [np.asarray(fn(tf.constant(texts[s:s + batch_size]))) for s in range(0, len(texts), batch_size)]
        return np.concatenate(parts)

    return predict


def accuracy_of(predict: Callable[[Sequence[str]], np.ndarray], texts: Sequence[str], labels: np.ndarray) -> float:
    """Accuracy of a ``texts -> probabilities`` callable."""
    p = np.asarray(predict(check_texts(texts)))
    y = np.asarray(labels)
    if p.ndim != 2 or len(p) != len(y):
        raise ValueError(f"predict returned shape {p.shape} for {len(y)} texts; expected (n, num_classes)")
    return float(np.mean(np.argmax(p, axis=1) == y))


# ----------------------------------------------------------------------------------------------- timing
def measure_speed(predict: Callable[[Sequence[str]], Any], texts: Sequence[str], min_seconds: float = 1.0,
                  repeats: int = 3, latency_calls: int = 20, max_texts: int | None = None) -> dict:
    """Throughput (texts/s, batch use) and latency (ms for one text) of ``predict``, after a warm-up.

    Throughput: ``texts`` (repeated until a pass takes at least ``min_seconds``, capped at
    ``max_texts``) are predicted in one call, ``repeats`` times; the median pass is used.
    Latency: median over ``latency_calls`` calls on a single text. Time both models in the same
    process, one after the other, so the machine's load affects them alike.
    """
    texts = check_texts(texts)
    if repeats < 1 or latency_calls < 1 or not min_seconds > 0:
        raise ValueError("repeats and latency_calls must be >= 1 and min_seconds > 0")
    predict(texts[:2])                                   # warm-up: tracing, first-call allocation
    predict(texts[:1])
    t0 = time.perf_counter()
    predict(texts)
    once = max(time.perf_counter() - t0, 1e-6)
    reps = max(1, int(np.ceil(min_seconds / once)))
    batch = list(texts) * reps
    if max_texts is not None:
        batch = batch[:max(len(texts), int(max_texts))]
    passes = []
    for _ in range(int(repeats)):
        t0 = time.perf_counter()
        predict(batch)
        passes.append(time.perf_counter() - t0)
    lat = []
    for i in range(int(latency_calls)):
        one = [texts[i % len(texts)]]
        t0 = time.perf_counter()
        predict(one)
        lat.append(time.perf_counter() - t0)
    sec = float(np.median(passes))
    return {"texts": len(batch), "seconds": sec, "throughput": len(batch) / sec,
            "latency_ms": 1000.0 * float(np.median(lat))}


def device_name() -> str:
    """``"GPU"`` when TensorFlow sees a GPU (Keras then runs models there), else ``"CPU"``: the device a
    speed measurement ran on, for its label."""
    import tensorflow as tf

    return "GPU" if tf.config.list_physical_devices("GPU") else "CPU"


def model_size(*models) -> dict:
    """Parameters and megabytes (float32 weights) of one model or several used together."""
    if not models:
        raise ValueError("model_size: give at least one model")
    n = 0
    nbytes = 0
    for m in models:
        if not hasattr(m, "weights"):
            raise ValueError(f"model_size: expected a Keras model, got {type(m).__name__}")
        for w in m.weights:
            k = int(np.prod([int(d) for d in w.shape])) if len(w.shape) else 1
            try:
                itemsize = np.dtype(str(w.dtype)).itemsize
            except TypeError:
                itemsize = 4
            n += k
            nbytes += k * itemsize
    return {"parameters": int(n), "megabytes": nbytes / 1e6}


# ------------------------------------------------------------------------- keras.distillation (notebook 07)
def small_student(vocabulary_texts, num_classes, max_tokens=20000, sequence_length=96, embedding_dim=64, seed=0):
    """Strings -> words and word pairs -> averaged word vectors -> class logits (no softmax)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    vectorize = layers.TextVectorization(max_tokens=max_tokens, ngrams=2, output_sequence_length=sequence_length)
    vectorize.adapt(np.array(list(vocabulary_texts), dtype=object))
    text = keras.Input(shape=(), dtype="string", name="text")
    x = layers.Embedding(vectorize.vocabulary_size(), embedding_dim, mask_zero=True)(vectorize(text))
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.2)(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(text, logits, name="student")


def recorded_teacher(texts, teacher_logits, name="teacher"):
    """The teacher's answers, computed once, as a Keras model: a known text -> the teacher's logits."""
    import keras
    from keras import layers

    teacher_logits = np.asarray(teacher_logits, dtype="float32")
    lookup = layers.StringLookup(vocabulary=list(texts), num_oov_indices=1)        # text -> row 1..n
    table = layers.Embedding(len(texts) + 1, teacher_logits.shape[1], trainable=False)
    text = keras.Input(shape=(), dtype="string", name="text")
    model = keras.Model(text, table(lookup(text)), name=name)
    table.set_weights([np.vstack([np.zeros_like(teacher_logits[:1]), teacher_logits])])
    return model


def distill_student(student, teacher, texts, teacher_labels, temperature=2.0, student_loss_weight=0.5,
                    epochs=30, learning_rate=3e-3, batch_size=32, seed=0, callbacks=None):
    """Train ``student`` on the teacher's hard labels and soft labels (its logits) with keras.distillation."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    distiller = keras.distillation.Distiller(
        teacher=teacher, student=student,
        distillation_losses=keras.distillation.LogitsDistillation(temperature=temperature),
        student_loss_weight=student_loss_weight)           # 0.5 x hard-label loss + 0.5 x soft-label loss
    distiller.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    distiller.fit(tf.constant(list(texts)), np.asarray(teacher_labels), epochs=epochs, batch_size=batch_size,
                  callbacks=callbacks, verbose=0)
    return distiller.student


def fit_on_labels(student, texts, labels, epochs=30, learning_rate=3e-3, batch_size=32, seed=0, callbacks=None):
    """Train ``student`` (logits out) on plain class labels."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    student.compile(optimizer=keras.optimizers.Adam(learning_rate),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    student.fit(tf.constant(list(texts)), np.asarray(labels), epochs=epochs, batch_size=batch_size,
                callbacks=callbacks, verbose=0)
    return student


# ------------------------------------------------------------------- choices made on validation data (notebook 07)
def select_teacher_c(train_embeddings: np.ndarray, train_labels: np.ndarray, validation_embeddings: np.ndarray,
                     validation_labels: np.ndarray, grid: Sequence[float] = (0.01, 0.1, 1.0, 10.0, 100.0)) -> dict:
    """Choose the inverse regularisation ``C`` of the teacher's logistic-regression head on **validation** data.

    One head per value of ``grid`` is fitted on ``train_embeddings`` (the gold reviews) and scored on the
    validation reviews; the best validation accuracy wins, ties going to the smaller ``C`` (the stronger
    regularisation). Returns ``{"C", "validation accuracy", "table": [{"C", "validation accuracy",
    "train accuracy"}, ...]}``. No test data enters, so the test labels cannot influence the choice.
    """
    from sklearn.linear_model import LogisticRegression

    grid = sorted(float(c) for c in grid)
    if not grid or any(not c > 0 for c in grid):
        raise ValueError(f"grid: expected positive values of C, got {grid}")
    xt, yt = np.asarray(train_embeddings), np.asarray(train_labels)
    xv, yv = np.asarray(validation_embeddings), np.asarray(validation_labels)
    if len(xt) != len(yt) or len(xv) != len(yv) or len(yv) == 0:
        raise ValueError(f"select_teacher_c: {len(xt)} train embeddings for {len(yt)} labels, "
                         f"{len(xv)} validation embeddings for {len(yv)} labels")
    train_accuracy: dict[float, float] = {}

    def fit(c: float):
        head = LogisticRegression(C=c, max_iter=3000).fit(xt, yt)
        train_accuracy[c] = float(np.mean(head.predict(xt) == yt))
        return head

    # grid sorted ascending + ties to the earlier candidate = ties to the smaller C
    best, scores = select_on_validation(grid, fit, xv, yv, score=lambda head, x, y: float(np.mean(head.predict(x) == y)))
    table = [{"C": c, "validation accuracy": v, "train accuracy": train_accuracy[c]} for c, v in zip(grid, scores)]
    return {"C": best, "validation accuracy": scores[grid.index(best)], "table": table}


def validation_checkpoints(student, texts: Sequence[str], labels: np.ndarray, every: int = 1):
    """A Keras callback: every ``every`` epochs (and after the last one) it scores ``student`` on the validation
    texts and keeps a copy of the weights of the best epoch so far (ties: the earlier epoch).

    After ``fit``: ``.curve`` lists ``(epoch, validation accuracy)``, ``.best_epoch`` / ``.best_accuracy`` the
    choice, ``.restore()`` puts the best weights back into ``student``. Works for a plain model and for a
    ``keras.distillation.Distiller`` (pass its student).
    """
    import keras

    every = max(1, int(every))
    predict = student_predictor(student)
    y = np.asarray(labels)

    class _Checkpoints(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.curve: list[tuple[int, float]] = []
            self.best_epoch, self.best_accuracy, self._best_weights = 0, -1.0, None

        def on_epoch_end(self, epoch, logs=None):
            done = epoch + 1
            if done % every and done != self.params.get("epochs"):
                return
            acc = accuracy_of(predict, texts, y)
            self.curve.append((done, acc))
            if acc > self.best_accuracy:
                self.best_epoch, self.best_accuracy = done, acc
                self._best_weights = student.get_weights()

        def restore(self):
            if self._best_weights is not None:
                student.set_weights(self._best_weights)
            return student

    return _Checkpoints()


def choose_student_recipe(train: Callable[..., Any], validation_texts: Sequence[str], validation_labels: np.ndarray,
                          learning_rates: Sequence[float], max_epochs: int, checkpoints: int = 10) -> dict:
    """Choose a student's learning rate and number of epochs on **validation** data.

    ``train(learning_rate, epochs, checkpoint)`` must build a fresh student, train it for ``epochs`` epochs with
    ``callbacks=[checkpoint(student)]`` and return it (``checkpoint`` makes the :func:`validation_checkpoints`
    callback of that student). For every learning rate one run of ``max_epochs`` is scored on the
    validation texts at ``checkpoints`` evenly spaced epochs; the best (learning rate, epoch) wins, ties going to
    the earlier learning rate in the list, then the earlier epoch. Returns ``{"learning_rate", "epochs",
    "validation accuracy", "model"`` (the winning run with the winning epoch's weights) ``, "curve": rows}``.
    Only validation data enters, so the test labels cannot influence the choice.
    """
    if not learning_rates:
        raise ValueError("choose_student_recipe: give at least one learning rate")
    max_epochs = int(max_epochs)
    if max_epochs < 1:
        raise ValueError(f"max_epochs must be >= 1, got {max_epochs}")
    every = max(1, max_epochs // max(1, int(checkpoints)))
    best, curve = None, []
    for lr in learning_rates:
        holder: dict = {}

        def cb_for(model):
            holder["cb"] = validation_checkpoints(model, validation_texts, validation_labels, every=every)
            return holder["cb"]

        model = train(float(lr), max_epochs, cb_for)
        cb = holder["cb"]
        curve += [{"learning rate": float(lr), "epochs": e, "validation accuracy": a} for e, a in cb.curve]
        if best is None or cb.best_accuracy > best["validation accuracy"]:
            best = {"learning_rate": float(lr), "epochs": cb.best_epoch, "validation accuracy": cb.best_accuracy,
                    "model": cb.restore()}
    best["curve"] = curve
    return best
