"""Unit tests of tlkit.distill: targets, the student, training on hard/soft labels, timing, sizes."""
import numpy as np
import pytest

from tlkit import distill as D

POS = ["great product love it", "excellent and great", "love this, excellent"]
NEG = ["awful product hate it", "terrible and awful", "hate this, terrible"]
TEXTS = (POS + NEG) * 4
Y = np.array(([1] * 3 + [0] * 3) * 4)


def test_teacher_targets_hard_and_soft():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    assert D.teacher_targets(p, "hard").tolist() == [0, 2]
    s = D.teacher_targets(p, "soft", temperature=2.0)
    assert np.allclose(s.sum(1), 1) and s[0, 0] < 0.7 and s[0, 0] > s[0, 1]
    assert np.allclose(D.teacher_targets(p, "soft"), p, atol=1e-6)
    with pytest.raises(ValueError, match="hard' or 'soft"):
        D.teacher_targets(p, "medium")
    with pytest.raises(ValueError, match="summing to 1"):
        D.teacher_targets(np.array([[0.5, 0.6]]))
    with pytest.raises(ValueError, match="num_classes >= 2"):
        D.teacher_targets(np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="temperature"):
        D.soften(p, 0)


@pytest.mark.parametrize("kind", D.STUDENT_KINDS)
def test_student_learns_hard_and_soft(kind):
    m = D.build_student(TEXTS, 2, kind=kind, embedding_dim=8, sequence_length=8, seed=0)
    D.train_student(m, TEXTS, Y, epochs=40, batch_size=8, learning_rate=0.02, seed=0)
    pred = D.student_predictor(m)
    assert D.accuracy_of(pred, TEXTS, Y) == 1.0
    soft = np.eye(2, dtype=np.float32)[Y] * 0.8 + 0.1
    m2 = D.build_student(TEXTS, 2, kind=kind, embedding_dim=8, sequence_length=8, seed=0)
    r = D.train_student(m2, TEXTS, soft, epochs=40, batch_size=8, learning_rate=0.02, seed=0)
    assert r["soft"] and D.accuracy_of(D.student_predictor(m2), TEXTS, Y) == 1.0
    assert pred(["great"]).shape == (1, 2)


def test_build_student_bad_inputs():
    with pytest.raises(ValueError, match="kind"):
        D.build_student(TEXTS, 2, kind="transformer")
    with pytest.raises(ValueError, match="num_classes"):
        D.build_student(TEXTS, 1)
    with pytest.raises(ValueError, match="empty"):
        D.build_student([], 2)
    with pytest.raises(ValueError, match="ngrams"):
        D.build_student(TEXTS, 2, ngrams=0)
    with pytest.raises(ValueError, match="dropout"):
        D.build_student(TEXTS, 2, dropout=1.0)


def test_train_student_bad_targets():
    m = D.build_student(TEXTS, 2, embedding_dim=4, sequence_length=8)
    with pytest.raises(ValueError, match="out of range"):
        D.train_student(m, TEXTS, Y + 1, epochs=1)
    with pytest.raises(ValueError, match="expected 24"):
        D.train_student(m, TEXTS, Y[:5], epochs=1)
    with pytest.raises(ValueError, match="classes"):
        D.train_student(m, TEXTS, np.full((24, 3), 1 / 3), epochs=1)
    with pytest.raises(ValueError, match="shape"):
        D.train_student(m, TEXTS, np.zeros((24, 2, 1)), epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        D.train_student(m, TEXTS, Y, epochs=0)
    with pytest.raises(ValueError, match="empty"):
        D.train_student(m, [], Y, epochs=1)


def test_measure_speed_and_sizes():
    calls = []

    def slow(texts):
        calls.append(len(texts))
        return np.full((len(texts), 2), 0.5)

    sp = D.measure_speed(slow, ["a", "b", "c"], min_seconds=0.01, repeats=2, latency_calls=3)
    assert sp["throughput"] > 0 and sp["latency_ms"] >= 0 and sp["texts"] >= 3
    assert calls.count(1) >= 3
    with pytest.raises(ValueError, match="repeats"):
        D.measure_speed(slow, ["a"], repeats=0)
    with pytest.raises(ValueError, match="empty"):
        D.measure_speed(slow, [])
    m = D.build_student(TEXTS, 2, embedding_dim=4, sequence_length=8)
    size = D.model_size(m)
    vocab = m.get_layer("vectorize").vocabulary_size()
    assert size["parameters"] == vocab * 4 + 4 * 2 + 2
    assert size["megabytes"] == pytest.approx(size["parameters"] * 4 / 1e6)
    with pytest.raises(ValueError, match="Keras model"):
        D.model_size("model")
    with pytest.raises(ValueError, match="at least one"):
        D.model_size()


def test_accuracy_vs_speed_plot():
    from tlkit import plots

    fig = plots.accuracy_vs_speed([{"name": "teacher", "accuracy": 0.7, "throughput": 10.0},
                                   {"name": "student", "accuracy": 0.75, "throughput": 3e4}])
    assert fig.axes[0].get_xscale() == "log"
    with pytest.raises(ValueError, match="no rows"):
        plots.accuracy_vs_speed([])


def test_recorded_teacher_and_keras_distillation():
    logits = np.log(np.eye(2, dtype=np.float32)[Y[:6]] * 0.8 + 0.1)
    teacher = D.recorded_teacher(TEXTS[:6], logits)
    assert np.allclose(np.asarray(teacher(np.array(TEXTS[:6]))), logits, atol=1e-6)
    assert np.allclose(np.asarray(teacher(np.array(["never seen"]))), 0.0)          # unknown text -> zeros
    student = D.small_student(TEXTS, 2, embedding_dim=8, sequence_length=8, seed=0)
    student = D.distill_student(student, teacher, TEXTS[:6] * 4, np.tile(Y[:6], 4), epochs=40, learning_rate=0.02)
    assert D.accuracy_of(D.student_predictor(student), TEXTS, Y) == 1.0
    few = D.fit_on_labels(D.small_student(TEXTS, 2, embedding_dim=8, sequence_length=8), TEXTS, Y, epochs=40,
                          learning_rate=0.02)
    assert D.accuracy_of(D.student_predictor(few), TEXTS, Y) == 1.0


# ------------------------------------------------------------- choices on validation data (notebook 07)
def _blobs(n, seed, shift=2.0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.normal(size=(n, 5)) + shift * np.eye(3, 5)[y]
    return x, y


def test_select_teacher_c_uses_validation_only():
    import inspect

    xt, yt = _blobs(30, 0, shift=0.6)
    xv, yv = _blobs(60, 1, shift=0.6)
    xs, ys = _blobs(60, 2, shift=0.6)             # a "test" set: never passed
    chosen = D.select_teacher_c(xt, yt, xv, yv, grid=(0.001, 0.1, 10.0))
    assert chosen["C"] in (0.001, 0.1, 10.0) and len(chosen["table"]) == 3
    best = max(r["validation accuracy"] for r in chosen["table"])
    assert chosen["validation accuracy"] == best
    assert chosen["C"] == min(r["C"] for r in chosen["table"] if r["validation accuracy"] == best)   # ties: smaller C
    ys_permuted = np.random.default_rng(3).permutation(ys)     # permuting the test labels changes nothing:
    assert not np.array_equal(ys_permuted, ys)                  # (they are no argument of the selector)
    assert D.select_teacher_c(xt, yt, xv, yv, grid=(0.001, 0.1, 10.0))["C"] == chosen["C"]
    assert not any("test" in p for p in inspect.signature(D.select_teacher_c).parameters)
    # the validation labels decide: scores follow them
    flipped = D.select_teacher_c(xt, yt, xv, (yv + 1) % 3, grid=(0.001, 0.1, 10.0))
    assert flipped["validation accuracy"] < chosen["validation accuracy"]
    with pytest.raises(ValueError, match="positive"):
        D.select_teacher_c(xt, yt, xv, yv, grid=(0.0,))


def test_choose_student_recipe_on_validation_restores_the_best_epoch():
    import inspect

    val_texts, val_y = POS + NEG, np.array([1] * 3 + [0] * 3)
    runs = []

    def train(lr, epochs, checkpoint):
        m = D.small_student(TEXTS, 2, embedding_dim=8, sequence_length=8, seed=0)
        runs.append((lr, epochs))
        return D.fit_on_labels(m, TEXTS, Y, epochs=epochs, learning_rate=lr, batch_size=8, seed=0,
                               callbacks=[checkpoint(m)])

    r = D.choose_student_recipe(train, val_texts, val_y, learning_rates=(1e-4, 3e-2), max_epochs=6, checkpoints=3)
    assert runs == [(1e-4, 6), (3e-2, 6)]
    assert {row["epochs"] for row in r["curve"]} == {2, 4, 6} and len(r["curve"]) == 6
    best = max(row["validation accuracy"] for row in r["curve"])
    assert r["validation accuracy"] == best == 1.0 and r["learning_rate"] == 3e-2
    assert D.accuracy_of(D.student_predictor(r["model"]), val_texts, val_y) == r["validation accuracy"]
    assert not any("test" in p for p in inspect.signature(D.choose_student_recipe).parameters)
    # the same call (the test labels are never an argument) gives the same recipe
    again = D.choose_student_recipe(train, val_texts, val_y, learning_rates=(1e-4, 3e-2), max_epochs=6, checkpoints=3)
    assert (again["learning_rate"], again["epochs"]) == (r["learning_rate"], r["epochs"])
    with pytest.raises(ValueError, match="learning rate"):
        D.choose_student_recipe(train, val_texts, val_y, learning_rates=(), max_epochs=6)
