"""Text datasets: the course reviews and e-mails (real files), the Yelp loader on a tiny fake archive folder."""
import csv
import time

import numpy as np
import pytest

from tlkit import net, textdata
from tlkit.profile import sha256_file


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


def _yelp_sizes(tmp_path, monkeypatch, per_star: int) -> None:
    """The sources table says the extracted Yelp files hold ``per_star`` reviews per star (TLKIT_SOURCES)."""
    from tlkit import sources

    path = sources.write_table(tmp_path / "sources.json", {"yelp": {"per_split": {"train.csv": per_star,
                                                                                   "test.csv": per_star}}})
    monkeypatch.setenv(sources.ENV, str(path))


def test_full_profile_uses_yelp_with_the_budget(tmp_path, monkeypatch):
    folder = _fake_yelp(tmp_path / "yelp_review_full_csv", n_per_star=3000)
    monkeypatch.setattr(textdata, "_yelp_dir", lambda: folder)
    _yelp_sizes(tmp_path, monkeypatch, 3000)
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


# ------------------------------------------------------------------ real Russian and Korean reviews (full)
RU_WORDS = {"negative": "плохо", "neautral": "нормально", "positive": "отлично"}


def _fake_rureviews(path, per_class=20, extra_rows=()):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("review\tsentiment\n")
        for i in range(per_class):
            for lab, word in RU_WORDS.items():
                f.write(f"Товар {word}, отзыв номер {i}\t{lab}\n")
        for row in extra_rows:
            f.write(row + "\n")
    return path


def _fake_nsmc(folder, per_class=(20, 12)):
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in zip(("train", "test"), per_class):
        with open(folder / f"ratings_{split}.txt", "w", encoding="utf-8") as f:
            f.write("id\tdocument\tlabel\n")
            for i in range(n):
                f.write(f"{split}{i}0\t영화 최악 {i}\t0\n{split}{i}1\t영화 최고 {i}\t1\n")
            f.write(f"{split}x\t\t1\n{split}y\tok good\t0\n")     # empty and Hangul-less documents are dropped
    return folder


def test_rureviews_two_classes_balanced_and_disjoint(tmp_path):
    path = _fake_rureviews(tmp_path / "ru.csv", extra_rows=["only latin text\tpositive"])
    task = textdata.rureviews(6, 2, 4, classes=("negative", "positive"), seed=3, path=path)
    assert task.lang == "ru" and task.class_names == ("negative", "positive")
    assert np.bincount(task.train.labels).tolist() == [6, 6] and np.bincount(task.test.labels).tolist() == [4, 4]
    assert not (set(task.train.ids) & set(task.test.ids)) and not (set(task.val.ids) & set(task.test.ids))
    every = task.train.texts + task.val.texts + task.test.texts
    assert not any("нормально" in t for t in every) and not any("latin" in t for t in every)
    for texts, labels in ((task.train.texts, task.train.labels), (task.test.texts, task.test.labels)):
        assert all(("плохо" in t) == (y == 0) for t, y in zip(texts, labels))
    three = textdata.rureviews(3, 1, 1, path=path)          # "neautral" (sic) is the neutral class
    assert three.num_classes == 3 and np.bincount(three.train.labels).tolist() == [3, 3, 3]


def test_rureviews_bad_inputs(tmp_path):
    path = _fake_rureviews(tmp_path / "ru.csv")
    with pytest.raises(ValueError, match="two or three distinct names"):
        textdata.rureviews(2, 1, 1, classes=("negative", "angry"), path=path)
    with pytest.raises(ValueError, match="positive integer"):
        textdata.rureviews(0, 1, 1, path=path)
    with pytest.raises(ValueError, match="only"):
        textdata.rureviews(30, 1, 1, path=path)
    bad = _fake_rureviews(tmp_path / "bad.csv", per_class=1, extra_rows=["Текст\tmixed"])
    with pytest.raises(ValueError, match="unknown label 'mixed'"):
        textdata.read_rureviews(bad)
    (tmp_path / "cols.csv").write_text("text\tlabel\nТекст\tpositive\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing columns"):
        textdata.read_rureviews(tmp_path / "cols.csv")


def test_nsmc_balanced_and_filtered(tmp_path):
    folder = _fake_nsmc(tmp_path / "nsmc")
    task = textdata.nsmc(8, 2, 5, seed=1, directory=folder)
    assert task.lang == "ko" and task.class_names == ("negative", "positive")
    assert np.bincount(task.train.labels).tolist() == [8, 8] and np.bincount(task.val.labels).tolist() == [2, 2]
    assert np.bincount(task.test.labels).tolist() == [5, 5]
    assert not set(task.train.ids) & set(task.val.ids)
    assert all(i.startswith("nsmc-test") for i in task.test.ids)
    assert all(("최악" in t) == (y == 0) for t, y in zip(task.train.texts, task.train.labels))
    ids, texts, _ = textdata.read_nsmc(folder / "ratings_test.txt")
    assert "testx" not in ids and "testy" not in ids and len(texts) == 24
    (tmp_path / "broken.txt").write_text("id\tdocument\tlabel\n1\t좋아요\t5\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        textdata.read_nsmc(tmp_path / "broken.txt")
    (tmp_path / "header.txt").write_text("a\tb\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header"):
        textdata.read_nsmc(tmp_path / "header.txt")


def test_download_checked_records_and_verifies_a_checksum(tmp_path, monkeypatch):
    import keras

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(net, "can_reach", lambda *a, **k: True)
    served = {"lines": 5}

    def fake_get_file(fname, origin, cache_subdir="datasets", force_download=False, **kw):
        p = tmp_path / "keras" / cache_subdir / fname
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("".join(f"row {i}\n" for i in range(served["lines"])))
        return str(p)

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    url = "https://example.org/data.txt"
    with pytest.raises(RuntimeError, match="expected at least 10"):
        textdata.download_checked("data.txt", url, "test data", min_rows=10)
    assert not (tmp_path / "keras" / "datasets" / "data.txt").exists()
    served["lines"] = 12
    path = textdata.download_checked("data.txt", url, "test data", min_rows=10)
    assert path.with_name("data.txt.sha256").read_text().strip() == sha256_file(path)
    monkeypatch.setattr(net, "can_reach", lambda *a, **k: False)      # cached: no network needed
    assert textdata.download_checked("data.txt", url, "test data", min_rows=10) == path
    path.write_text("tampered\n")
    with pytest.raises(RuntimeError, match="changed since it was downloaded"):
        textdata.download_checked("data.txt", url, "test data", min_rows=10)
    assert not path.exists()


def test_real_ru_ko_reviews_fail_fast_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(net, "can_reach", lambda *a, **k: False)
    t0 = time.time()
    with pytest.raises(net.OfflineError, match="TLKIT_PROFILE=quick"):
        textdata.rureviews(10, 1, 1)
    with pytest.raises(net.OfflineError, match="NSMC"):
        textdata.nsmc(10, 1, 1)
    assert time.time() - t0 < 5


@pytest.mark.parametrize("damage", ["truncated", "garbled"])
def test_extracted_yelp_files_are_verified(tmp_path, monkeypatch, damage):
    folder = _fake_yelp(tmp_path / "yelp_review_full_csv", n_per_star=40)
    monkeypatch.setattr(textdata, "_yelp_dir", lambda: folder)
    _yelp_sizes(tmp_path, monkeypatch, 40)
    assert len(textdata.yelp_reviews(5, 2, 5).train) == 15               # intact: used
    f = folder / "train.csv"
    data = f.read_bytes()
    f.write_bytes(data[: len(data) * 2 // 3] if damage == "truncated" else data.replace(b'"5"', b'"x"', 3))
    with pytest.raises(RuntimeError, match=r"train\.csv is truncated or damaged; delete the folder .* and run again"):
        textdata.yelp_reviews(5, 2, 5)
