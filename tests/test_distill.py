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
