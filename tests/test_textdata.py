"""Text datasets: the course reviews and e-mails (real files), the Yelp loader on a tiny fake archive folder."""
import csv
import time

import numpy as np
import pytest

from tlkit import net, textdata


def test_course_reviews_fixed_split_and_balance():
    task = textdata.load_reviews("en")
    assert task.sizes() == {"train": 600, "validation": 120, "test": 240}
    assert task.class_names == ("negative", "neutral", "positive") and task.num_classes == 3
    for part, per_class in ((task.train, 200), (task.val, 40), (task.test, 80)):
        assert np.bincount(part.labels, minlength=3).tolist() == [per_class] * 3
        assert len(part.ids) == len(part.texts) == len(part.extra["product_type"])
        assert all(isinstance(t, str) and t.strip() for t in part.texts)
    ids = task.train.ids + task.val.ids + task.test.ids
    assert len(set(ids)) == 960
    # the first row of the file is r0001, a negative train review
    assert task.train.ids[0] == "r0001" and task.train.label_names()[0] == "negative"


def test_load_reviews_bad_inputs(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="language code"):
        textdata.load_reviews("english!")
    with pytest.raises(ValueError, match="source"):
        textdata.load_reviews("en", source="imdb")
    with pytest.raises(ValueError, match="no course data file"):
        textdata.load_reviews("xx")
    with pytest.raises(ValueError, match="English only"):
        textdata.load_reviews("ru", source="yelp")
    # a file with an unknown label is rejected with the expected labels named
    d = tmp_path / "reviews"
    d.mkdir()
    (d / "reviews_en.csv").write_text("id,split,label,product_type,text\nr1,train,great,toy,Nice toy\n")
    monkeypatch.setenv("TLKIT_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="unknown labels"):
        textdata.load_reviews("en")


def test_emails_en_and_ru_share_ids():
    en, ru = textdata.load_emails("en"), textdata.load_emails("ru")
    assert len(en) == 300 and len(ru) == 60
    assert np.bincount(en.labels, minlength=3).tolist() == [100, 100, 100]
    assert set(ru.ids) <= set(en.ids)
    lab = dict(zip(en.ids, en.labels.tolist()))
    assert all(lab[i] == y for i, y in zip(ru.ids, ru.labels.tolist()))
    assert set(en.extra["ambiguous"]) <= {0, 1}
    # subject and body are joined; an e-mail without a subject is its body
    i = en.extra["subject"].index("")
    assert en.texts[i] == en.extra["body"][i]


def _fake_yelp(folder, n_per_star=30, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("train.csv", "test.csv"):
        with open(folder / name, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, quoting=csv.QUOTE_ALL)
            for star in range(1, 6):
                for i in range(n_per_star):
                    w.writerow([str(star), f"review {name} {star} {i} {rng.integers(1000)}\\nsecond line"])
    return folder


def test_stars_to_class():
    assert textdata.stars_to_class([1, 2, 3, 4, 5]).tolist() == [0, 0, 1, 2, 2]
    with pytest.raises(ValueError, match="1..5"):
        textdata.stars_to_class([0, 3])


def test_yelp_subsample_is_balanced_and_disjoint(tmp_path):
    folder = _fake_yelp(tmp_path / "yelp_review_full_csv")
    task = textdata.yelp_reviews(10, 4, 8, seed=1, directory=folder)
    assert np.bincount(task.train.labels, minlength=3).tolist() == [10, 10, 10]
    assert np.bincount(task.val.labels, minlength=3).tolist() == [4, 4, 4]
    assert np.bincount(task.test.labels, minlength=3).tolist() == [8, 8, 8]
    assert not set(task.train.ids) & set(task.val.ids)
    assert all("\\n" not in t for t in task.train.texts)
    # the star -> class mapping: a 3-star review is neutral
    i = next(i for i, t in enumerate(task.test.texts) if t.startswith("review test.csv 3 "))
    assert task.test.labels[i] == 1
    with pytest.raises(ValueError, match="positive integer"):
        textdata.yelp_reviews(0, 1, 1, directory=folder)
    with pytest.raises(ValueError, match="only"):
        textdata.yelp_reviews(100, 1, 1, directory=folder)


def test_full_profile_uses_yelp_with_the_budget(tmp_path, monkeypatch):
    folder = _fake_yelp(tmp_path / "yelp_review_full_csv", n_per_star=3000)
    monkeypatch.setattr(textdata, "_yelp_dir", lambda: folder)
    task = textdata.load_reviews("en", profile="full")
    from tlkit import budget

    b = budget("full")
    assert task.name == "yelp_reviews_en"
    assert len(task.train) == 3 * b.txt_train_per_class and len(task.test) == 3 * b.txt_test_per_class


def test_full_profile_fails_fast_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(net, "can_reach", lambda *a, **k: False)
    t0 = time.time()
    with pytest.raises(net.OfflineError, match="TLKIT_PROFILE=quick"):
        textdata.load_reviews("en", profile="full")
    assert time.time() - t0 < 5
