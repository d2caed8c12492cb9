"""Bad inputs to the public API: a ValueError/TypeError that names the argument (issue 17, item 8)."""
import numpy as np
import pytest

from tlkit import data, train, zeroshot

FEATS = np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32)
LABELS = np.arange(12) % 3


@pytest.mark.parametrize("kwargs, err, match", [
    ({"batch_size": 0}, ValueError, "batch_size: expected an integer >= 1, got 0"),
    ({"batch_size": 2.5}, TypeError, "batch_size: expected an integer"),
    ({"learning_rate": -1e-3}, ValueError, "learning_rate: expected a finite number > 0"),
    ({"learning_rate": float("nan")}, ValueError, "learning_rate"),
    ({"learning_rate": "fast"}, TypeError, "learning_rate: expected a positive number"),
    ({"steps": -5}, ValueError, "steps: expected an integer >= 1"),
    ({"steps": 0}, ValueError, "steps"),
])
def test_train_head_rejects_bad_hyper_parameters(kwargs, err, match):
    with pytest.raises(err, match=match):
        train.train_head(FEATS, LABELS, 3, **kwargs)


def test_train_head_rejects_nan_features():
    f = FEATS.copy()
    f[0, 0] = np.nan
    with pytest.raises(ValueError, match="features: contain NaN"):
        train.train_head(f, LABELS, 3)


def test_train_from_scratch_rejects_bad_hyper_parameters():
    with pytest.raises(ValueError, match="batch_size"):
        train.train_from_scratch(lambda: None, FEATS, LABELS, batch_size=0)
    with pytest.raises(ValueError, match="learning_rate"):
        train.train_from_scratch(lambda: None, FEATS, LABELS, learning_rate=0)


@pytest.mark.parametrize("y, err, match", [
    ([], ValueError, "y: expected a non-empty 1-D array"),
    (None, TypeError, "y: expected a 1-D array of integer class ids, got NoneType"),
    ("0101", TypeError, "y: expected"),
    (np.array([0.0, 1.0]), ValueError, "integer class ids"),
    (np.zeros((2, 2), int), ValueError, "1-D"),
])
def test_few_per_class_bad_labels(y, err, match):
    with pytest.raises(err, match=match):
        data.few_per_class(y, 1)


@pytest.mark.parametrize("k, err", [(2.5, TypeError), (0, ValueError), (-1, ValueError), ("2", TypeError)])
def test_few_per_class_bad_k_is_refused_not_floored(k, err):
    with pytest.raises(err, match=r"k \(labels per class\)"):
        data.few_per_class(LABELS, k)


def test_few_per_class_accepts_whole_floats_and_none():
    assert len(data.few_per_class(LABELS, 2.0)) == 6 and len(data.few_per_class(LABELS, None)) == 12


def test_zero_shot_refuses_all_zero_embeddings():
    enc = lambda texts: np.eye(3, 4)[[hash(t) % 3 for t in texts]] + 0.1   # noqa: E731 - a toy encoder
    clf = zeroshot.ZeroShotClassifier.build(["alpha", "beta", "gamma"], enc, templates=("{}",))
    with pytest.raises(ValueError, match=r"text_embeddings: rows \[0, 1\] are all-zero"):
        clf.predict(embeddings=np.zeros((2, 4)))
    with pytest.raises(ValueError, match="all-zero"):
        zeroshot.zero_shot_classify(["a", "b"], ["x", "y"], lambda t: np.zeros((len(t), 4)))
